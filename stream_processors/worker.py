"""Runs the Faust worker for the stream processors (`socmon worker`)."""

from __future__ import annotations

import logging

import faust

from socmon.index.factory import open_index
from socmon.metrics import Metrics, process_registry
from socmon.settings import Settings
from stream_processors.app import create_app

log = logging.getLogger(__name__)


def run_worker(settings: Settings, loglevel: str = "info", instance: int = 1) -> None:
    """Start the agents and block until the worker is stopped (SIGINT/SIGTERM).

    `instance` tells apart several workers on one machine (`socmon up --workers N`): each keeps
    Faust's folder of its own; they share the consumer group, so Kafka splits the partitions.
    """
    metrics = Metrics.create(process_registry())
    index = open_index(settings)
    index.setup()
    app = create_app(settings, index, metrics, instance=instance)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        index.close()
