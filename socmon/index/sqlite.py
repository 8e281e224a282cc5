"""The embedded index: the `socmon.index.port.Index` port on one SQLite file.

Several processes share the file at once (the Faust worker writes posts, alert delivery writes
deliveries, the CLI reads stats), so the database runs in WAL mode with a busy timeout, every write
is one short ``BEGIN IMMEDIATE`` transaction, and each instance owns one connection guarded by a
lock (it may be called from a worker thread). Post text is searchable with FTS5, twice: stemmed
for words (``posts_stems``) and as written for prefixes (``posts_fts``). `SqliteIndex.setup`
creates the schema, or migrates a file an older socmon made (`SCHEMA_VERSION`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from socmon.index.port import (
    MIN_RATE_HOURS,
    NO_VALUE,
    UNASSIGNED,
    BulkResult,
    Collection,
    Erased,
    IndexUnavailable,
    PersonsWork,
    PostDimension,
    PostQuery,
    PostSort,
    SearchTerms,
    ShareRates,
    Stats,
    author_handle,
    check_dimensions,
    check_post_query,
    keep_persons_work,
    names_handle,
    nearest_rank,
    query_departments,
    search_terms,
    share_rate,
    spike_names_author,
)
from socmon.records import (
    OPEN_STATUSES,
    SENTIMENTS,
    Alert,
    AlertKind,
    Case,
    CorrectedLabels,
    DeadLetter,
    Delivery,
    EnrichedPost,
    Platform,
    R,
    RecordError,
    parse_record,
    utcnow,
)

SCHEMA_VERSION = 2
"""The layout of the file, kept in ``PRAGMA user_version``. 1: the first. 2: the columns of
triage (``case_status``, ``assignee``, ``has_breach``, ``first_department``) and their indexes,
and the stemmed full-text table ``posts_stems``; `SqliteIndex.setup` migrates a file of 1."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# One statement per entry: sqlite3's execute() runs a single statement, and executescript() would
# commit behind our back, which breaks the one-transaction-per-write rule.
_SCHEMA: tuple[str, ...] = (
    # `id` is an explicit INTEGER PRIMARY KEY because the FTS table refers to posts by rowid, and
    # VACUUM may renumber implicit rowids (which would silently detach the full-text index).
    """
    CREATE TABLE IF NOT EXISTS posts (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        platform TEXT NOT NULL,
        post_id TEXT NOT NULL,
        account TEXT NOT NULL,
        kind TEXT NOT NULL,
        author TEXT NOT NULL,
        author_handle TEXT NOT NULL,
        sentiment TEXT NOT NULL,
        departments TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        urgent INTEGER NOT NULL,
        abusive INTEGER NOT NULL,
        text TEXT NOT NULL,
        record TEXT NOT NULL,
        case_status TEXT,
        assignee TEXT,
        has_breach INTEGER NOT NULL DEFAULT 0,
        first_department TEXT
    )
    """,
    "CREATE INDEX IF NOT EXISTS posts_created_at ON posts (created_at)",
    "CREATE INDEX IF NOT EXISTS posts_account ON posts (platform, account, kind, created_at)",
    "CREATE INDEX IF NOT EXISTS posts_author_handle ON posts (author_handle)",
    # Triage filters. Partial: most posts need no action, are nobody's, and are neither urgent,
    # abusive nor breaching, so each index holds only the few it can find (the planner uses one
    # when the query's condition implies its WHERE: the flags are compared with a literal 1 for
    # that reason). They end with the columns of the default sort (created_at, key), so a page
    # of thousands of matches is sorted from the index alone, ten times faster than from rows.
    "CREATE INDEX IF NOT EXISTS posts_case_status"
    " ON posts (case_status, assignee, created_at, key) WHERE case_status IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS posts_assignee ON posts (assignee, created_at, key)"
    " WHERE assignee IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS posts_urgent ON posts (created_at, key) WHERE urgent = 1",
    "CREATE INDEX IF NOT EXISTS posts_abusive ON posts (created_at, key) WHERE abusive = 1",
    "CREATE INDEX IF NOT EXISTS posts_has_breach ON posts (created_at, key) WHERE has_breach = 1",
    # External-content FTS5 tables: the text is stored once (in posts) and the triggers below
    # keep the indexes in step, so an upsert replaces the FTS row instead of adding a second one.
    # posts_fts holds the words as written (prefix searches: "hospita*" must find "hospital",
    # whose stem is "hospit"), posts_stems their Porter stems (word searches).
    """
    CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts USING fts5(
        text, content='posts', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER IF NOT EXISTS posts_fts_insert AFTER INSERT ON posts BEGIN
        INSERT INTO posts_fts (rowid, text) VALUES (new.id, new.text);
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS posts_fts_delete AFTER DELETE ON posts BEGIN
        INSERT INTO posts_fts (posts_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS posts_fts_update AFTER UPDATE OF text ON posts BEGIN
        INSERT INTO posts_fts (posts_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO posts_fts (rowid, text) VALUES (new.id, new.text);
    END
    """,
    """
    CREATE VIRTUAL TABLE IF NOT EXISTS posts_stems USING fts5(
        text, content='posts', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER IF NOT EXISTS posts_stems_insert AFTER INSERT ON posts BEGIN
        INSERT INTO posts_stems (rowid, text) VALUES (new.id, new.text);
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS posts_stems_delete AFTER DELETE ON posts BEGIN
        INSERT INTO posts_stems (posts_stems, rowid, text) VALUES ('delete', old.id, old.text);
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS posts_stems_update AFTER UPDATE OF text ON posts BEGIN
        INSERT INTO posts_stems (posts_stems, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO posts_stems (rowid, text) VALUES (new.id, new.text);
    END
    """,
    """
    CREATE TABLE IF NOT EXISTS alerts (
        alert_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        post_author_handle TEXT,
        record TEXT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS alerts_created_at ON alerts (created_at)",
    "CREATE INDEX IF NOT EXISTS alerts_kind ON alerts (kind, created_at)",
    "CREATE INDEX IF NOT EXISTS alerts_post_author ON alerts (post_author_handle)",
    """
    CREATE TABLE IF NOT EXISTS deliveries (
        key TEXT PRIMARY KEY,
        alert_id TEXT NOT NULL,
        result TEXT NOT NULL,
        delivered_at INTEGER NOT NULL,
        record TEXT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS deliveries_alert ON deliveries (alert_id, delivered_at)",
    """
    CREATE TABLE IF NOT EXISTS deadletters (
        key TEXT PRIMARY KEY,
        stage TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        record TEXT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS deadletters_created_at ON deadletters (created_at)",
    """
    CREATE TABLE IF NOT EXISTS documents (
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        first_written INTEGER NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (collection, id)
    )
    """,
)

# The columns of version 2 a file of version 1 lacks (added by `SqliteIndex.setup`).
_TRIAGE_COLUMNS: dict[str, str] = {
    "case_status": "TEXT",
    "assignee": "TEXT",
    "has_breach": "INTEGER NOT NULL DEFAULT 0",
    "first_department": "TEXT",
}
_UPSERT_POST = """
    INSERT INTO posts (key, platform, post_id, account, kind, author, author_handle, sentiment,
                       departments, created_at, urgent, abusive, text, record, case_status,
                       assignee, has_breach, first_department)
    VALUES (:key, :platform, :post_id, :account, :kind, :author, :author_handle, :sentiment,
            :departments, :created_at, :urgent, :abusive, :text, :record, :case_status,
            :assignee, :has_breach, :first_department)
    ON CONFLICT (key) DO UPDATE SET
        platform = excluded.platform, post_id = excluded.post_id, account = excluded.account,
        kind = excluded.kind, author = excluded.author, author_handle = excluded.author_handle,
        sentiment = excluded.sentiment, departments = excluded.departments,
        created_at = excluded.created_at, urgent = excluded.urgent, abusive = excluded.abusive,
        text = excluded.text, record = excluded.record, case_status = excluded.case_status,
        assignee = excluded.assignee, has_breach = excluded.has_breach,
        first_department = excluded.first_department
"""
_UPDATE_TRIAGE_COLUMNS = """
    UPDATE posts SET case_status = :case_status, assignee = :assignee, has_breach = :has_breach,
                     first_department = :first_department
    WHERE key = :key
"""
_UPSERT_ALERT = """
    INSERT INTO alerts (alert_id, kind, created_at, post_author_handle, record)
    VALUES (:alert_id, :kind, :created_at, :post_author_handle, :record)
    ON CONFLICT (alert_id) DO UPDATE SET
        kind = excluded.kind, created_at = excluded.created_at,
        post_author_handle = excluded.post_author_handle, record = excluded.record
"""
_UPSERT_DELIVERY = """
    INSERT INTO deliveries (key, alert_id, result, delivered_at, record)
    VALUES (:key, :alert_id, :result, :delivered_at, :record)
    ON CONFLICT (key) DO UPDATE SET
        alert_id = excluded.alert_id, result = excluded.result,
        delivered_at = excluded.delivered_at, record = excluded.record
"""
_UPSERT_DEADLETTER = """
    INSERT INTO deadletters (key, stage, created_at, record)
    VALUES (:key, :stage, :created_at, :record)
    ON CONFLICT (key) DO UPDATE SET
        stage = excluded.stage, created_at = excluded.created_at, record = excluded.record
"""


def _micros(moment: datetime, what: str) -> int:
    """Microseconds since the epoch: exact, and sorts and compares as an integer in SQL."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        msg = f"{what} must be timezone-aware, got the naive time {moment.isoformat()}"
        raise ValueError(msg)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(micros: int) -> datetime:
    # timedelta arithmetic is exact; datetime.fromtimestamp(float) would round microseconds.
    return _EPOCH + timedelta(microseconds=micros)


def _phrase(word: str) -> str:
    """A word as an FTS5 string: quoted, so nothing in it is syntax."""
    return '"' + word.replace('"', '""') + '"'


@dataclass(frozen=True)
class FtsMatch:
    """The FTS5 queries of a text search: ``stems`` for ``posts_stems`` (every whole word, any
    of its forms), ``prefixes`` for ``posts_fts`` (every prefix); None where there is none."""

    stems: str | None = None
    prefixes: str | None = None


def fts_match_expression(text: str) -> FtsMatch | None:
    """The FTS5 queries for free text (see `search_terms`): every word must occur, each quoted
    so nothing is syntax, a word's other forms OR-ed with it, a prefix as ``"word"*``.

    Returns None when the text holds no word at all (such a search matches nothing).
    """
    terms = search_terms(text)
    if terms is None:
        return None
    return FtsMatch(stems=_stems_expression(terms), prefixes=_prefixes_expression(terms))


def _stems_expression(terms: SearchTerms) -> str | None:
    groups = [
        _phrase(forms[0]) if len(forms) == 1 else f"({' OR '.join(map(_phrase, forms))})"
        for forms in terms.words
    ]
    # explicit AND: FTS5 takes no implicit AND next to a bracketed group
    return " AND ".join(groups) or None


def _prefixes_expression(terms: SearchTerms) -> str | None:
    return " AND ".join(_phrase(prefix) + "*" for prefix in terms.prefixes) or None


def _owner_only(path: Path) -> None:
    """Make the index file (posts, password hashes) its owner's only: create it so, and tighten
    one an older socmon left readable by others. SQLite gives the -wal and -shm files the mode
    of the database file; existing ones are tightened too."""
    if not path.exists():
        path.touch(mode=0o600, exist_ok=True)  # an empty file is an empty database
    for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        try:
            mode = file.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & 0o077:
            file.chmod(mode & 0o700)


class SqliteIndex:
    """The index on one SQLite file (created with its parent folders on first use, readable
    by its owner only)."""

    def __init__(self, path: Path, busy_timeout: float = 30.0) -> None:
        """Open (or create) the file; call `setup` once before the first write.

        ``busy_timeout`` is how many seconds a statement waits for another process's write lock
        before it fails with `IndexUnavailable`.
        """
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _owner_only(self.path)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so every transaction is
            # visible in the code and none is left open between calls (which would block WAL
            # checkpoints and pin an old snapshot for readers in this instance).
            self._conn = sqlite3.connect(
                self.path,
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            # FULL, not NORMAL: the stream processor commits its Kafka offset after the write
            # returns, so the write must survive a power cut, not only a process crash.
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            # a deleted post's bytes are overwritten, not left in free pages (erasure)
            self._conn.execute("PRAGMA secure_delete=ON")
        except (OSError, sqlite3.Error) as exc:
            msg = f"cannot open the SQLite index at {self.path}: {exc}"
            raise IndexUnavailable(msg) from exc
        self._closed = False

    def __repr__(self) -> str:
        return f"SqliteIndex({str(self.path)!r})"

    # -- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; IMMEDIATE takes the write lock up front.

        A deferred transaction that reads and then writes can fail at once with SQLITE_BUSY when
        another process wrote in between (the busy timeout does not apply to that upgrade), so
        writers ask for the lock first and wait for it under the busy timeout instead.
        """
        with self._lock, self._errors("write"):
            self._check_open()
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                # SQLite may already have rolled back on its own (e.g. disk full); a second
                # ROLLBACK would then raise and hide the original error.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction, so a multi-query answer (stats) comes from one snapshot."""
        with self._lock, self._errors("read"):
            self._check_open()
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            msg = f"SQLite index at {self.path}: {action} failed: {exc}"
            raise IndexUnavailable(msg) from exc

    def _check_open(self) -> None:
        if self._closed:
            msg = f"the SQLite index at {self.path} is closed"
            raise IndexUnavailable(msg)

    # -- the port -----------------------------------------------------------------------------

    def setup(self) -> None:
        """Create the tables, indexes and FTS triggers, or migrate a file an older socmon made;
        safe to call from several processes: it is one write transaction, so the first one
        migrates and the others find it done.

        Migrating from version 1 (see `SCHEMA_VERSION`) adds the triage columns and fills them
        from each post's record, then builds ``posts_stems`` from the posts' text (FTS5
        ``rebuild``): some seconds for 100,000 posts, while other processes wait for the write
        lock under their busy timeout. A process of the older socmon that goes on writing leaves
        its posts without triage columns: restart every process on the new version. A file of a
        newer version is refused with `IndexUnavailable`, never written in an older layout.
        """
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                msg = (
                    f"the SQLite index at {self.path} has schema version {version}, newer than"
                    f" this socmon's {SCHEMA_VERSION}: run a socmon at least as new as the one"
                    " that wrote it"
                )
                raise IndexUnavailable(msg)
            added = _add_triage_columns(conn)
            stems_missing = not _table_exists(conn, "posts_stems")
            for statement in _SCHEMA:
                conn.execute(statement)
            if added:
                _fill_triage_columns(conn)
            if stems_missing:
                conn.execute("INSERT INTO posts_stems (posts_stems) VALUES ('rebuild')")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def upsert_posts(self, posts: Sequence[EnrichedPost]) -> BulkResult:
        """Insert or replace; a stored correction and case are read and kept in the same write
        transaction, so one committed by another process cannot slip in between."""
        if not posts:
            return BulkResult(written=0)
        with self._write() as conn:
            wanting = [post.key for post in posts if post.correction is None or post.case is None]
            stored = _stored_work(conn, wanting)
            rows = [_post_row(post) for post in keep_persons_work(posts, stored)]
            conn.executemany(_UPSERT_POST, rows)
        return BulkResult(written=len(rows))

    def get_post(self, key: str) -> EnrichedPost | None:
        with self._read() as conn:
            row = conn.execute("SELECT record FROM posts WHERE key = ?", (key,)).fetchone()
        return parse_record(EnrichedPost, row[0]) if row else None

    def search_posts(self, query: PostQuery) -> list[EnrichedPost]:
        """In the query's sort order (ties newest first, then by key), from ``offset``;
        ``since`` is inclusive and ``until`` exclusive."""
        check_post_query(query)
        conditions = _post_conditions(query)
        if conditions is None:
            return []
        where, params = conditions
        # The page's ids first, then their records: sorting thousands of matches with their
        # records (a kilobyte or more each) in the sorter costs ten times as much.
        order = _SORT_SQL[query.sort]
        sql = f"SELECT posts.id FROM posts {where} ORDER BY {order} LIMIT ? OFFSET ?"
        with self._read() as conn:
            ids = [row[0] for row in conn.execute(sql, [*params, query.limit, query.offset])]
            records = dict(
                conn.execute(
                    "SELECT id, record FROM posts WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps(ids),),
                ).fetchall()
            )
        return [parse_record(EnrichedPost, records[post_id]) for post_id in ids]

    def count_posts(
        self, query: PostQuery, by: Sequence[PostDimension]
    ) -> dict[tuple[str, ...], int]:
        """Counts per group; ``day``, ``week`` and ``month`` are UTC dates (weeks start on
        Monday)."""
        dimensions = check_dimensions(by)
        check_post_query(query, counting=True)
        conditions = _post_conditions(query)
        if conditions is None:
            return {}
        where, params = conditions
        # json_each of an empty list yields no row; the LEFT JOIN keeps the post, with NULL.
        joins = (
            "LEFT JOIN json_each(posts.departments) AS dept" if "department" in dimensions else ""
        )
        columns = [_DIMENSION_SQL[name] for name in dimensions]
        select = ", ".join([*columns, "COUNT(*)"])
        group = (
            f"GROUP BY {', '.join(str(n) for n in range(1, len(columns) + 1))}" if columns else ""
        )
        sql = f"SELECT {select} FROM posts {joins} {where} {group}"
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return {tuple(row[:-1]): row[-1] for row in rows if row[-1]}

    def engaged_posts(self, since: datetime, min_shares: int, limit: int) -> list[EnrichedPost]:
        """Fastest spreading first; shares and rates from each post's stored record."""
        sql = _RATED_POSTS.format(where="WHERE posts.created_at >= :since")
        sql += " SELECT record FROM rated WHERE shares >= :min_shares"
        sql += " ORDER BY rate DESC, key LIMIT :limit"
        params = {
            "floor": MIN_RATE_HOURS,
            "since": _micros(since, "since"),
            "min_shares": min_shares,
            "limit": max(0, limit),
        }
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [parse_record(EnrichedPost, row[0]) for row in rows]

    def share_rates(
        self, platform: Platform, account: str, since: datetime, until: datetime, quantile: float
    ) -> ShareRates:
        """A count, then the one row at the quantile's rank (by rate, ties by key)."""
        where = (
            "WHERE posts.platform = :platform AND posts.account = :account"
            " AND posts.created_at >= :since AND posts.created_at < :until"
        )
        rated = _RATED_POSTS.format(where=where)
        params: dict[str, Any] = {
            "floor": MIN_RATE_HOURS,
            "platform": platform,
            "account": account,
            "since": _micros(since, "since"),
            "until": _micros(until, "until"),
        }
        with self._read() as conn:
            count = conn.execute(rated + " SELECT COUNT(*) FROM rated", params).fetchone()[0]
            if not count:
                return ShareRates(posts=0)
            row = conn.execute(
                rated + " SELECT record FROM rated ORDER BY rate, key LIMIT 1 OFFSET :skip",
                {**params, "skip": nearest_rank(count, quantile) - 1},
            ).fetchone()
        return ShareRates(posts=count, rate=share_rate(parse_record(EnrichedPost, row[0]).post))

    def record_alerts(self, alerts: Sequence[Alert]) -> BulkResult:
        rows = [
            {
                "alert_id": alert.alert_id,
                "kind": alert.kind,
                "created_at": _micros(alert.created_at, "Alert.created_at"),
                "post_author_handle": author_handle(alert.post.author) if alert.post else None,
                "record": alert.model_dump_json(),
            }
            for alert in alerts
        ]
        with self._write() as conn:
            conn.executemany(_UPSERT_ALERT, rows)
        return BulkResult(written=len(rows))

    def record_deliveries(self, deliveries: Sequence[Delivery]) -> BulkResult:
        rows = [
            {
                "key": delivery.key,
                "alert_id": delivery.alert_id,
                "result": delivery.result,
                "delivered_at": _micros(delivery.delivered_at, "Delivery.delivered_at"),
                "record": delivery.model_dump_json(),
            }
            for delivery in deliveries
        ]
        with self._write() as conn:
            conn.executemany(_UPSERT_DELIVERY, rows)
        return BulkResult(written=len(rows))

    def was_delivered(self, delivery_key: str) -> bool:
        with self._read() as conn:
            row = conn.execute(
                "SELECT 1 FROM deliveries WHERE key = ? AND result = 'sent'", (delivery_key,)
            ).fetchone()
        return row is not None

    def deliveries_for(self, alert_id: str) -> list[Delivery]:
        """Oldest first (ties by key), so the list reads as the history of the alert."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT record FROM deliveries WHERE alert_id = ? ORDER BY delivered_at, key",
                (alert_id,),
            ).fetchall()
        return [parse_record(Delivery, row[0]) for row in rows]

    def record_deadletters(self, letters: Sequence[DeadLetter]) -> BulkResult:
        rows = [
            {
                "key": letter.key,
                "stage": letter.stage,
                "created_at": _micros(letter.created_at, "DeadLetter.created_at"),
                "record": letter.model_dump_json(),
            }
            for letter in letters
        ]
        with self._write() as conn:
            conn.executemany(_UPSERT_DEADLETTER, rows)
        return BulkResult(written=len(rows))

    def deadletters(self, limit: int = 100) -> list[DeadLetter]:
        """Newest first (ties by key)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT record FROM deadletters ORDER BY created_at DESC, key LIMIT ?",
                (max(limit, 0),),
            ).fetchall()
        return [parse_record(DeadLetter, row[0]) for row in rows]

    def alerts_between(
        self, since: datetime, until: datetime, kind: AlertKind | None = None
    ) -> list[Alert]:
        low, high = _micros(since, "since"), _micros(until, "until")
        of_kind, args = ("", (low, high)) if kind is None else (" AND kind = ?", (low, high, kind))
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT record FROM alerts WHERE created_at >= ? AND created_at < ?{of_kind}"
                " ORDER BY created_at, alert_id",
                args,
            ).fetchall()
        return [parse_record(Alert, row[0]) for row in rows]

    def put_documents(self, collection: Collection[R], docs: Sequence[tuple[str, R]]) -> BulkResult:
        name = collection.name
        now = _micros(utcnow(), "now")
        rows = [(name, doc_id, now, doc.model_dump_json()) for doc_id, doc in docs]
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO documents (collection, id, first_written, record) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (collection, id) DO UPDATE SET record = excluded.record",
                rows,
            )
        return BulkResult(written=len(rows))

    def get_documents(self, collection: Collection[R]) -> list[R]:
        name, model = collection.name, collection.model
        with self._read() as conn:
            rows = conn.execute(
                "SELECT record FROM documents WHERE collection = ? ORDER BY first_written, id",
                (name,),
            ).fetchall()
        return [parse_record(model, row[0]) for row in rows]

    def delete_documents(self, collection: Collection[Any], ids: Sequence[str]) -> int:
        name = collection.name
        with self._write() as conn:
            return sum(
                conn.execute(
                    "DELETE FROM documents WHERE collection = ? AND id = ?", (name, doc_id)
                ).rowcount
                for doc_id in ids
            )

    def last_post_per_account(self) -> dict[tuple[str, str], datetime]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT platform, account, MAX(created_at) FROM posts"
                " WHERE kind = 'official_post' GROUP BY platform, account"
            ).fetchall()
        return {(platform, account): _from_micros(newest) for platform, account, newest in rows}

    def stats(self, pending: bool = True) -> Stats:
        """Counts; ``by_sentiment`` names all three sentiments, ``alerts`` only kinds seen."""
        with self._read() as conn:
            indexed = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
            sentiments = conn.execute(
                "SELECT sentiment, COUNT(*) FROM posts GROUP BY sentiment"
            ).fetchall()
            deadletter = conn.execute("SELECT COUNT(*) FROM deadletters").fetchone()[0]
            alerts = conn.execute("SELECT kind, COUNT(*) FROM alerts GROUP BY kind").fetchall()
            results = dict(
                conn.execute("SELECT result, COUNT(*) FROM deliveries GROUP BY result").fetchall()
            )
            # One probe of the deliveries_alert index per alert.
            waiting = (
                conn.execute(
                    "SELECT COUNT(*) FROM alerts WHERE NOT EXISTS"
                    " (SELECT 1 FROM deliveries WHERE deliveries.alert_id = alerts.alert_id)"
                ).fetchone()[0]
                if pending
                else 0
            )
        by_sentiment: dict[str, int] = dict.fromkeys(SENTIMENTS, 0)
        by_sentiment.update(dict(sentiments))
        return Stats(
            indexed=indexed,
            by_sentiment=by_sentiment,
            deadletter=deadletter,
            alerts=dict(alerts),
            deliveries_sent=results.get("sent", 0),
            deliveries_failed=results.get("failed", 0),
            alerts_pending=waiting,
        )

    def close(self) -> None:
        """Close the connection; further calls raise `IndexUnavailable`. Safe to call twice."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    # -- retention and data-subject requests ---------------------------------------------------

    def delete_older_than(self, cutoff: datetime) -> int:
        """Delete every record from before ``cutoff`` (the one-year retention); returns how many.

        What is derived from a post goes by the post's time: an alert about a post by the post's
        (an alert raised today about a post of last year goes with the post), the deliveries of
        the alerts deleted with them; other deliveries by when made, dead letters by when
        written.
        """
        moment = _micros(cutoff, "cutoff")
        # SQLite's unixepoch() reads the ISO time with its zone; whole seconds are enough here.
        alert_time = (
            "COALESCE(unixepoch(json_extract(record, '$.post.created_at')) * 1000000, created_at)"
        )
        deleted = 0
        with self._write() as conn:
            for statement in (
                "DELETE FROM posts WHERE created_at < :m",
                "DELETE FROM deliveries WHERE delivered_at < :m OR alert_id IN"
                f" (SELECT alert_id FROM alerts WHERE {alert_time} < :m OR created_at < :m)",
                f"DELETE FROM alerts WHERE {alert_time} < :m OR created_at < :m",
                "DELETE FROM deadletters WHERE created_at < :m",
            ):
                deleted += conn.execute(statement, {"m": moment}).rowcount
        return deleted

    def erase_author(self, handle: str) -> Erased:
        """Erase a person's posts, the alerts that quote them with their deliveries, and the dead
        letters that name them; then scrub the file so the deleted bytes cannot be read back.

        The handle matches without a leading ``@`` and case-insensitively, since platforms treat
        handles that way and an erasure request must not miss a post over spelling.
        ``secure_delete`` (set on every connection) zeroes freed pages, an FTS ``optimize``
        merges away the deleted rows' terms, and a WAL checkpoint empties the write-ahead log of
        the old pages (when another process is reading at that moment, the next checkpoint does).
        """
        wanted = author_handle(handle)
        if not wanted:
            msg = "erase_author needs a handle, got an empty string"
            raise ValueError(msg)
        with self._write() as conn:
            post_keys = [
                key
                for (key,) in conn.execute(
                    "SELECT key FROM posts WHERE author_handle = ?", (wanted,)
                )
            ]
            alert_ids = [
                alert_id
                for (alert_id,) in conn.execute(
                    "SELECT alert_id FROM alerts WHERE post_author_handle = ?", (wanted,)
                )
            ]
            # spikes name the authors of their top posts (a few alerts a week: read them all)
            alert_ids += [
                alert.alert_id
                for alert in (
                    parse_record(Alert, record)
                    for (record,) in conn.execute(
                        "SELECT record FROM alerts WHERE kind = 'spike'"
                        " AND (post_author_handle IS NULL OR post_author_handle != ?)",
                        (wanted,),
                    )
                )
                if spike_names_author(alert, wanted)
            ]
            # a LIKE (ASCII case-insensitive) narrows the dead letters, the word match decides
            letters = [
                key
                for key, record in conn.execute(
                    "SELECT key, record FROM deadletters WHERE record LIKE ? ESCAPE '\\'",
                    (f"%{_like_escape(wanted)}%",),
                )
                if names_handle(record, wanted)
            ]
            ids = json.dumps(alert_ids)
            erased = Erased(
                posts=conn.execute("DELETE FROM posts WHERE author_handle = ?", (wanted,)).rowcount,
                deliveries=conn.execute(
                    "DELETE FROM deliveries WHERE alert_id IN (SELECT value FROM json_each(?))",
                    (ids,),
                ).rowcount,
                alerts=conn.execute(
                    "DELETE FROM alerts WHERE alert_id IN (SELECT value FROM json_each(?))",
                    (ids,),
                ).rowcount,
                deadletters=conn.execute(
                    "DELETE FROM deadletters WHERE key IN (SELECT value FROM json_each(?))",
                    (json.dumps(letters),),
                ).rowcount,
                post_keys=tuple(post_keys),
                alert_ids=tuple(alert_ids),
            )
            if erased.posts:
                conn.execute("INSERT INTO posts_fts (posts_fts) VALUES ('optimize')")
                conn.execute("INSERT INTO posts_stems (posts_stems) VALUES ('optimize')")
        with self._lock, self._errors("checkpoint"):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return erased


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# Each dimension as an SQL expression over `posts` (and `dept`, the joined department).
_DIMENSION_SQL: dict[str, str] = {
    "sentiment": "posts.sentiment",
    "platform": "posts.platform",
    "account": "posts.account",
    "kind": "posts.kind",
    "department": f"COALESCE(dept.value, '{NO_VALUE}')",
    "abusive": "CASE WHEN posts.abusive THEN 'true' ELSE 'false' END",
    "urgent": "CASE WHEN posts.urgent THEN 'true' ELSE 'false' END",
    "day": "date(posts.created_at / 1000000, 'unixepoch')",
    # back six days, then forward to the next Monday: the Monday on or before the day
    "week": "date(posts.created_at / 1000000, 'unixepoch', '-6 days', 'weekday 1')",
    "month": "strftime('%Y-%m', posts.created_at / 1000000, 'unixepoch')",
    "status": f"COALESCE(posts.case_status, '{NO_VALUE}')",
    "hour": "strftime('%Y-%m-%dT%H', posts.created_at / 1000000, 'unixepoch')",
}

# The posts with engagement counts, their `shares` and `share_rate` worked out from the record
# (no column of their own: the JSON functions read the few posts of a window, which the
# `created_at` and `account` indexes find). `{where}` narrows the posts first; the rate takes
# the `MIN_RATE_HOURS` floor as the first parameter.
_RATED_POSTS = """
    WITH engaged AS (
        SELECT posts.key AS key, posts.record AS record, posts.created_at AS created_at,
               json_extract(posts.record, '$.post.engagement.reposts') AS reposts,
               json_extract(posts.record, '$.post.engagement.quotes') AS quotes,
               json_extract(posts.record, '$.post.engagement.read_at') AS read_at
        FROM posts {where}
    ),
    rated AS (
        SELECT key, record, COALESCE(reposts, 0) + COALESCE(quotes, 0) AS shares,
               (COALESCE(reposts, 0) + COALESCE(quotes, 0)) / MAX(
                   :floor,
                   (julianday(read_at) - julianday(created_at / 1000000.0, 'unixepoch')) * 24.0
               ) AS rate
        FROM engaged WHERE reposts IS NOT NULL OR quotes IS NOT NULL
    )
