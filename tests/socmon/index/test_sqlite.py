"""The SQLite adapter: the whole port contract, plus the file, concurrency and FTS behaviour."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from socmon.index.port import IndexUnavailable, PostQuery
from socmon.index.sqlite import SqliteIndex, fts_match_expression
from tests.factories import T0, make_post, make_rich_post
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
    assert fts_match_expression('ward OR "clinic" NEAR(x') == '"ward" "OR" "clinic" "NEAR" "x"'
    assert fts_match_expression("?!") is None


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
