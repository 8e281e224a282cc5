"""Bluesky through Jetstream: the official accounts' posts, the replies to them and the posts that
mention or quote them, seconds after they are written.

Jetstream (https://github.com/bluesky-social/jetstream) turns the network's firehose into JSON
frames on a WebSocket (the ``websockets`` library's synchronous client here). No credentials are
needed. It filters by collection (``wantedCollections``) and by author (``wantedDids``) only: a
reply or a mention is written by someone else, so no server-side filter selects it.

The choice (``connectors.bluesky.jetstream_all_posts``):

- ``true`` (the default): subscribe to every new post of the network
  (``wantedCollections=app.bsky.feed.post``) and keep, client-side, the posts by an official
  account (``official_post``), the replies to one (parent or thread root; ``reply``) and the posts
  that mention one in a facet or quote one of its posts (``mention``). The cost is bandwidth and a
  little CPU: every post of the network crosses the wire, about 850 MB a day at 2024's volume with
  Jetstream's zstd compression (its author's measurement; it needs Jetstream's custom dictionary,
  so is not asked for here) and about 2.3 times that uncompressed (482 against 211 bytes a frame:
  ~2 GB a day, ~23 KB/s), several times more during a surge.
- ``false``: ``wantedDids`` of the official accounts only, a few kilobytes a day; their own posts
  arrive by push, replies and mentions only through the polled notifications and searches.

Resuming: the checkpoint is the ``time_us`` of the last frame whose batch the broker acknowledged.
A reconnect asks for ``cursor=<it> - 5 s``, as Jetstream's docs advise for gapless playback: the
few repeated posts are harmless, their Kafka keys are the same, and the replayed frames never move
the checkpoint back. With no checkpoint the stream starts live and the polled sources cover what
came before. ``Post.engagement`` stays None: a frame carries no counts.

The official accounts are the register's active Bluesky accounts whose ``platform_id`` is their
DID (Jetstream names authors by DID only); an account without one is reported and not watched.
Other authors are named by DID (a frame has no handle), which the post's bsky.app link accepts.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode, urlparse

from atproto_client import models
from pydantic import ValidationError
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import connect

from ingest.connectors.bluesky import POST_COLLECTION, BlueskySession, Normaliser
from ingest.connectors.common import Rejected
from ingest.push.source import Disconnected, PushSource, Received, StopSource
from socmon.deadletters import dead_letter
from socmon.records import Post, PostKind, describe_validation_error

log = logging.getLogger(__name__)

REWIND_US = 5_000_000
"""How far a reconnect rewinds its cursor (microseconds), as Jetstream's docs advise."""
MENTION_FEATURE = "app.bsky.richtext.facet#mention"
QUOTE_EMBEDS = ("app.bsky.embed.record", "app.bsky.embed.recordWithMedia")
UNKNOWN_HANDLE = "handle.invalid"  # what the normaliser shows as the author's DID


def subscribe_url(base: str, cursor: str | None, wanted_dids: frozenset[str] | None = None) -> str:
    """The subscription: new posts (of `wanted_dids` only, when given), from `cursor` rewound."""
    params: list[tuple[str, str]] = [("wantedCollections", POST_COLLECTION)]
    params += [("wantedDids", did) for did in sorted(wanted_dids or ())]
    if cursor is not None:
        params.append(("cursor", str(max(0, int(cursor) - REWIND_US))))
    return f"{base}{'&' if '?' in base else '?'}{urlencode(params)}"


def _did_of(uri: Any) -> str | None:
    if not isinstance(uri, str) or not uri.startswith("at://"):
        return None
    return uri.removeprefix("at://").split("/")[0]


def _dig(raw: Any, *path: str) -> Any:
    for key in path:
        raw = raw.get(key) if isinstance(raw, dict) else None
    return raw


@dataclass(frozen=True)
class Watched:
    """The official accounts by DID (value: the register's handle) and what concerns them."""

    accounts: Mapping[str, str]

    def concern(self, author: str, record: Any) -> tuple[PostKind, str] | None:
        """Why a post record concerns an official account (kind, account), or None.

        Read from the raw JSON before any validation, so the network's other posts cost a few
        dict look-ups and a malformed one that concerns nobody is not dead-lettered.
        """
        if account := self.account_of(author):
            return "official_post", account
        for end in ("parent", "root"):
            if account := self.account_of(_did_of(_dig(record, "reply", end, "uri"))):
                return "reply", account
        facets = _dig(record, "facets")
        for facet in facets if isinstance(facets, list) else ():
            features = _dig(facet, "features")
            for feature in features if isinstance(features, list) else ():
                if _dig(feature, "$type") != MENTION_FEATURE:
                    continue
                if account := self.account_of(_dig(feature, "did")):
                    return "mention", account
        embed = _dig(record, "embed")
        if _dig(embed, "$type") in QUOTE_EMBEDS:
            quoted = _dig(embed, "record", "uri") or _dig(embed, "record", "record", "uri")
            if account := self.account_of(_did_of(quoted)):
                return "mention", account
        return None

    def account_of(self, did: Any) -> str | None:
        """The official account whose DID `did` is (None: not one)."""
        return self.accounts.get(did) if isinstance(did, str) else None


