"""Files holding posts, password hashes or keys are their owner's only: 0600, in folders of 0700,
whatever the umask socmon was started with (the tests start it with the usual 022)."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerting.worker import alert_origin
from socmon.deadletters import dead_letter
from socmon.index.sqlite import SqliteIndex
from tests.conftest import SampleRun
from tests.e2e_helpers import pipeline_env
from tests.factories import make_post_alert

USUAL_UMASK = 0o022  # what a login shell has: files 0644, folders 0755 unless socmon sees to it


@pytest.fixture
def usual_umask() -> Iterator[None]:
    before = os.umask(USUAL_UMASK)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def socmon(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "socmon_app.cli", *args],
        capture_output=True,
        text=True,
        env=pipeline_env(),
        umask=USUAL_UMASK,
        timeout=timeout,
        check=False,
    )


def not_private(root: Path) -> list[str]:
    """Every file or folder under `root` (and `root`) that its group or others may read."""
    found = [root, *root.rglob("*")]
    return [f"{p.relative_to(root)} {mode(p):o}" for p in found if mode(p) & 0o077]


def test_a_new_index_its_wal_and_shm_and_its_new_folder_are_owner_only(tmp_path, usual_umask):
    path = tmp_path / "new" / "socmon.db"
    index = SqliteIndex(path)
    try:
        index.setup()
        index.record_alerts([make_post_alert()])  # the -wal and -shm files are in use now
        files = [path, path.with_name("socmon.db-wal"), path.with_name("socmon.db-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert mode(path.parent) == 0o700
    finally:
        index.close()


def test_an_index_an_older_socmon_left_readable_is_made_owner_only(tmp_path, usual_umask):
    path = tmp_path / "socmon.db"
    with sqlite3.connect(path) as conn:  # as an older socmon made it: 0644, with a 0644 WAL
        conn.execute("CREATE TABLE old (x)")
    wal = path.with_name("socmon.db-wal")
    wal.write_bytes(b"")
    for file in (path, wal):
        file.chmod(0o644)
    index = SqliteIndex(path)
    try:
        assert mode(path) == 0o600
        assert mode(wal) == 0o600
    finally:
        index.close()


def test_socmon_index_setup_makes_its_data_folder_and_index_owner_only(tmp_path):
    data_dir = tmp_path / "fresh"
    result = socmon("index", "setup", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "socmon.db") == 0o600
    assert not_private(data_dir) == []


def test_socmon_alerts_retry_writes_the_outbox_owner_only(tmp_path):
    alert = make_post_alert()
    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    letter = dead_letter("alerting", alert_origin(alert.alert_id), alert, "the outbox was full")
    index.record_deadletters([letter])
    index.close()

    result = socmon("alerts", "retry", "--data-dir", str(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "delivered now" in result.stdout
    assert mode(tmp_path / "outbox.jsonl") == 0o600
    assert not_private(tmp_path) == []


@pytest.mark.e2e
@pytest.mark.slow
def test_every_file_and_folder_socmon_up_makes_is_owner_only(sample_run: SampleRun) -> None:
    """The session's `socmon up` over the sample, started with the usual umask 022."""
    run, data_dir = sample_run.run, sample_run.data_dir
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert sample_run.broker_address_mode == 0o600  # removed when `up` stops
    made = {str(p.relative_to(data_dir)) for p in data_dir.rglob("*")}
    expected = {"socmon.db", "outbox.jsonl", "erasure.key", "logs", "logs/worker.log", "faust"}
    assert expected <= made
    assert not_private(data_dir) == []
