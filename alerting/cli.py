"""`socmon alerting` (alert delivery), `socmon routes …` (the routing table, explained) and
`socmon alerts …` (who was told, and re-sending what failed)."""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from socmon.cliutil import (
    ConfigOpt,
    DataDirOpt,
    index_or_exit,
    serve_stage_metrics,
    settings_or_exit,
    setup_logging,
    writable_data_dir_or_exit,
)
from socmon.settings import Settings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from alerting.routing import RoutingDecision
    from alerting.worker import AlertDelivery, DeadLetterSink
    from socmon.index.port import Index
    from socmon.records import Alert, Classification, EnrichedPost, PostKind
    from socmon.register import Register


def _checked_settings(config: Any, data_dir: Any = None) -> Settings:
    """Settings whose routing table and templates are usable, or exit 2 saying what is wrong."""
    from alerting.render import Renderer, TemplateProblem
    from alerting.routing import RoutingError, check_routes

    settings = settings_or_exit(config, data_dir)
    try:
        check_routes(settings)
        Renderer(settings).check()
    except (RoutingError, TemplateProblem) as exc:
        typer.echo(f"socmon: configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc
    return settings


def _delivery(
    settings: Settings,
    index: Index,
    dead_letters: DeadLetterSink,
    registry: CollectorRegistry,
) -> AlertDelivery:
    from alerting.channel_set import build_channels
    from alerting.channels import ConsoleChannel
    from alerting.worker import AlertDelivery
    from socmon.metrics import AlertingMetrics, Metrics

    return AlertDelivery(
        settings,
        index,
        build_channels(settings),
        dead_letters,
        Metrics.create(registry),
        AlertingMetrics.create(registry),
        console=ConsoleChannel() if settings.alerting.console else None,
    )


def alerting(config: ConfigOpt = None) -> None:
    """Deliver alerts from the alerts topic to the configured channels, and the daily digests."""
    from alerting.worker import KafkaDeadLetters
    from socmon.index.factory import open_index
    from socmon.kafka import make_producer
    from socmon.metrics import process_registry

    settings = _checked_settings(config)
    writable_data_dir_or_exit(settings)  # the outbox lives there
    setup_logging()
    # httpx logs each request's URL at INFO, and a webhook URL is a credential.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    serve_stage_metrics(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    index = open_index(settings)
    index.setup()
    producer = make_producer(settings.kafka.bootstrap_servers)
    delivery = _delivery(
        settings,
        index,
        KafkaDeadLetters(producer, settings.kafka.topics.deadletter),
        process_registry(),
    )
    try:
        delivery.run(stop, delivery.digest_scheduler())
    finally:
        producer.close()
        index.close()


routes_app = typer.Typer(help="The routing table: who is told about what.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts and their deliveries.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@routes_app.command("list")
def routes_list(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Print the routing table in force (defaults and the config file's rows)."""
    settings = _checked_settings(config)
    cfg = settings.alerting
    rows = [
        {
            "kind": r.kind,
            "department": r.department or "*",
            "to": r.to,
            "channels": r.channels or cfg.default_channels,
            "when": r.when,
        }
        for r in cfg.routes
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        typer.echo(
            f"{row['kind']:<22} {row['department']:<14} {row['when']:<7} "
            f"{','.join(row['channels']):<14} {', '.join(row['to'])}"
        )
    at = f"{cfg.digest.at.strftime('%H:%M')} {cfg.digest.timezone}"
    typer.echo(f"daily digest at {at}; alerts with no route go to {cfg.communications}")


def _decision_json(decision: RoutingDecision) -> dict[str, Any]:
    alert = decision.alert
    return {
        "alert_id": alert.alert_id,
        "kind": alert.kind,
        "summary": alert.summary,
        "departments": list(alert.departments),
        "targets": [
            {
                "recipient": t.recipient,
                "channel": t.channel,
                "when": t.when,
                "why": t.why,
                "digest_department": t.department if t.when == "digest" else None,
            }
            for t in decision.targets
        ],
        "unrouted": list(decision.unrouted),
    }


@dataclass(frozen=True)
class ExplainPipeline:
    """What `routes explain` needs from the stream processors, handed in by the composition root
    (`socmon_app.cli`), so the explanation is what the pipeline really does and this stage imports
    no other stage."""

    alerts_for: Callable[[EnrichedPost], list[Alert]]
    classify: Callable[[Settings, str, PostKind], Classification]


def _dry_run_register(settings: Settings) -> Register:
    """The register a dry run routes by: with the changes recorded in the index, as delivery
    would; as configured when there is no index to read yet."""
    from socmon.index.factory import open_index
    from socmon.index.port import IndexUnavailable
    from socmon.register import Register, load_register

    if settings.index.backend == "sqlite" and not settings.sqlite_path.exists():
        # Nothing recorded yet, and opening the index would create an empty database file.
        return Register.merge(settings.accounts)
    try:
        index = open_index(settings)
        try:
            return load_register(settings.accounts, index)
        finally:
            index.close()
    except IndexUnavailable as exc:
        note = "the owner changes recorded with `socmon accounts` are not applied"
        typer.echo(f"socmon: note: {exc}; {note}", err=True)
        return Register.merge(settings.accounts)


def _explain(
    settings: Settings,
    pipeline: ExplainPipeline,
    enriched: EnrichedPost,
    register: Register,
    as_json: bool,
) -> None:
    from alerting.routing import route_alert

    post, cls = enriched.post, enriched.classification
    decisions = [route_alert(a, settings, register) for a in pipeline.alerts_for(enriched)]
    if as_json:
        payload = {
            "post": post.key,
            "classification": cls.model_dump(mode="json"),
            "alerts": [_decision_json(d) for d in decisions],
        }
        typer.echo(json.dumps(payload))
        return
    typer.echo(f"post {post.key} ({post.kind}) by @{post.author} to @{post.account}")
    typer.echo(f"  {' '.join(post.text.split())}")
    depts = ", ".join(cls.departments) or "none recognised"
    flags = [f for f, on in (("urgent", cls.urgent), ("abusive", cls.abusive)) if on]
    breaches = ", ".join(sorted({b.rule for b in cls.breaches}))
    typer.echo(
        f"classification: {cls.sentiment} ({cls.confidence:.0%})"
        + (f", {', '.join(flags)}" if flags else "")
        + (f", breaches: {breaches}" if breaches else "")
        + f"; departments: {depts}"
    )
    if cls.reason:
        typer.echo(f"  why: {cls.reason}")
    if not decisions:
        typer.echo("no alert: nobody is told (neutral, or a clean official post)")
        return
    digest = settings.alerting.digest
    at = f"{digest.at.strftime('%H:%M')} {digest.timezone}"
    for decision in decisions:
        alert = decision.alert
        typer.echo(f"\nalert {alert.alert_id} [{alert.kind}]: {alert.summary}")
        for t in decision.targets:
            when = "now" if t.when == "now" else f"digest {at}"
            typer.echo(f"  {when:<26} {t.channel:<8} {t.recipient:<42} {t.why}")
        for reason in decision.unrouted:
            typer.echo(f"  note: {reason}; the communications team is told instead (counted)")


@alerts_app.command("show")
def alerts_show(
    alert_id: Annotated[str, typer.Argument(help="The alert id, e.g. concern:twitter:42.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Who was told about an alert, on which channel, and when."""

    settings = settings_or_exit(config, data_dir)
    with index_or_exit(settings, setup=False) as index:
        deliveries = index.deliveries_for(alert_id)
    if as_json:
        typer.echo(json.dumps([d.model_dump(mode="json") for d in deliveries]))
        return
    if not deliveries:
        typer.echo(f"no deliveries recorded for {alert_id}")
        raise typer.Exit(1)
    zone = settings.alerting.digest.zone
    for d in deliveries:
        when = d.delivered_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")
        detail = f"  ({d.detail})" if d.detail else ""
        typer.echo(f"{when}  {d.result:<6} {d.channel:<8} {d.recipient}{detail}")


@alerts_app.command("retry")
def alerts_retry(
    alert_id: Annotated[
        str | None, typer.Option("--alert", help="Only this alert (default: every one).")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many dead letters to look at.")] = 10_000,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Re-send dead-lettered alerts to whoever was not told yet (nobody is told twice)."""
    from prometheus_client import CollectorRegistry

    from alerting.worker import IndexDeadLetters, is_alert_origin
    from socmon.records import Alert, RecordError, parse_record

    settings = _checked_settings(config, data_dir)
    setup_logging()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with index_or_exit(settings, setup=False) as index:
        index.setup()
        alerts: dict[str, Alert] = {}
        skipped = 0
        for letter in index.deadletters(limit=limit):
            if letter.stage != "alerting":
                continue
            if not is_alert_origin(letter.origin):
                skipped += 1  # a digest: its items are carried into the next digest
                continue
            try:
                alert = parse_record(Alert, letter.payload)
            except RecordError:
                skipped += 1  # an alert that never parsed: nothing to re-send
                continue
            if alert_id is None or alert.alert_id == alert_id:
                alerts.setdefault(alert.alert_id, alert)
        # A dead letter found again (the same failure) replaces the earlier one in the index.
        # A one-off command: its counters are not served anywhere, so a registry of its own.
        delivery = _delivery(settings, index, IndexDeadLetters(index), CollectorRegistry())
        deliveries = delivery.handle(list(alerts.values()), resend_in_doubt=True)
    for d in deliveries:
        detail = f": {d.detail}" if d.result == "failed" and d.detail else ""
        typer.echo(f"{d.result:<6} {d.channel:<8} {d.recipient:<42} {d.alert_id}{detail}")
    sent = sum(1 for d in deliveries if d.result == "sent")
    failed = len(deliveries) - sent
    typer.echo(
        f"{len(alerts)} dead-lettered alert(s): {sent} delivered now, {failed} failed again"
        + (f", {skipped} dead letter(s) not alerts" if skipped else "")
    )
    if failed:
        raise typer.Exit(1)


def _routes_explain_command(pipeline: ExplainPipeline) -> Callable[..., None]:
    """The `routes explain` command, bound to the pipeline it explains."""

    def routes_explain(
        post_key: Annotated[
            str | None, typer.Argument(help="An indexed post, as platform:post_id.")
        ] = None,
        text: Annotated[
            str | None, typer.Option("--text", help="Dry run: classify this text, then route it.")
        ] = None,
        kind: Annotated[
            str, typer.Option(help="Dry run: mention, official_post, comment or reply.")
        ] = "mention",
        platform: Annotated[str, typer.Option(help="Dry run: the platform.")] = "twitter",
        account: Annotated[
            str | None, typer.Option(help="Dry run: the official account (default: the first).")
        ] = None,
        config: ConfigOpt = None,
        data_dir: DataDirOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Show the alerts a post raises: who is told, on which channel, now or in the digest,
        and why."""
        from pydantic import ValidationError

        from socmon.records import EnrichedPost, Post, utcnow

        settings = _checked_settings(config, data_dir)
        if (post_key is None) == (text is None):
            typer.echo("socmon: give either a post key or --text", err=True)
            raise typer.Exit(2)
        if text is not None:
            handle = account or (settings.accounts[0].handle if settings.accounts else "dry-run")
            try:
                post = Post.model_validate(
                    {
                        "platform": platform,
                        "post_id": "dry-run",
                        "kind": kind,
                        "account": handle,
                        "author": handle if kind == "official_post" else "dry-run",
                        "text": text,
                        "created_at": utcnow(),
                        "source": "dry-run",
                    }
                )
            except ValidationError as exc:
                typer.echo(f"socmon: {exc.errors(include_url=False)[0]['msg']}", err=True)
                raise typer.Exit(2) from exc
            classification = pipeline.classify(settings, text, post.kind)
            enriched = EnrichedPost(post=post, classification=classification)
            _explain(settings, pipeline, enriched, _dry_run_register(settings), as_json)
            return
        from socmon.register import load_register

        with index_or_exit(settings, setup=False) as index:
            found = index.get_post(str(post_key))
            register = load_register(settings.accounts, index)
        if found is None:
            typer.echo(f"socmon: no post {post_key} in the index", err=True)
            raise typer.Exit(1)
        _explain(settings, pipeline, found, register, as_json)

    return routes_explain


def register(app: typer.Typer, pipeline: ExplainPipeline | None = None) -> None:
    """Add this stage's commands to `socmon` (`routes explain` when given the pipeline)."""
    app.command()(alerting)
    if pipeline is not None:
        routes_app.command("explain")(_routes_explain_command(pipeline))
    if routes_app.registered_commands:
        app.add_typer(routes_app, name="routes")
    if alerts_app.registered_commands:
        app.add_typer(alerts_app, name="alerts")
