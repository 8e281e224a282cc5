"""`socmon classify`: JSON Lines in, one JSON classification per line out.

Input lines: ``{"id": "...", "text": "...", "kind": "mention" | "official_post" | ...}``
(``kind`` defaults to ``mention``; ``media`` as in the replay format is accepted). A line that
is not valid JSON, or lacks ``text``, gets an error line with its line number; the run goes on.
Lines are classified in batches for speed, and output keeps the input order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from pydantic import TypeAdapter, ValidationError

from socmon.records import Media, PostKind, describe_validation_error
from socmon.settings import Settings
from stream_processors.classify.classifier import PostClassifier, PostText

BATCH = 256
_KIND: TypeAdapter[PostKind] = TypeAdapter(PostKind)
_MEDIA: TypeAdapter[tuple[Media, ...]] = TypeAdapter(tuple[Media, ...])


def parse_input(line: str) -> tuple[Any, PostText]:
    """One input line to (id, PostText); ValueError with a readable reason otherwise."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        msg = f"not valid JSON: {exc.msg} at column {exc.colno}"
        raise ValueError(msg) from exc
    if not isinstance(obj, dict):
        msg = "expected a JSON object"
        raise ValueError(msg)
    text = obj.get("text")
    if not isinstance(text, str):
        msg = "missing field: text (a string)"
        raise ValueError(msg)
    try:
        kind = _KIND.validate_python(obj.get("kind", "mention"))
        media = _MEDIA.validate_python(obj.get("media", []))
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc)) from exc
    return obj.get("id"), PostText(text, kind, media)


def _result(item_id: Any, cls: Any) -> dict[str, Any]:
    return {
        "id": item_id,
        "sentiment": cls.sentiment,
        "confidence": cls.confidence,
        "urgent": cls.urgent,
        "departments": list(cls.departments),
        "abusive": cls.abusive,
        "breaches": [
            {"rule": b.rule, "severity": b.severity, "evidence": b.evidence} for b in cls.breaches
        ],
        "reason": cls.reason,
    }


def classify_lines(lines: Iterable[str], classifier: PostClassifier) -> Iterable[dict[str, Any]]:
    """Yield one output object per non-blank input line, in order."""
    pending: list[tuple[int, Any, PostText | str]] = []

    def flush() -> Iterable[dict[str, Any]]:
        good = [(n, i, p) for n, i, p in pending if isinstance(p, PostText)]
        labels = iter(classifier.classify_many([p for _, _, p in good]))
        for lineno, item_id, parsed in pending:
            if isinstance(parsed, PostText):
                yield _result(item_id, next(labels))
            else:
                yield {"id": item_id, "line": lineno, "error": parsed}
        pending.clear()

    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item_id, parsed = parse_input(line)
            pending.append((lineno, item_id, parsed))
        except ValueError as exc:
            pending.append((lineno, None, f"line {lineno}: {exc}"))
        if len(pending) >= BATCH:
            yield from flush()
    yield from flush()


def classify_stream(stdin: TextIO, stdout: TextIO, settings: Settings) -> int:
    """Run `socmon classify`; returns the exit code (0 even when some lines were bad)."""
    classifier = PostClassifier.from_settings(settings)
    for result in classify_lines(stdin, classifier):
        stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0
