"""The processed copy of the runner's checkpoints: taken only when nothing is pending, put back
before the runner starts on a new (empty) embedded broker."""

from __future__ import annotations

import json
from pathlib import Path

from socmon_app.checkpoints import PROCESSED_FILE, RUNNER_FILE, ProcessedCheckpoints


def write(path: Path, data: dict[str, str]) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def read(path: Path) -> dict[str, str]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_copy_is_taken_only_when_nothing_is_pending(tmp_path: Path) -> None:
    checkpoints = ProcessedCheckpoints(tmp_path)
    write(tmp_path / RUNNER_FILE, {"mastodon:mentions:a": "110", "replay:x": "20"})
    assert checkpoints.note(lambda: False) is False
    assert not (tmp_path / PROCESSED_FILE).exists()
    assert checkpoints.note(lambda: True) is True
    assert read(tmp_path / PROCESSED_FILE) == {"mastodon:mentions:a": "110", "replay:x": "20"}
    assert checkpoints.note(lambda: True) is False  # unchanged: not written again


def test_the_copy_is_never_ahead_of_what_was_read_before_the_check(tmp_path: Path) -> None:
    """The runner may save a newer checkpoint while the check runs: the copy keeps the one read
    before the check, which the check vouches for."""
    checkpoints = ProcessedCheckpoints(tmp_path)
    write(tmp_path / RUNNER_FILE, {"replay:x": "10"})

    def meanwhile_the_runner_moves_on() -> bool:
        write(tmp_path / RUNNER_FILE, {"replay:x": "30"})
        return True

    assert checkpoints.note(meanwhile_the_runner_moves_on)
    assert read(tmp_path / PROCESSED_FILE) == {"replay:x": "10"}


def test_rewind_puts_the_runner_back_to_the_processed_copy(tmp_path: Path) -> None:
    checkpoints = ProcessedCheckpoints(tmp_path)
    write(tmp_path / PROCESSED_FILE, {"mastodon:mentions:a": "110", "replay:x": "10"})
    write(
        tmp_path / RUNNER_FILE,
        {"mastodon:mentions:a": "150", "replay:x": "10", "bluesky:search:q": "{}"},
    )
    assert checkpoints.rewind() == ["bluesky:search:q", "mastodon:mentions:a"]
    # a source with no processed checkpoint starts afresh (its newest page again)
    assert read(tmp_path / RUNNER_FILE) == {"mastodon:mentions:a": "110", "replay:x": "10"}
    assert checkpoints.rewind() == []


def test_without_a_processed_copy_nothing_is_touched(tmp_path: Path) -> None:
    write(tmp_path / RUNNER_FILE, {"replay:x": "20"})
    assert ProcessedCheckpoints(tmp_path).rewind() == []
    assert read(tmp_path / RUNNER_FILE) == {"replay:x": "20"}
