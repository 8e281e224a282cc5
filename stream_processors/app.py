"""The Faust app: three agents, no state of their own (the index holds what matters).

    socmon.posts.raw ──enrich──▶ socmon.posts.enriched ──index──▶ the index
                                                                   └─then route──▶ socmon.alerts
    socmon.deadletter ──deadletters──▶ the index (so every reject can be looked up)

What each agent does to a batch is a plain function in `steps.py`; the agents here only take
batches, send what a step produced and count it. The index agent routes a batch only after the
index stored it, so every alert is about a post that can be found in the index.

Processing is at-least-once (offsets are committed after the producer is flushed) and every
write is idempotent, so a restarted worker re-processes a few items without duplicating any.
A message that cannot be parsed goes to the dead-letter topic with its topic/partition/offset.

Nothing is acknowledged before it is safe. Faust's ``take_events`` acknowledges a batch in a
``finally``: when the agent moves on, *and also when the agent body raised or was cancelled*
(the generator is closed), and the acknowledged offsets are then committed: an exception used to
drop the batch. So each agent
(`_each_batch`) holds a reference of its own on every message of the batch (the messages cannot
be acknowledged, so their offsets cannot be committed, until it is released), and retries the
batch (`BatchRetry`) until it succeeds: an unavailable index (`IndexUnavailable`: locked, full
disk, a server away) is waited out with bounded exponential backoff, logged when the wait starts
and then once a minute, and counted in ``socmon_batch_retries_total`` and
``socmon_batch_waiting_seconds``; anything unexpected is retried the same way, with its
traceback. Only a batch that was written, routed and sent is released.

A worker asked to stop while it waits keeps waiting: Faust waits for the batches in hand before
its last commit (``stream_wait_empty``), so the stop completes once the index is back, or the
process is killed meanwhile (the supervisor does after its stop timeout) having committed
nothing of the batch, which the next worker processes again. The agent never gives a batch up
and moves on: Faust commits, per partition, the acknowledged offsets after the last commit up
to the first gap, and its gap check is off by one (a single unacknowledged message followed by
acknowledged ones is committed past), so a batch left behind could be skipped.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import faust
import tenacity
from faust.types import StreamT

from socmon.erasure import ErasedAuthors, erasure_key
from socmon.index.port import Index, IndexUnavailable
from socmon.index.retention import apply_retention
from socmon.metrics import Metrics
from socmon.records import (
    utcnow,
)
from socmon.settings import Settings
from socmon.topics import STREAM_GROUP
from stream_processors import steps
from stream_processors.classify.classifier import PostClassifier
from stream_processors.governance.timer import install_sweep_timer
from stream_processors.governance.unregistered import LookalikeAccounts
from stream_processors.spikes.timer import install_spike_timer
from stream_processors.transport import SocmonApp

log = logging.getLogger(__name__)

APP_ID = STREAM_GROUP
ENRICH_BATCH = 500
DEADLETTER_BATCH = 200
BATCH_WITHIN = 0.05
"""Seconds an agent waits for its batch to fill before it works on what it has. Under load the
batches fill at once; at a trickle this bounds what a post waits per agent (post-to-alert latency,
`make bench`), and a small batch costs little."""
RETENTION_EVERY_SECONDS = 6 * 3600.0
RETRY_FIRST_WAIT = 0.5
"""Seconds before the first retry of a batch; the wait doubles on each failure ..."""
RETRY_MAX_WAIT = 30.0
"""... up to this many seconds between tries, for as long as it takes."""
WAIT_LOG_EVERY = 60.0
"""While a batch waits, it is logged when the wait starts and then at most once a minute."""

T = TypeVar("T")


def _messages(events: Sequence[Any]) -> list[steps.Message]:
    """Faust events as the steps take them: where each came from, and its bytes."""
    out = []
    for event in events:
        msg = event.message
        value = msg.value if isinstance(msg.value, bytes) else str(msg.value).encode()
        out.append(steps.Message(f"{msg.topic}/{msg.partition}/{msg.offset}", value))
    return out


def _hold(events: Sequence[Any]) -> None:
    """Take a reference of our own on each event's message, so the acknowledgement that
    ``take_events`` makes when the agent moves on (or raises, or is cancelled) is not the last
    one: the message stays unacknowledged, and its offset uncommitted, until `_release`."""
    for event in events:
        event.message.incref()


def _release(events: Sequence[Any]) -> None:
    """Give back `_hold`'s references: the batch is done and may be acknowledged."""
    for event in events:
        event.ack()


