"""The commands of the dashboards stage: Kibana saved objects, the monthly report, and the data
protection duties (retention, erasure) that the reports' data is subject to."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from socmon.cliutil import ConfigOpt, DataDirOpt, index_or_exit, settings_or_exit

dashboards_app = typer.Typer(help="Kibana dashboards (deployments).", no_args_is_help=True)
report_app = typer.Typer(help="Reports for the communications team.", no_args_is_help=True)
retention_app = typer.Typer(help="The retention period of indexed records.", no_args_is_help=True)


class ReportFormat(StrEnum):
    html = "html"
    pdf = "pdf"


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


@dashboards_app.command("install")
def dashboards_install(
    kibana_url: Annotated[str, typer.Option(help="Kibana's address, e.g. http://localhost:5601.")],
    space: Annotated[
        str | None, typer.Option(help="Kibana space to import into (default: the default one).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Import the data views and dashboards into Kibana (overwrites earlier imports).

    Credentials come from the environment: SOCMON_KIBANA_API_KEY, or SOCMON_KIBANA_USERNAME
    and SOCMON_KIBANA_PASSWORD.
    """
    from dashboards.kibana import (
        KibanaCredentials,
        KibanaImportError,
        import_saved_objects,
        load_saved_objects,
        problems,
        with_index_prefix,
    )

    settings = settings_or_exit(config)
    objects = load_saved_objects()
    found = problems(objects)
    if found:
        # our own files are broken: say so rather than let Kibana half-import them
        typer.echo("socmon: the bundled saved objects are not valid:", err=True)
        for problem in found:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1)
    name = settings.index.elasticsearch_index
    prefix = name.removesuffix("-posts") if name.endswith("-posts") else name
    objects = with_index_prefix(objects, prefix)
    try:
        result = import_saved_objects(kibana_url, objects, KibanaCredentials.from_env(), space)
    except KibanaImportError as exc:
        typer.echo(f"socmon: {exc}", err=True)
        raise typer.Exit(1) from exc
    where = f" (space {space})" if space else ""
    typer.echo(f"imported {result.success_count} saved objects into Kibana at {result.url}{where}")


@report_app.command("monthly")
def report_monthly(
    month: Annotated[
        str | None, typer.Option(help="The month, YYYY-MM (default: the last full month).")
    ] = None,
    output_format: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.html,
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write it (default: socmon-report-YYYY-MM.html or .pdf)."),
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """The monthly social media activity report: tallies, trend, themes, alerts, accounts."""
    from dashboards.report import (
        Month,
        PdfFailed,
        PdfUnavailable,
        build_report,
        html_to_pdf,
        render_html,
    )

    try:
        wanted = Month.parse(month) if month else Month.before(datetime.now(UTC))
    except ValueError as exc:
        typer.echo(f"socmon: --month: {exc}", err=True)
        raise typer.Exit(2) from exc
    settings = settings_or_exit(config, data_dir)
    target = out or Path(f"socmon-report-{wanted}.{output_format.value}")
    with index_or_exit(settings, setup=False) as index:
        html = render_html(build_report(index, settings, wanted))
    if output_format is ReportFormat.pdf:
        try:
            target.write_bytes(html_to_pdf(html))
        except (PdfUnavailable, PdfFailed) as exc:
            typer.echo(f"socmon: {exc}", err=True)
            raise typer.Exit(1) from exc
    else:
        target.write_text(html, encoding="utf-8")
    typer.echo(f"report for {wanted.label} written to {target}")


@retention_app.command("apply")
def retention_apply(
    now: Annotated[
        str | None,
        typer.Option(help="Apply as if it were this time (ISO, with zone); default: now."),
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Delete posts, alerts, deliveries and dead letters older than index.retention_days."""
    from socmon.index.retention import apply_retention, retention_cutoff

    moment = _aware(now, "--now") if now else datetime.now(UTC)
    settings = settings_or_exit(config, data_dir)
    with index_or_exit(settings, setup=False) as index:
        deleted = apply_retention(index, settings.index, moment)
    cutoff = retention_cutoff(settings.index, moment)
    typer.echo(
        f"deleted {deleted} records from before {cutoff.isoformat()} "
        f"(retention {settings.index.retention_days} days)"
    )


def erase(
    author: Annotated[str, typer.Option(help="The person's handle on the platform, e.g. @name.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Erase a person's posts and the alerts quoting them (a data-subject request).

    The erasure is logged (when, how many items, a keyed hash of the handle), never the handle
    or what was erased.
    """
    from dashboards.privacy import erase_author, erasure_key

    if not author.strip().lstrip("@"):
        typer.echo("socmon: --author needs a handle", err=True)
        raise typer.Exit(2)
    settings = settings_or_exit(config, data_dir)
    if not yes and not typer.confirm(
        "Erase every post by this author and the alerts quoting them? This cannot be undone"
    ):
        raise typer.Exit(1)
    with index_or_exit(settings, setup=False) as index:
        entry = erase_author(index, author, erasure_key(settings))
    # the log line of record: on stderr, with no handle and nothing of what was erased
    typer.echo(
        f"erasure recorded: erased_at={entry.erased_at.isoformat()} items={entry.items} "
        f"author_sha256={entry.author_sha256}",
        err=True,
    )


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `socmon`."""
    app.add_typer(dashboards_app, name="dashboards")
    app.add_typer(report_app, name="report")
    app.add_typer(retention_app, name="retention")
    app.command("erase")(erase)
