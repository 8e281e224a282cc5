"""Mastodon's ``user:notification`` stream: mentions of the official account the access token
belongs to, as they happen, through Mastodon.py's streaming (``stream_user_notifications`` with a
`StreamListener`, server-sent events over ``/api/v1/streaming/user/notification``).

Each connection first opens the stream, then fills the gap since the checkpoint with the polled
mentions connector (``GET /api/v1/notifications?types[]=mention&min_id=<checkpoint>``, built from
`ingest.connectors.mastodon`), then delivers what the stream sends: a disconnect loses nothing.
The checkpoint is the newest notification id delivered, the same ``min_id`` the poll uses.

Mastodon.py's blocking reader runs in a helper thread that feeds a queue; stopping shuts its
socket down, so the runner stops within a tick however quiet the stream is. A malformed event is
a dead letter (Mastodon.py would end the stream on it).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import threading
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from mastodon import MastodonError, StreamListener
from mastodon.errors import MastodonMalformedEventError

from ingest.connector import AccessDenied, ConnectorError
from ingest.connectors.common import Rejected
from ingest.connectors.mastodon import MastodonApi, MentionsSource, MinId
from ingest.push.source import Disconnected, PushSource, Received, StopSource
from socmon.config.governance import OfficialAccount
from socmon.deadletters import dead_letter
from socmon.records import Post

log = logging.getLogger(__name__)

STREAM = "GET /api/v1/streaming/user/notification"


@dataclass(frozen=True)
class _Opened:
    """The stream answered 200: events from here on are not missed."""


@dataclass(frozen=True)
class _Ended:
    """The reader thread is done: the connection failed or ended."""

    reason: str


@dataclass(frozen=True)
class _Malformed:
    """An event Mastodon.py could not read."""

    event: dict[str, Any]
    reason: str


class _Listener(StreamListener):
    """Puts every notification (and every unreadable event) on `frames`; `close` ends the read."""

    def __init__(self, frames: queue.Queue[Any]) -> None:
        super().__init__()
        self.frames = frames
        self._response: Any = None
        self._closed = threading.Event()

    def handle_stream(self, response: Any) -> None:
        self._response = response
        if self._closed.is_set():  # closed while connecting: Mastodon.py closes the response
            return
        self.frames.put(_Opened())
        super().handle_stream(response)

    def on_notification(self, notification: Any) -> None:
        self.frames.put(notification)

    def on_abort(self, err: Exception) -> None:
        """The reader thread reports how the stream ended; nothing to do here."""

    def on_unknown_event(self, name: str, unknown_event: Any = None) -> None:
        log.debug("mastodon stream event %s ignored", name)

    def _dispatch(self, event: dict[str, Any]) -> None:
        try:
            super()._dispatch(event)
        except MastodonMalformedEventError as exc:
            # The first argument says what is wrong; a second names the missing field, or is the
            # whole unreadable payload (kept in the dead letter, not in its reason).
            what = str(exc.args[0]) if exc.args else "unreadable"
            if what == "Missing field" and len(exc.args) > 1:
                what = f"{what} {exc.args[1]}"
            self.frames.put(_Malformed(event, what))

    def close(self) -> None:
        """End a blocked read by shutting its socket down.

        Closing the response from this thread would wait for the reader's buffer lock, and
        closing the socket alone does not wake a blocked read; after the shutdown the reader sees
        the end of the stream and Mastodon.py closes the response in its own thread.
        """
        self._closed.set()
        sock = _socket_of(self._response)
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed by the server
                sock.shutdown(socket.SHUT_RDWR)
        elif self._response is not None:
            log.warning("mastodon stream socket not found; its reader ends at the read time-out")


def _socket_of(response: Any) -> socket.socket | None:
    """The socket under a streaming `requests` response (http.client's reader holds it)."""
    reader = getattr(getattr(getattr(response, "raw", None), "_fp", None), "fp", None)
    sock = getattr(getattr(reader, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


class MastodonStreamSource(PushSource):
    """``mastodon:stream``: the token account's notification stream, gaps filled by polls."""

    def __init__(
        self,
        api: MastodonApi,
        accounts: Sequence[OfficialAccount],
        name: str = "mastodon:stream",
        read_timeout: float = 60.0,
        page_size: int = 40,
        max_pages: int = 10,
    ) -> None:
        self.api = api
        self.accounts = list(accounts)
        self.name = name
        # Mastodon sends a heartbeat comment every few seconds; silence this long is a dead link.
        self.read_timeout = read_timeout
        self.page_size = page_size
        self.max_pages = max_pages
        self._mentions: MentionsSource | None = None

    def mentions(self) -> MentionsSource:
        """The polled mentions connector of the token's account (which must be in the register)."""
        if self._mentions is None:
            try:
                me = self.api.me()
            except AccessDenied as exc:
                raise StopSource(str(exc)) from None
            except ConnectorError as exc:
                msg = f"Mastodon {self.api.host}: cannot tell whose token this is: {exc}"
                raise Disconnected(msg) from None
            official = frozenset(self.api.normalise(a.handle) for a in self.accounts)
            acct = self.api.normalise(me["acct"])
            if acct not in official:
                msg = (
                    f"the Mastodon access token belongs to @{me['acct']}, which is not an active "
                    "mastodon account in the register; add it there or use that account's token"
                )
                raise StopSource(msg)
            self.api.account_id(acct, str(me["id"]))  # its replies are told from mentions
            self._mentions = MentionsSource(
                self.name,
                self.api,
                me["acct"],
                official,
                page_size=self.page_size,
                max_pages=self.max_pages,
            )
        return self._mentions

    def receive(
        self, checkpoint: str | None, stop: threading.Event
    ) -> Generator[Received | None, None, None]:
        mentions = self.mentions()
        frames: queue.Queue[Any] = queue.Queue()
        listener = _Listener(frames)
        reader = threading.Thread(
            target=self._read, args=(listener, frames), name=f"{self.name} reader", daemon=True
        )
        reader.start()
        try:
            # The stream is open before the gap is read, so nothing falls between the two.
            while not stop.is_set():
                frame = self._next(frames)
                if isinstance(frame, _Opened):
                    break
                yield None
            else:
                return
            log.info("source=%s stream open on %s; filling the gap", self.name, self.api.host)
            newest = checkpoint
            for received in self._gap(mentions, checkpoint):
                newest = received.checkpoint or newest
                yield received
            while not stop.is_set():
                frame = self._next(frames)
                if frame is None:
                    yield None
                    continue
                received = self._received(mentions, frame, newest)
                newest = received.checkpoint or newest
                yield received
        finally:
            listener.close()

    def _next(self, frames: queue.Queue[Any]) -> Any:
        try:
            frame = frames.get(timeout=self.tick)
        except queue.Empty:
            return None
        if isinstance(frame, _Ended):
            raise Disconnected(frame.reason)
        return frame

    def _read(self, listener: _Listener, frames: queue.Queue[Any]) -> None:
        """The helper thread: Mastodon.py's blocking read, its end reported on the queue."""
        try:
            self.api.client.stream_user_notifications(listener, timeout=self.read_timeout)
            reason = f"Mastodon {self.api.host} ended the stream"
        except MastodonError as exc:
            reason = f"{STREAM} on {self.api.host}: {type(exc).__name__}: {exc}"
        except Exception as exc:  # requests' own errors and anything else end this connection only
            reason = f"{STREAM} on {self.api.host}: {type(exc).__name__}: {exc}"
        frames.put(_Ended(reason))

    def _gap(self, mentions: MentionsSource, checkpoint: str | None) -> Iterator[Received]:
        """The mentions since `checkpoint` by one poll (page by page until there are no more);
        only the last item of each poll carries its checkpoint."""
        cursor = checkpoint
        while True:
            try:
                fetched = mentions.poll(cursor)
            except AccessDenied as exc:
                raise StopSource(str(exc)) from None
            except ConnectorError as exc:
                msg = f"gap-filling poll failed: {type(exc).__name__}: {exc}"
                raise Disconnected(msg) from None
            items: list[Post | Any] = [*fetched.posts, *fetched.rejects]
            for item in items[:-1]:
                yield Received(item, live=False)
            yield Received(items[-1] if items else None, fetched.checkpoint, live=False)
            cursor = fetched.checkpoint
            if fetched.exhausted:
                return

    def _received(self, mentions: MentionsSource, frame: Any, newest: str | None) -> Received:
        if isinstance(frame, _Malformed):
            reason = f"malformed stream event: {frame.reason}"
            return Received(dead_letter("ingest", self.name, frame.event, reason))
        item_id = frame.get("id") if isinstance(frame, dict) else None
        checkpoint = MinId(newest).after([frame]).dump() if item_id is not None else None
        if not isinstance(frame, dict) or frame.get("type") != "mention":
            return Received(None, checkpoint)  # follows, favourites, boosts: not posts to read
        unreadable: tuple[type[Exception], ...] = (Rejected, *mentions.malformed)
        try:
            post = mentions.to_post(frame)
        except unreadable as exc:
            reason = str(exc) if isinstance(exc, Rejected) else f"unexpected item: {exc!r}"
            letter = dead_letter("ingest", mentions.origin(frame, 0), frame, reason)
            return Received(letter, checkpoint)
        return Received(post, checkpoint)

    def close(self) -> None:
        self.api.close()
