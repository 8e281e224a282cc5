"""The blind test sets are frozen: scored by `make eval`, never edited (eval/blind/README.md)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from stream_processors.classify.training.evaluate_encoder import BLIND_DIR, ROUND2_DIR

ROUNDS = {"round1": BLIND_DIR, "round2": ROUND2_DIR}
FIELDS = {
    "urgent.jsonl": {"text", "urgent", "category", "note"},
    "abuse.jsonl": {"text", "abusive", "group", "note"},
    "sentiment.jsonl": {"text", "sentiment", "mixed", "note"},
    "policy.jsonl": {"text", "breaches", "media", "note"},
}
SETS = [(r, name) for r in ROUNDS for name in sorted(FIELDS)]


def sums(folder: Path) -> dict[str, str]:
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split() for line in lines)}


@pytest.mark.parametrize(("round_", "name"), SETS)
def test_each_blind_set_is_unchanged_since_it_was_frozen(round_, name):
    folder = ROUNDS[round_]
    digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    assert sums(folder)[name] == digest, f"{name} changed: write a new round instead of editing it"


@pytest.mark.parametrize(("round_", "name"), SETS)
def test_each_blind_set_has_its_fields_on_every_line(round_, name):
    rows = [json.loads(line) for line in (ROUNDS[round_] / name).read_text().splitlines()]
    assert len(rows) >= 150
    assert all(set(row) == FIELDS[name] for row in rows)
