"""Fault injection on the real pipeline: another process holds the SQLite write lock while a
replay runs (as a backup, a long erase or a full disk would).

`socmon up` runs as a user runs it (embedded broker, worker, alert delivery, SQLite index in a
temporary data directory). Once the worker is up, the test takes the index's write lock, replays
a file of 600 posts made from the bundled sample (with a few malformed lines) through
`socmon ingest`, and keeps the lock until the index agent's write has failed with
``database is locked`` and the worker has said it is waiting: a lock that outlasts SQLite's busy
timeout (the issue held one for 45 s against the default 30 s; here the timeout is set to 5 s,
`index.sqlite_busy_timeout_seconds`, so the same happens in a third of the time).
Then every well-formed post must be indexed, every malformed line dead-lettered, nothing else,
and every alert on the alerts topic must be about a post in the index.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.connectors.replay import parse_replay_line
from socmon.index.port import IndexUnavailable, PostQuery
from socmon.index.sqlite import SqliteIndex
from socmon.kafka import pending_records
from socmon.records import Alert, Post, parse_record
from socmon.sample import SAMPLE_PATH
from socmon.settings import load_settings
from socmon.topics import ALERTING_GROUP, STREAM_GROUP
from tests.broker import read_topic
from tests.e2e_helpers import expected_from_replay, socmon
from tests.faults.running import Up

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

POSTS = 600
# Seconds: a write fails after SQLite's busy timeout, and the index agent's may wait behind the
# dead letters agent's (one connection in the worker): about twice the timeout.
BUSY_TIMEOUT = 5
LOCK_AT_MOST = 120.0
WAITING = "waiting for the index since"

PROBE = {
    "platform": "twitter",
    "id": "probe1",
    "kind": "official_post",
    "account": "NorthbrookNHS",
    "author": "NorthbrookNHS",
    "text": "Our main reception is open from 8am to 8pm every day.",
    "created_at": "2026-10-20T09:00:00+00:00",
}


def write_replay(path: Path, posts: int) -> None:
    """`posts` distinct posts from the sample's lines (new ids), with its malformed lines too."""
    lines: list[str] = []
    keys: set[str] = set()
    copy = 0
    while len(keys) < posts:
        for line in SAMPLE_PATH.read_text(encoding="utf-8").splitlines():
            if len(keys) >= posts:
                break
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                lines.append(line)  # not JSON: a dead letter
                continue
            if isinstance(row, dict) and "id" in row:
                row["id"] = f"f{copy}x{row['id']}"
                row.pop("url", None)
            out = json.dumps(row)
            item = parse_replay_line(out, "check")
            if isinstance(item, Post):
                if item.key in keys:
                    continue
                keys.add(item.key)
            lines.append(out)
        copy += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def wait_for(condition: Callable[[], bool], timeout: float, what: str, output: list[str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = "".join(output)[-3000:]
            raise AssertionError(f"timed out waiting for {what}\n{tail}")
        time.sleep(0.2)


def indexed_count(db: Path) -> int:
    """Posts indexed so far; 0 while `socmon up` has made the file but not its tables yet."""
    index = SqliteIndex(db)
    try:
        return index.stats().indexed
    except IndexUnavailable:
        return 0
    finally:
        index.close()


def test_a_replay_under_a_locked_index_loses_nothing_and_alerts_only_indexed_posts(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SOCMON_INDEX__SQLITE_BUSY_TIMEOUT_SECONDS", str(BUSY_TIMEOUT))
    topics = load_settings(None).kafka.topics
    replay = tmp_path / "replay.jsonl"
    write_replay(replay, POSTS)
    keys, letters = expected_from_replay(replay)
    lines = [line for line in replay.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(keys) == POSTS
    assert letters
    assert len(lines) == len(keys) + len(letters)  # every line is a post or a dead letter
    probe = tmp_path / "probe.jsonl"
    probe.write_text(json.dumps(PROBE) + "\n", encoding="utf-8")
    probe_key = "twitter:probe1"
    db = tmp_path / "socmon.db"
    worker_log = tmp_path / "logs" / "worker.log"

    up = Up("--replay", str(probe), "--data-dir", str(tmp_path))
    proc, output = up.proc, up.lines
    locker: sqlite3.Connection | None = None
    try:
        bootstrap = ""

        def broker_up() -> bool:
            nonlocal bootstrap
            for line in list(output):
                match = re.search(r"broker \(Tansu\) on ([\d.]+:\d+)", line)
                if match:
                    bootstrap = match.group(1)
            return bool(bootstrap)

        wait_for(broker_up, 60, "the embedded broker", output)

        def alerting_idle() -> bool:
            return pending_records(bootstrap, ALERTING_GROUP, [topics.alerts]) == 0

        # The worker is up (its index set up) once the probe post is indexed; then the lock.
        wait_for(lambda: db.exists() and indexed_count(db) == 1, 120, "the probe post", output)
        wait_for(alerting_idle, 60, "alert delivery to be idle", output)
        locker = sqlite3.connect(db, isolation_level=None, timeout=30)
        locker.execute("BEGIN EXCLUSIVE")
        locked_at = time.monotonic()

        ingest_env = {
            "SOCMON_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "SOCMON_DATA_DIR": str(tmp_path),
            "SOCMON_METRICS__PORT": "0",
        }
        ingest = socmon(
            "ingest",
            "--replay",
            str(replay),
            "--from-start",
            "--exit-when-exhausted",
            timeout=120,
            env=ingest_env,
        )
        assert ingest.returncode == 0, ingest.stdout[-2000:] + ingest.stderr[-2000:]

        def worker_waits() -> bool:
            # The index agent's write (the dead letters agent may wait its turn before it: the
            # worker's SQLite connection takes one write at a time).
            text = worker_log.read_text(errors="replace") if worker_log.exists() else ""
            return f"index: {WAITING}" in text

        wait_for(worker_waits, LOCK_AT_MOST, "the worker to say it waits for the index", output)
        time.sleep(2)  # its retry now waits for the lock again
        # Locked: nothing of the replay is indexed, and no alert is about one of its posts.
        assert indexed_count(db) == 1
        early = [
            parse_record(Alert, r.value)
            for r in read_topic(bootstrap, topics.alerts, 100_000, timeout=2)
        ]
        assert not [a for a in early if a.post is not None and a.post.key in keys]
        locker.execute("ROLLBACK")
        locker.close()
        locker = None
        held = time.monotonic() - locked_at

        pending_before = 1  # not idle until seen idle twice in a row

        def idle() -> bool:
            nonlocal pending_before
            stream = pending_records(
                bootstrap,
                STREAM_GROUP,
                [topics.posts_raw, topics.posts_enriched, topics.deadletter],
            )
            alerts = pending_records(bootstrap, ALERTING_GROUP, [topics.alerts])
            was, pending_before = pending_before, stream + alerts
            return was == 0 and pending_before == 0  # twice in a row, as `socmon up` checks

        wait_for(idle, 120, "the pipeline to be idle", output)
        alerts = [
            parse_record(Alert, r.value)
            for r in read_topic(bootstrap, topics.alerts, 100_000, timeout=3)
        ]
    finally:
        if locker is not None:
            locker.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    up.finish_reading(5)
    text = "".join(output)

    index = SqliteIndex(db)
    try:
        stored = {p.key for p in index.search_posts(PostQuery(limit=1_000_000))}
        stats = index.stats()
        stored_letters = index.deadletters(limit=100_000)
        ever = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
        recorded = {a.alert_id for a in index.alerts_between(*ever)}
    finally:
        index.close()
    log = worker_log.read_text(errors="replace")

    # The lock really hit the worker, which waited instead of crashing or dropping the batch.
    assert f"index: {WAITING}" in log, log[-3000:]
    assert "database is locked" in log
    assert re.search(r"index: the batch of \d+ posts went through after waiting", log)
    restarts = re.findall(r"socmon: (.*); restarting", text)
    assert not [r for r in restarts if "stream worker" in r], restarts
    # Exact counts: every well-formed post indexed once, every malformed line a dead letter.
    assert stored == keys | {probe_key}
    assert stats.indexed == len(keys) + 1
    assert stats.deadletter == len(letters)
    assert sorted(d.origin for d in stored_letters) == sorted(d.origin for d in letters)
    # Every alert on the topic is about a post that is in the index.
    about_posts = [a for a in alerts if a.post is not None]
    assert {a.post.key for a in about_posts if a.post is not None} & keys
    missing = [a.alert_id for a in about_posts if a.post is not None and a.post.key not in stored]
    assert missing == []
    # ... and alert delivery took every one of them.
    assert recorded == {a.alert_id for a in alerts}
    print(
        f"held the lock {held:.0f} s; {len(lines)} lines = {len(keys)} posts indexed + "
        f"{len(letters)} dead letters (+1 probe post); {len(alerts)} alerts on the topic, "
        f"{len({a.alert_id for a in alerts})} distinct, all about indexed posts"
    )
