"""The outbox file: appends, erasure and retention rewrite it without losing a line."""

from __future__ import annotations

import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerting import outbox
from alerting.channels import FileChannel
from alerting.render import Message

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _row(alert_ids: list[str], text: str = "a post", posted_at: datetime | None = None) -> dict:
    return {
        "alert_id": alert_ids[0] if len(alert_ids) == 1 else "digest:x",
        "alert_ids": alert_ids,
        "recipient": "team",
        "subject": text,
        "summary": text,
        "text": text,
        "sent_at": NOW.isoformat(),
        "posted_at": posted_at.isoformat() if posted_at else None,
    }


def test_erasure_blanks_what_the_lines_say_and_keeps_who_was_told(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox.append(
        path,
        [
            _row(["a1"], "Jane's NHS number is 943 476 5919"),
            _row(["b1"], "my appointment was moved"),
            _row(["b1", "a1"], "digest: Jane's NHS number ... my appointment"),
        ],
    )
    assert outbox.erase_alerts(path, {"a1"}) == 2
    rows = list(outbox.read(path))
    assert [r["alert_ids"] for r in rows] == [["a1"], ["b1"], ["b1", "a1"]]
    assert [r["text"] for r in rows] == [outbox.ERASED, "my appointment was moved", outbox.ERASED]
    assert "943" not in path.read_text()
    assert outbox.erase_alerts(path, {"a1"}) == 0  # idempotent


def test_retention_ages_a_line_by_its_post(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    cutoff = NOW - timedelta(days=365)
    outbox.append(
        path,
        [
            _row(["old"], posted_at=cutoff - timedelta(days=1)),
            _row(["new"], posted_at=cutoff + timedelta(days=1)),
        ],
    )
    assert outbox.prune_older_than(path, cutoff) == 1
    assert [r["alert_ids"] for r in outbox.read(path)] == [["new"]]


def test_lines_appended_during_a_rewrite_are_all_kept(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox.append(path, [_row([f"first{n}"]) for n in range(200)])
    stop = threading.Event()
    written: list[str] = []

    def keep_appending() -> None:
        n = 0
        while not stop.is_set():
            outbox.append(path, [_row([f"late{n}"])])
            written.append(f"late{n}")
            n += 1

    writer = threading.Thread(target=keep_appending)
    writer.start()
    try:
        for _ in range(20):
            outbox.erase_alerts(path, {"first0"})
    finally:
        stop.set()
        writer.join()
    ids = {r["alert_ids"][0] for r in outbox.read(path)}
    assert written, "the writer appended nothing"
    assert set(written) <= ids
    assert {f"first{n}" for n in range(200)} <= ids


def test_the_file_channel_writes_a_private_file_with_the_posts_time(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    posted = "2026-10-01T09:00:00Z"
    message = Message(
        ref="a1",
        kind="concern",
        subject="s",
        text="t",
        html="<p>t</p>",
        alert_ids=("a1",),
        payload={"event": "alert", "alert": {"post": {"created_at": posted}}},
    )
    FileChannel(path).send(message, ["team", "lead"])
    rows = list(outbox.read(path))
    assert [r["recipient"] for r in rows] == ["team", "lead"]
    assert {r["posted_at"] for r in rows} == {posted}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
