"""Bluesky connectors (atproto): mentions of, searches about, and posts by the official accounts.

One `Connector` per source, all sharing one logged-in `BlueskySession` (Bluesky allows few
``createSession`` calls a day, so the login is made once, lazily, and reused):

- ``bluesky:mentions:<handle>``: for the account the connector logs in as, its notifications
  (``app.bsky.notification.listNotifications``: mentions and quotes become ``mention``, replies to
  its posts ``reply``); for any other official account, ``app.bsky.feed.searchPosts`` with
  ``mentions=<handle>`` (replies that do not @-mention it are only seen for the logged-in account).
- ``bluesky:search:<query>``: ``app.bsky.feed.searchPosts`` for each configured search query; a hit
  that replies to an official account's post is a ``reply``, any other hit a ``mention``.
- ``bluesky:posts:<handle>``: ``app.bsky.feed.getAuthorFeed``, the account's own posts and replies
  (``official_post``); its reposts of other people's posts are skipped, they are not its words.

Post id: the full ``at://did/app.bsky.feed.post/rkey`` URI. An rkey is only unique within one
repository, the URI everywhere, and it names the author by DID, which (unlike a handle) never
changes, so the Kafka key ``bluesky:<uri>`` is stable. ``in_reply_to`` is the parent's URI.

Checkpoint (`FeedCursor`): every endpoint answers newest first and pages backwards with a cursor, so
a poll walks from the newest page down to the newest ``indexedAt`` of the last completed walk (the
"floor"). The checkpoint is a small JSON object: ``floor``, and while a walk is unfinished also its
``cursor`` and the newest ``top`` time it has seen, so a restart mid-walk goes on where it stopped.
With no checkpoint a source takes its newest page only: a new deployment should not flood the team
with months of old mentions.

Engagement: a post view's ``likeCount``, ``repostCount``, ``replyCount`` and ``quoteCount``
(Bluesky counts no views); a notification carries only the record, so its post has none.
``bluesky:engagement`` (`BlueskyEngagement`) reads the official accounts' recent posts again, and
the high-engagement mentions by URI (``app.bsky.feed.getPosts``, 25 a request).
"""

from __future__ import annotations

import json
import logging
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from atproto_client import Client, models
from atproto_client.client.session import Session, SessionEvent
from atproto_client.exceptions import (
    BadRequestError,
    ModelError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    RequestException,
    UnauthorizedError,
)
from atproto_client.models.common import XrpcError
from atproto_client.models.utils import get_or_create
from atproto_client.request import Request, Response, _parse_response
from pydantic import SecretStr, ValidationError
from tenacity import (
    retry_if_exception,
)

from ingest.connector import (
    AccessDenied,
    CheckResult,
    Connector,
    ConnectorError,
    RateLimited,
    SourceUnavailable,
)
from ingest.connectors.common import (
    ApiCallRecorder,
    HotMention,
    HotMentions,
    RefreshSchedule,
    Rejected,
    RetryPolicy,
    active_accounts,
    api_retrying,
    clean_text,
    count_of,
    read_engagement,
    validated_post,
)
from ingest.connectors.paged import Cursor, EngagementRefresh, Page, PagedSource, collect
from socmon.config.governance import OfficialAccount
from socmon.records import (
    DeadLetter,
    Engagement,
    Media,
    Post,
    PostKind,
    describe_validation_error,
    utcnow,
)
from socmon.redact import Redactor
from socmon.settings import Settings

log = logging.getLogger(__name__)

SEARCH_POSTS = "app.bsky.feed.searchPosts"
AUTHOR_FEED = "app.bsky.feed.getAuthorFeed"
NOTIFICATIONS = "app.bsky.notification.listNotifications"
GET_POSTS = "app.bsky.feed.getPosts"
MAX_LOOKUP_URIS = 25  # app.bsky.feed.getPosts takes up to 25 URIs
# The counts of a post view; one that is not a count is dropped before atproto's strict model
# reads the view, so a bad count loses that count, not the post.
COUNT_FIELDS = ("likeCount", "repostCount", "replyCount", "quoteCount", "bookmarkCount")
CREATE_SESSION = "com.atproto.server.createSession"
POST_COLLECTION = "app.bsky.feed.post"

