"""The connectors runner: polls every connector and produces what it returns into Kafka.

Posts go to ``socmon.posts.raw`` keyed by ``platform:post_id``; rejects go to the dead-letter
topic. A connector's checkpoint is saved only after the broker acknowledged every item of the
poll. One failing source is logged and counted and never stops the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from kafka import KafkaProducer
from kafka.errors import KafkaError

from ingest.checkpoints import CheckpointStore
from ingest.connector import Connector, Fetched
from socmon.metrics import Metrics
from socmon.records import utcnow
from socmon.topics import Topics

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """What one pass over the connectors produced."""

    produced: int = 0
    rejected: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    def add(self, other: RunSummary) -> None:
        self.produced += other.produced
        self.rejected += other.rejected
        self.errors.update(other.errors)


class IngestRunner:
    """Polls `connectors` into Kafka; `run_until_exhausted` for replays, `run_forever` for APIs."""

    def __init__(
        self,
        connectors: Sequence[Connector],
        producer: KafkaProducer,
        topics: Topics,
        checkpoints: CheckpointStore,
        metrics: Metrics,
        send_timeout: float = 30.0,
    ) -> None:
        self.connectors = list(connectors)
        self.producer = producer
        self.topics = topics
        self.checkpoints = checkpoints
        self.metrics = metrics
        self.send_timeout = send_timeout

    def poll_source(self, connector: Connector) -> tuple[RunSummary, Fetched | None]:
        """Poll one connector once and produce the result; checkpoint after the broker acks."""
        summary = RunSummary()
        try:
            fetched = connector.poll(self.checkpoints.get(connector.name))
        except Exception as exc:  # a connector bug or an API outage must not stop the others
            log.exception("source=%s poll failed", connector.name)
            self.metrics.connector_errors.labels(connector.name, type(exc).__name__).inc()
            summary.errors[connector.name] = f"{type(exc).__name__}: {exc}"
            return summary, None
        try:
            self._produce(fetched)
        except KafkaError as exc:
            log.error("source=%s produce failed, checkpoint kept: %s", connector.name, exc)
            self.metrics.connector_errors.labels(connector.name, "produce").inc()
            summary.errors[connector.name] = f"produce failed: {exc}"
            return summary, None
        self.checkpoints.set(connector.name, fetched.checkpoint)
        self.metrics.connector_fetched.labels(connector.name).inc(len(fetched.posts))
        self.metrics.connector_last_success.labels(connector.name).set(time.time())
        for post in fetched.posts:
            self.metrics.items_out.labels("ingest", post.platform).inc()
        for reject in fetched.rejects:
            self.metrics.deadletters.labels("ingest", _reason_label(reject.reason)).inc()
        summary.produced, summary.rejected = len(fetched.posts), len(fetched.rejects)
        return summary, fetched

    def _produce(self, fetched: Fetched) -> None:
        futures = [
            self.producer.send(self.topics.posts_raw, key=p.key.encode(), value=p.to_bytes())
            for p in fetched.posts
        ]
        futures += [
            self.producer.send(self.topics.deadletter, key=r.key.encode(), value=r.to_bytes())
            for r in fetched.rejects
        ]
        self.producer.flush(timeout=self.send_timeout)
        for fut in futures:
            fut.get(timeout=self.send_timeout)  # raises the KafkaError of a failed send

    def run_until_exhausted(self, progress: bool = False) -> RunSummary:
        """Poll every connector until each says it has nothing more (replays, one-off runs)."""
        total = RunSummary()
        for connector in self.connectors:
            while True:
                summary, fetched = self.poll_source(connector)
                total.add(summary)
                if progress and (summary.produced or summary.rejected):
                    print(
                        f"ingest: {connector.name}: produced {total.produced} posts, "
                        f"{total.rejected} rejected lines so far",
                        flush=True,
                    )
                if fetched is None or fetched.exhausted:
                    break
        return total

    def run_forever(self, stop: threading.Event, interval: float) -> None:
        """Poll all connectors every `interval` seconds (or as a rate limit asks) until `stop`."""
        while not stop.is_set():
            started = time.monotonic()
            wait = interval
            for connector in self.connectors:
                if stop.is_set():
                    break
                _, fetched = self.poll_source(connector)
                if fetched is not None and fetched.retry_after:
                    wait = max(wait, fetched.retry_after)
            log.debug("poll pass done at %s", utcnow().isoformat())
            stop.wait(max(0.0, wait - (time.monotonic() - started)))

    def close(self) -> None:
        for connector in self.connectors:
            connector.close()
        self.producer.close(timeout=self.send_timeout)


def _reason_label(reason: str) -> str:
    """A small label set for the dead-letter metric: the reason's first words, not its details."""
    if reason.startswith("not valid JSON"):
        return "invalid_json"
    if reason.startswith("missing field"):
        return "missing_field"
    if reason.startswith("unknown field"):
        return "unknown_field"
    return "invalid_value"
