"""Kafka plumbing shared by the stages: topic creation, producers, and the idle probe.

The idle probe does not trust the broker's end offsets (the embedded Tansu broker answers
ListOffsets wrongly); it reads each group's committed offsets and asks for one record past them.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from socmon.settings import KafkaSettings

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The Kafka broker could not be reached."""


def wait_for_broker(bootstrap: str, timeout: float = 30.0) -> None:
    """Block until the broker answers metadata requests, or raise `BrokerUnavailable`."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    # Wait for the port first: a Kafka client retrying a closed port logs an error each time.
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=1.0).close()
            break
        except OSError as exc:
            last = exc
            time.sleep(0.1)
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
            admin.list_topics()
            admin.close()
            return
        except (KafkaError, OSError) as exc:
            last = exc
            time.sleep(0.2)
    msg = f"Kafka broker at {bootstrap} did not answer within {timeout:.0f}s: {last}"
    raise BrokerUnavailable(msg)


def ensure_topics(settings: KafkaSettings, topics: Iterable[str] | None = None) -> list[str]:
    """Create the topics that do not exist yet; return the names created.

    They are created with ``retention.ms`` of ``kafka.topic_retention_days`` (a topic that exists
    already keeps its own setting).
    """
    wanted = list(topics) if topics is not None else list(settings.topics.all())
    configs = {"retention.ms": str(settings.topic_retention_days * 86_400_000)}
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            new = [
                NewTopic(t, settings.partitions, settings.replication_factor, topic_configs=configs)
                for t in missing
            ]
            try:
                admin.create_topics(new)
            except TopicAlreadyExistsError:
                log.info("topics were created concurrently: %s", missing)
        return missing
    finally:
        admin.close()


def make_producer(bootstrap: str) -> KafkaProducer:
    """A producer that waits for the broker's acknowledgement and retries transient errors."""
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        retries=5,
        linger_ms=5,
        max_in_flight_requests_per_connection=1,  # keep per-key order across retries
    )


def topic_partitions(consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
    """The partitions of `topic`, after fetching metadata (a new consumer knows none yet)."""
    found = consumer.partitions_for_topic(topic)
    if not found:
        consumer.topics()  # forces a metadata request
        found = consumer.partitions_for_topic(topic)
    if not found:
        msg = f"topic {topic} does not exist on the broker"
        raise BrokerUnavailable(msg)
    return [TopicPartition(topic, p) for p in sorted(found)]


def pending_records(
    bootstrap: str, group: str, topics: Iterable[str], timeout_ms: int = 10_000
) -> int:
    """How many records (up to one poll's worth) wait past `group`'s committed offsets.

    0 means the group has consumed and committed everything in `topics`: the broker answered a
    fetch at the committed offset of every partition with no record. An empty poll alone does
    not say that (a busy machine may not have fetched yet, and a poll returning nothing then
    made a run stop with work left), so this polls until every partition's fetch came back
    (its high watermark is known) or a record arrived; past `timeout_ms` it counts as pending.
    The end offsets are not used: Tansu reports the start of the last batch as the end.
    """
    committed_reader = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    reader = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        parts = [tp for topic in topics for tp in topic_partitions(reader, topic)]
        reader.assign(parts)
        for tp in parts:
            reader.seek(tp, committed_reader.committed(tp) or 0)
        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            batch = reader.poll(timeout_ms=200, max_records=100)
            if batch:
                return sum(len(records) for records in batch.values())
            if all(reader.highwater(tp) is not None for tp in parts):
                return 0
        return 1  # no answer in time: not known to be idle

    finally:
        with _quiet_kafka():
            reader.close()
            committed_reader.close()


class SocketRaceFilter(logging.Filter):
    """kafka-python 3.0 (``kafka.net.transport``) sometimes reads a connection once more after
    its own IO loop closed it (``_sock`` is None): it logs that as an ERROR with a traceback,
    then treats it as a lost connection and reconnects, so nothing is lost. This filter says it
    in one warning line instead, so a traceback in a socmon log always means something of ours.
    Any other error of the library passes untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, AttributeError) and "'NoneType' object has no attribute" in str(error):
            record.msg = f"{record.getMessage()} (a connection it had closed, read once more)"
            record.args = None
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


logging.getLogger("kafka.net.transport").addFilter(SocketRaceFilter())


@contextmanager
def _quiet_kafka() -> Iterator[None]:
    """Closing a client that is still refreshing metadata makes kafka-python log the cancelled
    request as an ERROR (sometimes with a traceback of its own socket race): noise, not news,
    for a probe that runs every few seconds. Only CRITICAL passes while it closes."""
    logger = logging.getLogger("kafka")
    before = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(before)