class BatchRetry:
    """Runs the work on one batch until it succeeds: never drops it, never gives up.

    An unavailable index is the expected case (a backup, a long erase or another process holds
    the SQLite write lock, a full disk, Elasticsearch away); any other exception is retried the
    same way but logged with its traceback. The wait starts at `RETRY_FIRST_WAIT` and doubles up
    to `RETRY_MAX_WAIT`. The log says what the stage waits for and since when, once when it starts
    and then every `WAIT_LOG_EVERY` seconds, not on every try; each retry is counted in
    ``socmon_batch_retries_total{stage,reason}`` and ``socmon_batch_waiting_seconds{stage}``
    says how long the current batch has been waiting. Only cancelling the agent ends the wait.
    """

    def __init__(
        self,
        stage: str,
        noun: str,
        metrics: Metrics,
        *,
        first_wait: float = RETRY_FIRST_WAIT,
        max_wait: float = RETRY_MAX_WAIT,
        log_every: float = WAIT_LOG_EVERY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stage = stage
        self.noun = noun
        self.metrics = metrics
        self.first_wait = first_wait
        self.max_wait = max_wait
        self.log_every = log_every
        self.sleep = sleep
        self.clock = clock

    async def run(self, work: Callable[[], Awaitable[T]], size: int) -> T:
        """`work()` until it returns; `size` items of the batch, for the log."""
        wait = _Wait(self, size)
        retrying = tenacity.AsyncRetrying(
            retry=tenacity.retry_if_exception_type(Exception),
            wait=tenacity.wait_exponential(
                multiplier=self.first_wait, min=self.first_wait, max=self.max_wait
            ),
            stop=tenacity.stop_never,
            before_sleep=wait.failed,
            reraise=True,
            sleep=self.sleep,
        )
        try:
            result: T = await retrying(work)
        except BaseException:
            wait.over(done=False)  # cancelled: the batch stays held, unacknowledged
            raise
        wait.over(done=True)
        return result


class _Wait:
    """One batch's retries: when they started, when they were last logged, how many."""

    def __init__(self, policy: BatchRetry, size: int) -> None:
        self.policy = policy
        self.size = size
        self.retries = 0
        # Since the first attempt began: a write may wait a while before it fails (SQLite's
        # busy timeout, an HTTP timeout), and that is part of the wait.
        self.started = policy.clock()
        self.since = utcnow().isoformat(timespec="seconds")
        self.logged = 0.0

    def failed(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        policy = self.policy
        now = policy.clock()
        self.retries += 1
        unavailable = isinstance(exc, IndexUnavailable)
        reason = "index_unavailable" if unavailable else "error"
        policy.metrics.batch_retries.labels(policy.stage, reason).inc()
        policy.metrics.batch_waiting.labels(policy.stage).set(now - self.started)
        if self.retries > 1 and now - self.logged < policy.log_every:
            return
        self.logged = now
        waited = now - self.started
        next_wait = state.next_action.sleep if state.next_action is not None else 0.0
        what = (
            f"{policy.stage}: waiting for the index since {self.since} ({waited:.0f} s, "
            f"attempts: {self.retries}) to take a batch of {self.size} {policy.noun}: {exc}"
            if unavailable
            else f"{policy.stage}: a batch of {self.size} {policy.noun} has failed since "
            f"{self.since} ({waited:.0f} s, attempts: {self.retries}): {exc!r}"
        )
        detail = (
            f"; trying again in {next_wait:.1f} s (then every {policy.max_wait:.0f} s at most);"
            " the batch stays unacknowledged, nothing is dropped"
        )
        if unavailable:
            log.warning("%s%s", what, detail)
        else:
            log.error("%s%s", what, detail, exc_info=exc)

    def over(self, done: bool) -> None:
        """The batch succeeded (`done`), or the agent was cancelled: the wait is over."""
        if self.retries:
            self.policy.metrics.batch_waiting.labels(self.policy.stage).set(0)
            log.warning(
                "%s: %s after waiting since %s (%.0f s, failed attempts: %d)",
                self.policy.stage,
                f"the batch of {self.size} {self.policy.noun} went through"
                if done
                else "cancelled; the batch stays unacknowledged, to be processed again",
                self.since,
                self.policy.clock() - self.started,
                self.retries,
            )


async def _each_batch(
    stream: StreamT[Any],
    size: int,
    within: float,
    retry: BatchRetry,
    process: Callable[[list[steps.Message]], Awaitable[None]],
) -> None:
    """Take batches off `stream` and `process` each, held unacknowledged until it succeeded.

    ``take_events`` acknowledges the batch when this moves on to the next one, and also in its
    ``finally`` when the generator is closed after `process` raised or the agent was cancelled
    (the app crashing stops the consumer without waiting for the batches in hand). The hold
    (`_hold`) makes that acknowledgement not the last one, so only `_release`, after `process`
    succeeded, lets the offsets be committed; and `process` is retried (`BatchRetry`) until it
    succeeds, so the agent never moves on past a batch it did not finish.
    """
    async for events in stream.take_events(size, within=within):  # type: ignore[attr-defined]
        messages = _messages(events)
        _hold(events)
        await retry.run(functools.partial(process, messages), len(messages))
        _release(events)


def create_app(
    settings: Settings,
    index: Index,
    metrics: Metrics,
    classifier: PostClassifier | None = None,
    instance: int = 1,
) -> faust.App:
    """Build the app for `settings`; the caller owns `index` and closes it after the worker.
    `instance` (from 1) names the folder of Faust's own files when several workers share a
    data folder."""
    topics = settings.kafka.topics
    brokers = [f"kafka://{server}" for server in settings.kafka.bootstrap_servers.split(",")]
    app = SocmonApp(
        APP_ID,
        broker=brokers,
        processing_guarantee="at_least_once",
        store="memory://",
        # not ./socmon-stream-data in the current folder; one folder per worker process
        datadir=str(settings.data_dir / ("faust" if instance == 1 else f"faust-{instance}")),
        web_enabled=False,
        topic_partitions=settings.kafka.partitions,
        topic_replication_factor=settings.kafka.replication_factor,
        broker_session_timeout=settings.kafka.session_timeout_ms / 1000,
        broker_heartbeat_interval=max(1.0, settings.kafka.session_timeout_ms / 6000),
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
    )
    classifier = classifier or PostClassifier.from_settings(settings)

    def raw_topic(name: str) -> Any:
        return app.topic(name, key_type=bytes, value_type=bytes, value_serializer="raw")

    raw, enriched, alerts, deadletter = (
        raw_topic(topics.posts_raw),
        raw_topic(topics.posts_enriched),
        raw_topic(topics.alerts),
        raw_topic(topics.deadletter),
    )
    loop_executor = None  # the default thread pool: index writes may block (Elasticsearch)
    # The model runs in a thread of its own: ONNX Runtime releases the GIL while it computes, so
    # the event loop goes on consuming, sending, indexing and routing meanwhile, instead of
    # stopping for the second or two a batch takes (see `make bench`: one worker over the
    # classifier alone). One thread: batches are classified one at a time, in order.
    model_executor = ThreadPoolExecutor(1, thread_name_prefix="socmon-classify")
    app.executors.append(model_executor)  # shut down when the app stops
    lookalikes = LookalikeAccounts.from_settings(settings)  # unregistered accounts, in route
    # authors erased on request: their posts are dead-lettered, never classified or indexed
    erased = ErasedAuthors(index, erasure_key(settings))
    if settings.index.backend != "sqlite" and settings.dashboard.erasure_key is None:
        log.warning(
            "SOCMON_DASHBOARD__ERASURE_KEY is not set: this worker keeps its own key in %s, so "
            "authors erased from another machine are not suppressed; set the same key everywhere",
            settings.data_dir,
        )

    async def send(step: steps.Step, output: Any) -> None:
        """Send what a step produced: its records on `output`, its dead letters to theirs.

        Straight to the app's producer, not through ``Topic.send``: that wraps every message
        in a pending message, a future and a channel hop before it reaches the same producer,
        which cost one worker about 15 % of its posts per second (`make bench`, 3 rounds each:
        173 → 199). Faust flushes this producer before it commits offsets, as before."""
        producer = await app.maybe_start_producer()
        if step.out:
            name = output.get_topic_name()
            for key, value in step.out:
                await producer.send(name, key, value, None, None, None)
        letters = deadletter.get_topic_name()
        for letter, _ in step.dead:
            await producer.send(letters, letter.key.encode(), letter.to_bytes(), None, None, None)

    async def in_thread(function: Any, *args: Any, executor: Any = loop_executor) -> Any:
        return await asyncio.get_running_loop().run_in_executor(executor, function, *args)

    async def enrich_batch(messages: list[steps.Message]) -> None:
        started = time.perf_counter()
        step = await in_thread(steps.enrich, classifier, messages, erased, executor=model_executor)
        await send(step, enriched)
        step.count(metrics, time.perf_counter() - started)

    async def index_then_route(messages: list[steps.Message]) -> None:
        """Write the posts; only then raise the alerts of the posts the index stored."""
        started = time.perf_counter()
        stored: steps.Step = await in_thread(steps.index, index, messages, erased)
        await send(stored, None)  # its dead letters: posts the index refused
        indexed = time.perf_counter()
        routed = steps.route(lookalikes, stored.indexed)
        await send(routed, alerts)
        stored.count(metrics, indexed - started)
        routed.count(metrics, time.perf_counter() - indexed)

    async def store_batch(messages: list[steps.Message]) -> None:
        refused = await in_thread(steps.store_dead_letters, index, messages)
        if refused:
            # Nowhere further to send them: log loudly; the topic still holds them.
            log.error("dead letters not indexed: %s", refused)

    @app.agent(raw, name="enrich")
    async def enrich(stream: StreamT[Any]) -> None:
        retry = BatchRetry("enrich", "posts", metrics)
        await _each_batch(stream, ENRICH_BATCH, BATCH_WITHIN, retry, enrich_batch)

    @app.agent(enriched, name="index")
    async def index_posts(stream: StreamT[Any]) -> None:
        """Indexes and then routes: the one consumer of the enriched posts (the metrics count
        the routing under the stage ``route``)."""
        retry = BatchRetry("index", "posts", metrics)
        await _each_batch(stream, settings.index.batch_size, BATCH_WITHIN, retry, index_then_route)

    @app.agent(deadletter, name="deadletters")
    async def store_deadletters(stream: StreamT[Any]) -> None:
        retry = BatchRetry("deadletters", "dead letters", metrics)
        await _each_batch(stream, DEADLETTER_BATCH, 0.5, retry, store_batch)

    # The weekly account sweep (governance), on the leader worker.
    install_sweep_timer(app, settings, index, alerts, metrics)
    install_spike_timer(app, settings, index, alerts, metrics)  # content going viral

    @app.timer(interval=RETENTION_EVERY_SECONDS, on_leader=True)
    async def retention() -> None:
        """Records older than the retention period are deleted (idempotent, so run often)."""
        loop = asyncio.get_running_loop()
        try:
            deleted = await loop.run_in_executor(
                loop_executor, apply_retention, index, settings.index, utcnow()
            )
        except IndexUnavailable as exc:
            # An exception here would stop the whole worker; the next run catches up.
            log.warning("retention: skipped, the index is unavailable (%s); next run later", exc)
            return
        if deleted:
            log.info(
                "retention: deleted %d records older than %d days",
                deleted,
                settings.index.retention_days,
            )

    return app
