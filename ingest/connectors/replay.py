"""Replay connector: reads posts from a JSON Lines file (the bundled sample, or an export).

One JSON object per line with the fields of the replay format (see README): ``platform``,
``id``, ``kind``, ``account``, ``author``, ``text``, ``created_at`` and optionally ``url``,
``media``, ``lang``, ``in_reply_to``. A line that is not JSON, misses a field or has a bad value
becomes a dead letter naming the file, the line number and the reason; the rest of the file goes on.
The checkpoint is the number of lines already produced.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ingest.connector import Connector, Fetched
from socmon.deadletters import dead_letter
from socmon.records import DeadLetter, Post, describe_validation_error

REPLAY_FIELDS = {"platform", "id", "kind", "account", "author", "text", "created_at"}
OPTIONAL_FIELDS = {"url", "media", "lang", "in_reply_to"}
MAX_LINE = 1_000_000  # characters: a post is at most MAX_TEXT of text, plus its fields


def parse_replay_line(line: str, origin: str) -> Post | DeadLetter:
    """One line of a replay file to a `Post`, or a `DeadLetter` saying what is wrong."""
    if len(line) > MAX_LINE:
        return _reject(
            f"line too long: {len(line):,} characters (at most {MAX_LINE:,})", origin, line
        )
    try:
        obj: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        return _reject(f"not valid JSON: {exc.msg} at column {exc.colno}", origin, line)
    except RecursionError:
        return _reject("not valid JSON: nested too deeply", origin, line)
    if not isinstance(obj, dict):
        return _reject(f"expected a JSON object, got {type(obj).__name__}", origin, line)
    missing = sorted(REPLAY_FIELDS - obj.keys())
    if missing:
        return _reject(f"missing field(s): {', '.join(missing)}", origin, line)
    unknown = sorted(obj.keys() - REPLAY_FIELDS - OPTIONAL_FIELDS)
    if unknown:
        return _reject(f"unknown field(s): {', '.join(unknown)}", origin, line)
    fields = {k: v for k, v in obj.items() if k != "id"}
    try:
        return Post.model_validate({**fields, "post_id": str(obj["id"]), "source": "replay"})
    except ValidationError as exc:
        return _reject(describe_validation_error(exc), origin, line)


def _reject(reason: str, origin: str, line: str | bytes) -> DeadLetter:
    return dead_letter("ingest", origin, line, reason)


class ReplayConnector(Connector):
    """Reads `path` in batches of `batch_lines`, resuming after the checkpointed line."""

    def __init__(self, path: Path, batch_lines: int = 500) -> None:
        self.path = path
        self.batch_lines = batch_lines
        self.name = f"replay:{path.name}"

    @property
    def finite(self) -> bool:
        return True

    def poll(self, checkpoint: str | None) -> Fetched:
        start = int(checkpoint) if checkpoint else 0
        posts: list[Post] = []
        rejects: list[DeadLetter] = []
        lineno = start
        with self.path.open("rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if lineno <= start:
                    continue
                origin = f"{self.path}:{lineno}"
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    reason = f"not valid UTF-8 at byte {exc.start + 1} of the line"
                    rejects.append(_reject(reason, origin, raw))
                    line = ""
                if line.strip():
                    item = parse_replay_line(line.rstrip("\r\n"), origin)
                    if isinstance(item, Post):
                        posts.append(item)
                    else:
                        rejects.append(item)
                if lineno - start >= self.batch_lines:
                    return Fetched(posts, rejects, checkpoint=str(lineno), exhausted=False)
        return Fetched(posts, rejects, checkpoint=str(max(lineno, start)), exhausted=True)
