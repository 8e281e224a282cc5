"""The index port: what reports, the dashboard, the sweep and the agents need from storage.

Two adapters implement it: `socmon.index.sqlite.SqliteIndex` (embedded default) and
`socmon.index.elasticsearch.ElasticsearchIndex` (deployments). Every write is an idempotent upsert
by a stable id (``platform:post_id`` for posts), so a replay never duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from socmon.records import Alert, DeadLetter, Delivery, EnrichedPost, Platform, R, Record, Sentiment


class IndexUnavailable(Exception):
    """The index cannot be reached or refused a request."""


@dataclass(frozen=True)
class BulkResult:
    """What a bulk write did: ids written, and items that still failed after the bounded retries."""

    written: int
    failed: tuple[tuple[str, str], ...] = ()  # (id, reason), for the dead-letter topic


@dataclass(frozen=True)
class PostQuery:
    """A search over indexed posts; every criterion is optional."""

    text: str | None = None
    sentiment: Sentiment | None = None
    department: str | None = None
    platform: Platform | None = None
    account: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50


@dataclass(frozen=True)
class Stats:
    """Counts for `socmon stats`."""

    indexed: int
    by_sentiment: dict[str, int] = field(default_factory=dict)
    deadletter: int = 0
    alerts: dict[str, int] = field(default_factory=dict)
    deliveries: int = 0


class Index(Protocol):
    """Storage of posts, alerts, deliveries and dead letters."""

    def setup(self) -> None:
        """Create tables or the index template (idempotent); IndexUnavailable if unreachable."""

    def upsert_posts(self, posts: Sequence[EnrichedPost]) -> BulkResult:
        """Insert or replace by ``platform:post_id``."""

    def get_post(self, key: str) -> EnrichedPost | None: ...

    def search_posts(self, query: PostQuery) -> list[EnrichedPost]:
        """Newest first; full-text on ``text`` when given."""

    def record_alerts(self, alerts: Sequence[Alert]) -> BulkResult:
        """Insert or replace by ``alert_id``."""

    def record_deliveries(self, deliveries: Sequence[Delivery]) -> BulkResult:
        """Insert or replace by `Delivery.key` (alert, recipient, channel)."""

    def was_delivered(self, delivery_key: str) -> bool:
        """True if a delivery with this key succeeded before (at-most-once to a person)."""

    def deliveries_for(self, alert_id: str) -> list[Delivery]: ...

    def record_deadletters(self, letters: Sequence[DeadLetter]) -> BulkResult:
        """Insert or replace by `DeadLetter.key`."""

    def deadletters(self, limit: int = 100) -> list[DeadLetter]: ...

    def alerts_between(self, since: datetime, until: datetime) -> list[Alert]:
        """Alerts raised in [since, until), oldest first (digests, the monthly report)."""

    def put_documents(self, collection: str, docs: Sequence[tuple[str, Record]]) -> BulkResult:
        """Insert or replace small records by (collection, id): account requests, corrections,
        dashboard users. A collection holds one record type."""

    def get_documents(self, collection: str, model: type[R]) -> list[R]:
        """Every document of `collection`, in the order first written (ties by id)."""

    def delete_documents(self, collection: str, ids: Sequence[str]) -> int:
        """Delete by id; returns how many existed."""

    def delete_older_than(self, cutoff: datetime) -> int:
        """Retention: delete posts, alerts, deliveries and dead letters older than `cutoff`."""

    def erase_author(self, handle: str) -> int:
        """A data-subject request: delete a person's posts and the alerts quoting them."""

    def last_post_per_account(self) -> dict[tuple[str, str], datetime]:
        """(platform, account) -> time of its newest official post."""

    def stats(self) -> Stats: ...

    def close(self) -> None: ...
