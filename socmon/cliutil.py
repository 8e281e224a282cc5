"""What every stage's command line shares: the --config and --data-dir options, settings loading
with a clear error, logging set-up."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from socmon.settings import ConfigError, Settings, load_settings

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


def settings_or_exit(config: Path | None, data_dir: Path | None = None) -> Settings:
    """Load settings, or print what is wrong (file, field, problem) and exit 2."""
    try:
        overrides = {"data_dir": data_dir} if data_dir else {}
        return load_settings(config, **overrides)
    except ConfigError as exc:
        typer.echo(f"socmon: configuration error in {exc}", err=True)
        raise typer.Exit(2) from exc


def setup_logging(level: str = "WARNING") -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


def serve_stage_metrics(settings: Settings) -> None:
    """Serve /metrics for a stage process, unless the embedded supervisor serves them all."""
    from socmon.metrics import multiprocess_enabled, serve_metrics

    if not multiprocess_enabled():
        serve_metrics(settings.metrics.host, settings.metrics.port)