# Notification reasons that carry a post somebody wrote to or about the account.
NOTIFICATION_KINDS: dict[str, PostKind] = {
    "mention": "mention",
    "quote": "mention",
    "reply": "reply",
}
# 400 answers that mean the session itself is no longer valid (a new login fixes them).
SESSION_ERRORS = {"ExpiredToken", "InvalidToken"}
# The wait after a 429 that says neither how long to wait nor when the limit resets.
DEFAULT_RATE_LIMIT_WAIT = 60.0


class _LenientJsonRequest(Request):
    """atproto's HTTP layer, reading a JSON body with the standard library when pydantic-core
    refuses it.

    pydantic-core rejects a whole body for one lone surrogate escape (``"\\ud83d"``) in one post,
    which would lose the page; ``json.loads`` accepts it and that one post is dead-lettered.
    """

    def get(self, *args: Any, **kwargs: Any) -> Response:
        raw = self._send_request("GET", *args, **kwargs)
        try:
            return _parse_response(raw)
        except ValueError:
            content = json.loads(raw.text)
            headers = {key.lower(): value for key, value in raw.headers.items()}
            return Response(True, raw.status_code, content, headers)


class BlueskySession:
    """The one atproto client of the connectors: lazy login, retries, errors, rate-limit budget."""

    def __init__(
        self,
        service_url: str,
        handle: str,
        app_password: SecretStr,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.service_url = service_url
        self.on_api_call: ApiCallRecorder | None = None  # feeds socmon_connector_api_calls
        self.handle = handle.lstrip("@")
        self._app_password = app_password
        self.retry = retry or RetryPolicy()
        # A server may echo the login JSON in its error: errors never quote the app password.
        self._redactor = Redactor([app_password])
        self.client = Client(base_url=service_url, request=_LenientJsonRequest(timeout=timeout))
        self.client.on_session_change(self._on_session)
        self.did: str | None = None
        self._logged_in = False
        self._blocked_until = 0.0  # monotonic time before which the rate-limit budget is spent

    def login(self) -> None:
        """Create the session once; the client refreshes it before its access token expires."""
        if self._logged_in:
            return
        self._pre_flight(CREATE_SESSION)
        try:
            # The profile lookup is skipped: one call fewer, and `_on_session` notes the DID.
            self._with_retries(
                CREATE_SESSION,
                lambda: self.client.login(
                    self.handle, self._app_password.get_secret_value(), fetch_bsky_profile=False
                ),
            )
        except AccessDenied as exc:
            msg = (
                f"Bluesky refused the login of {self.handle} ({CREATE_SESSION}): "
                f"{self._redactor.redact(str(exc.__cause__))}. "
                "Check SOCMON_CONNECTORS__BLUESKY__HANDLE and create a new app password "
                "(Settings > Privacy and security > App passwords) for "
                "SOCMON_CONNECTORS__BLUESKY__APP_PASSWORD"
            )
            raise AccessDenied(msg) from exc.__cause__
        self._logged_in = True
        log.info("bluesky login ok handle=%s did=%s", self.handle, self.did)

    def _count_call(self, status: str) -> None:
        if self.on_api_call is not None:
            self.on_api_call("bluesky", status)

    def _on_session(self, event: SessionEvent, session: Session) -> None:
        self.did = session.did

    def query(self, nsid: str, params: Any) -> dict[str, Any]:
        """One XRPC query (after logging in), its JSON body; errors mapped to `ConnectorError`s."""
        self.login()
        self._pre_flight(nsid)
        response = self._with_retries(nsid, lambda: self.client.invoke_query(nsid, params=params))
        self._note_budget(response.headers)
        if not isinstance(response.content, dict):
            msg = f"Bluesky {nsid} answered {type(response.content).__name__}, not a JSON object"
            raise SourceUnavailable(msg)
        return response.content

    @property
    def wait_seconds(self) -> float:
        """How long the rate-limit budget says to wait before the next call (0: go ahead)."""
        return max(0.0, self._blocked_until - time.monotonic())

    def close(self) -> None:
        self.client.request.close()

    def _pre_flight(self, nsid: str) -> None:
        wait = self.wait_seconds
        if wait > 0:
            msg = f"Bluesky rate limit spent; {nsid} not called for another {wait:.0f}s"
            raise RateLimited(msg, wait)

    def _note_budget(self, headers: dict[str, str]) -> None:
        remaining, reset = headers.get("ratelimit-remaining"), headers.get("ratelimit-reset")
        if remaining is None or reset is None:
            return
        try:
            spent = int(remaining) <= 0
            wait = float(reset) - time.time()
        except ValueError:
            log.warning(
                "bluesky unreadable rate-limit headers remaining=%r reset=%r", remaining, reset
            )
            return
        if spent and wait > 0:
            self._blocked_until = time.monotonic() + wait
            log.info("bluesky rate limit spent, next call in %.0fs", wait)

    def _with_retries(self, nsid: str, call: Callable[[], Any]) -> Any:
        retrying = api_retrying(
            self.retry,
            retry_if_exception(_transient),
            f"bluesky endpoint={nsid}",
            describe=lambda exc: self._redactor.redact(str(exc)) if exc else "",
        )

        def counted() -> Any:
            try:
                response = call()
            except RequestErrorBase as exc:
                status = exc.response.status_code if exc.response is not None else "error"
                self._count_call(str(status))
                raise
            self._count_call(str(getattr(response, "status_code", "ok")))
            return response

        try:
            return retrying(counted)
        except RequestErrorBase as exc:
            raise self._connector_error(nsid, exc) from exc

    def _connector_error(self, nsid: str, exc: RequestErrorBase) -> ConnectorError:
        status = exc.response.status_code if exc.response is not None else None
        error = self._redactor.redact(_xrpc_error(exc))
        if isinstance(exc, RateLimitExceededError):
            wait = exc.retry_after
            if wait is None and exc.reset_at is not None:
                wait = (exc.reset_at - datetime.now(UTC)).total_seconds()
            wait = wait if wait and wait > 0 else DEFAULT_RATE_LIMIT_WAIT
            self._blocked_until = time.monotonic() + wait
            return RateLimited(f"Bluesky {nsid} answered 429 ({error}); retry in {wait:.0f}s", wait)
        if isinstance(exc, UnauthorizedError):
            return AccessDenied(
                f"Bluesky {nsid} refused the credentials of {self.handle} ({status} {error}); "
                "check the handle and app password in SOCMON_CONNECTORS__BLUESKY__*"
            )
        if isinstance(exc, BadRequestError) and error.split(":")[0] in SESSION_ERRORS:
            self._logged_in = False  # log in afresh on the next poll
            return SourceUnavailable(f"Bluesky {nsid}: session no longer valid ({error})")
        if _transient(exc):
            return SourceUnavailable(
                f"Bluesky {nsid} failed after {self.retry.attempts} attempts: "
                f"{status or type(exc).__name__} {error}".rstrip()
            )
        return ConnectorError(f"Bluesky {nsid} answered {status} ({error})")


def _transient(exc: BaseException) -> bool:
    """5xx answers, time-outs and network failures: worth a bounded retry."""
    if isinstance(exc, RateLimitExceededError):
        return False
    if isinstance(exc, NetworkError):  # transport errors, time-outs, 502
        return True
    return (
        isinstance(exc, RequestException)
        and exc.response is not None
        and exc.response.status_code >= 500
    )


def _xrpc_error(exc: RequestErrorBase) -> str:
    content = exc.response.content if exc.response is not None else None
    if isinstance(content, XrpcError):
        return f"{content.error}: {content.message}" if content.message else content.error
    return type(exc).__name__


# --- checkpoints -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedCursor(Cursor):
    """Where a source stands: everything down to `floor` is done; an unfinished walk down to it
    has the page `cursor` to go on from and the newest time (`top`) it has seen so far."""

    floor: datetime | None = None
    cursor: str | None = None
    top: datetime | None = None

    @classmethod
    def parse(cls, checkpoint: str | None, source: str) -> FeedCursor:
        if not checkpoint:
            return cls()
        try:
            state = json.loads(checkpoint)
            return cls(
                floor=_parse_time(state.get("floor")),
                cursor=state.get("cursor"),
                top=_parse_time(state.get("top")),
            )
        except (ValueError, AttributeError, TypeError) as exc:
            msg = f"{source}: unreadable checkpoint {checkpoint!r} ({exc}); reset it to start over"
            raise ConnectorError(msg) from exc

    def dump(self) -> str | None:
        state = {
            "floor": self.floor.isoformat() if self.floor else None,
            "cursor": self.cursor,
            "top": self.top.isoformat() if self.top else None,
        }
        return json.dumps({k: v for k, v in state.items() if v is not None}) or None


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"expected an ISO 8601 time, got {type(value).__name__}"
        raise ValueError(msg)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        msg = f"time {value!r} has no time zone"
        raise ValueError(msg)
    return parsed


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


# --- normalisation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedItem:
    """One entry of a page: its raw JSON and its time for the checkpoint.

    `unreadable` is what went wrong reading the time (an unpaired surrogate, a bad time): the
    item still takes its place in the walk, and becomes a dead letter when it is normalised.
    """

    position: int  # on the page as the platform sent it
    raw: Any
    indexed_at: datetime | None
    unreadable: Exception | None = None


def _check_unicode(raw: Any) -> None:
    """Reject an item holding an unpaired surrogate: it cannot be stored or sent as UTF-8."""
    try:
        json.dumps(raw, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError as exc:
        msg = "item has an unpaired surrogate (text that is not valid Unicode)"
        raise Rejected(msg) from exc


def _validate(raw: Any, model: type[Any], what: str) -> Any:
    if not isinstance(raw, dict):
        msg = f"{what}: expected a JSON object, got {type(raw).__name__}"
        raise Rejected(msg)
    try:
        return get_or_create(raw, model, strict=True)
    except ModelError as exc:
        cause = exc.__cause__
        detail = describe_validation_error(cause) if isinstance(cause, ValidationError) else exc
        msg = f"{what} does not match the lexicon: {detail}"
        raise Rejected(msg) from exc


def _sane_counts(raw: Any) -> Any:
    """A post view without the counts that are not counts (negative, text, ...)."""
    if not isinstance(raw, dict):
        return raw
    return {k: v for k, v in raw.items() if k not in COUNT_FIELDS or count_of(v) is not None}


def view_engagement(raw: Any) -> Engagement | None:
    """A post view's counts as read now (Bluesky counts no views)."""
    if not isinstance(raw, dict):
        return None
    return read_engagement(
        likes=raw.get("likeCount"),
        reposts=raw.get("repostCount"),
        replies=raw.get("replyCount"),
        quotes=raw.get("quoteCount"),
    )


def _check_not_deleted(raw: Any, what: str) -> None:
    if isinstance(raw, dict):
        kind = str(raw.get("$type", ""))
        if raw.get("notFound") or kind.endswith("#notFoundPost"):
            raise Rejected(f"{what} {raw.get('uri', '')} was deleted (notFoundPost)".strip())
        if raw.get("blocked") or kind.endswith("#blockedPost"):
            msg = f"{what} {raw.get('uri', '')} is blocked (blockedPost)"
            raise Rejected(msg)


def _post_record(record: Any, raw_record: Any, uri: str) -> models.AppBskyFeedPost.Record:
    if isinstance(record, models.AppBskyFeedPost.Record):
        return record
    kind = raw_record.get("$type") if isinstance(raw_record, dict) else None
    if kind != POST_COLLECTION:
        msg = f"{uri}: record type {kind!r} is not {POST_COLLECTION}"
        raise Rejected(msg)
    try:
        return models.AppBskyFeedPost.Record.model_validate(raw_record)
    except ValidationError as exc:
        msg = f"{uri}: post record invalid: {describe_validation_error(exc)}"
        raise Rejected(msg) from exc


def _rkey(uri: str) -> str:
    # at://<did>/<collection>/<rkey>
    parts = uri.removeprefix("at://").split("/")
    if len(parts) != 3 or parts[1] != POST_COLLECTION or not parts[2]:
        msg = f"{uri!r} is not the URI of a post"
        raise Rejected(msg)
    return parts[2]


def _did_of(uri: str) -> str:
    return uri.removeprefix("at://").split("/")[0]


def _media(embed: Any) -> tuple[Media, ...]:
    """Images and videos of a post, from its hydrated view or (notifications) its record."""
    if embed is None:
        return ()
    if isinstance(embed, models.AppBskyEmbedImages.View):
        return tuple(
            Media(type="photo", url=i.fullsize, alt_text=i.alt or None) for i in embed.images
        )
    if isinstance(embed, models.AppBskyEmbedImages.Main):
        return tuple(Media(type="photo", alt_text=i.alt or None) for i in embed.images)
    if isinstance(embed, models.AppBskyEmbedVideo.View):
        return (Media(type="video", url=embed.playlist, alt_text=embed.alt or None),)
    if isinstance(embed, models.AppBskyEmbedVideo.Main):
        return (Media(type="video", alt_text=embed.alt or None),)
    if isinstance(
        embed, models.AppBskyEmbedRecordWithMedia.View | models.AppBskyEmbedRecordWithMedia.Main
    ):
        return _media(embed.media)
    return ()  # links, quoted posts: no media of this post's own


@dataclass(frozen=True)
class Normaliser:
    """Turns atproto views into `Post`s for one source."""

    source: str
    session: BlueskySession
    official_handles: frozenset[str]  # lower-case, no "@"
    register_dids: frozenset[str]  # platform_id of the register entries that have one

    @property
    def official_dids(self) -> frozenset[str]:
        # The logged-in account's DID is only known after the login.
        own = self.session.did if self.session.handle.lower() in self.official_handles else None
        return self.register_dids | {own} if own else self.register_dids

    def post(
        self,
        view: models.AppBskyFeedDefs.PostView,
        raw: dict[str, Any],
        kind: PostKind,
        account: str,
    ) -> Post:
        rkey = _rkey(view.uri)
        record = _post_record(view.record, raw.get("record"), view.uri)
        return self.from_record(
            view.uri,
            rkey,
            view.author,
            record,
            view.embed or record.embed,
            kind,
            account,
            engagement=view_engagement(raw),
        )

    def from_record(
        self,
        uri: str,
        rkey: str,
        author: models.AppBskyActorDefs.ProfileViewBasic | models.AppBskyActorDefs.ProfileView,
        record: models.AppBskyFeedPost.Record,
        embed: Any,
        kind: PostKind,
        account: str,
        engagement: Engagement | None = None,
    ) -> Post:
        """A post record to a `Post`; `engagement`: its counts, where the answer had them (a
        notification, a Jetstream event: none)."""
        try:
            created_at = _parse_time(record.created_at)
        except ValueError as exc:
            msg = f"{uri}: createdAt {record.created_at!r}: {exc}"
            raise Rejected(msg) from exc
        # "handle.invalid" is what the AppView shows when a handle no longer resolves.
        name = author.did if author.handle == "handle.invalid" else author.handle
        values: dict[str, Any] = {
            "platform": "bluesky",
            "post_id": uri,
            "kind": kind,
            "account": account,
            "author": name,
            "text": clean_text(record.text),
            "created_at": created_at,
            "url": f"https://bsky.app/profile/{name}/post/{rkey}",
            "media": _media(embed),
            "lang": record.langs[0] if record.langs else None,
            "in_reply_to": record.reply.parent.uri if record.reply else None,
            "source": self.source,
            "engagement": engagement,
        }
        return validated_post(values, uri)

    def is_official(self, author: Any) -> bool:
        return author.did in self.official_dids or author.handle.lower() in self.official_handles

    def kind_of_hit(self, record: Any) -> PostKind:
        """A hit replying to an official account's post is a reply, any other a mention."""
        reply = getattr(record, "reply", None)
        if reply is not None and _did_of(reply.parent.uri) in self.official_dids:
            return "reply"
        return "mention"


# --- connectors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedPage:
    """One answer of an endpoint: its raw entries, newest first, and the cursor of the next."""

    entries: list[Any]
    cursor: str | None


class BlueskySource(PagedSource[FeedItem, FeedCursor]):
    """A Bluesky source that pages backwards from the newest item down to its checkpoint."""

    nsid: str
    cursor_type = FeedCursor
    # The page cursor is saved: a walk cut short by a rate limit goes on from it later.
    keeps_pages_when_rate_limited = True

    def __init__(
        self,
        name: str,
        session: BlueskySession,
        normaliser: Normaliser,
        page_size: int = 50,
        max_pages: int = 10,
    ) -> None:
        self.name = name
        self.session = session
        self.normaliser = normaliser
        self.page_size = page_size
        self.max_pages = max_pages

    @abstractmethod
    def fetch_page(self, cursor: str | None, since: datetime | None, limit: int) -> FeedPage:
        """The page at `cursor` (None: the newest), of items after `since` where supported."""

    @abstractmethod
    def _post_of(self, raw: Any) -> Post | None:
        """One raw entry as a `Post`; None skips it on purpose (a repost, an own post)."""

    def _time_of(self, raw: Any) -> Any:
        """The entry's ``indexedAt``, as sent."""
        return raw.get("indexedAt") if isinstance(raw, dict) else None

    def pages(self, start: FeedCursor) -> Iterator[Page[FeedItem, FeedCursor]]:
        first_run = start.floor is None and start.cursor is None
        cursor, top = start.cursor, start.top
        while True:  # until the floor; `max_pages` is applied by `PagedSource.poll`
            page = self.fetch_page(cursor, start.floor, self.page_size)
            new: list[FeedItem] = []
            reached_floor = False
            for position, raw in enumerate(page.entries):
                item = self._read(position, raw)
                if start.floor and item.indexed_at and item.indexed_at <= start.floor:
                    reached_floor = True
                    continue
                # Pages are newest first: an item with no usable time (a deleted post) that
                # comes after an already-seen one was seen with it.
                if reached_floor and item.indexed_at is None:
                    continue
                top = _later(top, item.indexed_at)
                new.append(item)
            if first_run or reached_floor or not page.cursor or not page.entries:
                done = FeedCursor(floor=_later(start.floor, top))
                yield Page(new, done, retry_after=self._wait(), last=True)
                return
            cursor = page.cursor
            wait = self._wait()
            yield Page(new, FeedCursor(start.floor, cursor, top), retry_after=wait)
            if wait is not None:
                return  # the rate-limit budget is spent: the walk goes on from `cursor` later

    def to_post(self, item: FeedItem) -> Post | None:
        if item.unreadable is not None:
            raise item.unreadable
        return self._post_of(item.raw)

    def origin(self, item: FeedItem, position: int) -> str:
        raw = item.raw
        if isinstance(raw, dict) and isinstance(raw.get("uri"), str):
            return f"{self.name}:{raw['uri']}"
        return f"{self.name}:{item.position}"

    def raw(self, item: FeedItem) -> Any:
        return item.raw

    def _read(self, position: int, raw: Any) -> FeedItem:
        """An entry and its time; a problem reading them is kept for `to_post` to reject."""
        try:
            _check_unicode(raw)
            return FeedItem(position, raw, _parse_time(self._time_of(raw)))
        except self.malformed as exc:  # `Rejected` (the surrogate check) is a ValueError too
            return FeedItem(position, raw, None, unreadable=exc)

    def _wait(self) -> float | None:
        wait = self.session.wait_seconds
        return wait if wait > 0 else None

    def check(self) -> CheckResult:
        try:
            self.session.login()
        except ConnectorError as exc:
            return CheckResult(
                self.name, ok=False, detail=str(exc), endpoints={CREATE_SESSION: False}
            )
        try:
            self.fetch_page(None, None, 1)
        except ConnectorError as exc:
            return CheckResult(
                self.name,
                ok=False,
                detail=str(exc),
                endpoints={CREATE_SESSION: True, self.nsid: False},
            )
        return CheckResult(
            self.name,
            ok=True,
            detail=f"logged in as {self.session.handle}; {self.nsid} answers",
            endpoints={CREATE_SESSION: True, self.nsid: True},
        )

    def close(self) -> None:
        self.session.close()


def _list_of(body: dict[str, Any], key: str, nsid: str) -> list[Any]:
    value = body.get(key)
    if not isinstance(value, list):
        msg = f"Bluesky {nsid} answered without a {key!r} list"
        raise SourceUnavailable(msg)
    return value


class SearchSource(BlueskySource):
    """``app.bsky.feed.searchPosts`` (newest first): a configured query, or mentions of a handle."""

    nsid = SEARCH_POSTS

    def __init__(
        self,
        name: str,
        session: BlueskySession,
        normaliser: Normaliser,
        query: str,
        account: str,
        mentions: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, session, normaliser, **kwargs)
        self.query = query
        self.account = account
        self.mentions = mentions

    def fetch_page(self, cursor: str | None, since: datetime | None, limit: int) -> FeedPage:
        params = models.AppBskyFeedSearchPosts.Params(
            q=self.query,
            mentions=self.mentions,
            sort="latest",
            since=since.isoformat() if since else None,
            cursor=cursor,
            limit=limit,
        )
        body = self.session.query(SEARCH_POSTS, params)
        return FeedPage(_list_of(body, "posts", SEARCH_POSTS), body.get("cursor"))

    def _post_of(self, raw: Any) -> Post | None:
        _check_not_deleted(raw, "post")
        raw = _sane_counts(raw)
        view = _validate(raw, models.AppBskyFeedDefs.PostView, "post")
        if self.normaliser.is_official(view.author):
            return None  # the account's own posts come from its posts source, as official_post
        return self.normaliser.post(
            view, raw, self.normaliser.kind_of_hit(view.record), self.account
        )


class NotificationsSource(BlueskySource):
    """``app.bsky.notification.listNotifications`` of the logged-in official account."""

    nsid = NOTIFICATIONS

    def __init__(
        self,
        name: str,
        session: BlueskySession,
        normaliser: Normaliser,
        account: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, session, normaliser, **kwargs)
        self.account = account

    def fetch_page(self, cursor: str | None, since: datetime | None, limit: int) -> FeedPage:
        params = models.AppBskyNotificationListNotifications.Params(
            reasons=sorted(NOTIFICATION_KINDS), cursor=cursor, limit=limit
        )
        body = self.session.query(NOTIFICATIONS, params)
        return FeedPage(_list_of(body, "notifications", NOTIFICATIONS), body.get("cursor"))

    def _post_of(self, raw: Any) -> Post | None:
        note = _validate(
            raw, models.AppBskyNotificationListNotifications.Notification, "notification"
        )
        kind = NOTIFICATION_KINDS.get(note.reason)
        if kind is None:
            msg = f"notification reason {note.reason!r} was not asked for"
            raise Rejected(msg)
        record = _post_record(note.record, raw.get("record"), note.uri)
        return self.normaliser.from_record(
            note.uri, _rkey(note.uri), note.author, record, record.embed, kind, self.account
        )


class AuthorFeedSource(BlueskySource):
    """``app.bsky.feed.getAuthorFeed``: an official account's own posts and replies."""

    nsid = AUTHOR_FEED

    def __init__(
        self,
        name: str,
        session: BlueskySession,
        normaliser: Normaliser,
        actor: str,
        account: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, session, normaliser, **kwargs)
        self.actor = actor
        self.account = account

    def fetch_page(self, cursor: str | None, since: datetime | None, limit: int) -> FeedPage:
        params = models.AppBskyFeedGetAuthorFeed.Params(
            actor=self.actor, filter="posts_with_replies", cursor=cursor, limit=limit
        )
        body = self.session.query(AUTHOR_FEED, params)
        return FeedPage(_list_of(body, "feed", AUTHOR_FEED), body.get("cursor"))

    def _time_of(self, raw: Any) -> Any:
        """A feed entry's time is its post's ``indexedAt``."""
        post = raw.get("post") if isinstance(raw, dict) else None
        return post.get("indexedAt") if isinstance(post, dict) else None

    def _post_of(self, raw: Any) -> Post | None:
        if isinstance(raw, dict):
            _check_not_deleted(raw.get("post"), "post")
            raw = raw | {"post": _sane_counts(raw.get("post"))}
        entry = _validate(raw, models.AppBskyFeedDefs.FeedViewPost, "feed item")
        if isinstance(entry.reason, models.AppBskyFeedDefs.ReasonRepost):
            return None  # a repost of someone else's post: not the account's own words
        return self.normaliser.post(entry.post, raw["post"], "official_post", self.account)

    def since(self, moment: datetime) -> Iterator[Post | DeadLetter | None]:
        """The account's posts (and reposts, skipped) since `moment`, normalised again: the feed
        paged from the newest entry until an older one (at most `max_pages` pages)."""
        cursor: str | None = None
        for _ in range(self.max_pages or 1):
            page = self.fetch_page(cursor, None, self.page_size)
            older = False
            for position, raw in enumerate(page.entries):
                item = self._read(position, raw)
                when = _feed_time(raw) or item.indexed_at
                if when is not None and when < moment:
                    older = True
                    continue
                yield self._normalise(item, position)
            if older or not page.cursor or not page.entries:
                return
            cursor = page.cursor


def _feed_time(raw: Any) -> datetime | None:
    """When an entry came into the feed: a repost's own time (the post it reposts may be old),
    else None (the post's ``indexedAt`` is used)."""
    reason = raw.get("reason") if isinstance(raw, dict) else None
    try:
        return _parse_time(reason.get("indexedAt")) if isinstance(reason, dict) else None
    except ValueError:
        return None


class BlueskyEngagement(EngagementRefresh[SearchSource]):
    """``bluesky:engagement``: the official accounts' posts of the refresh window read again
    (``app.bsky.feed.getAuthorFeed``) for fresh counts, and the high-engagement mentions by URI
    (``app.bsky.feed.getPosts``)."""

    def __init__(
        self,
        session: BlueskySession,
        own: Sequence[AuthorFeedSource],
        mention_sources: Sequence[SearchSource],
        schedule: RefreshSchedule,
        hot_mentions: HotMentions | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__("bluesky:engagement", schedule, own, mention_sources, hot_mentions, clock)
        self.session = session

    def mentions(self, hot: Sequence[HotMention]) -> tuple[list[Post], list[DeadLetter]]:
        results: list[Post | DeadLetter | None] = []
        for uris, found_by in self.lookups(hot, MAX_LOOKUP_URIS):
            body = self.session.query(GET_POSTS, models.AppBskyFeedGetPosts.Params(uris=uris))
            # A deleted post is left out of the answer: nothing to refresh.
            for position, raw in enumerate(_list_of(body, "posts", GET_POSTS)):
                uri = raw.get("uri") if isinstance(raw, dict) else None
                source = found_by.get(uri) if isinstance(uri, str) else None
                if source is not None:
                    results.append(source._normalise(source._read(position, raw), position))
        return collect(iter(results))


# --- registry entry point --------------------------------------------------------------------


def from_settings(
    settings: Settings, on_api_call: ApiCallRecorder | None = None
) -> list[Connector]:
    """The Bluesky sources the settings ask for; [] when disabled or the credentials are missing."""
    conf = settings.connectors.bluesky
    if not conf.enabled:
        return []
    if not conf.handle or conf.app_password is None:
        log.warning(
            "bluesky enabled but SOCMON_CONNECTORS__BLUESKY__HANDLE or __APP_PASSWORD is not set; "
            "no Bluesky source will run"
        )
        return []
    session = BlueskySession(conf.service_url, conf.handle, conf.app_password)
    session.on_api_call = on_api_call
    accounts = active_accounts(settings.accounts, "bluesky")
    refresh = RefreshSchedule.of(settings.connectors)
    return build_sources(session, accounts, conf.search_queries, refresh=refresh)


def build_sources(
    session: BlueskySession,
    accounts: Sequence[OfficialAccount],
    search_queries: Sequence[str],
    page_size: int = 50,
    max_pages: int = 10,
    refresh: RefreshSchedule | None = None,
) -> list[Connector]:
    """One connector per source, all on `session`; and with `refresh`, the engagement refresh of
    the official accounts' posts and of the mentions with high engagement."""
    handles = frozenset(a.handle.lstrip("@").lower() for a in accounts)
    dids = frozenset(
        a.platform_id for a in accounts if a.platform_id and a.platform_id.startswith("did:")
    )
    # Search hits that concern no particular account are filed under the first one in the register.
    default_account = accounts[0].handle.lstrip("@") if accounts else session.handle
    paging: dict[str, Any] = {"page_size": page_size, "max_pages": max_pages}

    def normaliser(name: str) -> Normaliser:
        return Normaliser(name, session, handles, dids)

    sources: list[Connector] = []
    for acc in accounts:
        handle = acc.handle.lstrip("@")
        name = f"bluesky:mentions:{handle}"
        if handle.lower() == session.handle.lower():
            sources.append(NotificationsSource(name, session, normaliser(name), handle, **paging))
        else:
            sources.append(
                SearchSource(
                    name, session, normaliser(name), handle, handle, mentions=handle, **paging
                )
            )
        name = f"bluesky:posts:{handle}"
        actor = acc.platform_id or handle
        sources.append(AuthorFeedSource(name, session, normaliser(name), actor, handle, **paging))
    for query in search_queries:
        name = f"bluesky:search:{query}"
        sources.append(
            SearchSource(name, session, normaliser(name), query, default_account, **paging)
        )
    if refresh is not None and accounts:
        hot = HotMentions()
        own = [s for s in sources if isinstance(s, AuthorFeedSource)]
        # Notifications carry no counts: only search hits can be known to have high engagement.
        searches = [s for s in sources if isinstance(s, SearchSource)]
        for source in searches:
            source.hot_mentions = hot
        sources.append(BlueskyEngagement(session, own, searches, refresh, hot))
    return sources
