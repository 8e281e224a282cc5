"""The Faust app: four agents, no state of their own (the index holds what matters).

    socmon.posts.raw ──enrich──▶ socmon.posts.enriched ──index──▶ the index
                                                       └─route──▶ socmon.alerts
    socmon.deadletter ──deadletters──▶ the index (so every reject can be looked up)

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

from socmon.deadletters import dead_letter
from socmon.index.port import Index
from socmon.index.retention import apply_retention
from socmon.metrics import Metrics
from socmon.records import (
    DeadLetter,
    EnrichedPost,
    Post,
    RecordError,
    Stage,
    parse_record,
    utcnow,
)
from socmon.settings import Settings
from socmon.topics import STREAM_GROUP
from stream_processors.alert_rules import alerts_for
from stream_processors.classify.classifier import PostClassifier, PostText
from stream_processors.governance.timer import install_sweep_timer
from stream_processors.governance.unregistered import LookalikeAccounts

log = logging.getLogger(__name__)

APP_ID = STREAM_GROUP
ENRICH_BATCH = 500
DEADLETTER_BATCH = 200
RETENTION_EVERY_SECONDS = 6 * 3600.0


def _origin(event: Any) -> str:
    msg = event.message
    return f"{msg.topic}/{msg.partition}/{msg.offset}"


def _payload(event: Any) -> str:
    value = event.message.value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


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

    async def send_dead_letter(stage: Stage, event: Any, reason: str) -> None:
        letter = dead_letter(stage, _origin(event), _payload(event), reason)
        metrics.deadletters.labels(stage, reason.split(":", 1)[0][:40]).inc()
        await deadletter.send(key=letter.key.encode(), value=letter.to_bytes())

    async def parse_batch(stage: Stage, events: Sequence[Any], model: Any) -> list[Any]:
        records = []
        for event in events:
            try:
                records.append(parse_record(model, event.message.value))
            except RecordError as exc:
                await send_dead_letter(stage, event, exc.reason)
        return records

    @app.agent(raw, name="enrich")
    async def enrich(stream: StreamT[Any]) -> None:
        async for events in stream.take_events(ENRICH_BATCH, within=0.2):  # type: ignore[attr-defined]
            started = time.perf_counter()
            posts: list[Post] = await parse_batch("enrich", events, Post)
            for post in posts:
                metrics.items_in.labels("enrich", post.platform).inc()
            labels = classifier.classify_many([PostText(p.text, p.kind, p.media) for p in posts])
            for post, label in zip(posts, labels, strict=True):
                record = EnrichedPost(post=post, classification=label)
                await enriched.send(key=post.key.encode(), value=record.to_bytes())
                metrics.items_out.labels("enrich", post.platform).inc()
            metrics.latency.labels("enrich").observe(time.perf_counter() - started)

    @app.agent(enriched, name="index")
    async def index_posts(stream: StreamT[Any]) -> None:
        batch_size = settings.index.batch_size
        async for events in stream.take_events(batch_size, within=0.5):  # type: ignore[attr-defined]
            started = time.perf_counter()
            records: list[EnrichedPost] = await parse_batch("index", events, EnrichedPost)
            for record in records:
                metrics.items_in.labels("index", record.post.platform).inc()
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(loop_executor, index.upsert_posts, records)
            failed = dict(result.failed)
            by_key = {r.key: r for r in records}
            for key, reason in failed.items():
                letter = dead_letter(
                    "index",
                    f"index/{key}",
                    by_key.get(key, key),
                    f"index rejected the document: {reason}",
                )
                metrics.deadletters.labels("index", "rejected").inc()
                await deadletter.send(key=letter.key.encode(), value=letter.to_bytes())
            for record in records:
                if record.key not in failed:
                    metrics.items_out.labels("index", record.post.platform).inc()
            metrics.latency.labels("index").observe(time.perf_counter() - started)

    lookalikes = LookalikeAccounts.from_settings(settings)  # unregistered accounts, in route

    @app.agent(enriched, name="route")
    async def route(stream: StreamT[Any]) -> None:
        async for events in stream.take_events(ENRICH_BATCH, within=0.2):  # type: ignore[attr-defined]
            started = time.perf_counter()
            records: list[EnrichedPost] = await parse_batch("route", events, EnrichedPost)
            for record in records:
                metrics.items_in.labels("route", record.post.platform).inc()
                for alert in alerts_for(record, lookalikes):
                    await alerts.send(key=alert.alert_id.encode(), value=alert.to_bytes())
                    metrics.alerts.labels(alert.kind).inc()
                metrics.items_out.labels("route", record.post.platform).inc()
            metrics.latency.labels("route").observe(time.perf_counter() - started)

    @app.agent(deadletter, name="deadletters")
    async def store_deadletters(stream: StreamT[Any]) -> None:
        async for events in stream.take_events(DEADLETTER_BATCH, within=0.5):  # type: ignore[attr-defined]
            letters: list[DeadLetter] = []
            for event in events:
                try:
                    letters.append(parse_record(DeadLetter, event.message.value))
                except RecordError as exc:
                    # A dead letter that is itself unreadable is kept as it came.
                    letters.append(
                        dead_letter(
                            "index",
                            _origin(event),
                            _payload(event),
                            f"unreadable dead letter: {exc.reason}",
                        )
                    )
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(loop_executor, index.record_deadletters, letters)
            if result.failed:
                # Nowhere further to send them: log loudly; the topic still holds them.
                log.error("dead letters not indexed: %s", result.failed)

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
