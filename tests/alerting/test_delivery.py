"""Alert delivery: each person told once per alert, failures recorded and dead-lettered."""

from __future__ import annotations

import json

from kafka import KafkaProducer
from prometheus_client import CollectorRegistry

from alerting.channels import DeliveryFailed, FileChannel
from alerting.worker import AlertDelivery
from socmon.index.sqlite import SqliteIndex
from socmon.kafka import ensure_topics
from socmon.metrics import Metrics
from socmon.records import Alert, DeadLetter, parse_record
from socmon.settings import load_settings
from tests.broker import read_topic
from tests.stream_processors.test_route import enriched


def concern(post_id: str = "42") -> Alert:
    post = enriched().post.model_copy(update={"post_id": post_id})
    return Alert(
        alert_id=f"concern:{post.key}",
        kind="concern",
        summary="Concern",
        departments=("maternity",),
        account=post.account,
        post=post,
    )


class BrokenChannel:
    name = "broken"

    def __init__(self) -> None:
        self.calls = 0

    def deliver(self, alert: Alert, recipient: str) -> None:
        self.calls += 1
        raise DeliveryFailed("connection refused")


def make_delivery(tmp_path, kafka_settings, channels):
    settings = load_settings(kafka=kafka_settings.model_dump(), data_dir=tmp_path)
    ensure_topics(kafka_settings)
    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    producer = KafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers)
    registry = CollectorRegistry()
    return AlertDelivery(
        settings, index, channels, producer, Metrics.create(registry), attempts=2
    ), registry


def test_the_same_alert_twice_in_one_batch_is_delivered_once(tmp_path, kafka_settings):
    outbox = tmp_path / "outbox.jsonl"
    delivery, _ = make_delivery(tmp_path, kafka_settings, [FileChannel(outbox)])
    first = delivery.handle([concern(), concern()])
    assert [(d.recipient, d.result) for d in first] == [
        ("maternity@northbrook.nhs.example", "sent"),
        ("patient-services@northbrook.nhs.example", "sent"),
    ]
    assert delivery.handle([concern()]) == []  # redelivered later: nobody told again
    lines = [json.loads(x) for x in outbox.read_text().splitlines()]
    assert len(lines) == 2
    assert delivery.index.stats().deliveries == 2


def test_a_failing_channel_is_retried_then_recorded_and_dead_lettered(tmp_path, kafka_settings):
    broken = BrokenChannel()
    delivery, registry = make_delivery(tmp_path, kafka_settings, [broken])
    results = delivery.handle([concern("7")])
    delivery.producer.flush()
    assert broken.calls == 4  # two recipients, two attempts each
    assert {d.result for d in results} == {"failed"}
    assert all("connection refused" in d.detail for d in results)
    letters = read_topic(kafka_settings.bootstrap_servers, kafka_settings.topics.deadletter, 2)
    parsed = [parse_record(DeadLetter, r.value) for r in letters]
    assert {d.stage for d in parsed} == {"alerting"}
    assert all("broken delivery to" in d.reason for d in parsed)
    assert (
        registry.get_sample_value(
            "socmon_deliveries_total", {"channel": "broken", "result": "failed"}
        )
        == 2.0
    )
