"""The index port: what reports, the dashboard, the sweep and the agents need from storage.

It is split into narrow stores, and each part of the code asks for the ones it uses:
`PostStore` (posts: write, search, count), `AlertStore` (alerts and their deliveries),
`DeadLetterStore`, and `DocumentStore` (small typed records in named `Collection` s: register
changes, account requests, corrections, users). `Index` is all of them plus set-up, retention,
erasure and stats.

Two adapters implement it: `socmon.index.sqlite.SqliteIndex` (embedded default) and
`socmon.index.elasticsearch.ElasticsearchIndex` (deployments). Every write is an idempotent
upsert by a stable id (``platform:post_id`` for posts), so a replay never duplicates, and a
person's correction of a post's labels survives the pipeline indexing that post again
(`PostStore.upsert_posts`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, get_args

from socmon.records import (
    Alert,
    CaseStatus,
    CorrectedLabels,
    DeadLetter,
    Delivery,
    EnrichedPost,
    Platform,
    PostKind,
    R,
    Sentiment,
)

PostDimension = Literal[
    "sentiment",
    "platform",
    "account",
    "kind",
    "department",
    "abusive",
    "urgent",
    "day",
    "week",
    "month",
    "status",
]
"""What `Index.count_posts` can group by. ``department`` is multi-valued (a post with two
departments counts once in each); ``abusive`` and ``urgent`` group as ``"true"``/``"false"``;
``day`` (``2026-10-05``) and ``week`` (the Monday it starts on, same format) are UTC dates,
``month`` is ``2026-10``; ``status`` is `EnrichedPost.case_status` (``NO_VALUE`` for a post that
needs no action)."""
POST_DIMENSIONS: tuple[PostDimension, ...] = get_args(PostDimension)
NO_VALUE = ""
"""The group of a post without a value for a multi-valued dimension (no department)."""


def author_handle(author: str) -> str:
    """How an author is matched for erasure: without a leading ``@``, case-insensitive."""
    return author.strip().lstrip("@").casefold()


def names_handle(text: str, handle: str) -> bool:
    """True if `text` (a dead letter's raw payload) holds the handle as a whole word, with or
    without ``@``, in any case: how erasure finds the dead letters of a person."""
    wanted = author_handle(handle)
    if not wanted:
        return False
    pattern = rf"(?<![\w.@-])@?{re.escape(wanted)}(?![\w-])"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


class IndexUnavailable(Exception):
    """The index cannot be reached or refused a request."""


@dataclass(frozen=True)
class BulkResult:
    """What a bulk write did: ids written, and items that still failed after the bounded retries."""

    written: int
    failed: tuple[tuple[str, str], ...] = ()  # (id, reason), for the dead-letter topic


@dataclass(frozen=True)
class Erased:
    """What `Index.erase_author` deleted: the counts, and the ids the callers erase elsewhere
    (corrections by post key, the outbox by alert id)."""

    posts: int = 0
    alerts: int = 0
    deliveries: int = 0
    deadletters: int = 0
    post_keys: tuple[str, ...] = ()
    alert_ids: tuple[str, ...] = ()

    @property
    def items(self) -> int:
        return self.posts + self.alerts + self.deliveries + self.deadletters


PostSort = Literal["newest", "oldest", "author", "platform", "sentiment", "status", "department"]
"""How `PostStore.search_posts` orders: by the post's time (newest or oldest first), or by a
column A to Z with newest first among equals (``department``: the first of the post's)."""
POST_SORTS: tuple[PostSort, ...] = get_args(PostSort)
UNASSIGNED = ""
"""`PostQuery.assignee` for the posts nobody is assigned to."""


@dataclass(frozen=True)
class PostQuery:
    """A search over indexed posts; every criterion is optional, and all given must hold.

    ``text`` matches every word, stemmed (``midwives`` finds ``midwife``), and a word ending in
    ``*`` as a prefix. ``author`` matches the handle as erasure does (`author_handle`). A
    department given in ``department`` or any of ``departments`` matches. ``statuses`` are
    `EnrichedPost.case_status` values (``new`` includes the posts that need action and have no
    case yet). ``assignee`` is a user name, or `UNASSIGNED`. ``breach`` is True for posts with at
    least one policy breach (not dismissed). ``offset`` skips that many in the sort order.
    """

    text: str | None = None
    sentiment: Sentiment | None = None
    department: str | None = None
    platform: Platform | None = None
    account: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    kind: PostKind | None = None
    departments: tuple[str, ...] = ()
    author: str | None = None
    urgent: bool | None = None
    abusive: bool | None = None
    breach: bool | None = None
    statuses: tuple[CaseStatus, ...] = ()
    assignee: str | None = None
    sort: PostSort = "newest"
    offset: int = 0


@dataclass(frozen=True)
class Stats:
    """Counts for `socmon stats`.

    A delivery (one alert, recipient and channel) counts by its latest recorded outcome
    (`Delivery.result`): a failed one that is sent later counts as sent only. ``alerts_pending``
    counts the recorded alerts with no delivery recorded at all, whatever its outcome: alerts
    waiting for the daily digest, or for a route; an alert still on the alerts topic is not in
    the index yet, so it is not counted anywhere here.
    """

    indexed: int
    by_sentiment: dict[str, int] = field(default_factory=dict)
    deadletter: int = 0
    alerts: dict[str, int] = field(default_factory=dict)
    deliveries_sent: int = 0
    deliveries_failed: int = 0
    alerts_pending: int = 0

    @property
    def deliveries(self) -> int:
        """Every delivery recorded, sent or failed."""
        return self.deliveries_sent + self.deliveries_failed


@dataclass(frozen=True)
class Collection(Generic[R]):
    """A named collection of small records of one type in the `DocumentStore`. Each is defined
    once, beside its record type, and every stage that reads or writes it uses that one."""

    name: str
    model: type[R]


class PostStore(Protocol):
    """Posts: written by the stream processors, searched and counted by everyone else."""

    def upsert_posts(self, posts: Sequence[EnrichedPost]) -> BulkResult:
        """Insert or replace by ``platform:post_id``, except that a person's work wins.

        A post with `EnrichedPost.correction` set (the dashboard's write) replaces the stored one
        and its correction with it. A post without one (the pipeline's write: a replay, a
        redelivery, a re-classification) over a stored post that has one is written with that
        correction applied (`EnrichedPost.corrected`, see `keep_corrections`), in the same
        atomic step as the write, so a correction made meanwhile is never lost. The same holds
        for `EnrichedPost.case`: a post written without a case keeps the stored one. Writing the
        same posts again gives the same stored posts. A correction and a case go with their
        post on retention and erasure.
        """

    def get_post(self, key: str) -> EnrichedPost | None: ...

    def search_posts(self, query: PostQuery) -> list[EnrichedPost]:
        """Newest first; full-text on ``text`` when given."""

    def count_posts(
        self, query: PostQuery, by: Sequence[PostDimension]
    ) -> dict[tuple[str, ...], int]:
        """How many posts match `query` (its ``limit`` is ignored), per group of `by` values.

        Keys are tuples in the order of `by`; only groups with at least one post appear, so
        ``by=()`` gives ``{(): total}``, or ``{}`` when nothing matches. An unknown or repeated
        dimension raises ValueError. The tallies of the monthly report and the dashboards.
        """

    def last_post_per_account(self) -> dict[tuple[str, str], datetime]:
        """(platform, account) -> time of its newest official post."""


class AlertStore(Protocol):
    """Alerts and their deliveries: raised by routing, delivered by alerting, read by reports."""

    def record_alerts(self, alerts: Sequence[Alert]) -> BulkResult:
        """Insert or replace by ``alert_id``."""

    def alerts_between(self, since: datetime, until: datetime) -> list[Alert]:
        """Alerts raised in [since, until), oldest first (digests, the monthly report)."""

    def record_deliveries(self, deliveries: Sequence[Delivery]) -> BulkResult:
        """Insert or replace by `Delivery.key` (alert, recipient, channel)."""

    def was_delivered(self, delivery_key: str) -> bool:
        """True if a delivery with this key succeeded before (at-most-once to a person)."""

    def deliveries_for(self, alert_id: str) -> list[Delivery]: ...


class DeadLetterStore(Protocol):
    """What could not be parsed or delivered, kept to be looked at."""

    def record_deadletters(self, letters: Sequence[DeadLetter]) -> BulkResult:
        """Insert or replace by `DeadLetter.key`."""

    def deadletters(self, limit: int = 100) -> list[DeadLetter]: ...


class DocumentStore(Protocol):
    """Small records by (collection, id): account requests, corrections, dashboard users."""

    def put_documents(self, collection: Collection[R], docs: Sequence[tuple[str, R]]) -> BulkResult:
        """Insert or replace by id."""

    def get_documents(self, collection: Collection[R]) -> list[R]:
        """Every document of `collection`, in the order first written (ties by id)."""

    def delete_documents(self, collection: Collection[Any], ids: Sequence[str]) -> int:
        """Delete by id; returns how many existed."""


class Index(PostStore, AlertStore, DeadLetterStore, DocumentStore, Protocol):
    """Every store, plus what only an operator's command needs: set-up, retention, erasure."""

    def setup(self) -> None:
        """Create tables or the index template (idempotent); IndexUnavailable if unreachable."""

    def delete_older_than(self, cutoff: datetime) -> int:
        """Retention: delete what is older than `cutoff`; returns how many records.

        Everything derived from a post goes by the post's time: posts, alerts about a post (by
        the post's time, else by when raised), deliveries of the alerts deleted (and any made
        before `cutoff`), dead letters by when they were written.
        """

    def erase_author(self, handle: str) -> Erased:
        """A data-subject request: delete a person's posts (with their corrections), the alerts
        quoting them and those alerts' deliveries, and the dead letters whose payload names the
        handle; then make the deleted bytes unreadable (SQLite ``secure_delete``, a full-text
        merge and a WAL checkpoint; Elasticsearch expunges the deleted documents)."""

    def stats(self, pending: bool = True) -> Stats:
        """The counts; with ``pending=False`` ``alerts_pending`` is not counted (left 0): on
        Elasticsearch that count pages through every alert id, too much for a frequent poll."""

    def close(self) -> None: ...


def keep_corrections(
    posts: Sequence[EnrichedPost], stored: Mapping[str, CorrectedLabels]
) -> list[EnrichedPost]:
    """`posts` as `Index.upsert_posts` writes them, given the corrections stored by post key.

    A post without a correction gets the stored one (or the one an earlier post of the same key
    in `posts` carries) applied; a post with a correction is written as it is. For the adapters.
    """
    latest = dict(stored)
    written: list[EnrichedPost] = []
    for post in posts:
        if post.correction is not None:
            latest[post.key] = post.correction
            written.append(post)
        elif (labels := latest.get(post.key)) is not None:
            written.append(post.corrected(labels))
        else:
            written.append(post)
    return written


def check_dimensions(by: Sequence[str]) -> tuple[PostDimension, ...]:
    """`by` as dimensions, or ValueError naming the unknown or repeated one (for the adapters)."""
    checked: list[PostDimension] = []
    for name in by:
        if name not in POST_DIMENSIONS:
            msg = f"cannot count posts by {name!r}: choose from {', '.join(POST_DIMENSIONS)}"
            raise ValueError(msg)
        if name in checked:
            msg = f"cannot count posts by {name!r} twice"
            raise ValueError(msg)
        checked.append(name)
    return tuple(checked)
