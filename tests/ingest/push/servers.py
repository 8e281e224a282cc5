"""Local servers that replay recorded push frames: Jetstream's WebSocket, Mastodon's SSE stream."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from websockets.sync.server import ServerConnection, serve

FIXTURES = Path(__file__).parents[1] / "fixtures"


def jetstream_frames() -> list[str]:
    """The recorded frames, one per line, exactly as Jetstream sent them."""
    return (FIXTURES / "jetstream" / "frames.jsonl").read_text(encoding="utf-8").splitlines()


class JetstreamReplay:
    """Replays frames like Jetstream: from the ``cursor`` asked for (frames at or after it), then
    holds the connection open. Connection number n (from 0) is dropped after `drop_after[n]`
    frames, without a close handshake, as a restarting server or a lost link would."""

    def __init__(self, frames: Sequence[str], drop_after: dict[int, int] | None = None) -> None:
        self.frames = list(frames)
        self.drop_after = drop_after or {}
        self.paths: list[str] = []  # the request path (and query) of every connection
        # A frame that cannot be read has the time of the frame before it.
        self.times: list[int] = []
        for text in self.frames:
            try:
                self.times.append(json.loads(text)["time_us"])
            except ValueError:
                self.times.append(self.times[-1] if self.times else 0)

    def cursors(self) -> list[int | None]:
        """The ``cursor`` each connection asked for (None: live)."""
        found = [parse_qs(urlparse(p).query).get("cursor") for p in self.paths]
        return [int(c[0]) if c else None for c in found]

    def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        number = len(self.paths)
        self.paths.append(ws.request.path)
        cursor = self.cursors()[number]
        frames = [
            f for f, t in zip(self.frames, self.times, strict=True) if cursor is None or t >= cursor
        ]
        drop = self.drop_after.get(number)
        for sent, frame in enumerate(frames):
            if sent == drop:
                ws.socket.shutdown(socket.SHUT_RDWR)
                return
            ws.send(frame)
        for _ in ws:  # hold the connection until the client goes
            pass


@contextmanager
def jetstream_server(replay: JetstreamReplay) -> Iterator[str]:
    """A local Jetstream on a free port; yields its ``ws://…/subscribe`` URL."""
    with serve(replay.handler, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.socket.getsockname()[1]
        try:
            yield f"ws://127.0.0.1:{port}/subscribe"
        finally:
            server.shutdown()
            thread.join(5)


class SseReplay:
    """Mastodon's streaming server for ``/api/v1/streaming/user/notification``: connection n
    writes the recorded bytes `recordings[n]`; the last recording's connection then stays open
    and quiet, the others end (the server went away)."""

    def __init__(self, recordings: Sequence[bytes]) -> None:
        self.recordings = list(recordings)
        self.requests: list[tuple[str, str | None]] = []  # path, Authorization header
        self.closing = threading.Event()

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                number = len(replay.requests)
                replay.requests.append((self.path, self.headers.get("Authorization")))
                if self.path != "/api/v1/streaming/user/notification":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "private, no-store")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(replay.recordings[number])
                self.wfile.flush()
                if number + 1 < len(replay.recordings):
                    self.close_connection = True
                    return
                # The live connection: quiet (a heartbeat comes every few seconds on a real
                # server) until the test ends, so a client that stops cannot count on data
                # arriving to wake its reader.
                replay.closing.wait()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        return Handler


@contextmanager
def sse_server(replay: SseReplay) -> Iterator[str]:
    """The SSE server on a free port; yields its ``http://127.0.0.1:port`` base."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), replay.handler_class())
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        replay.closing.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
