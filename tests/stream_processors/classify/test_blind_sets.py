"""The blind test sets are frozen: scored by `make eval`, never edited (eval/blind/README.md)."""

from __future__ import annotations

import hashlib
import json

import pytest

from stream_processors.classify.training.evaluate_encoder import BLIND_DIR

SUMS = dict(reversed(line.split()) for line in (BLIND_DIR / "SHA256SUMS").read_text().splitlines())
FIELDS = {
    "urgent.jsonl": {"text", "urgent", "category", "note"},
    "abuse.jsonl": {"text", "abusive", "group", "note"},
    "sentiment.jsonl": {"text", "sentiment", "mixed", "note"},
    "policy.jsonl": {"text", "breaches", "media", "note"},
}


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_each_blind_set_is_unchanged_since_it_was_frozen(name):
    digest = hashlib.sha256((BLIND_DIR / name).read_bytes()).hexdigest()
    assert SUMS[name] == digest, f"{name} changed: write a new round instead of editing it"


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_each_blind_set_has_its_fields_on_every_line(name):
    rows = [json.loads(line) for line in (BLIND_DIR / name).read_text().splitlines()]
    assert len(rows) >= 150
    assert all(set(row) == FIELDS[name] for row in rows)
