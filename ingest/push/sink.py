"""Where every source's items go: produced to Kafka, and counted once the broker acknowledged.

Shared by the polling runner and the push runner, so a post counts the same in the metrics
whichever way it arrived.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from kafka import KafkaProducer

from socmon.metrics import Metrics
from socmon.records import DeadLetter, Post
from socmon.topics import Topics


class Sink(Protocol):
    """Where a runner's batches go; `produce` returns once every item is safely stored."""

    def produce(self, posts: Sequence[Post], rejects: Sequence[DeadLetter]) -> None:
        """Store them all or raise (a `KafkaError` for the Kafka sink)."""


class KafkaSink:
    """Posts to ``socmon.posts.raw`` keyed by ``platform:post_id``, rejects to the dead-letter
    topic; `produce` returns only once the broker acknowledged every one of them."""

    def __init__(self, producer: KafkaProducer, topics: Topics, send_timeout: float = 30.0) -> None:
        self.producer = producer
        self.topics = topics
        self.send_timeout = send_timeout

    def produce(self, posts: Sequence[Post], rejects: Sequence[DeadLetter]) -> None:
        """Send and wait for the acks; raises the `KafkaError` of a failed send."""
        futures = [
            self.producer.send(self.topics.posts_raw, key=p.key.encode(), value=p.to_bytes())
            for p in posts
        ]
        futures += [
            self.producer.send(self.topics.deadletter, key=r.key.encode(), value=r.to_bytes())
            for r in rejects
        ]
        if not futures:
            return
        self.producer.flush(timeout=self.send_timeout)
        for fut in futures:
            fut.get(timeout=self.send_timeout)  # raises the KafkaError of a failed send


def count_produced(
    metrics: Metrics, source: str, posts: Sequence[Post], rejects: Sequence[DeadLetter]
) -> None:
    """The metrics of items the broker acknowledged for `source`."""
    metrics.connector_fetched.labels(source).inc(len(posts))
    metrics.connector_last_success.labels(source).set(time.time())
    for post in posts:
        metrics.items_out.labels("ingest", post.platform).inc()
    for reject in rejects:
        metrics.deadletters.labels("ingest", reason_label(reject.reason)).inc()


def reason_label(reason: str) -> str:
    """A small label set for the dead-letter metric: the reason's first words, not its details."""
    if reason.startswith("not valid JSON"):
        return "invalid_json"
    if reason.startswith("missing field"):
        return "missing_field"
    if reason.startswith("unknown field"):
        return "unknown_field"
    if reason.startswith("withheld"):
        return "withheld"
    if reason.startswith("not available"):
        return "not_available"  # deleted, protected or suspended on the platform
    return "invalid_value"
