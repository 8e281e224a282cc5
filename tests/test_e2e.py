"""End to end, on the real embedded broker: `socmon up` replays, classifies, indexes, alerts.

These run the CLI exactly as a user would (`socmon up --exit-when-idle`, `socmon stats --json`)
and check the SQLite index it leaves behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from socmon.index.port import PostQuery
from socmon.index.sqlite import SqliteIndex
from socmon.sample import SAMPLE_PATH
from tests.conftest import SampleRun
from tests.e2e_helpers import expected_from_replay, outbox_counts, pipeline_env, socmon
from tests.faults.running import Up

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def stats(data_dir: Path) -> dict:
    result = socmon("stats", "--data-dir", str(data_dir), "--json", timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def indexed_keys(data_dir: Path) -> list[str]:
    index = SqliteIndex(data_dir / "socmon.db")
    try:
        return [p.key for p in index.search_posts(PostQuery(limit=1_000_000))]
    finally:
        index.close()


def up(data_dir: Path, replay: Path, timeout: float = 300):
    return socmon(
        "up",
        "--replay",
        str(replay),
        "--data-dir",
        str(data_dir),
        "--exit-when-idle",
        "--metrics-port",
        "0",
        timeout=timeout,
    )


def test_the_sample_is_indexed_once_rejects_are_dead_lettered_and_concerns_alerted(
    sample_run: SampleRun, tmp_path: Path
) -> None:
    keys, letters = expected_from_replay(SAMPLE_PATH)
    assert len(keys) >= 300
    assert letters

    run = sample_run.run
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "idle" in run.stdout
    # a copy of the session's run, since this test runs the pipeline on it again
    tmp_path = tmp_path / "data"
    shutil.copytree(sample_run.data_dir, tmp_path)

    first = stats(tmp_path)
    assert first["indexed"] == len(keys)
    assert sorted(indexed_keys(tmp_path)) == sorted(keys)
    assert first["deadletter"] == len(letters)
    assert first["alerts"].get("concern", 0) > 0
    assert sum(first["by_sentiment"].values()) == len(keys)

    index = SqliteIndex(tmp_path / "socmon.db")
    try:
        stored = {d.origin: d.reason for d in index.deadletters(limit=1000)}
    finally:
        index.close()
    for letter in letters:
        assert stored[letter.origin] == letter.reason  # file:line and the reason
    outbox = outbox_counts(tmp_path / "outbox.jsonl")
    assert outbox
    assert max(outbox.values()) == 1

    # The same file again: still exactly once, and nobody is told twice.
    again = up(tmp_path, SAMPLE_PATH)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    second = stats(tmp_path)
    assert second == first
    assert sorted(indexed_keys(tmp_path)) == sorted(keys)
    assert outbox_counts(tmp_path / "outbox.jsonl") == outbox


def write_big_replay(path: Path, n: int) -> None:
    """`n` distinct posts made from the sample's texts (enough to kill a worker mid-way)."""
    rows = []
    for line in SAMPLE_PATH.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and {"text", "created_at", "kind"} <= row.keys():
            rows.append(row)
    base = datetime(2026, 10, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            row = dict(rows[i % len(rows)])
            row.update(
                id=f"big{i}",
                platform="mastodon",
                created_at=(base + timedelta(seconds=i)).isoformat(),
            )
            row.pop("url", None)
            fh.write(json.dumps(row) + "\n")


def test_killing_one_of_two_workers_mid_replay_loses_nothing_and_doubles_nothing(tmp_path):
    """Two workers share the partitions; one is killed mid-replay, the group rebalances (the
    other takes its partitions, then the restarted one takes some back) and every post is
    indexed once and alerted once."""
    replay = tmp_path / "big.jsonl"
    write_big_replay(replay, 3000)
    keys, _ = expected_from_replay(replay)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "socmon_app.cli",
            "up",
            "--replay",
            str(replay),
            "--data-dir",
            str(tmp_path),
            "--exit-when-idle",
            "--metrics-port",
            "0",
            "--workers",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=pipeline_env(),
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        pids: dict[str, int] = {}
        deadline = time.monotonic() + 120
        while len(pids) < 2 and time.monotonic() < deadline:
            for line in list(output):
                match = re.search(r"started stream worker (\d) of 2 .*\(pid (\d+)", line)
                if match:
                    pids[match.group(1)] = int(match.group(2))
            time.sleep(0.1)
        assert sorted(pids) == ["1", "2"], "".join(output)
        worker_pid = pids["1"]
        db = tmp_path / "socmon.db"
        killed_at = None
        while time.monotonic() < deadline:
            if db.exists():
                index = SqliteIndex(db)
                count = index.stats().indexed
                index.close()
                if 0 < count < len(keys):
                    os.kill(worker_pid, signal.SIGKILL)
                    killed_at = count
                    break
            time.sleep(0.05)
        assert killed_at is not None, "the worker finished before it could be killed"
        assert proc.wait(timeout=400) == 0, "".join(output)[-4000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(5)
    text = "".join(output)
    assert "restarting" in text
    assert sorted(indexed_keys(tmp_path)) == sorted(keys)
    outbox = outbox_counts(tmp_path / "outbox.jsonl")
    assert outbox
    assert max(outbox.values()) == 1


def test_a_broken_config_names_the_file_and_field_and_exits_non_zero(tmp_path):
    config = tmp_path / "socmon.yaml"
    config.write_text("kafka:\n  partitions: lots\n")
    result = socmon("up", "--config", str(config), "--data-dir", str(tmp_path), timeout=60)
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert "kafka.partitions" in result.stderr
    assert "valid integer" in result.stderr


def test_up_serves_metrics_and_stops_cleanly_on_ctrl_c(tmp_path):
    up = Up("--data-dir", str(tmp_path))
    proc, output = up.proc, up.lines
    keys, _ = expected_from_replay(SAMPLE_PATH)
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            for line in list(output):
                match = re.search(r"metrics on (http://\S+)", line)
                if match:
                    url = match.group(1)
            time.sleep(0.1)
        assert url, "".join(output)
        indexed = 0.0
        while time.monotonic() < deadline:
            body = urllib.request.urlopen(url, timeout=5).read().decode()
            indexed = sum(
                float(v)
                for v in re.findall(
                    r'socmon_items_out_total\{[^}]*stage="index"[^}]*\} (\S+)', body
                )
            )
            if indexed >= len(keys):
                break
            time.sleep(0.5)
        assert indexed == len(keys)
        assert 'socmon_items_out_total{platform="twitter",stage="ingest"}' in body
        assert "socmon_processing_seconds_bucket" in body
        assert "socmon_deadletters_total" in body
        # other commands on this data folder find the running broker: the one `up` printed
        broker = re.search(r"\(Tansu\) on (\S+)", "".join(output))
        assert broker
        assert (tmp_path / "broker.address").read_text().strip() == broker.group(1)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert not (tmp_path / "broker.address").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
    up.finish_reading(5)
    text = "".join(output)
    assert "stopping" in text
    assert "Traceback" not in text
