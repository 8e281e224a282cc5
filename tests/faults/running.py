"""`socmon up` as a real process for the fault tests: its output as it comes, its children's pids,
and whether a process is still alive."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e_helpers import pipeline_env


class Up:
    """A running `socmon up`, its output collected line by line in a thread."""

    def __init__(self, *args: str, stdout: int = subprocess.PIPE) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "socmon_app.cli", "up", "--metrics-port", "0", *args],
            stdout=stdout,
            stderr=subprocess.STDOUT,
            text=True,
            env=pipeline_env(),
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def finish_reading(self, timeout: float = 5.0) -> None:
        """Wait for the rest of the output (after the process ended)."""
        self._reader.join(timeout)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 120.0) -> re.Match[str]:
        """The first line matching `pattern`, waiting for it (fails with the output so far)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match:
                    return match
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} in:\n{self.text[-4000:]}")

    def pids(self) -> dict[str, int]:
        """What the supervisor started, by what it said: the broker and each child (the latest
        pid of each)."""
        found: dict[str, int] = {}
        for line in list(self.lines):
            broker = re.search(r"(?:Tansu\) on|broker is back on) \S+ \(pid (\d+)\)", line)
            if broker:
                found["broker"] = int(broker.group(1))
            child = re.search(r"socmon: started (.+?)(?: again)? \(pid (\d+)", line)
            if child:
                found[child.group(1)] = int(child.group(2))
        return found

    def finish(self, timeout: float) -> int:
        try:
            code = self.proc.wait(timeout)
        finally:
            self.kill()
        self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped by its new parent is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.05) -> float:
    """Seconds until `condition` held; raises AssertionError after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(step)
    return time.monotonic() - started
