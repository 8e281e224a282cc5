"""The SQLite adapter: the whole port contract, plus the file, concurrency and FTS behaviour."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from socmon.index.port import UNASSIGNED, IndexUnavailable, PostQuery
from socmon.index.sqlite import (
    SCHEMA_VERSION,
    FtsMatch,
    SqliteIndex,
    _post_conditions,
    _post_row,
    fts_match_expression,
)
from socmon.records import EnrichedPost
from tests.factories import DAY, T0, keys, make_breach, make_case, make_post, make_rich_post
from tests.socmon.index.conformance import IndexContract


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "socmon.db"


class TestSqliteIndexContract(IndexContract):
    @pytest.fixture
    def index(self, db_path: Path) -> Iterator[SqliteIndex]:
        index = SqliteIndex(db_path)
        index.setup()
        yield index
        index.close()


def write_posts(path: Path, prefix: str, count: int, batch: int) -> None:
    """Write ``count`` posts in small batches through an index of its own (its own connection)."""
    index = SqliteIndex(path)
    try:
        for start in range(0, count, batch):
            posts = [
                make_post(f"{prefix}{n}", created_at=T0 + timedelta(seconds=n))
                for n in range(start, min(start + batch, count))
            ]
            index.upsert_posts(posts)
    finally:
        index.close()


def test_the_file_and_its_missing_folders_are_created(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nested" / "socmon.db"
    index = SqliteIndex(path)
    index.setup()
    index.close()
    assert path.is_file()


def test_the_database_runs_in_wal_mode(db_path: Path) -> None:
    index = SqliteIndex(db_path)
    index.setup()
    index.close()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_posts_survive_closing_and_reopening_the_file(db_path: Path) -> None:
    post = make_rich_post()
    first = SqliteIndex(db_path)
    first.setup()
    first.upsert_posts([post])
    first.close()

    reopened = SqliteIndex(db_path)
    reopened.setup()
    try:
        assert reopened.get_post(post.key) == post
        assert reopened.search_posts(PostQuery(text="advice")) == [post]
    finally:
        reopened.close()


def test_a_closed_index_refuses_calls_with_index_error(db_path: Path) -> None:
    index = SqliteIndex(db_path)
    index.setup()
    index.close()
    index.close()  # twice is harmless
    with pytest.raises(IndexUnavailable, match="closed"):
        index.stats()


def test_an_index_without_setup_raises_index_error_naming_the_file(db_path: Path) -> None:
    index = SqliteIndex(db_path)
    try:
        with pytest.raises(IndexUnavailable, match=re.escape(str(db_path))):
            index.stats()
    finally:
        index.close()


def test_a_file_that_is_not_a_database_raises_index_error(tmp_path: Path) -> None:
    path = tmp_path / "socmon.db"
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(IndexUnavailable, match=r"socmon\.db"):
        SqliteIndex(path).setup()


def test_reupserting_a_post_leaves_one_full_text_row(db_path: Path) -> None:
    index = SqliteIndex(db_path)
    index.setup()
    for text in ("first wording", "second wording", "second wording"):
        index.upsert_posts([make_post("1", text=text)])
    index.close()
    with sqlite3.connect(db_path) as conn:
        # rank=1 compares the full-text index with the posts table: a duplicate or stale FTS
        # row makes this fail with "database disk image is malformed"
        conn.execute("INSERT INTO posts_fts (posts_fts, rank) VALUES ('integrity-check', 1)")
        matches = conn.execute(
            "SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'wording'"
        ).fetchall()
        stale = conn.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'first'").fetchall()
    assert len(matches) == 1
    assert stale == []


def test_two_instances_writing_from_threads_lose_nothing(db_path: Path) -> None:
    setup = SqliteIndex(db_path)
    setup.setup()
    errors: list[BaseException] = []

    def writer(prefix: str) -> None:
        try:
            write_posts(db_path, prefix, count=300, batch=7)
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in ("a", "b")]
    for thread in threads:
        thread.start()
    # a reader at the same time, as the CLI would be
    while any(thread.is_alive() for thread in threads):
        assert setup.stats().indexed <= 600
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert setup.stats().indexed == 600
    finally:
        setup.close()


def test_two_processes_writing_at_once_lose_nothing(db_path: Path) -> None:
    setup = SqliteIndex(db_path)
    setup.setup()
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=write_posts, args=(db_path, prefix, 200, 5)) for prefix in "ab"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    try:
        assert [worker.exitcode for worker in workers] == [0, 0]
        assert setup.stats().indexed == 400
        assert len(setup.search_posts(PostQuery(text="ward", limit=1000))) == 400
    finally:
        setup.close()


def test_a_writer_waits_for_another_processes_lock_instead_of_failing(db_path: Path) -> None:
    index = SqliteIndex(db_path, busy_timeout=10.0)
    index.setup()
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock for a moment
    release = threading.Timer(0.3, other.execute, args=("COMMIT",))
    release.start()
    try:
        assert index.upsert_posts([make_post("1")]).written == 1
    finally:
        release.join()
        other.close()
        index.close()


def test_a_writer_gives_up_with_index_error_after_the_busy_timeout(db_path: Path) -> None:
    index = SqliteIndex(db_path, busy_timeout=0.2)
    index.setup()
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(IndexUnavailable, match="locked"):
            index.upsert_posts([make_post("1")])
        # the failed write left no transaction open: the next one works once the lock is gone
        other.execute("COMMIT")
        assert index.upsert_posts([make_post("1")]).written == 1
    finally:
        other.close()
        index.close()


def test_fts_expression_quotes_every_word() -> None:
    assert fts_match_expression('ward OR "clinic" NEAR(x') == FtsMatch(
        stems='"ward" AND "or" AND "clinic" AND "near" AND "x"'
    )
    assert fts_match_expression("?!") is None
    assert fts_match_expression('"*') is None


def test_fts_expression_ors_a_words_other_forms_and_quotes_prefixes() -> None:
    assert fts_match_expression('Midwives clinic* "x" OR*') == FtsMatch(
        stems='("midwives" OR "midwife") AND "x"', prefixes='"clinic"* AND "or"*'
    )
    # a quote cannot open or close a string: only letters, digits and inner apostrophes are kept
    assert fts_match_expression('a"b* NOT "c"*') == FtsMatch(
        stems='"a" AND "not" AND "c"', prefixes='"b"*'
    )
    assert fts_match_expression("St Mary's*") == FtsMatch(stems='"st"', prefixes='"mary\'s"*')


def test_an_erased_post_leaves_no_bytes_in_the_file_or_its_log(db_path: Path) -> None:
    """secure_delete, the FTS merge and the WAL checkpoint: the words are gone from the disk,
    not only from the tables (a reader of the raw file finds neither the text nor the handle)."""
    from tests.factories import make_alert

    index = SqliteIndex(db_path)
    index.setup()
    secret = "Xylophonic haemorrhage zebrafinch 943 476 5919"
    theirs = make_post("1", author="@Quentin_Quasar", text=secret)
    others = [make_post(str(n), text=f"my appointment {n} was moved") for n in range(2, 60)]
    index.upsert_posts([theirs, *others])
    index.record_alerts([make_alert("concern", theirs.key, post=theirs)])
    # a reader holds no snapshot, as with the worker idle between batches
    files = [db_path, db_path.with_name(db_path.name + "-wal")]
    before = b"".join(path.read_bytes() for path in files if path.exists())
    assert b"zebrafinch" in before.lower()
    index.erase_author("quentin_quasar")
    after = b"".join(path.read_bytes() for path in files if path.exists())
    index.close()
    for word in (b"zebrafinch", b"xylophonic", b"943 476 5919", b"quentin_quasar"):
        assert word not in after.lower(), word
    # and the others' posts are still searchable
    assert len(SqliteIndex(db_path).search_posts(PostQuery(text="appointment", limit=100))) == 58


# -- migration of a file an older socmon made ----------------------------------------------

# The posts of schema version 1, as its setup made them (the other tables are unchanged).
V1_SCHEMA = (
    """
    CREATE TABLE posts (
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
        record TEXT NOT NULL
    )
    """,
    "CREATE INDEX posts_created_at ON posts (created_at)",
    "CREATE INDEX posts_account ON posts (platform, account, kind, created_at)",
    "CREATE INDEX posts_author_handle ON posts (author_handle)",
    """
    CREATE VIRTUAL TABLE posts_fts USING fts5(
        text, content='posts', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
        INSERT INTO posts_fts (rowid, text) VALUES (new.id, new.text);
    END
    """,
    """
    CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
        INSERT INTO posts_fts (posts_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END
    """,
    """
    CREATE TRIGGER posts_fts_update AFTER UPDATE OF text ON posts BEGIN
        INSERT INTO posts_fts (posts_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO posts_fts (rowid, text) VALUES (new.id, new.text);
    END
    """,
)
V1_COLUMNS = (
    "key, platform, post_id, account, kind, author, author_handle, sentiment, departments,"
    " created_at, urgent, abusive, text, record"
)


def make_v1_file(path: Path, posts: list[EnrichedPost]) -> None:
    """A database as socmon's schema version 1 left it, holding `posts` as it wrote them."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN")
        for statement in V1_SCHEMA:
            conn.execute(statement)
        names = V1_COLUMNS.split(", ")
        for post in posts:
            row = _post_row(post)
            conn.execute(
                f"INSERT INTO posts ({V1_COLUMNS}) VALUES ({', '.join('?' * len(names))})",
                [row[name] for name in names],
            )
        conn.execute("PRAGMA user_version=1")
        conn.execute("COMMIT")


def old_posts() -> list[EnrichedPost]:
    return [
        make_post("1", text="The midwife was rude", sentiment="concern", departments=("wards",)),
        make_post("2", text="Lovely midwives", sentiment="compliment", created_at=T0 + DAY),
        make_post("3", text="Call 01234 567890", kind="official_post", breaches=(make_breach(),)),
        # a case written through version 1 (which did not keep it yet) is in the record
        make_post("4", text="parking", sentiment="concern", case=make_case(assignee="bob")),
    ]


def test_setup_migrates_a_version_1_file_to_stems_and_triage_columns(db_path: Path) -> None:
    posts = old_posts()
    make_v1_file(db_path, posts)
    index = SqliteIndex(db_path)
    try:
        index.setup()
        # the stemmed table was built from the posts already there
        assert keys(index.search_posts(PostQuery(text="midwives"))) == ["twitter:2", "twitter:1"]
        assert keys(index.search_posts(PostQuery(text="midwif*"))) == ["twitter:1"]
        # the triage columns were filled from each record
        assert keys(index.search_posts(PostQuery(statuses=("new",)))) == [
            "twitter:1",
            "twitter:3",
        ]
        assert keys(index.search_posts(PostQuery(breach=True))) == ["twitter:3"]
        assert keys(index.search_posts(PostQuery(assignee="bob"))) == ["twitter:4"]
        assert keys(index.search_posts(PostQuery(sort="department")))[0] == "twitter:1"
        assert index.count_posts(PostQuery(), by=("status",)) == {
            ("new",): 2,
            ("in_progress",): 1,
            ("",): 1,
        }
        # and it goes on as a new file: writes keep both full-text tables in step
        index.upsert_posts([make_post("1", text="The nurses were kind")])
        assert keys(index.search_posts(PostQuery(text="nurse"))) == ["twitter:1"]
        assert index.search_posts(PostQuery(text="midwife rude")) == []
        for post in posts[1:]:
            assert index.get_post(post.key) == post
    finally:
        index.close()
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        for table in ("posts_fts", "posts_stems"):
            # rank=1 compares the full-text index with the posts table row by row
            conn.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)")


def test_several_processes_setting_up_a_version_1_file_migrate_it_once(db_path: Path) -> None:
    make_v1_file(db_path, [make_post(str(n), text=f"midwives {n}") for n in range(300)])
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=set_up, args=(db_path,)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    index = SqliteIndex(db_path)
    try:
        assert len(index.search_posts(PostQuery(text="midwife", limit=1000))) == 300
    finally:
        index.close()
    with closing(sqlite3.connect(db_path)) as conn:
        # a second rebuild or migration would have left duplicate rows: the check fails on them
        conn.execute("INSERT INTO posts_stems (posts_stems, rank) VALUES ('integrity-check', 1)")
        columns = [row[1] for row in conn.execute("PRAGMA table_info(posts)")]
        assert columns.count("case_status") == 1


def set_up(path: Path) -> None:
    index = SqliteIndex(path)
    try:
        index.setup()
    finally:
        index.close()


def test_a_file_of_a_newer_schema_is_refused_and_left_as_it_is(db_path: Path) -> None:
    set_up(db_path)
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    index = SqliteIndex(db_path)
    try:
        with pytest.raises(IndexUnavailable, match=r"schema version 3, newer than .* 2"):
            index.setup()
    finally:
        index.close()
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1


@pytest.mark.parametrize(
    ("query", "index_name"),
    [
        (PostQuery(statuses=("new", "in_progress")), "posts_case_status"),
        (PostQuery(assignee=UNASSIGNED), "posts_case_status"),
        (PostQuery(assignee="alice"), "posts_assignee"),
        (PostQuery(urgent=True), "posts_urgent"),
        (PostQuery(abusive=True), "posts_abusive"),
        (PostQuery(breach=True), "posts_has_breach"),
        (PostQuery(author="@Jane_Doe"), "posts_author_handle"),
    ],
)
def test_triage_filters_are_answered_from_an_index(
    db_path: Path, query: PostQuery, index_name: str
) -> None:
    """On 100,000 posts a filter that scanned the table would take a noticeable moment per
    dashboard page; these must find their few posts through an index instead."""
    set_up(db_path)
    conditions = _post_conditions(query)
    assert conditions is not None
    where, params = conditions
    with closing(sqlite3.connect(db_path)) as conn:
        plan = conn.execute(
            f"EXPLAIN QUERY PLAN SELECT posts.id FROM posts {where}"
            " ORDER BY posts.created_at DESC, posts.key LIMIT 50",
            params,
        ).fetchall()
    details = " | ".join(row[-1] for row in plan)
    assert re.search(rf"USING (COVERING )?INDEX {index_name}\b", details), details
