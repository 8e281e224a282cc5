"""The data-protection commands: `socmon retention apply` and `socmon erase`.

They live in the composition root because they reach every stage's stores: the index (posts,
alerts, deliveries, dead letters, the dashboard's corrections) and alerting's outbox file. What
socmon cannot erase itself is said in the command's output and in SECURITY.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from socmon.cliutil import ConfigOpt, DataDirOpt, index_or_exit, settings_or_exit

retention_app = typer.Typer(
    help="The retention period of indexed records and the outbox.", no_args_is_help=True
)

NOT_ERASED = (
    "socmon cannot erase, so do it by hand if the request covers them:",
    "  - messages already sent: e-mails, Teams and Slack posts, webhook deliveries;",
    "  - console output and any log files your service manager or container runtime kept;",
    "  - Kafka topics of a deployment (they age out after index.retention_days; the embedded "
    "broker keeps them in memory only until `socmon up` stops);",
    "  - backups of the index or of the data folder.",
)


def _aware(text: str, option: str) -> datetime:
    """An ISO time with its offset (``Z`` allowed); exit 2 naming the option otherwise."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        typer.echo(f"socmon: {option} must be an ISO time like 2026-10-31T00:00Z: {exc}", err=True)
        raise typer.Exit(2) from exc
    if moment.tzinfo is None:
        typer.echo(f"socmon: {option} needs a time zone, like 2026-10-31T00:00Z", err=True)
        raise typer.Exit(2)
    return moment


@retention_app.command("apply")
def retention_apply(
    now: Annotated[
        str | None,
        typer.Option(help="Apply as if it were this time (ISO, with zone); default: now."),
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Delete what is older than index.retention_days: posts, and alerts, deliveries and outbox
    lines by the time of the post they are about; dead letters by when they were written."""
    from alerting.outbox import prune_older_than
    from socmon.index.retention import apply_retention, retention_cutoff

    moment = _aware(now, "--now") if now else datetime.now(UTC)
    settings = settings_or_exit(config, data_dir)
    with index_or_exit(settings, setup=False) as index:
        deleted = apply_retention(index, settings.index, moment)
    cutoff = retention_cutoff(settings.index, moment)
    lines = prune_older_than(settings.outbox_path, cutoff)
    typer.echo(
        f"deleted {deleted} records and {lines} outbox lines from before {cutoff.isoformat()} "
        f"(retention {settings.index.retention_days} days)"
    )


def erase(
    author: Annotated[str, typer.Option(help="The person's handle on the platform, e.g. @name.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Erase a person's posts, and every alert, delivery, dead letter, correction and outbox
    line about them (a data-subject request); their later posts are suppressed.

    The erasure is logged (when, how many items, a keyed hash of the handle), never the handle
    or what was erased.
    """
    from alerting.outbox import erase_alerts
    from dashboards.privacy import erase_author
    from socmon.erasure import erasure_key

    if not author.strip().lstrip("@"):
        typer.echo("socmon: --author needs a handle", err=True)
        raise typer.Exit(2)
    settings = settings_or_exit(config, data_dir)
    if not yes and not typer.confirm(
        "Erase every post by this author and everything about them? This cannot be undone"
    ):
        raise typer.Exit(1)
    with index_or_exit(settings, setup=False) as index:
        entry, erased = erase_author(index, author, erasure_key(settings))
    lines = erase_alerts(settings.outbox_path, erased.alert_ids)
    typer.echo(
        f"erased {erased.posts} posts, {erased.alerts} alerts, {erased.deliveries} deliveries, "
        f"{erased.deadletters} dead letters, {entry.items - erased.items} corrections and "
        f"{lines} outbox lines; later posts by this author are suppressed"
    )
    typer.echo("\n".join(NOT_ERASED))
    # the log line of record: on stderr, with no handle and nothing of what was erased
    typer.echo(
        f"erasure recorded: erased_at={entry.erased_at.isoformat()} items={entry.items} "
        f"author_sha256={entry.author_sha256}",
        err=True,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(retention_app, name="retention")
    app.command("erase")(erase)
