"""`socmon ingest` (the connectors runner) and `socmon connectors …`."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from socmon.cliutil import (
    ConfigOpt,
    serve_stage_metrics,
    settings_or_exit,
    setup_logging,
    writable_data_dir_or_exit,
)

if TYPE_CHECKING:
    from ingest.registry import Notice


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
    """Run the connectors: poll the sources (and follow the push streams) into Kafka."""
    from ingest.checkpoints import CheckpointStore
    from ingest.push import push_sources
    from ingest.registry import build_connectors
    from ingest.runner import IngestRunner
    from socmon.kafka import make_producer
    from socmon.metrics import Metrics, process_registry

    settings = settings_or_exit(config)
    writable_data_dir_or_exit(settings)  # the checkpoints live there
    setup_logging()
    serve_stage_metrics(settings)
    metrics = Metrics.create(process_registry())

    def count_call(source: str, status: str) -> None:
        metrics.connector_api_calls.labels(source, status).inc()

    connectors = build_connectors(
        settings, replay=list(replay or []), on_api_call=count_call, notify=_echo_problem
    )
    # Push sources never end: a replay run (`--exit-when-exhausted`) does without them.
    push = [] if exit_when_exhausted else push_sources(settings, count_call, _echo_problem)
    if not connectors and not push:
        typer.echo(
            "socmon ingest: no sources configured (connectors.replay is empty and no platform "
            "is enabled with credentials; `socmon connectors check` tells more)",
            err=True,
        )
        raise typer.Exit(2)
    checkpoints = CheckpointStore(settings.data_dir / "checkpoints.json")
    if from_start:
        for c in connectors:
            if c.finite:  # replays only: an API source restarting from scratch would repeat
                checkpoints.reset(c.name)
    runner = IngestRunner(
        connectors,
        make_producer(settings.kafka.bootstrap_servers),
        settings.kafka.topics,
        checkpoints,
        metrics,
        push=push,
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
        if not stop.is_set():
            typer.echo("socmon ingest: every source was refused access (see above)", err=True)
            raise typer.Exit(1)
    finally:
        runner.close()


connectors_app = typer.Typer(help="The platform connectors.", no_args_is_help=True)


def _echo_problem(notice: Notice) -> None:
    """Configuration problems are printed; a platform simply not enabled is only logged."""
    if notice.problem:
        typer.echo(f"socmon: {notice.text}", err=True)
    else:
        logging.getLogger("ingest.registry").info("%s", notice.text)


@connectors_app.command("check")
def check(config: ConfigOpt = None) -> None:
    """Per configured source: do the credentials work, which endpoints does the access allow.

    Exits 1 when any configured source fails or cannot be built (e.g. no platform_id). No secret
    is ever printed: the messages name the environment variable to set, never its value.
    """
    from ingest.connector import CheckResult
    from ingest.registry import build_connectors

    settings = settings_or_exit(config)
    setup_logging()
    problems: list[Notice] = []

    def collect(notice: Notice) -> None:
        if notice.problem:
            problems.append(notice)
        else:
            typer.echo(f"-     {notice.text}")

    connectors = build_connectors(settings, notify=collect)
    failed = len(problems)
    for connector in connectors:
        try:
            result = connector.check()
        except Exception as exc:  # a bug in one check must not hide the others' answers
            result = CheckResult(connector.name, False, f"check failed: {type(exc).__name__}")
        finally:
            connector.close()
        failed += not result.ok
        typer.echo(f"{'ok' if result.ok else 'FAIL':<5} {result.source}: {result.detail}")
        for endpoint, allowed in sorted(result.endpoints.items()):
            typer.echo(f"        {endpoint}: {'allowed' if allowed else 'NOT allowed'}")
    for notice in problems:
        typer.echo(f"FAIL  {notice.text}")
    if not connectors and not problems:
        typer.echo("no source is configured: enable a platform under connectors: and set its token")
    typer.echo(f"{len(connectors)} source(s) checked, {failed} failing")
    raise typer.Exit(1 if failed else 0)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `socmon`."""
    app.command()(ingest)
    if connectors_app.registered_commands:
        app.add_typer(connectors_app, name="connectors")
