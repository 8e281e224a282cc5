"""An erasure sticks: after `socmon erase`, running `socmon up` again on the same data folder
with the same replay (the embedded broker, the real worker and alert delivery) neither indexes
the person's post again nor raises its alert; it is dead-lettered as "erased on request",
without its text, and the run still ends well (exit 0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from socmon.erasure import ERASED_ON_REQUEST
from socmon.index.sqlite import SqliteIndex
from socmon.sample import SAMPLE_PATH
from tests.e2e_helpers import socmon

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "my NHS number is 943 476 5919 and the ward lost my notes, I am furious"


def replay_file(path: Path) -> Path:
    lines = SAMPLE_PATH.read_text(encoding="utf-8").splitlines()[:20]
    jane = {
        "platform": "twitter",
        "id": "1999000000000000001",
        "kind": "mention",
        "account": "NorthbrookNHS",
        "author": "Jane_Doe",
        "text": f"@NorthbrookNHS {SECRET}",
        "created_at": "2026-10-03T10:00:00Z",
        "url": "https://x.com/Jane_Doe/status/1999000000000000001",
    }
    path.write_text("\n".join([*lines, json.dumps(jane)]) + "\n", encoding="utf-8")
    return path


def up(replay: Path, data: Path) -> str:
    run = socmon(
        "up",
        "--replay",
        str(replay),
        "--data-dir",
        str(data),
        "--exit-when-idle",
        "--metrics-port",
        "0",
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout


def test_an_erased_author_is_not_brought_back_by_a_second_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    replay = replay_file(tmp_path / "posts.jsonl")
    outbox = data / "outbox.jsonl"

    up(replay, data)
    index = SqliteIndex(data / "socmon.db")
    try:
        assert index.get_post("twitter:1999000000000000001") is not None
        first = index.stats().indexed
    finally:
        index.close()
    assert "943 476 5919" in outbox.read_text()

    erased = socmon("erase", "--author", "@jane_doe", "--yes", "--data-dir", str(data))
    assert erased.returncode == 0, erased.stderr
    assert "erased 1 posts" in erased.stdout
    assert "943 476 5919" not in outbox.read_text()

    up(replay, data)
    index = SqliteIndex(data / "socmon.db")
    try:
        assert index.get_post("twitter:1999000000000000001") is None
        letters = [d for d in index.deadletters(1000) if d.reason == ERASED_ON_REQUEST]
        indexed = index.stats().indexed
    finally:
        index.close()
    # read again and suppressed (not merely skipped), with nothing of the person kept
    assert letters, "the second run did not read the erased author's post again"
    for letter in letters:
        assert "943" not in letter.payload
        assert "jane" not in letter.payload.lower()
    assert indexed == first - 1  # everyone else's posts are still there
    assert "943 476 5919" not in outbox.read_text()
