"""What the push tests share: a runner on the real broker, a producer that fails on demand, and
a log handler that tells when a line arrived (so no test sleeps to wait for one)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from kafka.errors import KafkaTimeoutError
from prometheus_client import CollectorRegistry

from ingest.checkpoints import CheckpointStore
from ingest.push.runner import Backoff, BatchLimits, PushRunner
from ingest.push.sink import KafkaSink
from ingest.push.source import PushSource
from socmon.kafka import ensure_topics, make_producer
from socmon.metrics import Metrics
from socmon.settings import KafkaSettings

FAST_BACKOFF = Backoff(initial=0.01, maximum=0.05)
SMALL_BATCHES = BatchLimits(max_items=100, max_delay=0.05, checkpoint_every=0.2)


class FailingProducer:
    """A real producer whose first `fail_sends` sends fail as a broker outage would."""

    def __init__(self, producer: Any, fail_sends: int) -> None:
        self.producer = producer
        self.fail_sends = fail_sends

    def send(self, *args: Any, **kwargs: Any) -> Any:
        if self.fail_sends > 0:
            self.fail_sends -= 1
            msg = "Failed to update metadata after 60.0 secs."
            raise KafkaTimeoutError(msg)
        return self.producer.send(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.producer, name)


def push_runner(
    kafka_settings: KafkaSettings,
    checkpoints: CheckpointStore,
    sources: list[PushSource],
    registry: CollectorRegistry,
    fail_sends: int = 0,
) -> PushRunner:
    ensure_topics(kafka_settings)
    producer: Any = make_producer(kafka_settings.bootstrap_servers)
    if fail_sends:
        producer = FailingProducer(producer, fail_sends)
    return PushRunner(
        sources,
        KafkaSink(producer, kafka_settings.topics, send_timeout=10),
        checkpoints,
        Metrics.create(registry),
        backoff=FAST_BACKOFF,
        limits=SMALL_BATCHES,
    )


class LogWaiter(logging.Handler):
    """Collects the records of one logger; `wait(n)` returns once `n` of them matched."""

    def __init__(self, logger: str, contains: str) -> None:
        super().__init__(logging.DEBUG)
        self.contains = contains
        self.records: list[logging.LogRecord] = []
        self._changed = threading.Condition()
        self.logger = logging.getLogger(logger)

    def emit(self, record: logging.LogRecord) -> None:
        if self.contains in record.getMessage():
            with self._changed:
                self.records.append(record)
                self._changed.notify_all()

    def wait(self, count: int, timeout: float = 10.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.records) >= count, timeout)

    def __enter__(self) -> LogWaiter:
        self.logger.addHandler(self)
        self.logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self)


def close_runner(runner: PushRunner) -> None:
    """Close the sources and the producer `push_runner` made."""
    runner.close()
    assert isinstance(runner.sink, KafkaSink)
    runner.sink.producer.close(timeout=5)
