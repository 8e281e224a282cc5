"""The outbox file: one JSON line per recipient of each message the file channel "sent".

Appends and rewrites take one lock (a ``.lock`` file beside the outbox, held with ``flock``), so a
rewrite (an erasure, retention) never loses a line appended meanwhile: the appender waits, then
opens the new file. Each line keeps ``posted_at`` (the earliest post its alerts are about), by
which retention ages it like the posts themselves.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

ERASED = "[erased on request]"
ERASED_FIELDS = ("subject", "summary", "text")
"""What a line says of its posts; an erasure blanks them, keeping who was told and when."""


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the outbox's lock (made on first use, mode 600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def append(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Append `rows` in one ``write()`` on an O_APPEND descriptor: a killed process leaves whole
    lines only. OSError when the file cannot be written."""
    data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
    with locked(path):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def read(path: Path) -> Iterator[dict[str, Any]]:
    """Every whole line (a line cut short by a crash can only be the last one: skipped)."""
    try:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict):
                    yield row
    except FileNotFoundError:
        return


def alert_ids_of(row: dict[str, Any]) -> list[str]:
    return [str(a) for a in row.get("alert_ids") or [row.get("alert_id")] if a]


def rewrite(path: Path, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> int:
    """Pass every line through `change` (None drops it); returns how many lines changed or went.

    The new file is written beside the old one, synced, then moved over it under the lock.
    """
    if not path.exists():
        return 0
    changed = 0
    with locked(path):
        partial = path.with_name(path.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for row in read(path):
                new = change(row)
                if new != row:
                    changed += 1
                if new is not None:
                    out.write(json.dumps(new, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())
        if changed:
            partial.replace(path)
        else:
            partial.unlink()
    return changed


def erase_alerts(path: Path, alert_ids: Collection[str]) -> int:
    """Blank what the lines about these alerts say of their posts; returns how many lines.

    A digest line that tells about an erased alert among others is blanked whole: the outbox is
    a record of what was sent, and it cannot keep part of a rendered message.
    """
    wanted = set(alert_ids)
    if not wanted:
        return 0

    def blank(row: dict[str, Any]) -> dict[str, Any]:
        if wanted.isdisjoint(alert_ids_of(row)):
            return row
        return {**row, **{name: ERASED for name in ERASED_FIELDS if name in row}}

    return rewrite(path, blank)


def prune_older_than(path: Path, cutoff: datetime) -> int:
    """Drop the lines about posts from before `cutoff` (lines without ``posted_at`` go by
    ``sent_at``); returns how many."""

    def keep(row: dict[str, Any]) -> dict[str, Any] | None:
        moment = row.get("posted_at") or row.get("sent_at")
        try:
            when = datetime.fromisoformat(str(moment))
        except ValueError:
            return row  # not a time we wrote: kept, for a person to look at
        if when.tzinfo is None:
            return row
        return None if when < cutoff else row

    return rewrite(path, keep)
