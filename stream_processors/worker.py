"""Runs the Faust worker for the stream processors (`socmon worker`)."""

from __future__ import annotations

import logging

import faust

from socmon.index.factory import open_index
from socmon.metrics import Metrics, process_registry
from socmon.settings import Settings
from stream_processors.app import create_app

log = logging.getLogger(__name__)


class QuietWorker(faust.Worker):
    """Faust's worker without its terminal spinner.

    With a log level of WARNING or above, Faust keeps a spinner that turns on every log call, and
    for that sets the root logger to DEBUG for the life of the process (the spinner stops after
    start-up, the level stays). Every debug call of Faust, aiokafka and mode then builds a log
    record, through socmon's redacting record factory, only for the handlers to drop it: Faust
    logs each message it sends, with its value, at debug. That cost the event loop more than the
    messages themselves; here the root logger keeps the level asked for.
    """

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None


def run_worker(settings: Settings, loglevel: str = "info", instance: int = 1) -> None:
    """Start the agents and block until the worker is stopped (SIGINT/SIGTERM).

    `instance` tells apart several workers on one machine (`socmon up --workers N`): each keeps
    Faust's folder of its own; they share the consumer group, so Kafka splits the partitions.
    """
    metrics = Metrics.create(process_registry())
    index = open_index(settings)
    index.setup()
    app = create_app(settings, index, metrics, instance=instance)
    worker = QuietWorker(app, loglevel=loglevel, quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        index.close()
