"""Runs the Faust worker for the stream processors (`socmon worker`)."""

from __future__ import annotations

import logging

import faust

from socmon.index.factory import open_index
from socmon.metrics import Metrics, process_registry
from socmon.settings import Settings
from stream_processors.app import create_app

log = logging.getLogger(__name__)


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    """Start the agents and block until the worker is stopped (SIGINT/SIGTERM)."""
    metrics = Metrics.create(process_registry())
    index = open_index(settings)
    index.setup()
    app = create_app(settings, index, metrics)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        index.close()
