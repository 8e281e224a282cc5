"""The commands of the dashboards stage: Kibana saved objects and the monthly report. Retention
and erasure reach every stage's stores, so `socmon_app.privacy` has their commands."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from socmon.cliutil import ConfigOpt, DataDirOpt, index_or_exit, settings_or_exit

dashboards_app = typer.Typer(help="Kibana dashboards (deployments).", no_args_is_help=True)
report_app = typer.Typer(help="Reports for the communications team.", no_args_is_help=True)


class ReportFormat(StrEnum):
    html = "html"
    pdf = "pdf"


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
    """The monthly report for the board: summary, urgent incidents and their handling, response
    times, 12-month trend, themes with masked examples, breaches, quiet accounts; by post date."""
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


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `socmon`."""
    app.add_typer(dashboards_app, name="dashboards")
    app.add_typer(report_app, name="report")
