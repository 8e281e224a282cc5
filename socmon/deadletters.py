"""Errors as data: one way to turn any item that failed into a dead letter.

Every stage keeps what it cannot handle instead of dropping it (the ``socmon.deadletters``
topic, then the index), the way bytewax splits a stream into oks and errs: a stage calls
:func:`dead_letter` with the item as it came, where it came from and why, and sends the result.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from socmon.records import DeadLetter, Stage


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def raw_json(raw: Any) -> str:
    """The item as received, as JSON (client libraries may have turned times into datetimes);
    escaped to ASCII only when it is not valid Unicode."""
    text = json.dumps(raw, ensure_ascii=False, default=_json_value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(raw, ensure_ascii=True, default=_json_value)
    return text


MAX_PAYLOAD = 64_000
"""The most of an item a dead letter keeps (characters): enough to see what it was, and a dead
letter must fit a Kafka message however large the item was."""


def as_payload(item: Any) -> str:
    """A dead letter's payload: text as it is, bytes decoded (bad bytes replaced), a record as
    its JSON, anything else (a platform's parsed item) as JSON; cut to `MAX_PAYLOAD`."""
    if isinstance(item, str):
        text = item
    elif isinstance(item, bytes | bytearray):
        text = bytes(item).decode("utf-8", "replace")
    elif callable(dump := getattr(item, "model_dump_json", None)):
        text = str(dump())
    else:
        text = raw_json(item)
    if len(text) > MAX_PAYLOAD:
        return f"{text[:MAX_PAYLOAD]}... [cut: {len(text):,} characters in all]"
    return text


def dead_letter(stage: Stage, origin: str, item: Any, reason: str) -> DeadLetter:
    """The dead letter of `item`, which failed at `stage` (from `origin`) because of `reason`."""
    return DeadLetter(stage=stage, origin=origin, payload=as_payload(item), reason=reason)
