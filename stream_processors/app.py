"""The Faust app: four agents, no state of their own (the index holds what matters).

    socmon.posts.raw ──enrich──▶ socmon.posts.enriched ──index──▶ the index
                                                       └─route──▶ socmon.alerts
    socmon.deadletter ──deadletters──▶ the index (so every reject can be looked up)

What each agent does to a batch is a plain function in `steps.py`; the agents here only take
batches, send what a step produced and count it.

Processing is at-least-once (offsets are committed after the producer is flushed) and every
write is idempotent, so a restarted worker re-processes a few items without duplicating any.
A message that cannot be parsed goes to the dead-letter topic with its topic/partition/offset.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import faust
from faust.types import StreamT

from socmon.index.port import Index
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

log = logging.getLogger(__name__)

APP_ID = STREAM_GROUP
ENRICH_BATCH = 500
DEADLETTER_BATCH = 200
RETENTION_EVERY_SECONDS = 6 * 3600.0


def _messages(events: Sequence[Any]) -> list[steps.Message]:
    """Faust events as the steps take them: where each came from, and its bytes."""
    out = []
    for event in events:
        msg = event.message
        value = msg.value if isinstance(msg.value, bytes) else str(msg.value).encode()
        out.append(steps.Message(f"{msg.topic}/{msg.partition}/{msg.offset}", value))
    return out


def create_app(
    settings: Settings,
    index: Index,
    metrics: Metrics,
    classifier: PostClassifier | None = None,
) -> faust.App:
    """Build the app for `settings`; the caller owns `index` and closes it after the worker."""
    topics = settings.kafka.topics
    brokers = [f"kafka://{server}" for server in settings.kafka.bootstrap_servers.split(",")]
    app = faust.App(
        APP_ID,
        broker=brokers,
        processing_guarantee="at_least_once",
        store="memory://",
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
    lookalikes = LookalikeAccounts.from_settings(settings)  # unregistered accounts, in route

    async def finish(step: steps.Step, output: Any, started: float) -> None:
        """Send what a step produced (its records on, its dead letters), then count it."""
        for key, value in step.out:
            await output.send(key=key, value=value)
        for letter, _ in step.dead:
            await deadletter.send(key=letter.key.encode(), value=letter.to_bytes())
        step.count(metrics, time.perf_counter() - started)

    async def in_thread(function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(loop_executor, function, *args)

    @app.agent(raw, name="enrich")
    async def enrich(stream: StreamT[Any]) -> None:
        async for events in stream.take_events(ENRICH_BATCH, within=0.2):  # type: ignore[attr-defined]
            started = time.perf_counter()
            await finish(steps.enrich(classifier, _messages(events)), enriched, started)

    @app.agent(enriched, name="index")
    async def index_posts(stream: StreamT[Any]) -> None:
        batch_size = settings.index.batch_size
        async for events in stream.take_events(batch_size, within=0.5):  # type: ignore[attr-defined]
            started = time.perf_counter()
            step = await in_thread(steps.index, index, _messages(events))
            await finish(step, None, started)

    @app.agent(enriched, name="route")
    async def route(stream: StreamT[Any]) -> None:
        async for events in stream.take_events(ENRICH_BATCH, within=0.2):  # type: ignore[attr-defined]
            started = time.perf_counter()
            await finish(steps.route(lookalikes, _messages(events)), alerts, started)

    @app.agent(deadletter, name="deadletters")
    async def store_deadletters(stream: StreamT[Any]) -> None:
        async for events in stream.take_events(DEADLETTER_BATCH, within=0.5):  # type: ignore[attr-defined]
            refused = await in_thread(steps.store_dead_letters, index, _messages(events))
            if refused:
                # Nowhere further to send them: log loudly; the topic still holds them.
                log.error("dead letters not indexed: %s", refused)

    # The weekly account sweep (governance), on the leader worker.
    install_sweep_timer(app, settings, index, alerts, metrics)

    @app.timer(interval=RETENTION_EVERY_SECONDS, on_leader=True)
    async def retention() -> None:
        """Records older than the retention period are deleted (idempotent, so run often)."""
        loop = asyncio.get_running_loop()
        deleted = await loop.run_in_executor(
            loop_executor, apply_retention, index, settings.index, utcnow()
        )
        if deleted:
            log.info(
                "retention: deleted %d records older than %d days",
                deleted,
                settings.index.retention_days,
            )

    return app