"""

# Each sort as an ORDER BY: a column A to Z (a post without a value last, as Elasticsearch's
# default), then newest first, then by key, so that every order is total and pages are stable.
_NEWEST = "posts.created_at DESC, posts.key"
_SORT_SQL: dict[PostSort, str] = {
    "newest": _NEWEST,
    "oldest": "posts.created_at, posts.key",
    "author": f"posts.author_handle, {_NEWEST}",
    "platform": f"posts.platform, {_NEWEST}",
    "sentiment": f"posts.sentiment, {_NEWEST}",
    "status": f"posts.case_status NULLS LAST, {_NEWEST}",
    "department": f"posts.first_department NULLS LAST, {_NEWEST}",
}


def _post_conditions(query: PostQuery) -> tuple[str, list[Any]] | None:
    """The WHERE clause (columns qualified, since counts join other tables) and its parameters.

    None when the query's text holds no word at all: such a search matches nothing.
    """
    clauses: list[str] = []
    params: list[Any] = []
    if query.text is not None and query.text.strip():
        match = fts_match_expression(query.text)
        if match is None:
            return None
        for table, expression in (("posts_stems", match.stems), ("posts_fts", match.prefixes)):
            if expression is not None:
                clauses.append(f"posts.id IN (SELECT rowid FROM {table} WHERE {table} MATCH ?)")
                params.append(expression)
    for column, value in (
        ("sentiment", query.sentiment),
        ("platform", query.platform),
        ("account", query.account),
        ("kind", query.kind),
    ):
        if value is not None:
            clauses.append(f"posts.{column} = ?")
            params.append(value)
    if departments := query_departments(query):
        clauses.append(
            "EXISTS (SELECT 1 FROM json_each(posts.departments)"
            f" WHERE value IN ({_placeholders(departments)}))"
        )
        params.extend(departments)
    if query.author is not None and (handle := author_handle(query.author)):
        clauses.append("posts.author_handle = ?")
        params.append(handle)
    # Flags as literals (from bools, never user text): a partial index `WHERE urgent = 1` is
    # used only for a query that says `urgent = 1`, not `urgent = ?`.
    for column, flag in (
        ("urgent", query.urgent),
        ("abusive", query.abusive),
        ("has_breach", query.breach),
    ):
        if flag is not None:
            clauses.append(f"posts.{column} = {int(flag)}")
    if query.statuses:
        clauses.append(f"posts.case_status IN ({_placeholders(query.statuses)})")
        params.extend(query.statuses)
    if query.assignee == UNASSIGNED:
        clauses.append(
            f"posts.case_status IN ({_placeholders(OPEN_STATUSES)}) AND posts.assignee IS NULL"
        )
        params.extend(OPEN_STATUSES)
    elif query.assignee is not None:
        clauses.append("posts.assignee = ?")
        params.append(query.assignee)
    if query.since is not None:
        clauses.append("posts.created_at >= ?")
        params.append(_micros(query.since, "PostQuery.since"))
    if query.until is not None:
        clauses.append("posts.created_at < ?")
        params.append(_micros(query.until, "PostQuery.until"))
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def _stored_work(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, PersonsWork]:
    """The corrections and cases kept with the stored posts of these keys (the key index finds
    each)."""
    if not keys:
        return {}
    rows = conn.execute(
        "SELECT key, json_extract(record, '$.correction'), json_extract(record, '$.case')"
        " FROM posts WHERE key IN (SELECT value FROM json_each(?))"
        " AND (json_extract(record, '$.correction') IS NOT NULL"
        " OR json_extract(record, '$.case') IS NOT NULL)",
        (json.dumps(list(keys)),),
    ).fetchall()
    return {
        key: PersonsWork(
            correction=parse_record(CorrectedLabels, labels) if labels else None,
            case=parse_record(Case, case) if case else None,
        )
        for key, labels, case in rows
    }


def _table_exists(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_schema WHERE name = ?", (name,)).fetchone()
    return found is not None


def _add_triage_columns(conn: sqlite3.Connection) -> bool:
    """Add the columns of version 2 a version 1 ``posts`` table lacks; True if any was added
    (False for a new file, whose table the schema creates whole)."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(posts)")}
    if not present:
        return False
    missing = [name for name in _TRIAGE_COLUMNS if name not in present]
    for name in missing:
        conn.execute(f"ALTER TABLE posts ADD COLUMN {name} {_TRIAGE_COLUMNS[name]}")
    return bool(missing)


