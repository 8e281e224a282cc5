"""The `socmon` command line. Every stage is started from here; `socmon --help` lists them."""

from __future__ import annotations

import json
import logging
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from socmon.settings import ConfigError, Settings, load_settings

app = typer.Typer(
    help="Social media monitoring for the communications team of an NHS Trust or a council.",
    no_args_is_help=True,
    add_completion=False,
)
index_app = typer.Typer(help="The index (SQLite or Elasticsearch).", no_args_is_help=True)
app.add_typer(index_app, name="index")

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="YAML config file (default: the bundled example configuration)."
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where the SQLite index, outbox and logs live."),
]


def _settings(config: Path | None, data_dir: Path | None = None) -> Settings:
    """Load settings, or print what is wrong (file, field, problem) and exit 2."""
    try:
        overrides = {"data_dir": data_dir} if data_dir else {}
        return load_settings(config, **overrides)
    except ConfigError as exc:
        typer.echo(f"socmon: configuration error in {exc}", err=True)
        raise typer.Exit(2) from exc


def _logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


@app.command()
def up(
    config: ConfigOpt = None,
    replay: Annotated[
        list[Path] | None,
        typer.Option(help="JSON Lines file to replay (default: the bundled synthetic sample)."),
    ] = None,
    data_dir: DataDirOpt = None,
    exit_when_idle: Annotated[
        bool,
        typer.Option(help="Stop once the replay is drained, indexed and every alert delivered."),
    ] = False,
    metrics_port: Annotated[
        int | None, typer.Option(help="Port of the /metrics endpoint (0 picks a free one).")
    ] = None,
) -> None:
    """Start the whole pipeline on this machine (embedded broker, worker, alerting, index)."""
    from socmon.sample import SAMPLE_PATH
    from socmon.supervisor import Supervisor, SupervisorError

    settings = _settings(config, data_dir)
    if metrics_port is not None:
        settings = settings.model_copy(
            update={"metrics": settings.metrics.model_copy(update={"port": metrics_port})}
        )
    sources = list(replay or []) or [s.path for s in settings.connectors.replay] or [SAMPLE_PATH]
    for path in sources:
        if not path.is_file():
            typer.echo(f"socmon: replay file not found: {path}", err=True)
            raise typer.Exit(2)
    _logging("WARNING")
    supervisor = Supervisor(settings, config, sources, exit_when_idle=exit_when_idle)
    try:
        code = supervisor.run()
    except SupervisorError as exc:
        typer.echo(f"socmon: {exc}", err=True)
        raise typer.Exit(1) from exc
    raise typer.Exit(code)


@app.command()
def stats(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts from the index: posts by sentiment, dead letters, alerts by kind."""
    from socmon.index.factory import open_index

    index = open_index(_settings(config, data_dir))
    try:
        result = index.stats()
    finally:
        index.close()
    payload = {
        "indexed": result.indexed,
        "by_sentiment": result.by_sentiment,
        "deadletter": result.deadletter,
        "alerts": result.alerts,
        "deliveries": result.deliveries,
    }
    if as_json:
        typer.echo(json.dumps(payload, sort_keys=True))
        return
    typer.echo(f"indexed posts: {result.indexed}")
    for label, count in sorted(result.by_sentiment.items()):
        typer.echo(f"  {label}: {count}")
    typer.echo(f"dead letters: {result.deadletter}")
    typer.echo(f"alerts: {sum(result.alerts.values())}")
    for kind, count in sorted(result.alerts.items()):
        typer.echo(f"  {kind}: {count}")
    typer.echo(f"deliveries: {result.deliveries}")


@app.command()
def worker(
    config: ConfigOpt = None,
    loglevel: Annotated[str, typer.Option(help="Faust log level.")] = "warning",
) -> None:
    """Run the Faust stream processors (enrich, index, route) until stopped."""
    from socmon.metrics import multiprocess_enabled, serve_metrics
    from stream_processors.worker import run_worker

    settings = _settings(config)
    if not multiprocess_enabled():
        serve_metrics(settings.metrics.host, settings.metrics.port)
    run_worker(settings, loglevel=loglevel)


@app.command()
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
    from socmon.metrics import Metrics, multiprocess_enabled, process_registry, serve_metrics

    settings = _settings(config)
    _logging("WARNING")
    if not multiprocess_enabled():
        serve_metrics(settings.metrics.host, settings.metrics.port)
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


@app.command()
def alerting(config: ConfigOpt = None) -> None:
    """Deliver alerts from the alerts topic to the configured channels."""
    import signal

    from alerting.channels import Channel, ConsoleChannel, FileChannel
    from alerting.worker import AlertDelivery
    from socmon.index.factory import open_index
    from socmon.kafka import make_producer
    from socmon.metrics import Metrics, multiprocess_enabled, process_registry, serve_metrics

    settings = _settings(config)
    _logging("WARNING")
    if not multiprocess_enabled():
        serve_metrics(settings.metrics.host, settings.metrics.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    channels: list[Channel] = [FileChannel(settings.outbox_path)]
    if settings.alerting.console:
        channels.append(ConsoleChannel())
    index = open_index(settings)
    index.setup()
    producer = make_producer(settings.kafka.bootstrap_servers)
    delivery = AlertDelivery(
        settings, index, channels, producer, Metrics.create(process_registry())
    )
    try:
        delivery.run(stop)
    finally:
        producer.close()
        index.close()


@index_app.command("setup")
def index_setup(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Create the tables or install the Elasticsearch index template (idempotent)."""
    from socmon.index.factory import open_index

    settings = _settings(config, data_dir)
    index = open_index(settings)
    try:
        index.setup()
    finally:
        index.close()
    typer.echo(f"index ready ({settings.index.backend})")


@app.command()
def classify(config: ConfigOpt = None) -> None:
    """Classify JSON Lines from stdin ({"id","text","kind"}); one JSON result per line out."""
    from stream_processors.classify.cli import classify_stream

    settings = _settings(config)
    raise typer.Exit(classify_stream(sys.stdin, sys.stdout, settings.departments))


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,  # `socmon train --help` shows the trainer's own options
)
def train(ctx: typer.Context) -> None:
    """Train a classifier from labelled data (see `socmon train --help`)."""
    from stream_processors.classify.train import main_train

    raise typer.Exit(main_train(list(ctx.args)))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
