"""A live run (a platform is polled, so nothing is read "from the start") that starts on a new,
empty embedded broker: the connectors runner's checkpoints go back to the last ones whose posts
were all processed, so the posts that had been handed only to the previous broker are fetched
again and indexed, instead of being skipped for ever."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from socmon.sample import SAMPLE_PATH
from tests.e2e_helpers import expected_from_replay
from tests.faults.running import Up
from tests.test_e2e import indexed_keys

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_live_run_fetches_again_what_the_last_broker_held_unprocessed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = SAMPLE_PATH.read_text(encoding="utf-8").splitlines()[:20]
    replay = tmp_path / "posts.jsonl"
    replay.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = f"replay:{replay.name}"
    data = tmp_path / "data"
    data.mkdir()
    # The last run had produced all 20 lines, but only the first 10 were processed when it
    # stopped: its broker (in memory) took the other 10 with it.
    (data / "checkpoints.json").write_text(json.dumps({source: "20"}), encoding="utf-8")
    (data / "checkpoints.indexed.json").write_text(json.dumps({source: "10"}), encoding="utf-8")
    later = tmp_path / "later.jsonl"
    later.write_text("\n".join(lines[10:]) + "\n", encoding="utf-8")
    wanted, _ = expected_from_replay(later)  # the valid posts of lines 11 to 20
    assert wanted
    with socket.socket() as closed:  # a Mastodon that refuses connections: polled, never there
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setenv("SOCMON_CONNECTORS__MASTODON__ENABLED", "true")
        monkeypatch.setenv(
            "SOCMON_CONNECTORS__MASTODON__API_BASE_URL",
            f"http://127.0.0.1:{closed.getsockname()[1]}",
        )
        monkeypatch.setenv("SOCMON_CONNECTORS__MASTODON__ACCESS_TOKEN", "token-of-the-test-1234")
        up = Up("--replay", str(replay), "--data-dir", str(data))
        try:
            up.wait_for(r"go back to their last checkpoint whose posts were all processed", 120)
            up.wait_for(rf"indexed {len(wanted)} posts", 180)
            # once everything is processed, the copy catches up with the runner
            deadline = time.monotonic() + 60
            while processed_line(data, source) != "20" and time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            up.kill()
    assert wanted <= set(indexed_keys(data))
    assert processed_line(data, source) == "20"


def processed_line(data: Path, source: str) -> str | None:
    copy = json.loads((data / "checkpoints.indexed.json").read_text(encoding="utf-8"))
    return copy.get(source)