def _fill_triage_columns(conn: sqlite3.Connection, page: int = 1000) -> None:
    """Fill the triage columns of every post from its record, as `upsert_posts` would, a page
    of posts at a time (by id) so memory stays small however many there are."""
    after = -1
    while True:
        rows = conn.execute(
            "SELECT id, key, record FROM posts WHERE id > ? ORDER BY id LIMIT ?", (after, page)
        ).fetchall()
        if not rows:
            return
        updates = []
        for _, key, record in rows:
            try:
                post = parse_record(EnrichedPost, record)
            except RecordError as exc:
                msg = f"cannot migrate the stored post {key}: {exc}"
                raise IndexUnavailable(msg) from exc
            updates.append({"key": key, **_triage_columns(post)})
        conn.executemany(_UPDATE_TRIAGE_COLUMNS, updates)
        after = rows[-1][0]


def _triage_columns(enriched: EnrichedPost) -> dict[str, Any]:
    """The columns the dashboard's triage filters and sorts on, worked out at write time."""
    label, case = enriched.classification, enriched.case
    return {
        "case_status": enriched.case_status,
        # an empty name is nobody, as UNASSIGNED says
        "assignee": (case.assignee or None) if case is not None else None,
        "has_breach": int(bool(label.breaches)),
        "first_department": label.departments[0] if label.departments else None,
    }


def _post_row(enriched: EnrichedPost) -> dict[str, Any]:
    post, label = enriched.post, enriched.classification
    return {
        "key": enriched.key,
        "platform": post.platform,
        "post_id": post.post_id,
        "account": post.account,
        "kind": post.kind,
        "author": post.author,
        "author_handle": author_handle(post.author),
        "sentiment": label.sentiment,
        "departments": json.dumps(list(label.departments)),
        "created_at": _micros(post.created_at, "Post.created_at"),
        "urgent": int(label.urgent),
        "abusive": int(label.abusive),
        "text": post.text,
        "record": enriched.model_dump_json(),
        **_triage_columns(enriched),
    }
