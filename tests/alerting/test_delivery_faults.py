"""Alert delivery under faults, on the real broker: an index that cannot be written holds the
batch (no exit, nobody told twice), and a stop while the broker is gone does not hang."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Collection, Sequence
from pathlib import Path

import pytest

from alerting.render import Message
from socmon.broker import EmbeddedBroker
from socmon.kafka import ensure_topics
from socmon.settings import KafkaSettings
from tests.alerting.helpers import make_harness, make_settings
from tests.alerting.test_delivery import Running, produce, sent_pairs, wait_until
from tests.factories import make_post_alert

pytestmark = pytest.mark.slow


def test_an_unwritable_index_holds_the_batch_until_it_is_back(
    tmp_path: Path, kafka_settings: KafkaSettings
) -> None:
    ensure_topics(kafka_settings)
    settings = make_settings(tmp_path, kafka_settings)
    harness = make_harness(settings, busy_timeout=0.2)
    # another process holds the write lock (a backup, a long erasure)
    lock = sqlite3.connect(settings.sqlite_path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    worker = Running(harness.delivery)
    try:
        produce(kafka_settings, [make_post_alert(post_id=str(n)) for n in range(3)])
        time.sleep(4.0)  # several failed attempts
        assert worker.thread.is_alive(), "the worker gave up instead of waiting"
        assert sent_pairs(settings) == {}
        lock.execute("ROLLBACK")
        wait_until(lambda: len(sent_pairs(settings)) >= 3, 60, "the held alerts")
        time.sleep(1.0)  # room for a wrong second send
    finally:
        lock.close()
        worker.close()
    pairs = sent_pairs(settings)
    assert len({alert for alert, _ in pairs}) == 3
    assert max(pairs.values()) == 1


class HeldChannel:
    """The outbox channel's name, holding each send until released (the broker dies meanwhile)."""

    name = "file"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def send(self, message: Message, recipients: Sequence[str]) -> None:
        self.entered.set()
        self.release.wait(30)

    def confirm(self, delivery_keys: Collection[str]) -> set[str] | None:
        return set()


def test_a_stop_while_the_broker_is_gone_does_not_hang(tmp_path: Path) -> None:
    with (tmp_path / "tansu.log").open("wb") as log:
        broker = EmbeddedBroker(log=log)
    try:
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap,
            topic_prefix=f"t{uuid.uuid4().hex[:10]}",
            partitions=1,
            session_timeout_ms=6000,
        )
        ensure_topics(kafka)
        settings = make_settings(tmp_path, kafka)
        channel = HeldChannel()
        harness = make_harness(settings, channels={"file": channel})
        worker = Running(harness.delivery)
        produce(kafka, [make_post_alert(post_id="1")])
        assert channel.entered.wait(60), "the alert never reached the channel"
    finally:
        broker.stop()  # gone while the batch is being delivered: its commit cannot succeed
    channel.release.set()
    stopped = time.monotonic()
    worker.stop.set()  # what SIGTERM does
    worker.thread.join(30)
    assert not worker.thread.is_alive(), "the worker hung on its way out"
    assert time.monotonic() - stopped < 20
    assert worker.errors == []
