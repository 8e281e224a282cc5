"""Where the receiver puts what a push brought: posts to ``socmon.posts.raw`` and dead letters to
``socmon.deadletter``, returning only once the broker acknowledged every one of them.

Sending blocks (the broker's acknowledgement), so the app calls `PostSink.deliver` in a worker
thread, never on its event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError

from ingest.push import sink as push_sink
from socmon.records import DeadLetter, Post
from socmon.topics import Topics


class SinkUnavailable(Exception):
    """The broker did not acknowledge in time; the push is answered 503 so it comes again."""


class PostSink(Protocol):
    def deliver(self, posts: Sequence[Post], rejects: Sequence[DeadLetter]) -> None:
        """Produce them all and wait for the acknowledgements; raise `SinkUnavailable`."""

    def close(self) -> None: ...


def make_webhook_producer(bootstrap: str, timeout_seconds: float) -> KafkaProducer:
    """A producer like `socmon.kafka.make_producer`, bounded in time: a push must be answered
    within seconds, so no send may wait a minute for metadata of a broker that is down."""
    timeout_ms = int(timeout_seconds * 1000)
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        retries=5,
        linger_ms=2,
        max_in_flight_requests_per_connection=1,
        max_block_ms=timeout_ms,
        request_timeout_ms=max(timeout_ms, 1000),
        delivery_timeout_ms=max(timeout_ms, 1000) + 2,
    )


class KafkaSink(push_sink.KafkaSink):
    """`PostSink` on the runners' Kafka sink (keyed ``platform:post_id``), bounded in time: a
    broker that does not acknowledge is `SinkUnavailable`, answered 503."""

    def __init__(self, producer: KafkaProducer, topics: Topics, timeout_seconds: float) -> None:
        super().__init__(producer, topics, send_timeout=timeout_seconds)
        self.timeout = timeout_seconds

    def deliver(self, posts: Sequence[Post], rejects: Sequence[DeadLetter]) -> None:
        try:
            self.produce(posts, rejects)
        except KafkaError as exc:
            msg = f"the broker did not acknowledge within {self.timeout:.0f}s: {exc}"
            raise SinkUnavailable(msg) from exc

    def warm_up(self) -> None:
        """Fetch the topics' metadata now, so the first push is not the one that waits for it."""
        for topic in (self.topics.posts_raw, self.topics.deadletter):
            self.producer.partitions_for(topic)

    def close(self) -> None:
        self.producer.close(timeout=self.timeout)
