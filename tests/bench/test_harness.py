"""The bench's own arithmetic and its pause: what makes its ratios mean what the README says."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.__main__ import Rounds
from bench.pipeline import Stages


def test_each_round_is_divided_by_the_classifier_measured_around_it() -> None:
    rounds = Rounds(rates=[100.0, 200.0, 150.0], classifier=[100.0, 300.0, 100.0, 200.0])
    # around the rounds: 200, 200, 150 -> ratios 0.5, 1.0, 1.0
    assert rounds.over_classifier == pytest.approx(1.0)
    assert rounds.rate == 150.0


def test_a_round_without_its_measurement_after_it_is_refused() -> None:
    with pytest.raises(ValueError, match="shorter"):
        Rounds(rates=[100.0, 200.0], classifier=[100.0, 300.0]).over_classifier  # noqa: B018


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_paused_stops_the_workers_and_resumes_them(tmp_path: Path) -> None:
    stages = Stages({}, tmp_path)
    busy = [sys.executable, "-c", "while True: pass"]
    stages.procs = {
        "worker-1": subprocess.Popen(busy),
        "alerting": subprocess.Popen(busy),
    }
    try:
        with stages.paused():
            time.sleep(0.2)
            assert _state(stages.procs["worker-1"].pid) == "T"
            assert _state(stages.procs["alerting"].pid) != "T"  # only the workers
        time.sleep(0.2)
        assert _state(stages.procs["worker-1"].pid) != "T"
    finally:
        stages.stop()
