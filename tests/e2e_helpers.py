"""Running `socmon` as a user would, for the end-to-end tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ingest.connectors.replay import parse_replay_line
from socmon.records import DeadLetter, Post

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def sweep_weekday_away() -> str:
    """A weekday three days from today (Europe/London) for the weekly account sweep, so the
    sweep, which runs inside the worker on the real clock, never fires during a test."""
    today = datetime.now(ZoneInfo("Europe/London")).weekday()
    return WEEKDAYS[(today + 3) % 7]


def pipeline_env() -> dict[str, str]:
    """The environment for a `socmon` child process in a test.

    The weekly account sweep runs inside the worker on the real clock; it is moved to a weekday
    three days away so it can never fire during a test and change the counts between two runs
    (the sweep has tests of its own with a controlled clock).
    """
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["SOCMON_GOVERNANCE__SWEEP_WEEKDAY"] = sweep_weekday_away()
    # One stream worker unless a test asks for more (`--workers`): the default, one per core,
    # would make every run load the model twice; the tests of several workers say so.
    env["SOCMON_EMBEDDED__WORKERS"] = "1"
    return env


def socmon(*args: str, timeout: float = 300, env: dict[str, str] | None = None):
    """Run the CLI in a subprocess; return the CompletedProcess (text output)."""
    full_env = pipeline_env() | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "socmon_app.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )


def expected_from_replay(path: Path) -> tuple[set[str], list[DeadLetter]]:
    """The post keys and dead letters a replay of `path` must produce."""
    keys: set[str] = set()
    letters: list[DeadLetter] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        item = parse_replay_line(line, f"{path}:{lineno}")
        if isinstance(item, Post):
            keys.add(item.key)
        else:
            letters.append(item)
    return keys, letters


def outbox_counts(path: Path) -> Counter[tuple[str, str]]:
    """How many times each (alert, recipient) was written to the outbox."""
    counts: Counter[tuple[str, str]] = Counter()
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            counts[(row["alert_id"], row["recipient"])] += 1
    return counts
