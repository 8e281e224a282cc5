"""`socmon worker` (the Faust stream processors), `socmon classify` and `socmon train`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from socmon.cliutil import (
    ConfigOpt,
    serve_stage_metrics,
    settings_or_exit,
    writable_data_dir_or_exit,
)


def worker(
    config: ConfigOpt = None,
    loglevel: Annotated[str, typer.Option(help="Faust log level.")] = "warning",
    instance: Annotated[
        int,
        typer.Option(
            min=1,
            help="Which of several workers sharing this data folder this is (its own Faust "
            "folder); `socmon up --workers N` numbers them.",
        ),
    ] = 1,
) -> None:
    """Run the Faust stream processors (enrich, index, route) until stopped. Start more than
    one (on this machine with different --instance) to share the partitions."""
    from socmon.index.port import IndexUnavailable
    from stream_processors.worker import run_worker

    settings = settings_or_exit(config)
    writable_data_dir_or_exit(settings)  # Faust keeps its state under it
    serve_stage_metrics(settings)
    try:
        run_worker(settings, loglevel=loglevel, instance=instance)
    except IndexUnavailable as exc:  # at start: the index is set up before the agents run
        typer.echo(f"socmon: cannot start the stream worker: {exc}", err=True)
        raise typer.Exit(1) from exc


def classify(config: ConfigOpt = None) -> None:
    """Classify JSON Lines from stdin ({"id","text","kind"}); one JSON result per line out."""
    from stream_processors.classify.cli import classify_stream

    settings = settings_or_exit(config)
    raise typer.Exit(classify_stream(sys.stdin, sys.stdout, settings))


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `socmon`."""
    from stream_processors.governance.cli import accounts_app

    app.add_typer(accounts_app, name="accounts")
    app.command()(worker)
    app.command()(classify)
