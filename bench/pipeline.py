"""The parts of the pipeline `make bench` starts and watches: stream workers and alert delivery as
the `socmon` processes a deployment runs, on one embedded broker, each with its own metrics port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from socmon.broker import free_port

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def stage_env(bootstrap: str, prefix: str, data_dir: Path) -> dict[str, str]:
    """The environment of a `socmon` process of the bench: its broker, topics and data folder.
    The weekly sweep is moved three days away, so it never fires during a bench."""
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    today = datetime.now(ZoneInfo("Europe/London")).weekday()
    env |= {
        "SOCMON_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "SOCMON_KAFKA__TOPIC_PREFIX": prefix,
        "SOCMON_DATA_DIR": str(data_dir),
        "SOCMON_GOVERNANCE__SWEEP_WEEKDAY": WEEKDAYS[(today + 3) % 7],
    }
    return env


def peak_rss_mib(pid: int) -> float:
    """The peak resident memory of a running process (Linux: VmHWM in /proc), in MiB."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return float("nan")
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Stages:
    """`socmon worker` processes (one consumer group) and optionally `socmon alerting`."""

    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        self.env = env
        self.data_dir = data_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}

    def start(self, name: str, args: Sequence[str]) -> None:
        self.ports[name] = free_port()
        env = self.env | {"SOCMON_METRICS__PORT": str(self.ports[name])}
        log = (self.data_dir / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "socmon_app.cli", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )

    def workers(self, count: int) -> None:
        for n in range(1, count + 1):
            self.start(f"worker-{n}", ["worker", "--instance", str(n)])

    def alerting(self) -> None:
        self.start("alerting", ["alerting"])

    def check(self) -> None:
        """Raise if a process died: the numbers of a broken run mean nothing."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                msg = f"{name} exited with {proc.returncode}; see {self.data_dir / name}.log"
                raise RuntimeError(msg)

    @contextmanager
    def paused(self, prefix: str = "worker") -> Iterator[None]:
        """The stages whose name starts with `prefix` stopped (SIGSTOP) meanwhile, then resumed:
        a backlog sent while they are stopped is on the broker, whole, when they resume, and the
        bench's own sending did not take their CPU. Keep it short: a worker stopped past the
        group's session timeout (10 s by default) is dropped from the group."""
        names = [name for name in self.procs if name.startswith(prefix)]
        for name in names:
            os.kill(self.procs[name].pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for name in names:
                os.kill(self.procs[name].pid, signal.SIGCONT)

    def peak_memory(self) -> dict[str, float]:
        return {name: round(peak_rss_mib(p.pid), 1) for name, p in self.procs.items()}

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def running(env: dict[str, str], data_dir: Path) -> Iterator[Stages]:
    stages = Stages(env, data_dir)
    try:
        yield stages
    finally:
        stages.stop()


def enriched_by(port: int) -> float:
    """Posts one worker has enriched so far: ``socmon_items_out_total{stage="enrich"}`` on its
    own /metrics (0 before it serves them)."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return 0.0
    total = 0.0
    for line in text.splitlines():
        if line.startswith("socmon_items_out_total{") and 'stage="enrich"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def warm_up(send_batch: Callable[[int], int], stages: Stages, timeout: float = 240.0) -> int:
    """Until every worker has enriched some warm-up posts: `send_batch(n)` sends batch number n
    (spread over every partition) and returns its size; a batch goes every 2 s, since a worker
    that joins late finds nothing left of the first. Then each worker holds partitions and the
    rebalance is over, so a rate is not measured across workers starting or joining. (Tansu
    answers no DescribeGroups that kafka-python can read, so the workers' own metrics say it.)
    Returns how many warm-up posts were sent."""
    ports = [port for name, port in stages.ports.items() if name.startswith("worker")]
    deadline = time.monotonic() + timeout
    sent = batch = 0
    while time.monotonic() < deadline:
        stages.check()
        if all(enriched_by(port) > 0 for port in ports):
            return sent
        sent += send_batch(batch)
        batch += 1
        time.sleep(2.0)
    counts = {name: enriched_by(port) for name, port in stages.ports.items()}
    msg = f"not every worker took part within {timeout:.0f} s of the warm-up: enriched {counts}"
    raise RuntimeError(msg)


def wait_until(
    done: Callable[[], bool], stages: Stages, timeout: float, what: str, every: float = 0.05
) -> float:
    """Poll `done` until true; return when (perf_counter). Raises on time-out or a dead stage."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return time.perf_counter()
        stages.check()
        time.sleep(every)
    msg = f"timed out after {timeout:.0f} s waiting for {what}"
    raise RuntimeError(msg)


def percentile(values: Sequence[float], q: float) -> float:
    """The `q` quantile (0..1) by the nearest-rank method."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.5)))
    return ordered[rank - 1]
