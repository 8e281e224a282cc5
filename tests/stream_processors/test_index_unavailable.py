"""The stream worker's app on the real broker (Tansu) and a real SQLite index whose write lock
another connection holds: the index agent waits, commits nothing and routes nothing, and a stop
waits for it; once the lock is gone every post is indexed and the alerts of exactly those posts
are raised."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry

from socmon.index.port import PostQuery
from socmon.index.sqlite import SqliteIndex
from socmon.kafka import ensure_topics, make_producer, pending_records
from socmon.metrics import Metrics
from socmon.records import Alert, parse_record
from socmon.settings import KafkaSettings, Settings, load_settings
from socmon.topics import STREAM_GROUP
from stream_processors.app import create_app
from tests.broker import read_topic
from tests.e2e_helpers import sweep_weekday_away
from tests.factories import make_post

pytestmark = pytest.mark.slow

POSTS = 40
UNREADABLE = 2


def settings_for(tmp_path: Path, kafka: KafkaSettings, monkeypatch) -> Settings:
    # The weekly sweep must not fire during the test (it writes to the index too).
    monkeypatch.setenv("SOCMON_GOVERNANCE__SWEEP_WEEKDAY", sweep_weekday_away())
    return load_settings(None, data_dir=tmp_path, kafka=kafka)


def committed(kafka: KafkaSettings, topic: str) -> dict[int, int | None]:
    """The stream worker's committed offset of each partition of `topic`."""
    consumer = KafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, group_id=STREAM_GROUP, enable_auto_commit=False
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        return {p: consumer.committed(TopicPartition(topic, p)) for p in sorted(partitions)}
    finally:
        consumer.close()


async def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


def test_a_locked_index_holds_the_batch_uncommitted_and_the_next_worker_indexes_it(
    kafka_settings, tmp_path, monkeypatch, caplog
):
    settings = settings_for(tmp_path, kafka_settings, monkeypatch)
    topics = kafka_settings.topics
    ensure_topics(kafka_settings)
    posts = [
        make_post(
            str(i),
            sentiment="concern" if i % 4 == 0 else "neutral",
            departments=("maternity",) if i % 4 == 0 else (),
        )
        for i in range(POSTS)
    ]
    producer = make_producer(kafka_settings.bootstrap_servers)
    for post in posts:
        producer.send(topics.posts_enriched, key=post.key.encode(), value=post.to_bytes())
    for i in range(UNREADABLE):
        producer.send(topics.posts_enriched, key=b"broken", value=b'{"post": ' + str(i).encode())
    producer.flush()
    producer.close()

    db = tmp_path / "socmon.db"
    # A short busy timeout, so a write fails with IndexUnavailable at once (the default 30 s
    # would only make it wait; tests/faults/ holds the lock for longer than that).
    index = SqliteIndex(db, busy_timeout=0.2)
    index.setup()
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process's write lock: a backup, a long erase
    caplog.set_level(logging.WARNING, logger="stream_processors.app")
    registry = CollectorRegistry()

    def retries() -> float:
        value = registry.get_sample_value(
            "socmon_batch_retries_total", {"stage": "index", "reason": "index_unavailable"}
        )
        return value or 0.0

    def nothing_acknowledged() -> None:
        assert set(committed(kafka_settings, topics.posts_enriched).values()) <= {None, 0}
        assert read_topic(kafka_settings.bootstrap_servers, topics.alerts, 1, timeout=1) == []
        assert index.stats().indexed == 0

    async def lock_then_stop_then_unlock() -> None:
        app = create_app(settings, index, Metrics.create(registry))
        await app.start()
        try:
            await wait_for(lambda: retries() >= 3, 90, "the index agent to retry three times")
            nothing_acknowledged()
            # Asked to stop, the worker waits for the batch it holds: it never drops it.
            stopping = asyncio.ensure_future(app.stop())
            await asyncio.sleep(3)
            assert not stopping.done()
            nothing_acknowledged()
            locker.execute("ROLLBACK")  # the backup is over
            await asyncio.wait_for(stopping, 60)
        finally:
            if locker.in_transaction:
                locker.execute("ROLLBACK")
            await app.stop()

    def drained() -> bool:
        stream = [topics.posts_enriched, topics.deadletter]
        return pending_records(kafka_settings.bootstrap_servers, STREAM_GROUP, stream) == 0

    async def run_again() -> None:
        # The index agent's dead letters were sent while the first worker was stopping, after
        # it had stopped fetching: the next worker stores them.
        app = create_app(settings, index, Metrics.create(CollectorRegistry()))
        await app.start()
        try:
            await wait_for(drained, 90, "the next worker to process and commit everything")
        finally:
            await app.stop()

    try:
        asyncio.run(lock_then_stop_then_unlock())
        waiting = [r for r in caplog.records if "waiting for the index since" in r.getMessage()]
        assert len(waiting) == 1, "logged when the wait starts, not on every retry"
        assert "database is locked" in waiting[0].getMessage()
        assert any("went through after waiting" in r.getMessage() for r in caplog.records)
        # The batch it held went through (the batches after it are the next worker's).
        held = {p.key for p in index.search_posts(PostQuery(limit=1000))}
        assert held, "the held batch was indexed once the lock was gone"
        assert held <= {p.key for p in posts}
        asyncio.run(run_again())
        stored = {p.key for p in index.search_posts(PostQuery(limit=1000))}
        letters = index.deadletters(limit=1000)
    finally:
        locker.close()
        index.close()
    assert stored == {p.key for p in posts}
    assert len(letters) == UNREADABLE
    assert {letter.stage for letter in letters} == {"index"}
    alerts = [
        parse_record(Alert, r.value)
        for r in read_topic(kafka_settings.bootstrap_servers, topics.alerts, 10_000, timeout=3)
    ]
    concerns = {p.key for p in posts if p.classification.sentiment == "concern"}
    assert {a.post.key for a in alerts if a.post is not None} == concerns
    assert all(a.post is not None and a.post.key in stored for a in alerts)
