"""No child outlives `socmon up`: not after ``kill -9`` of the supervisor (Linux: the kernel
sends each child SIGTERM, `socmon.broker.die_with_parent`, and the guard kills what is left after
`DEATH_GRACE_SECONDS`), and not when its output is closed (``socmon up | head``), where it stops
every child before it exits."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from socmon_app.supervisor import DEATH_GRACE_SECONDS, port_is_free
from tests.e2e_helpers import pipeline_env
from tests.faults.running import Up, alive, wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux"),
]

UP = [sys.executable, "-m", "socmon_app.cli", "up"]


def test_kill_9_of_the_supervisor_stops_every_child(tmp_path: Path) -> None:
    up = Up("--data-dir", str(tmp_path))
    pids: dict[str, int] = {}
    try:
        broker = up.wait_for(r"Tansu\) on 127\.0\.0\.1:(\d+)")
        up.wait_for(r"started web dashboard")
        up.wait_for(r"socmon: indexed \d+ posts")  # watching
        pids = up.pids()
        assert set(pids) == {
            "broker",
            "stream worker (Faust: enrich, index, route)",
            "alert delivery",
            "connectors runner (replay)",
            "web dashboard",
        }
        up.wait_for(r"connectors runner \(replay\) finished")
        running = {name for name, pid in pids.items() if alive(pid)}
        assert running == set(pids) - {"connectors runner (replay)"}
        os.kill(up.proc.pid, signal.SIGKILL)
        up.proc.wait(10)
        killed_at = time.monotonic()
        gone: dict[str, float] = {}

        def all_gone() -> bool:
            for name, pid in pids.items():
                if name not in gone and not alive(pid):
                    gone[name] = round(time.monotonic() - killed_at, 1)
            return len(gone) == len(pids)

        took = wait_until(all_gone, timeout=DEATH_GRACE_SECONDS + 10)
    finally:
        up.kill()
        for pid in pids.values():  # whatever a failure left behind
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    print(f"every child gone {took:.1f} s after kill -9 of the supervisor: {gone}")
    assert port_is_free("127.0.0.1", int(broker.group(1)))


def test_a_closed_output_stops_every_child_before_the_supervisor_exits(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    with (tmp_path / "stderr.txt").open("wb") as err:
        proc = subprocess.Popen(
            [*UP, "--data-dir", str(tmp_path), "--metrics-port", "0"],
            stdout=write_end,
            stderr=err,
            env=pipeline_env(),
        )
    os.close(write_end)
    lines: list[str] = []
    try:
        with os.fdopen(read_end, encoding="utf-8") as output:
            for line in output:  # like `socmon up | head`: read a few lines, then go away
                lines.append(line)
                if "started web dashboard" in line:
                    break
        code = proc.wait(90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = "".join(lines)
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)", text)]
    assert len(pids) == 5, text
    assert code == 1
    assert [pid for pid in pids if alive(pid)] == []  # stopped (and reaped) before it exited
    stderr = (tmp_path / "stderr.txt").read_text(encoding="utf-8", errors="replace")
    assert "the output was closed; stopping every part" in stderr
    assert "Traceback" not in stderr
