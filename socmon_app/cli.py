"""The `socmon` command line. Every stage is started from here; `socmon --help` lists them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from socmon.cliutil import (
    ConfigOpt,
    DataDirOpt,
    index_or_exit,
    settings_or_exit,
    setup_logging,
    writable_data_dir_or_exit,
)
from socmon.records import Classification, PostKind
from socmon.settings import Settings

app = typer.Typer(
    help="Social media monitoring for the communications team of an NHS Trust or a council.",
    no_args_is_help=True,
    add_completion=False,
)
index_app = typer.Typer(help="The index (SQLite or Elasticsearch).", no_args_is_help=True)
app.add_typer(index_app, name="index")


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
        typer.Option(
            help="Stop once the replay is drained, indexed and every alert handled; exit 1 if "
            "deliveries failed or items were dead-lettered inside the pipeline on the way."
        ),
    ] = False,
    metrics_port: Annotated[
        int | None, typer.Option(help="Port of the /metrics endpoint (0 picks a free one).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Stream-worker processes sharing the partitions (default: one per available "
            "core, at most kafka.partitions; also SOCMON_EMBEDDED__WORKERS).",
        ),
    ] = None,
) -> None:
    """Start the whole pipeline on this machine (embedded broker, workers, alerting, index)."""
    from socmon.sample import SAMPLE_PATH
    from socmon_app.supervisor import Supervisor, SupervisorError

    settings = settings_or_exit(config, data_dir)
    writable_data_dir_or_exit(settings)
    if metrics_port is not None:
        settings = settings.model_copy(
            update={"metrics": settings.metrics.model_copy(update={"port": metrics_port})}
        )
    if workers is not None:
        settings = settings.model_copy(
            update={"embedded": settings.embedded.model_copy(update={"workers": workers})}
        )
    partitions = settings.kafka.partitions
    if (settings.embedded.workers or 0) > partitions:
        typer.echo(
            f"socmon: {settings.embedded.workers} workers asked for, but the topics have "
            f"{partitions} partitions and each is read by one worker; running {partitions} "
            "(raise kafka.partitions for more)",
            err=True,
        )
    live = settings.connectors.live_platforms()
    receiving = settings.connectors.webhooks.enabled
    configured = [s.path for s in settings.connectors.replay]
    # With no platform credentials, the bundled sample shows the whole pipeline at work.
    sources = list(replay or []) or configured or ([] if live or receiving else [SAMPLE_PATH])
    if (live or receiving) and exit_when_idle:
        what = [*live, *(["the webhook receiver"] if receiving else [])]
        typer.echo(
            f"socmon: --exit-when-idle needs a replay-only run, but {', '.join(what)} "
            "are read live; unset their credentials (or connectors.webhooks.enabled) or drop "
            "the option",
            err=True,
        )
        raise typer.Exit(2)
    for path in sources:
        if not path.is_file():
            typer.echo(f"socmon: replay file not found: {path}", err=True)
            raise typer.Exit(2)
    setup_logging()
    supervisor = Supervisor(
        settings, config, sources, exit_when_idle=exit_when_idle, live_platforms=live
    )
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
    """Counts from the index: posts by sentiment, dead letters, alerts by kind, deliveries.

    A delivery (one alert, one recipient, one channel) counts by its latest outcome: sent, or
    failed after the retries (then dead-lettered, for `socmon alerts retry`). Alerts with no
    delivery yet wait for the daily digest or for delivery; ``deliveries`` (JSON) is every
    delivery recorded, sent or failed.
    """
    with index_or_exit(settings_or_exit(config, data_dir), setup=False) as index:
        result = index.stats()
    payload = {
        "indexed": result.indexed,
        "by_sentiment": result.by_sentiment,
        "deadletter": result.deadletter,
        "alerts": result.alerts,
        "alerts_pending": result.alerts_pending,
        "deliveries": result.deliveries,
        "deliveries_sent": result.deliveries_sent,
        "deliveries_failed": result.deliveries_failed,
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
    typer.echo(
        f"alerts with no delivery yet: {result.alerts_pending} "
        "(waiting for the daily digest, or to be delivered)"
    )
    typer.echo(
        f"deliveries: {result.deliveries_sent} sent, {result.deliveries_failed} failed"
        + (
            " (dead-lettered: `socmon alerts retry` re-sends them)"
            if result.deliveries_failed
            else ""
        )
    )


@index_app.command("setup")
def index_setup(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Create the tables or install the Elasticsearch index templates (idempotent).

    Retention is not an index lifecycle (ILM/ISM) policy: those delete whole indices by age, and
    ours are single long-lived indices written by id, so a delete phase would drop the whole
    year at once. Records expire one by one with `socmon retention apply`, on both backends.
    """
    settings = settings_or_exit(config, data_dir)
    with index_or_exit(settings):
        pass  # opened and set up
    typer.echo(f"index ready ({settings.index.backend})")
    typer.echo(
        f"retention: records older than {settings.index.retention_days} days are deleted by "
        "`socmon retention apply`; run it daily"
    )


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,  # `socmon train --help` shows the trainer's own options
)
def train(
    ctx: typer.Context,
    from_feedback: Annotated[
        bool,
        typer.Option(
            "--from-feedback",
            help="Also train on the corrections people made in the dashboard (sentiment).",
        ),
    ] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Train a classifier from labelled data (see `socmon train --help`)."""
    from stream_processors.classify.training.train import main_train

    args = list(ctx.args)
    if from_feedback:
        # The composition root may join stages: the dashboard's corrections become a data file.
        from dashboards.web.feedback import export_feedback

        settings = settings_or_exit(config, data_dir)
        path = settings.data_dir / "feedback" / "sentiment.jsonl"
        with index_or_exit(settings, setup=False) as index:
            count = export_feedback(index, path, task="sentiment")
        if count == 0:
            typer.echo("socmon train: no corrections in the dashboard yet", err=True)
            raise typer.Exit(1)
        typer.echo(f"socmon train: {count} corrections from the dashboard, in {path}")
        args += ["--data", str(path)]
        if "--task" not in args:
            args += ["--task", "sentiment"]
    raise typer.Exit(main_train(args))


@app.command()
def webhooks(
    config: ConfigOpt = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default connectors.webhooks.host).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default connectors.webhooks.port).")
    ] = None,
) -> None:
    """Receive the platforms' pushes (Meta webhooks, X Activity API) and produce them to Kafka."""
    from ingest.webhooks.server import ReceiverError, missing_setting, serve
    from socmon.cliutil import serve_stage_metrics

    settings = settings_or_exit(config)
    problem = missing_setting(settings.connectors.webhooks)
    if problem is not None:
        typer.echo(f"socmon webhooks: {problem}", err=True)
        raise typer.Exit(2)
    setup_logging()
    serve_stage_metrics(settings)
    hooks = settings.connectors.webhooks
    typer.echo(f"socmon: webhook receiver on {host or hooks.host}:{port or hooks.port}")
    try:
        serve(settings, host, port)
    except ReceiverError as exc:
        typer.echo(f"socmon webhooks: {exc}", err=True)
        raise typer.Exit(1) from exc


def _classify(settings: Settings, text: str, kind: PostKind) -> Classification:
    """One text through the pipeline's classifier (for `socmon routes explain --text`)."""
    from stream_processors.classify.classifier import PostClassifier, PostText

    return PostClassifier.from_settings(settings).classify(PostText(text=text, kind=kind))


def _register_stages() -> None:
    # The composition root: each stage adds its own commands (`socmon worker`, `socmon ingest`…).
    from alerting.cli import ExplainPipeline
    from alerting.cli import register as alerting_commands
    from dashboards.cli import register as dashboards_commands
    from dashboards.web.cli import register as web_commands
    from ingest.cli import register as ingest_commands
    from socmon_app.privacy import register as privacy_commands
    from stream_processors.alert_rules import alerts_for
    from stream_processors.cli import register as stream_commands

    for register in (
        ingest_commands,
        stream_commands,
        dashboards_commands,
        web_commands,
        privacy_commands,
    ):
        register(app)
    alerting_commands(app, ExplainPipeline(alerts_for=alerts_for, classify=_classify))


_register_stages()


PRIVATE_UMASK = 0o077
"""Every file and folder a socmon process makes is its owner's only (0600, 0700): the index (and
its -wal and -shm), the outbox, the erasure key, the logs, the broker's address file and Faust's
data hold posts of the public, password hashes or keys. Children inherit it."""


def main() -> None:
    os.umask(PRIVATE_UMASK)
    app()


if __name__ == "__main__":
    main()
