"""What every stage's command line shares: the --config and --data-dir options, settings loading
with a clear error (and the redaction of its secrets from every log line), opening the index,
logging set-up."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from socmon.broker import embedded_address
from socmon.index import factory
from socmon.index.port import Index, IndexUnavailable
from socmon.redact import Redactor, install_log_redaction
from socmon.settings import ConfigError, KafkaSettings, Settings, load_settings

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
    """Load settings, or print what is wrong (file, field, problem) and exit 2.

    Every command of every socmon process loads its settings here, so this is where the process
    learns its secrets: from here on, no log line it writes carries one (`socmon.redact`).

    While `socmon up` runs on the same data folder, its embedded broker is the one to talk to,
    unless the broker is named in the environment or the config names another than the default.
    """
    try:
        overrides = {"data_dir": data_dir} if data_dir else {}
        settings = load_settings(config, **overrides)
    except ConfigError as exc:
        typer.echo(f"socmon: configuration error in {exc}", err=True)
        raise typer.Exit(2) from exc
    install_log_redaction(Redactor.from_settings(settings))
    embedded = embedded_address(settings.data_dir)
    named = "SOCMON_KAFKA__BOOTSTRAP_SERVERS" in os.environ
    default = KafkaSettings.model_fields["bootstrap_servers"].default
    if embedded and not named and settings.kafka.bootstrap_servers == default:
        kafka = settings.kafka.model_copy(update={"bootstrap_servers": embedded})
        settings = settings.model_copy(update={"kafka": kafka})
    return settings


def writable_data_dir_or_exit(settings: Settings) -> Path:
    """The data folder, made if missing, after proving a file can be written there; else say
    which folder and why in one sentence and exit 2 (a read-only disk, a folder of another
    user, a full disk)."""
    folder = settings.data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".socmon-write-test.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        why = exc.strerror or str(exc)
        typer.echo(
            f"socmon: cannot write to the data folder {folder} ({why}): make it writable for this "
            "user, free some space, or choose another with --data-dir or SOCMON_DATA_DIR",
            err=True,
        )
        raise typer.Exit(2) from exc
    return folder


@contextmanager
def index_or_exit(settings: Settings, setup: bool = True) -> Iterator[Index]:
    """The configured index (set up first unless `setup` is false), closed afterwards; when it
    cannot be opened or fails, print why (`socmon: cannot open the SQLite index at ...`) and
    exit 1."""
    path = settings.sqlite_path
    if not setup and settings.index.backend == "sqlite" and not path.exists():
        # Reading commands never create an empty index (and a .socmon folder) where none was.
        typer.echo(
            f"socmon: no index at {path}: run `socmon up` first, or pass --data-dir with the "
            "folder it used",
            err=True,
        )
        raise typer.Exit(1)
    try:
        index = factory.open_index(settings)
    except IndexUnavailable as exc:
        typer.echo(f"socmon: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        if setup:
            index.setup()
        yield index
    except IndexUnavailable as exc:
        hint = "" if setup else " (has the pipeline run? `socmon index setup` creates it)"
        typer.echo(f"socmon: {exc}{hint}", err=True)
        raise typer.Exit(1) from exc
    finally:
        index.close()


def setup_logging(level: str = "WARNING") -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # The Elasticsearch client logs every retried request with its traceback; the index adapter
    # says in one line what failed once the retries are spent.
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)


def serve_stage_metrics(settings: Settings) -> None:
    """Serve /metrics for a stage process, unless the embedded supervisor serves them all."""
    from socmon.metrics import MetricsUnavailable, multiprocess_enabled, serve_metrics

    if not multiprocess_enabled():
        try:
            serve_metrics(settings.metrics.host, settings.metrics.port)
        except MetricsUnavailable as exc:
            typer.echo(f"socmon: {exc}", err=True)
            raise typer.Exit(2) from exc
