"""The connectors runner: polls every connector and produces what it returns into Kafka.

Posts go to ``socmon.posts.raw`` keyed by ``platform:post_id``; rejects go to the dead-letter
topic. A connector's checkpoint is saved only after the broker acknowledged every item of the
poll. One failing source is logged and counted and never stops the others.

`run_forever` keeps a next-due time per source: a rate-limited source waits as long as the
platform asked while the others go on; a source refused access stops until the runner restarts.
The push sources (`ingest.push`: Jetstream, Mastodon's stream) run beside them in threads of their
own, through the same sink, checkpoint store and metrics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kafka import KafkaProducer
from kafka.errors import KafkaError

from ingest.checkpoints import CheckpointStore
from ingest.connector import AccessDenied, Connector, ConnectorError, Fetched, RateLimited
from ingest.push.runner import PushRunner
from ingest.push.sink import KafkaSink, count_produced
from ingest.push.source import PushSource
from socmon.metrics import Metrics
from socmon.records import utcnow
from socmon.topics import Topics

log = logging.getLogger(__name__)

PUSH_CHECK_SECONDS = 5.0
"""With no polled source left, how often `run_forever` looks whether a push source still runs."""


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
    """Polls `connectors` into Kafka; `run_until_exhausted` for replays, `run_forever` for APIs
    (and the `push` sources beside them)."""

    def __init__(
        self,
        connectors: Sequence[Connector],
        producer: KafkaProducer,
        topics: Topics,
        checkpoints: CheckpointStore,
        metrics: Metrics,
        send_timeout: float = 30.0,
        push: Sequence[PushSource] = (),
    ) -> None:
        self.connectors = list(connectors)
        self.producer = producer
        self.topics = topics
        self.checkpoints = checkpoints
        self.metrics = metrics
        self.send_timeout = send_timeout
        self.sink = KafkaSink(producer, topics, send_timeout)
        self.push = PushRunner(push, self.sink, checkpoints, metrics)
        self._push_stop = threading.Event()

    def poll_source(self, connector: Connector) -> tuple[RunSummary, Fetched | None]:
        """Poll one connector once and produce the result; checkpoint after the broker acks."""
        summary, fetched, _ = self._poll(connector)
        return summary, fetched

    def _poll(
        self, connector: Connector
    ) -> tuple[RunSummary, Fetched | None, BaseException | None]:
        """`poll_source`, also returning the connector's error so the scheduler can act on it."""
        summary = RunSummary()
        try:
            fetched = connector.poll(self.checkpoints.get(connector.name))
        except RateLimited as exc:
            # A wait the platform asked for, not a failure: counted as a wait by the scheduler.
            log.warning(
                "source=%s rate limited, retry_after=%.0fs: %s",
                connector.name,
                exc.retry_after,
                exc,
            )
            summary.errors[connector.name] = f"RateLimited: {exc}"
            return summary, None, exc
        except ConnectorError as exc:
            log.error("source=%s poll failed: %s: %s", connector.name, type(exc).__name__, exc)
            self.metrics.connector_errors.labels(connector.name, type(exc).__name__).inc()
            summary.errors[connector.name] = f"{type(exc).__name__}: {exc}"
            return summary, None, exc
        except Exception as exc:  # a connector bug or an API outage must not stop the others
            log.exception("source=%s poll failed", connector.name)
            self.metrics.connector_errors.labels(connector.name, type(exc).__name__).inc()
            summary.errors[connector.name] = f"{type(exc).__name__}: {exc}"
            return summary, None, exc
        try:
            self._produce(fetched)
        except KafkaError as exc:
            log.error("source=%s produce failed, checkpoint kept: %s", connector.name, exc)
            self.metrics.connector_errors.labels(connector.name, "produce").inc()
            summary.errors[connector.name] = f"produce failed: {exc}"
            return summary, None, exc
        self.checkpoints.set(connector.name, fetched.checkpoint)
        count_produced(self.metrics, connector.name, fetched.posts, fetched.rejects)
        summary.produced, summary.rejected = len(fetched.posts), len(fetched.rejects)
        return summary, fetched, None

    def _produce(self, fetched: Fetched) -> None:
        self.sink.produce(fetched.posts, fetched.rejects)

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

    def run_forever(
        self,
        stop: threading.Event,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Poll each source when it is due until `stop`; each source has its own schedule.

        After a poll a source is due again in `interval` seconds, or at once when it said it has
        more to read; a rate limit (raised, or `Fetched.retry_after`) delays that source only; a
        source refused access (`AccessDenied`) is not polled again until the runner restarts.
        The push sources run in their threads meanwhile and stop with it. Returns early only
        when no source is left, polled or pushed.
        """
        self.push.start(self._push_stop)
        try:
            self._poll_forever(stop, interval, clock)
            # No polled source left (or none configured): the push sources may still be running.
            while self.push.running and not stop.wait(PUSH_CHECK_SECONDS):
                pass
        finally:
            self._stop_push()

    def _poll_forever(
        self, stop: threading.Event, interval: float, clock: Callable[[], float]
    ) -> None:
        schedule = [_SourceSchedule(c) for c in self.connectors]
        while not stop.is_set():
            active = [entry for entry in schedule if not entry.stopped]
            if not active:
                if self.connectors:
                    log.error("every polled source was refused access; nothing left to poll")
                return
            for entry in active:
                if stop.is_set():
                    return
                if entry.due <= clock():
                    self._poll_scheduled(entry, interval, clock)
            next_due = min((e.due for e in schedule if not e.stopped), default=clock())
            log.debug("poll pass done at %s", utcnow().isoformat())
            stop.wait(max(0.0, next_due - clock()))

    def _poll_scheduled(
        self, entry: _SourceSchedule, interval: float, clock: Callable[[], float]
    ) -> None:
        name = entry.connector.name
        _, fetched, error = self._poll(entry.connector)
        now = clock()
        if isinstance(error, AccessDenied):
            entry.stopped = True
            log.error("source=%s stopped until restart: %s", name, error)
            return
        wait = interval
        retry_after = error.retry_after if isinstance(error, RateLimited) else None
        if fetched is not None:
            retry_after = fetched.retry_after
            if not fetched.exhausted and not retry_after:
                wait = 0.0  # more to read right away (a replay batch, a large backlog)
        if retry_after:
            self.metrics.connector_rate_limit_waits.labels(name).inc()
            log.info("source=%s waits %.0fs as the platform asked", name, retry_after)
            wait = max(wait, retry_after)
        entry.due = now + wait

    def _stop_push(self) -> None:
        """Stop the push threads (each flushes what it holds) and wait for them."""
        self._push_stop.set()
        for name in self.push.join(timeout=self.send_timeout):
            log.warning("thread=%r still running after the stop; left behind", name)

    def close(self) -> None:
        self._stop_push()
        for connector in self.connectors:
            connector.close()
        self.push.close()
        self.producer.close(timeout=self.send_timeout)


@dataclass
class _SourceSchedule:
    """When a source is next due (monotonic seconds) and whether it was stopped."""

    connector: Connector
    due: float = 0.0
    stopped: bool = False
