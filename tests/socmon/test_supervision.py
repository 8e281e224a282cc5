"""How `socmon up` keeps its children: restarts as a rate, a closed output, what failed in a run,
and children that die with their parent. (`tests/faults` runs the whole pipeline.)"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from socmon.broker import describe_exit, die_with_parent
from socmon.settings import load_settings
from socmon_app.supervisor import (
    MAX_RESTARTS,
    RESTART_WINDOW_SECONDS,
    Child,
    DeathGuard,
    RestartLimit,
    RunFailures,
    Supervisor,
    read_run_failures,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_restarts_are_limited_per_window_not_for_life() -> None:
    clock = Clock()
    limit = RestartLimit(clock=clock)
    for _ in range(MAX_RESTARTS):
        assert limit.allow()
        clock.now += 60
    assert not limit.allow()  # five within ten minutes: no sixth
    clock.now += RESTART_WINDOW_SECONDS - 5 * 60  # the first one is ten minutes old now
    assert limit.allow()
    assert not limit.allow()
    assert limit.describe() == "5 of at most 5 in 10 minutes"


def test_exits_are_described_for_a_person() -> None:
    assert describe_exit(-9) == "died (signal 9)"
    assert describe_exit(3) == "exited with code 3"


def supervisor(tmp_path: Path) -> tuple[Supervisor, io.StringIO]:
    out = io.StringIO()
    return Supervisor(load_settings(data_dir=tmp_path), None, [], out=out), out


def exited(child: Child) -> None:
    assert child.proc is not None
    child.proc.wait(30)


def test_a_crash_looping_child_is_given_up_and_one_that_crashes_now_and_then_is_not(
    tmp_path: Path,
) -> None:
    sup, out = supervisor(tmp_path)
    clock = Clock()
    child = Child("crasher", [sys.executable, "-c", "raise SystemExit(3)"], None)
    child.restarts = RestartLimit(clock=clock)
    child.start({})
    for n in range(1, MAX_RESTARTS + 1):
        exited(child)
        assert sup._check_child(child, dict(os.environ))
        assert f"crasher exited with code 3; restarting ({n} of at most 5 in 10 minutes)" in (
            out.getvalue()
        )
    exited(child)
    clock.now += RESTART_WINDOW_SECONDS - 1
    assert not sup._check_child(child, {})  # essential: the run stops
    assert "crasher exited with code 3, after 5 restarts within 10 minutes; giving up" in (
        out.getvalue()
    )
    clock.now += 1  # the first restart is ten minutes old now: it may restart again
    assert sup._check_child(child, dict(os.environ))
    exited(child)


def test_a_closed_output_stops_the_run_instead_of_raising(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    sup, _ = supervisor(tmp_path)
    with os.fdopen(write_end, "w") as closed:
        sup.out = closed
        sup.say("one line too many")  # BrokenPipeError inside, never outside
        sup.say("and another")
        assert sup.output_lost
        assert sup.stop_event.is_set()


COUNTERS = textwrap.dedent(
    """
    import sys
    from socmon.metrics import AlertingMetrics, Metrics, process_registry
    metrics = Metrics.create(process_registry())
    alerting = AlertingMetrics.create(process_registry())
    for stage, reason, n in (("ingest", "invalid_json", 5), ("enrich", "invalid_post", 1)):
        metrics.deadletters.labels(stage, reason).inc(n)
    if sys.argv[1] == "alerting":
        metrics.deadletters.labels("alerting", "delivery_failed").inc(4)
        metrics.deliveries.labels("email", "failed").inc(7)
        metrics.deliveries.labels("file", "sent").inc(9)
        alerting.in_doubt.labels("email").inc(2)
    """
)


def count_in_children(metrics_dir: Path, *roles: str) -> None:
    """Counters written the way the children of `socmon up` write them (one process each)."""
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    for role in roles:
        subprocess.run([sys.executable, "-c", COUNTERS, role], env=env, check=True, timeout=60)


def test_the_failures_of_a_run_are_added_up_from_every_child(tmp_path: Path) -> None:
    count_in_children(tmp_path, "worker", "alerting")
    failures = read_run_failures(tmp_path)
    assert failures == RunFailures(
        deadletters={"ingest": 10, "enrich": 2, "alerting": 4}, deliveries_failed=7, in_doubt=2
    )
    assert failures
    assert failures.describe() == (
        "7 deliveries failed, 2 deliveries were left in doubt by a crash and "
        "6 items were dead-lettered (alerting 4, enrich 2)"
    )


def test_rejected_input_lines_alone_do_not_fail_a_run(tmp_path: Path) -> None:
    assert not RunFailures(deadletters={"ingest": 5})
    assert not read_run_failures(tmp_path)  # nothing counted at all


PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    from socmon.broker import die_with_parent
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], preexec_fn=die_with_parent()
    )
    print(child.pid, flush=True)
    time.sleep(120)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_a_child_gets_sigterm_when_its_parent_is_killed() -> None:
    assert die_with_parent() is not None
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not gone(child):
            time.sleep(0.05)
        assert gone(child)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)"
)
POLITE = "import time; print('ready', flush=True); time.sleep(60)"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the guard reads /proc")
def test_the_guard_stops_what_the_supervisor_left_and_kills_what_will_not_stop() -> None:
    guard = DeathGuard(grace=1.0)
    guard.start()
    children = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for code in (STUBBORN, POLITE)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline() == "ready\n"
            guard.watch(child.pid)
        assert guard.proc is not None
        assert guard.proc.stdin is not None
        guard.proc.stdin.close()  # what the supervisor's death does to the pipe
        stubborn, polite = (child.wait(10) for child in children)
        assert (stubborn, polite) == (-signal.SIGKILL, -signal.SIGTERM)
        assert guard.proc.wait(10) == 0
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        if guard.proc is not None and guard.proc.poll() is None:
            guard.proc.kill()
            guard.proc.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the guard reads /proc")
def test_after_an_orderly_stop_the_guard_exits_at_once() -> None:
    guard = DeathGuard(grace=30.0)
    guard.start()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    guard.watch(child.pid)
    child.wait(10)
    started = time.monotonic()
    guard.close()
    assert time.monotonic() - started < 5


def test_a_child_given_up_is_explained_by_the_last_line_of_its_log(tmp_path) -> None:
    from socmon_app.supervisor import last_socmon_line

    log = tmp_path / "worker.log"
    assert last_socmon_line(None) == ""
    assert last_socmon_line(log) == ""  # no log yet
    log.write_text(
        "[2026-12-01 12:34:00] [ERROR] some library noise\n"
        "\x1b[?25lsocmon: cannot start the stream worker: SQLite index at /d/socmon.db: "
        "write failed: database or disk is full\n"
        "[?25h\n",
        encoding="utf-8",
    )
    assert last_socmon_line(log) == (
        "socmon: cannot start the stream worker: SQLite index at /d/socmon.db: "
        "write failed: database or disk is full"
    )
