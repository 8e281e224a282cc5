"""`socmon ingest` (the connectors runner) and `socmon connectors …`."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer

from socmon.cliutil import ConfigOpt, serve_stage_metrics, settings_or_exit, setup_logging


def ingest(
    config: ConfigOpt = None,
    replay: Annotated[list[Path] | None, typer.Option(help="JSON Lines file(s) to replay.")] = None,
    from_start: Annotated[
        bool, typer.Option(help="Forget the replay checkpoints and read from the first line.")
    ] = False,
    exit_when_exhausted: Annotated[
        bool, typer.Option(help="Stop once every source has nothing more (replays).")
    ] = False,
) -> None:
    """Run the connectors: poll the sources and produce posts into Kafka."""
    from ingest.checkpoints import CheckpointStore
    from ingest.connector import Connector
    from ingest.connectors.replay import ReplayConnector
    from ingest.runner import IngestRunner
    from socmon.kafka import make_producer
    from socmon.metrics import Metrics, process_registry

    settings = settings_or_exit(config)
    setup_logging()
    serve_stage_metrics(settings)
    paths = list(replay or []) + [s.path for s in settings.connectors.replay]
    connectors: list[Connector] = [ReplayConnector(p) for p in paths]
    if not connectors:
        typer.echo("socmon ingest: no sources configured (connectors.replay is empty)", err=True)
        raise typer.Exit(2)
    checkpoints = CheckpointStore(settings.data_dir / "checkpoints.json")
    if from_start:
        for c in connectors:
            checkpoints.reset(c.name)
    runner = IngestRunner(
        connectors,
        make_producer(settings.kafka.bootstrap_servers),
        settings.kafka.topics,
        checkpoints,
        Metrics.create(process_registry()),
    )
    try:
        if exit_when_exhausted:
            summary = runner.run_until_exhausted(progress=True)
            typer.echo(
                f"ingest: done: {summary.produced} posts produced, "
                f"{summary.rejected} rejected to the dead-letter topic"
            )
            for source, error in summary.errors.items():
                typer.echo(f"ingest: {source}: {error}", err=True)
            raise typer.Exit(1 if summary.errors else 0)
        stop = threading.Event()
        try:
            runner.run_forever(stop, settings.connectors.poll_interval_seconds)
        except KeyboardInterrupt:
            stop.set()
    finally:
        runner.close()


connectors_app = typer.Typer(help="The platform connectors.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `socmon`."""
    app.command()(ingest)
    if connectors_app.registered_commands:
        app.add_typer(connectors_app, name="connectors")
