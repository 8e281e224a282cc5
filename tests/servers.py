"""Real servers for tests, each started on a free loopback port and stopped afterwards.

So far: ``osmem-server`` (an in-memory server speaking the OpenSearch 3 REST API) standing in for
Elasticsearch, with a client that talks to it. Import the fixtures from ``tests/conftest.py``::

    from tests.servers import elasticsearch_client, elasticsearch_url  # noqa: F401
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn, Self

import pytest
from elastic_transport import HttpHeaders, Urllib3HttpNode
from elastic_transport._node import NodeApiResponse  # not re-exported at the top level
from elastic_transport.client_utils import DEFAULT, DefaultType
from elasticsearch import Elasticsearch

STARTUP_TIMEOUT = 30.0
STOP_GRACE = 5.0


def missing(component: str, detail: str) -> NoReturn:
    """Fail under CI (which installs every test dependency), skip on a developer machine."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{component} is missing ({detail}), and CI must run every test")
    pytest.skip(f"{component} is not installed: {detail}")


def free_port() -> int:
    """A port free right now on 127.0.0.1 (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A server process started for tests, with its URL and the log of its output."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Terminate, then kill after the grace period; safe to call twice."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_GRACE)


def answers_http(url: str) -> bool:
    """True once the server answers HTTP at all (any status counts: it is up)."""
    try:
        with urllib.request.urlopen(url, timeout=1.0):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def start_http_server(
    name: str, argv: Sequence[str], url: str, log: Path, timeout: float = STARTUP_TIMEOUT
) -> ServerProcess:
    """Start ``argv`` and wait until ``url`` answers HTTP; fail the test with its log if not."""
    with log.open("wb") as out:
        process = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT)
    server = ServerProcess(name, url, process, log)
    deadline = time.monotonic() + timeout
    while not answers_http(url):
        if process.poll() is not None:
            pytest.fail(
                f"{name} exited with code {process.returncode} during start-up:\n"
                f"{server.log_tail()}"
            )
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"{name} did not answer at {url} within {timeout} s:\n{server.log_tail()}")
        time.sleep(0.05)
    return server


# -- osmem-server, the Elasticsearch-API server for tests -------------------------------------


def osmem_binary() -> Path:
    """The ``osmem-server`` binary shipped inside the ``osmem_server`` wheel (or missing())."""
    try:
        import osmem_server
    except ImportError:
        missing("osmem-server", "the osmem-server package is not installed (pip install -e .[dev])")
    path = Path(osmem_server.__file__).parent / "bin" / "osmem-server"
    if not path.exists():
        missing("osmem-server", f"no binary at {path} for this platform")
    return path


class CompatibleJsonNode(Urllib3HttpNode):
    """Sends plain ``application/json`` where the elasticsearch 9 client asks for its own type.

    The client sends ``application/vnd.elasticsearch+json; compatible-with=9`` in Accept and
    Content-Type; osmem-server (an OpenSearch API) only takes ``application/json``.
    """

    def perform_request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> NodeApiResponse:
        if headers is not None:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                value = headers.get(name)
                if value is not None and "vnd.elasticsearch+" in value:
                    # x-ndjson (bulk) keeps its own structure: only the vendor part changes
                    headers[name] = value.split(";")[0].replace("vnd.elasticsearch+", "")
        return super().perform_request(
            method, target, body=body, headers=headers, request_timeout=request_timeout
        )


def elasticsearch_client_for(url: str, **options: Any) -> Elasticsearch:
    """A client for osmem-server; ``options`` go to `Elasticsearch` (e.g. ``max_retries``)."""
    return Elasticsearch(url, node_class=CompatibleJsonNode, **options)


@pytest.fixture(scope="session")
def elasticsearch_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of an osmem-server running for the whole session (in memory, empty at start)."""
    binary = osmem_binary()
    port = free_port()
    log = tmp_path_factory.mktemp("osmem") / "osmem-server.log"
    server = start_http_server(
        "osmem-server",
        # -parent-pid: the server exits by itself if pytest is killed before it can stop it
        [
            str(binary),
            "-addr",
            f"127.0.0.1:{port}",
            "-no-stdin-watch",
            "-parent-pid",
            str(os.getpid()),
        ],
        url=f"http://127.0.0.1:{port}",
        log=log,
    )
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def elasticsearch_client(elasticsearch_url: str) -> Iterator[Elasticsearch]:
    """An `elasticsearch.Elasticsearch` client for the session's osmem-server.

    Shared by every test: give each test its own index names (a unique prefix) and delete them.
    """
    client = elasticsearch_client_for(elasticsearch_url)
    try:
        yield client
    finally:
        client.close()


# -- a local HTTP server of the test's own ----------------------------------------------------


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps the test output quiet (no line per request)."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class LocalHttpServer:
    """A real HTTP server on a free loopback port, serving `handler` in a thread while in a
    ``with`` block; subclasses make the handler and keep what it saw."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
