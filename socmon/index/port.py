"""The index port: what reports, the dashboard, the sweep and the agents need from storage.

It is split into narrow stores, and each part of the code asks for the ones it uses:
`PostStore` (posts: write, search, count, and the spreading posts spike detection reads),
`AlertStore` (alerts and their deliveries),
`DeadLetterStore`, and `DocumentStore` (small typed records in named `Collection` s: register
changes, account requests, corrections, users). `Index` is all of them plus set-up, retention,
erasure and stats.

Two adapters implement it: `socmon.index.sqlite.SqliteIndex` (embedded default) and
`socmon.index.elasticsearch.ElasticsearchIndex` (deployments). Every write is an idempotent
upsert by a stable id (``platform:post_id`` for posts), so a replay never duplicates, and a
person's work on a post (a correction of its labels, its case) survives the pipeline indexing
that post again (`PostStore.upsert_posts`). The helpers at the end hold what both adapters must
do alike: which work to keep (`keep_persons_work`), what a text search means (`search_terms`),
how fast a post spreads (`share_rate`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, get_args

from socmon.records import (
    Alert,
    AlertKind,
    Case,
    CaseStatus,
    CorrectedLabels,
    DeadLetter,
    Delivery,
    EnrichedPost,
    Platform,
    Post,
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
    "hour",
]
"""What `Index.count_posts` can group by. ``department`` is multi-valued (a post with two
departments counts once in each); ``abusive`` and ``urgent`` group as ``"true"``/``"false"``;
``day`` (``2026-10-05``) and ``week`` (the Monday it starts on, same format) are UTC dates,
``month`` is ``2026-10``, ``hour`` the UTC hour the post was written in (``2026-10-05T14``);
``status`` is `EnrichedPost.case_status` (``NO_VALUE`` for a post that
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


def spike_names_author(alert: Alert, handle: str) -> bool:
    """True if `alert` is a spike whose summary names the author `handle` (as ``@handle``, in
    any case): a spike names up to three top posts by their authors, with an excerpt, and
    erasure deletes such an alert with the person's posts, as it does the alerts about them."""
    wanted = author_handle(handle)
    if alert.kind != "spike" or not wanted:
        return False
    pattern = rf"(?<![\w.@-])@{re.escape(wanted)}(?![\w-])"
    return re.search(pattern, alert.summary, flags=re.IGNORECASE) is not None


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
CASE_STATUSES: tuple[CaseStatus, ...] = get_args(CaseStatus)


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
        correction applied (`EnrichedPost.corrected`, see `keep_persons_work`), in the same
        atomic step as the write, so a correction made meanwhile is never lost. The same holds
        for `EnrichedPost.case`: a post written without a case keeps the stored one. Writing the
        same posts again gives the same stored posts. A correction and a case go with their
        post on retention and erasure.
        """

    def get_post(self, key: str) -> EnrichedPost | None: ...

    def search_posts(self, query: PostQuery) -> list[EnrichedPost]:
        """In the order of ``query.sort`` (newest first by default; ties newest first, then by
        key), ``offset`` skipped, at most ``limit``; full-text on ``text`` when given."""

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

    def engaged_posts(self, since: datetime, min_shares: int, limit: int) -> list[EnrichedPost]:
        """The posts written at or after `since` with at least `min_shares` (`shares`), fastest
        spreading first (`share_rate`, ties by key), at most `limit`: the candidates of spike
        detection."""

    def share_rates(
        self, platform: Platform, account: str, since: datetime, until: datetime, quantile: float
    ) -> ShareRates:
        """How fast the posts of an account spread: of its posts written in [since, until) with
        a `share_rate`, how many, and the `quantile` of their rates by nearest rank
        (`nearest_rank`). Worked out by the index (a sort and one row), never by loading them."""


class AlertStore(Protocol):
    """Alerts and their deliveries: raised by routing, delivered by alerting, read by reports."""

    def record_alerts(self, alerts: Sequence[Alert]) -> BulkResult:
        """Insert or replace by ``alert_id``."""

    def alerts_between(
        self, since: datetime, until: datetime, kind: AlertKind | None = None
    ) -> list[Alert]:
        """Alerts raised in [since, until), oldest first (digests, the monthly report); only
        those of `kind` if given. A reader that wants one kind asks for it here: a replay raises
        a year's alerts in an afternoon, all of them recent by when they were raised."""

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
        quoting them (about their post, or a spike naming them: `spike_names_author`) and those
        alerts' deliveries, and the dead letters whose payload names the
        handle; then make the deleted bytes unreadable (SQLite ``secure_delete``, a full-text
        merge and a WAL checkpoint; Elasticsearch expunges the deleted documents)."""

    def stats(self, pending: bool = True) -> Stats:
        """The counts; with ``pending=False`` ``alerts_pending`` is not counted (left 0): on
        Elasticsearch that count pages through every alert id, too much for a frequent poll."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class PersonsWork:
    """What people set on a stored post, which the pipeline's writes of it keep."""

    correction: CorrectedLabels | None = None
    case: Case | None = None

    @classmethod
    def of(cls, post: EnrichedPost) -> PersonsWork:
        return cls(correction=post.correction, case=post.case)


def keep_persons_work(
    posts: Sequence[EnrichedPost], stored: Mapping[str, PersonsWork]
) -> list[EnrichedPost]:
    """`posts` as `Index.upsert_posts` writes them, given the work stored by post key.

    Each kind of work is kept on its own: a post without a correction gets the stored one (or
    the one an earlier post of the same key in `posts` carries) applied, and a post without a
    case gets the stored case; a post with its own correction or case is written with it (the
    dashboard's write). For the adapters, which call it in the same atomic step as the write.
    """
    latest = dict(stored)
    written: list[EnrichedPost] = []
    for post in posts:
        kept = latest.get(post.key, PersonsWork())
        correction = post.correction if post.correction is not None else kept.correction
        case = post.case if post.case is not None else kept.case
        latest[post.key] = PersonsWork(correction=correction, case=case)
        if post.correction is None and correction is not None:
            post = post.corrected(correction)
        if post.case is None and case is not None:
            post = post.model_copy(update={"case": case})
        written.append(post)
    return written


# -- engagement ------------------------------------------------------------------------------

MIN_RATE_HOURS = 1.0
"""A post's age is counted as at least this many hours in its `share_rate`: a post read minutes
after it was written would otherwise look explosive with two reposts."""


def shares(post: Post) -> int | None:
    """Reposts plus quotes at the last read: how far a post spread (likes and views travel with
    it but do not carry it further). None when the platform gave neither count."""
    engagement = post.engagement
    if engagement is None or (engagement.reposts is None and engagement.quotes is None):
        return None
    return (engagement.reposts or 0) + (engagement.quotes or 0)


def share_rate(post: Post) -> float | None:
    """The post's velocity: `shares` per hour between its writing and the last read of its
    counts (``read_at``), the hours at least `MIN_RATE_HOURS`. None without `shares`.

    Both adapters order by this same rate (SQLite from the stored record, Elasticsearch from a
    field written beside it) and callers take the value from the record with this function.
    """
    count = shares(post)
    if count is None or post.engagement is None:
        return None
    hours = (post.engagement.read_at - post.created_at).total_seconds() / 3600
    return count / max(MIN_RATE_HOURS, hours)


def nearest_rank(count: int, quantile: float) -> int:
    """The 1-based rank (ascending) of the `quantile` of `count` values by the nearest-rank
    method: the smallest value with at least that share of the values at or below it."""
    if count <= 0:
        return 0
    # a hair below, so 0.95 * 20 (18.999... or 19.000...01 in floats) is rank 19 either way
    return min(count, max(1, math.ceil(quantile * count - 1e-9)))


@dataclass(frozen=True)
class ShareRates:
    """An account's usual spread (`PostStore.share_rates`): ``posts`` with a rate, and the
    rate at the asked quantile (None when there are none)."""

    posts: int
    rate: float | None = None


def check_post_query(query: PostQuery, *, counting: bool = False) -> None:
    """ValueError for a query no adapter can answer: an unknown status, or (unless only
    `counting`, which ignores them) a negative limit or offset, or an unknown sort."""
    for status in query.statuses:
        if status not in CASE_STATUSES:
            msg = f"unknown case status {status!r}: choose from {', '.join(CASE_STATUSES)}"
            raise ValueError(msg)
    if counting:
        return
    if query.limit < 0:
        msg = f"PostQuery.limit must be zero or more, got {query.limit}"
        raise ValueError(msg)
    if query.offset < 0:
        msg = f"PostQuery.offset must be zero or more, got {query.offset}"
        raise ValueError(msg)
    if query.sort not in POST_SORTS:
        msg = f"cannot sort posts by {query.sort!r}: choose from {', '.join(POST_SORTS)}"
        raise ValueError(msg)


def query_departments(query: PostQuery) -> tuple[str, ...]:
    """The departments a post must have one of: ``department`` and ``departments`` together
    (sorted, each once); empty when neither is given."""
    wanted = set(query.departments)
    if query.department is not None:
        wanted.add(query.department)
    return tuple(sorted(wanted))


# -- text search ------------------------------------------------------------------------------

# A word: letters and digits, with an apostrophe inside ("don't", "St Mary's") kept, as both
# the FTS5 phrase and Elasticsearch's standard tokenizer keep such a word together; a `*` right
# after it makes it a prefix. Anything else is a separator, never syntax.
_SEARCH_WORD = re.compile(r"(\w+(?:['’]\w+)*)(\*?)")

# Porter stemming (SQLite's `porter` tokenizer and Elasticsearch's `english` analyzer alike)
# folds regular endings only: it stems "midwife" to "midwif" but "midwives" to "midwiv", and
# leaves "children" apart from "child". A word is therefore also searched in its other form
# from this list of irregular plurals (singular ending, plural ending), the patient-facing ones.
_IRREGULAR_ENDINGS: tuple[tuple[str, str], ...] = (
    ("wife", "wives"),
    ("knife", "knives"),
    ("life", "lives"),
    ("half", "halves"),
    ("self", "selves"),
    ("shelf", "shelves"),
    ("leaf", "leaves"),
    ("thief", "thieves"),
    ("child", "children"),
    ("woman", "women"),
)
# Whole words only: as endings they would catch unrelated words ("human", "omen").
_IRREGULAR_WORDS: tuple[tuple[str, str], ...] = (
    ("man", "men"),
    ("person", "people"),
    ("foot", "feet"),
    ("tooth", "teeth"),
    ("mouse", "mice"),
)


def word_forms(word: str) -> tuple[str, ...]:
    """The forms a search for `word` matches, `word` (lower case) first: its irregular plural
    or singular too (``midwives`` -> ``midwives``, ``midwife``); stemming does the rest."""
    lower = word.lower()
    forms = [lower]
    for singular, plural in _IRREGULAR_WORDS:
        if lower == singular:
            forms.append(plural)
        elif lower == plural:
            forms.append(singular)
    for singular, plural in _IRREGULAR_ENDINGS:
        # the plural first: "wives" also ends in "es", never in "wife"
        if lower.endswith(plural):
            forms.append(lower[: -len(plural)] + singular)
            break
        if lower.endswith(singular):
            forms.append(lower[: -len(singular)] + plural)
            break
    return tuple(dict.fromkeys(forms))


@dataclass(frozen=True)
class SearchTerms:
    """`PostQuery.text` as the adapters search it: each whole word (as its `word_forms`, any
    of which matches, stemmed) and each prefix (a word written with ``*``, matched against the
    words as written, unstemmed: ``hospita*`` finds ``hospital``, whose stem is ``hospit``)."""

    words: tuple[tuple[str, ...], ...] = ()
    prefixes: tuple[str, ...] = ()


def search_terms(text: str) -> SearchTerms | None:
    """The words and prefixes of a search text, every one of which must match; None when the
    text holds no word at all (such a search matches nothing). Quotes, brackets, ``OR``,
    ``NEAR`` and the like are plain words or separators here: user text is never syntax."""
    words: list[tuple[str, ...]] = []
    prefixes: list[str] = []
    for word, star in _SEARCH_WORD.findall(text):
        if star:
            prefixes.append(word.lower())
        else:
            words.append(word_forms(word))
    if not words and not prefixes:
        return None
    return SearchTerms(words=tuple(dict.fromkeys(words)), prefixes=tuple(dict.fromkeys(prefixes)))


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