class JetstreamSource(PushSource):
    """``bluesky:jetstream``: the frames of one Jetstream subscription, as `Received`."""

    def __init__(
        self,
        url: str,
        accounts: Mapping[str, str],
        all_posts: bool = True,
        name: str = "bluesky:jetstream",
        open_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.name = name
        self.watched = Watched(dict(accounts))
        self.all_posts = all_posts
        self.open_timeout = open_timeout
        self.host = urlparse(url).netloc or url
        # `from_record` is the only part used and it never touches the session.
        self.normaliser = Normaliser(
            name,
            cast(BlueskySession, None),
            frozenset(h.lower() for h in accounts.values()),
            frozenset(accounts),
        )

    def receive(
        self, checkpoint: str | None, stop: threading.Event
    ) -> Generator[Received | None, None, None]:
        if checkpoint is not None and not checkpoint.isdigit():
            msg = (
                f"unreadable checkpoint {checkpoint!r} (a time_us is expected); remove "
                f"{self.name!r} from checkpoints.json in the data folder to start live"
            )
            raise StopSource(msg)
        wanted = None if self.all_posts else frozenset(self.watched.accounts)
        url = subscribe_url(self.url, checkpoint, wanted)
        try:
            websocket = connect(url, open_timeout=self.open_timeout, close_timeout=2.0)
        except InvalidURI as exc:
            msg = f"connectors.bluesky.jetstream_url {self.url!r} is not a WebSocket URL: {exc}"
            raise StopSource(msg) from exc
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            msg = f"cannot connect to Jetstream at {self.host}: {type(exc).__name__}: {exc}"
            raise Disconnected(msg) from None
        log.info("source=%s connected to %s cursor=%s", self.name, self.host, checkpoint)
        resumed_at = int(checkpoint) if checkpoint is not None else -1
        with websocket:
            while not stop.is_set():
                try:
                    message = websocket.recv(timeout=self.tick)
                except TimeoutError:
                    yield None
                    continue
                except ConnectionClosed as exc:
                    msg = f"Jetstream at {self.host} closed the connection ({exc})"
                    raise Disconnected(msg) from None
                received = self.received(message)
                if received.checkpoint is not None and int(received.checkpoint) <= resumed_at:
                    # Replayed by the rewind: already behind the checkpoint, so it neither moves
                    # it back nor counts as the connection working.
                    received = Received(received.item, None, live=False)
                yield received

    def received(self, message: str | bytes) -> Received:
        """One frame as Jetstream sends it: a post that concerns an official account, a dead
        letter when it cannot be read, or nothing, with the frame's cursor."""
        try:
            frame = json.loads(message)
        except ValueError as exc:  # also bad UTF-8 in a binary frame
            return Received(dead_letter("ingest", self.name, message, f"not valid JSON: {exc}"))
        time_us = frame.get("time_us") if isinstance(frame, dict) else None
        if not isinstance(time_us, int) or isinstance(time_us, bool):
            reason = "unexpected frame: no integer time_us"
            return Received(dead_letter("ingest", self.name, frame, reason))
        cursor = str(time_us)
        commit = frame.get("commit")
        if frame.get("kind") != "commit" or not isinstance(commit, dict):
            return Received(None, cursor)  # identity and account events concern no post
        if commit.get("collection") != POST_COLLECTION or commit.get("operation") != "create":
            return Received(None, cursor)  # edits and deletions are for the index, not new posts
        author, record = frame.get("did"), commit.get("record")
        concern = self.watched.concern(author, record) if isinstance(author, str) else None
        if concern is None:
            return Received(None, cursor)
        uri = f"at://{author}/{POST_COLLECTION}/{commit.get('rkey')}"
        try:
            post = self._post(uri, author, commit, record, *concern)
        except Rejected as exc:
            return Received(dead_letter("ingest", f"{self.name}:{uri}", frame, str(exc)), cursor)
        return Received(post, cursor)

    def _post(
        self,
        uri: str,
        author: str,
        commit: dict[str, Any],
        record: Any,
        kind: PostKind,
        account: str,
    ) -> Post:
        rkey = commit.get("rkey")
        if not isinstance(rkey, str) or not rkey:
            msg = f"{uri}: commit has no rkey"
            raise Rejected(msg)
        if not isinstance(record, dict):
            msg = f"{uri}: commit has no record"
            raise Rejected(msg)
        try:
            parsed = models.AppBskyFeedPost.Record.model_validate(record)
        except ValidationError as exc:
            msg = f"{uri}: post record invalid: {describe_validation_error(exc)}"
            raise Rejected(msg) from exc
        handle = self.watched.accounts.get(author, UNKNOWN_HANDLE)
        profile = models.AppBskyActorDefs.ProfileViewBasic(did=author, handle=handle)
        return self.normaliser.from_record(uri, rkey, profile, parsed, parsed.embed, kind, account)
