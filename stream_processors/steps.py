"""What each agent does to a batch, as plain functions: messages in, a `Step` out.

The Faust agents in `app.py` only take a batch from their topic, call one of these, send what
the step produced and count it (`Step.count`), so the logic runs the same without a broker: a
test hands a list of `Message` s in and reads the step's lists out. A failure of one item is data
(a dead letter in `Step.dead`); an index that cannot be reached raises `IndexUnavailable`, and the
agent retries the whole batch, unacknowledged, until the index takes it.

Routing runs on what the index step wrote (`Step.indexed`), not on the topic, so an alert is only
ever raised for a post that is in the index.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from socmon.deadletters import dead_letter
from socmon.erasure import ERASED_ON_REQUEST
from socmon.index.port import DeadLetterStore, PostStore
from socmon.metrics import Metrics
from socmon.records import (
    DeadLetter,
    EnrichedPost,
    Post,
    Record,
    RecordError,
    Stage,
    parse_record,
)
from stream_processors.alert_rules import alerts_for
from stream_processors.classify.classifier import PostClassifier, PostText
from stream_processors.governance.unregistered import LookalikeAccounts

Cause = Literal["invalid_record", "rejected", "erased"]
"""Why an item became a dead letter, as the metrics label it: it could not be parsed into its
record, the index refused it, or its author was erased on request (not a failure)."""

T = TypeVar("T", bound=Record)


@dataclass(frozen=True)
class Message:
    """A message as it came off a topic: where from (``topic/partition/offset``) and its bytes."""

    origin: str
    value: bytes


@dataclass
class Step:
    """What one batch produced: messages to send on, dead letters with their cause, and the
    platforms of the items taken in and passed on (for the metrics)."""

    stage: Stage
    out: list[tuple[bytes, bytes]] = field(default_factory=list)
    dead: list[tuple[DeadLetter, Cause]] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    alert_kinds: list[str] = field(default_factory=list)
    indexed: list[EnrichedPost] = field(default_factory=list)
    """The posts the index stored (the index step only): what routing raises alerts for."""

    def parse(self, messages: Sequence[Message], model: type[T]) -> list[T]:
        """The messages that parse as `model`; each other one becomes a dead letter."""
        records = []
        for message in messages:
            try:
                records.append(parse_record(model, message.value))
            except RecordError as exc:
                letter = dead_letter(self.stage, message.origin, message.value, exc.reason)
                self.dead.append((letter, "invalid_record"))
        return records

    def suppress_erased(self, records: list[T], erased: Container[str]) -> list[T]:
        """The records whose author was not erased on request; each other one becomes a dead
        letter holding only the post's key (never the text or the author)."""
        kept = []
        for record in records:
            post = record.post if isinstance(record, EnrichedPost) else record
            if isinstance(post, Post) and post.author in erased:
                origin = f"{self.stage}/{post.key}"
                letter = dead_letter(self.stage, origin, {"key": post.key}, ERASED_ON_REQUEST)
                self.dead.append((letter, "erased"))
            else:
                kept.append(record)
        return kept

    def count(self, metrics: Metrics, seconds: float) -> None:
        """Count the step in the stage metrics: the one place a stream stage is counted."""
        for platform in self.taken:
            metrics.items_in.labels(self.stage, platform).inc()
        for platform in self.passed:
            metrics.items_out.labels(self.stage, platform).inc()
        for _, cause in self.dead:
            metrics.deadletters.labels(self.stage, cause).inc()
        for kind in self.alert_kinds:
            metrics.alerts.labels(kind).inc()
        metrics.latency.labels(self.stage).observe(seconds)


def enrich(
    classifier: PostClassifier, messages: Sequence[Message], erased: Container[str] = ()
) -> Step:
    """Posts in, each with its classification out (keyed by the post's key); a post by an
    author in `erased` goes no further (see `Step.suppress_erased`)."""
    step = Step("enrich")
    posts = step.suppress_erased(step.parse(messages, Post), erased)
    step.taken = [post.platform for post in posts]
    labels = classifier.classify_many([PostText(p.text, p.kind, p.media) for p in posts])
    for post, label in zip(posts, labels, strict=True):
        step.out.append(
            (post.key.encode(), EnrichedPost(post=post, classification=label).to_bytes())
        )
        step.passed.append(post.platform)
    return step


def route(lookalikes: LookalikeAccounts | None, indexed: Sequence[EnrichedPost]) -> Step:
    """The posts the index step stored (`Step.indexed`) in, the alerts they raise out (keyed by
    alert id). Never the topic's messages: a post the index did not take raises no alert."""
    step = Step("route")
    for record in indexed:
        step.taken.append(record.post.platform)
        for alert in alerts_for(record, lookalikes):
            step.out.append((alert.alert_id.encode(), alert.to_bytes()))
            step.alert_kinds.append(alert.kind)
        step.passed.append(record.post.platform)
    return step


def index(posts: PostStore, messages: Sequence[Message], erased: Container[str] = ()) -> Step:
    """Enriched posts in, written to the index; a post the index refuses becomes a dead letter.
    The posts it stored are in `Step.indexed`, for `route`. A post by an author in `erased`
    (already enriched when the erasure came) is not written.

    Blocking (the index may be a remote server): the agent calls it in a thread. An index that
    cannot be reached raises `IndexUnavailable` (nothing is half-counted: the agent retries)."""
    step = Step("index")
    records = step.suppress_erased(step.parse(messages, EnrichedPost), erased)
    step.taken = [record.post.platform for record in records]
    result = posts.upsert_posts(records)
    failed = dict(result.failed)
    by_key = {record.key: record for record in records}
    for key, reason in failed.items():
        item = by_key.get(key, key)
        letter = dead_letter(
            "index", f"index/{key}", item, f"index rejected the document: {reason}"
        )
        step.dead.append((letter, "rejected"))
    step.indexed = [record for record in records if record.key not in failed]
    step.passed = [record.post.platform for record in step.indexed]
    return step


def store_dead_letters(letters: DeadLetterStore, messages: Sequence[Message]) -> list[str]:
    """Dead letters in, written to the index; one that is itself unreadable is kept as it came.
    Returns the reasons of any the index refused (there is nowhere further to send them). An
    index that cannot be reached raises `IndexUnavailable` (the agent retries)."""
    parsed: list[DeadLetter] = []
    for message in messages:
        try:
            parsed.append(parse_record(DeadLetter, message.value))
        except RecordError as exc:
            reason = f"unreadable dead letter: {exc.reason}"
            parsed.append(dead_letter("index", message.origin, message.value, reason))
    result = letters.record_deadletters(parsed)
    return [f"{key}: {reason}" for key, reason in result.failed]
