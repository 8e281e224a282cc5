"""The push runner: each push source in a thread of its own, its frames produced in small batches.

A source's checkpoint is saved only after the broker acknowledged every item before it, so a
disconnect, a crash or a failed send loses nothing: the source reconnects from the saved
checkpoint (Jetstream's cursor, or Mastodon's gap-filling poll) and at worst repeats a few items,
which the stable Kafka keys make harmless. Failed connections are retried with capped exponential
back-off (tenacity); each disconnect is one log line, not a traceback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import tenacity
from kafka.errors import KafkaError

from ingest.checkpoints import CheckpointStore
from ingest.push.sink import Sink, count_produced
from ingest.push.source import Disconnected, PushSource, Received, StopSource
from socmon.metrics import Metrics
from socmon.records import DeadLetter, Post

log = logging.getLogger(__name__)

ProducedHook = Callable[[str, int, int], None]
"""Called with (source, posts, rejects) after each acknowledged batch (progress output, tests)."""


@dataclass(frozen=True)
class Backoff:
    """Waits between failed connection attempts: doubling from `initial`, capped at `maximum`.

    A connection that delivered at least one live frame before it dropped is retried at once and
    the waits start again from `initial`: a platform that closes idle sockets is not an outage. A
    stream that opens and closes at once (a gap-filling poll is not a live frame) backs off.
    """

    initial: float = 1.0
    maximum: float = 300.0


@dataclass(frozen=True)
class BatchLimits:
    """When the items held for a source are produced."""

    max_items: int = 100
    max_delay: float = 0.25  # seconds an item waits for others: push is about latency
    checkpoint_every: float = 5.0  # seconds between saves of a cursor that moved with no item


class _ProduceFailed(Disconnected):
    """The broker did not acknowledge a batch: reconnect from the checkpoint, after a back-off."""


class _DroppedAfterProgress(Exception):
    """A connection that had delivered frames dropped: reconnect at once, back-off reset."""


class _Batch:
    """What a source delivered since its checkpoint was last saved."""

    def __init__(self, checkpoint: str | None) -> None:
        self.posts: list[Post] = []
        self.rejects: list[DeadLetter] = []
        self.checkpoint = checkpoint
        self.moved = False  # the checkpoint changed since it was last saved
        self.since: float | None = None  # when the oldest unsaved frame arrived

    def add(self, received: Received, now: float) -> None:
        if isinstance(received.item, Post):
            self.posts.append(received.item)
        elif isinstance(received.item, DeadLetter):
            self.rejects.append(received.item)
        if received.checkpoint is not None and received.checkpoint != self.checkpoint:
            self.checkpoint, self.moved = received.checkpoint, True
        if self.since is None and (received.item is not None or self.moved):
            self.since = now

    def due(self, now: float, limits: BatchLimits) -> bool:
        items = len(self.posts) + len(self.rejects)
        if items >= limits.max_items:
            return True
        if self.since is None:
            return False
        waited = now - self.since
        return waited >= (limits.max_delay if items else limits.checkpoint_every)

    @property
    def empty(self) -> bool:
        return not (self.posts or self.rejects or self.moved)

    def clear(self) -> None:
        self.posts, self.rejects, self.moved, self.since = [], [], False, None


class PushRunner:
    """Runs push sources until `stop`: `start` their threads, or `run_source` one in this thread."""

    def __init__(
        self,
        sources: Sequence[PushSource],
        sink: Sink,
        checkpoints: CheckpointStore,
        metrics: Metrics,
        backoff: Backoff | None = None,
        limits: BatchLimits | None = None,
        on_produced: ProducedHook | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sources = list(sources)
        self.sink = sink
        self.checkpoints = checkpoints
        self.metrics = metrics
        self.backoff = backoff or Backoff()
        self.limits = limits or BatchLimits()
        self.on_produced = on_produced
        self.clock = clock
        self._threads: list[threading.Thread] = []

    def start(self, stop: threading.Event) -> None:
        """One thread per source; each ends promptly once `stop` is set (see `join`)."""
        for source in self.sources:
            thread = threading.Thread(
                target=self.run_source, args=(source, stop), name=f"push {source.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def join(self, timeout: float = 10.0) -> list[str]:
        """Wait for the threads after `stop` was set; the names of those still running."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return [t.name for t in self._threads if t.is_alive()]

    @property
    def running(self) -> int:
        return sum(t.is_alive() for t in self._threads)

    def run_source(self, source: PushSource, stop: threading.Event) -> None:
        """Connect, deliver and reconnect until `stop` (or until the source cannot work)."""
        while not stop.is_set():
            try:
                self._retrying(source, stop)(self._connection, source, stop)
            except _DroppedAfterProgress as exc:
                self.metrics.connector_errors.labels(source.name, "disconnect").inc()
                log.warning("source=%s disconnected: %s; reconnecting now", source.name, exc)
            except Disconnected:
                return  # `stop` was set during a back-off; the drop is logged already
            except StopSource as exc:
                self.metrics.connector_errors.labels(source.name, "stopped").inc()
                log.error("source=%s stopped until restart: %s", source.name, exc)
                return

    def _retrying(self, source: PushSource, stop: threading.Event) -> tenacity.Retrying:
        def log_drop(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            self.metrics.connector_errors.labels(source.name, "disconnect").inc()
            log.warning("source=%s disconnected: %s; reconnecting in %.3gs", source.name, exc, wait)

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(Disconnected),
            wait=tenacity.wait_exponential(
                multiplier=self.backoff.initial, min=self.backoff.initial, max=self.backoff.maximum
            ),
            stop=lambda _: stop.is_set(),
            sleep=lambda seconds: _wait(stop, seconds),
            before_sleep=log_drop,
            reraise=True,
        )

    def _connection(self, source: PushSource, stop: threading.Event) -> None:
        """One connection of `source`: batches produced as they fill; returns when `stop` is set."""
        batch = _Batch(self.checkpoints.get(source.name))
        frames = source.receive(batch.checkpoint, stop)
        progressed = False
        try:
            for received in frames:
                now = self.clock()
                if received is not None:
                    batch.add(received, now)
                    progressed = progressed or received.live
                if batch.due(now, self.limits):
                    self._flush(source, batch)
            self._flush(source, batch)  # stopping: keep what arrived
        except _ProduceFailed:
            raise
        except Disconnected as exc:
            self._flush(source, batch)  # what arrived before the drop is good
            if progressed:
                raise _DroppedAfterProgress(str(exc)) from None
            raise
        except StopSource:
            self._flush(source, batch)
            raise
        except Exception as exc:  # a bug in a source must not end its thread for good
            log.exception("source=%s failed", source.name)
            msg = f"{type(exc).__name__}: {exc}"
            raise Disconnected(msg) from None
        finally:
            frames.close()

    def _flush(self, source: PushSource, batch: _Batch) -> None:
        if batch.empty:
            return
        try:
            self.sink.produce(batch.posts, batch.rejects)
        except KafkaError as exc:
            self.metrics.connector_errors.labels(source.name, "produce").inc()
            batch.clear()  # never saved: the reconnect replays these from the checkpoint
            msg = f"produce failed, checkpoint kept ({type(exc).__name__}: {exc})"
            raise _ProduceFailed(msg) from None
        if batch.moved:
            self.checkpoints.set(source.name, batch.checkpoint)
        count_produced(self.metrics, source.name, batch.posts, batch.rejects)
        if batch.posts or batch.rejects:
            log.info(
                "source=%s produced posts=%d rejected=%d checkpoint=%s",
                source.name,
                len(batch.posts),
                len(batch.rejects),
                batch.checkpoint,
            )
            if self.on_produced is not None:
                self.on_produced(source.name, len(batch.posts), len(batch.rejects))
        batch.clear()

    def close(self) -> None:
        for source in self.sources:
            source.close()


def _wait(stop: threading.Event, seconds: float) -> None:
    """A back-off that ends at once when the runner stops."""
    stop.wait(seconds)
