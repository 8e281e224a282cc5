"""Facebook Page and Instagram business account connectors (Graph API through facebook-sdk).

Per Facebook Page: its own posts, the comments and replies on them, visitor posts and posts that
tag the page. Per Instagram business account: its media, their comments and replies, and media
that tag it. One connector per source; each checkpoints the newest ``created_time`` it produced.

All sources share one `GraphClient`: the facebook-sdk client at the configured Graph API version,
the time-out, the bounded retries of server errors and the translation of Graph error codes.

Engagement: the page's posts and visitor posts carry their reactions (all kinds, as likes), shares
and comments (``reactions.summary(total_count)``, ``shares``, ``comments.summary(total_count)``);
Instagram media their ``like_count`` and ``comments_count``. Posts that tag the page are other
people's, whose reactions a page token may not read, so they carry none. ``facebook:engagement``
and ``instagram:engagement`` (`GraphEngagement`) read the recent posts and media again for fresh
counts, and the high-engagement visitor posts by id (``GET /?ids=``).
"""

from __future__ import annotations

import json
import logging
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import facebook
import requests
import tenacity
from pydantic import ValidationError

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
    api_retrying,
    count_of,
    read_engagement,
    retry_policy,
)
from ingest.connectors.paged import (
    Cursor,
    EngagementRefresh,
    NewestSeen,
    Page,
    PagedSource,
    collect,
)
from socmon.config.connectors import FacebookSettings
from socmon.records import (
    DeadLetter,
    Engagement,
    Media,
    Platform,
    Post,
    PostKind,
    describe_validation_error,
    utcnow,
)

log = logging.getLogger(__name__)


TOKEN_ENV = "SOCMON_CONNECTORS__FACEBOOK__PAGE_ACCESS_TOKEN"
# Graph error codes (https://developers.facebook.com/docs/graph-api/guides/error-handling).
EXPIRED_TOKEN = 190
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613} | set(range(80001, 80015)))
TRANSIENT_CODES = frozenset({1, 2})  # "unknown error", "service temporarily unavailable"
BAD_PARAMETER = 100
PERMISSION_CODES = frozenset({10} | set(range(200, 300)))
USAGE_HEADERS = ("x-business-use-case-usage", "x-page-usage", "x-app-usage")

UNKNOWN_AUTHOR = "unknown (not shared by the Graph API)"
FB_POST_FIELDS = (
    "id,message,created_time,permalink_url,from{id,name},attachments{media_type,url,media}"
)
# limit(0): the totals only, not the first page of reactions and comments themselves.
FB_ENGAGEMENT_FIELDS = (
    "reactions.limit(0).summary(total_count),comments.limit(0).summary(total_count),shares"
)
FB_COUNTED_POST_FIELDS = f"{FB_POST_FIELDS},{FB_ENGAGEMENT_FIELDS}"
FB_COMMENT_FIELDS = "id,message,created_time,permalink_url,from{id,name},parent{id}"
IG_MEDIA_FIELDS = (
    "id,caption,media_type,media_url,permalink,timestamp,username,like_count,comments_count"
)
MAX_LOOKUP_IDS = 50  # the Graph API reads up to 50 ids in one request
IG_COMMENT_FIELDS = "id,text,timestamp,username,from{id,username},parent_id"
IG_COMMENT_WITH_REPLIES = f"{IG_COMMENT_FIELDS},replies{{{IG_COMMENT_FIELDS}}}"


def _safe_description(exc: BaseException | None) -> str:
    """An error for the log without the request URL, which may carry a token in its query."""
    if exc is None or isinstance(exc, facebook.GraphAPIError):
        return str(exc)
    return type(exc).__name__


def make_graph_api(
    access_token: str, version: str, timeout: float, session: requests.Session | None = None
) -> facebook.GraphAPI:
    """The one place the Graph API version is set.

    facebook-sdk 3.1.0 checks the ``version`` argument against a list that ends at 3.1 (retired in
    2020), so the client is built without one and the configured version (``v26.0``…) is then set
    on the instance: every path the SDK requests is ``{self.version}/{id}/{edge}``.
    """
    graph = facebook.GraphAPI(access_token=access_token, timeout=timeout, session=session)
    graph.version = version
    return graph


@dataclass(frozen=True)
class Edge:
    """A Graph API edge as the documentation names it, with the permissions it needs."""

    path: str
    permissions: str


PAGE_POSTS = Edge("GET /{page-id}/posts", "pages_read_engagement")
PAGE_COMMENTS = Edge("GET /{post-id}/comments", "pages_read_engagement, pages_read_user_content")
VISITOR_POSTS = Edge("GET /{page-id}/visitor_posts", "pages_read_user_content")
PAGE_TAGGED = Edge("GET /{page-id}/tagged", "pages_read_engagement, pages_read_user_content")
IG_MEDIA = Edge("GET /{ig-user-id}/media", "instagram_basic, pages_read_engagement")
IG_COMMENTS = Edge("GET /{ig-media-id}/comments", "instagram_basic, instagram_manage_comments")
IG_TAGS = Edge("GET /{ig-user-id}/tags", "instagram_basic, instagram_manage_comments")
OBJECTS = Edge("GET /?ids={ids}", "pages_read_engagement, pages_read_user_content")


def regain_access_seconds(headers: Mapping[str, str]) -> float | None:
    """The longest ``estimated_time_to_regain_access`` (minutes) of the usage headers, in s."""
    minutes: list[float] = []
    for name in USAGE_HEADERS:
        raw = headers.get(name)
        if not raw:
            continue
        try:
            usage = json.loads(raw)
        except json.JSONDecodeError:
            log.warning("header %s is not JSON: %r", name, raw[:200])
            continue
        # x-business-use-case-usage is {business-id: [usage, ...]}; the others are one usage.
        entries = (
            [u for group in usage.values() if isinstance(group, list) for u in group]
            if name == "x-business-use-case-usage" and isinstance(usage, dict)
            else [usage]
        )
        minutes += [
            float(u["estimated_time_to_regain_access"])
            for u in entries
            if isinstance(u, dict) and u.get("estimated_time_to_regain_access") is not None
        ]
    return max(minutes) * 60.0 if minutes else None


def _percent(value: object) -> float:
    """A usage share from a header; anything unreadable counts as 0, not as a reason to stop."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def usage_exhausted(headers: Mapping[str, str]) -> bool:
    """True when a usage header says some quota is at 100 %: the next call would be throttled."""
    for name in USAGE_HEADERS:
        try:
            usage = json.loads(headers.get(name) or "{}")
        except json.JSONDecodeError:
            continue
        groups = usage.values() if name == "x-business-use-case-usage" else [[usage]]
        for group in groups:
            for entry in group if isinstance(group, list) else []:
                if not isinstance(entry, dict):
                    continue
                shares = ("call_count", "total_cputime", "total_time")
                if any(_percent(entry.get(k)) >= 100 for k in shares):
                    return True
    return False


class GraphClient:
    """The facebook-sdk client of a process, with time-outs, bounded retries and error codes."""

    def __init__(
        self,
        settings: FacebookSettings,
        on_api_call: ApiCallRecorder | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if settings.page_access_token is None:
            msg = f"Facebook and Instagram need a page access token: set {TOKEN_ENV}"
            raise AccessDenied(msg)
        self.settings = settings
        # facebook-sdk returns only the JSON body; the session hook keeps the last response so
        # the status code and the usage headers can be read after each call.
        self.session = requests.Session()
        self.session.hooks["response"].append(self._remember)
        self.graph = make_graph_api(
            settings.page_access_token.get_secret_value(),
            settings.graph_api_version,
            settings.request_timeout_seconds,
            self.session,
        )
        self._last: requests.Response | None = None
        self._on_api_call = on_api_call
        self._sleep = sleep

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last = response

    def connection(
        self, source: str, edge: Edge, node_id: str, name: str, args: dict[str, Any]
    ) -> tuple[dict[str, Any], float | None]:
        """One page of ``/{node_id}/{name}``, with retries; and a wait if a quota is used up."""
        return self._get(
            source, edge, lambda: self.graph.get_connections(node_id, name, **args), args
        )

    def objects(
        self, source: str, ids: Sequence[str], args: dict[str, Any]
    ) -> tuple[dict[str, Any], float | None]:
        """The nodes `ids` (at most `MAX_LOOKUP_IDS`) in one request, keyed by id."""
        return self._get(source, OBJECTS, lambda: self.graph.get_objects(list(ids), **args), args)

    def _get(
        self,
        source: str,
        edge: Edge,
        request: Callable[[], dict[str, Any]],
        args: Mapping[str, Any],
    ) -> tuple[dict[str, Any], float | None]:
        """One request with retries; and a wait if a quota is used up."""
        retrying = api_retrying(
            retry_policy(self.settings),
            tenacity.retry_if_exception(self._transient),
            f"source={source} edge={edge.path!r}",
            describe=_safe_description,
            sleep=self._sleep,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self._last = None
                    try:
                        page: dict[str, Any] = request()
                    except (facebook.GraphAPIError, requests.RequestException) as exc:
                        self._record(source, exc)
                        raise
                    self._record(source, None)
                    headers: Mapping[str, str] = {} if self._last is None else self._last.headers
                    wait = None
                    if usage_exhausted(headers):
                        wait = regain_access_seconds(headers) or (
                            self.settings.rate_limit_backoff_seconds
                        )
                    return page, wait
        except facebook.GraphAPIError as exc:
            raise self._translate(exc, edge, args) from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            msg = (
                f"Graph API {edge.path} did not answer after {self.settings.max_retries + 1} "
                f"attempts ({type(exc).__name__}); trying again next poll"
            )
            raise SourceUnavailable(msg) from exc
        msg = f"Graph API {edge.path}: no attempt was made"  # tenacity always makes one
        raise SourceUnavailable(msg)

    def all_pages(
        self, source: str, edge: Edge, node_id: str, name: str, args: dict[str, Any]
    ) -> Iterator[tuple[dict[str, Any], float | None]]:
        """Every page of an edge, following ``paging.next``.

        The same walk as facebook-sdk's `get_all_connections`, one page at a time, so each page
        is retried on its own and its usage headers are read.
        """
        while True:
            page, wait = self.connection(source, edge, node_id, name, args)
            yield page, wait
            next_url = page.get("paging", {}).get("next")
            if not next_url or not page.get("data"):
                return
            args = {
                key: values[0]
                for key, values in parse_qs(urlparse(next_url).query).items()
                if key != "access_token"  # the SDK adds its own; never copy a token around
            }

    def _transient(self, exc: BaseException) -> bool:
        if isinstance(exc, requests.Timeout | requests.ConnectionError):
            return True
        if isinstance(exc, facebook.GraphAPIError):
            status = self._last.status_code if self._last is not None else 0
            return status >= 500 or exc.code in TRANSIENT_CODES
        return False

    def _record(self, source: str, exc: BaseException | None) -> None:
        if self._on_api_call is None:
            return
        if self._last is not None:
            self._on_api_call(source, str(self._last.status_code))
        elif exc is not None:
            self._on_api_call(source, "timeout")

    def _translate(
        self, exc: facebook.GraphAPIError, edge: Edge, args: Mapping[str, Any]
    ) -> ConnectorError:
        code = exc.code
        status = self._last.status_code if self._last is not None else None
        what = f"Graph API {edge.path} ({self.settings.graph_api_version})"
        if code == EXPIRED_TOKEN:
            msg = (
                f"{what}: the page access token has expired or was revoked (code 190: "
                f"{exc.message}); generate a new long-lived page access token and set {TOKEN_ENV}"
            )
            return AccessDenied(msg)
        if code in PERMISSION_CODES:
            msg = (
                f"{what} needs the permission(s) {edge.permissions}, which the token does not "
                f"have (code {code}: {exc.message}); grant them to the app in Meta's App "
                "Dashboard and generate a new page access token, or remove this source"
            )
            return AccessDenied(msg)
        if code in RATE_LIMIT_CODES:
            headers = self._last.headers if self._last is not None else {}
            wait = regain_access_seconds(headers) or self.settings.rate_limit_backoff_seconds
            msg = f"{what}: rate limited (code {code}: {exc.message}); waiting {wait:.0f}s"
            return RateLimited(msg, wait)
        if code == BAD_PARAMETER:
            sent = ", ".join(f"{k}={v}" for k, v in sorted(args.items()))
            msg = (
                f"{what} refused a parameter (code 100: {exc.message}); the request sent {sent}. "
                f"Check that the account's platform_id in the register is a "
                f"{edge.path.split('/')[1]} and that version {self.settings.graph_api_version} "
                "has these fields"
            )
            return ConnectorError(msg)
        if (status is not None and status >= 500) or code in TRANSIENT_CODES:
            msg = (
                f"{what} kept failing (HTTP {status}, code {code}: {exc.message}) after "
                f"{self.settings.max_retries + 1} attempts; trying again next poll"
            )
            return SourceUnavailable(msg)
        msg = f"{what} failed (HTTP {status}, code {code}: {exc.message})"
        return ConnectorError(msg)


@dataclass
class TimeCheckpoint(NewestSeen[datetime], Cursor):
    """The newest creation time produced, and the ids produced at exactly that second.

    Graph times have one-second resolution: the ids at the boundary second tell a new item of that
    second from one already produced, so a restart neither repeats nor misses.
    """

    newest: datetime | None = None
    ids_at_newest: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, checkpoint: str | None, source: str) -> TimeCheckpoint:
        if not checkpoint:
            return cls()
        data = json.loads(checkpoint)
        return cls(datetime.fromisoformat(data["newest"]), set(data.get("ids", [])))

    def copy(self) -> TimeCheckpoint:
        return TimeCheckpoint(self.newest, set(self.ids_at_newest))

    def dump(self) -> str | None:
        if self.newest is None:
            return None
        return json.dumps({"newest": self.newest.isoformat(), "ids": sorted(self.ids_at_newest)})


@dataclass(frozen=True)
class GraphItem:
    """A raw item of an edge and what the source knows about it beyond its own fields.

    `created` is its creation time once read; an item whose id or time cannot be read keeps
    None there and the `problem`, and becomes a dead letter.
    """

    raw: Mapping[str, Any]
    kind: PostKind
    in_reply_to: str | None = None
    created: datetime | None = None
    problem: str = ""


class GraphSource(PagedSource[GraphItem, TimeCheckpoint]):
    """One Facebook or Instagram source; subclasses say which edges and what kind of posts.

    A poll walks every page of its edges (comments: of every recent post) and hands the new items
    over as one `Page`: the Graph API pages backwards from the newest item, so a poll cut short by
    a rate limit could not resume; it fails as a whole and the checkpoint stays where it was.
    """

    platform: Platform
    edge: Edge
    edge_name: str
    time_field = "created_time"
    cursor_type = TimeCheckpoint

    def __init__(self, client: GraphClient, handle: str, node_id: str, what: str) -> None:
        self.client = client
        self.handle = handle.lstrip("@")
        self.node_id = node_id
        self.name = f"{self.platform}:{what}:{self.handle}"
        self._wait: float | None = None

    @abstractmethod
    def _items(self, since: datetime) -> Iterator[GraphItem]:
        """The source's raw items created since about `since` (filtered again by the caller)."""

    @abstractmethod
    def _post_of(self, item: GraphItem, created: datetime) -> Post:
        """A raw item to a `Post`; raises KeyError or ValidationError when it cannot be."""

    def _pages(self, edge: Edge, node_id: str, name: str, args: dict[str, Any]) -> Iterator[Any]:
        """The items of every page of an edge, remembering a used-up quota for the poll's wait."""
        args = {"limit": self.client.settings.page_size, **args}
        for page, wait in self.client.all_pages(self.name, edge, node_id, name, args):
            if wait is not None:
                self._wait = max(wait, self._wait or 0.0)
            yield from page.get("data", [])

    def pages(self, start: TimeCheckpoint) -> Iterator[Page[GraphItem, TimeCheckpoint]]:
        # `start` filters against where the last poll ended; `mark` advances over this poll's
        # items, which most edges list newest first.
        mark = start.copy()
        lookback = timedelta(hours=self.client.settings.initial_lookback_hours)
        since = start.newest or datetime.now(UTC) - lookback
        self._wait = None
        new: list[GraphItem] = []
        for item in map(self._dated, self._items(since)):
            if item.created is not None:
                item_id = str(item.raw["id"])
                if item.created < since or not start.is_new(item_id, item.created):
                    continue
                mark.advance(item_id, item.created)
            new.append(item)
        yield Page(new, mark, retry_after=self._wait)

    def since(self, moment: datetime) -> Iterator[Post | DeadLetter | None]:
        """The source's items created since `moment`, normalised again."""
        for position, item in enumerate(map(self._dated, self._items(moment))):
            if item.created is None or item.created >= moment:
                yield self._normalise(item, position)

    def _dated(self, item: GraphItem) -> GraphItem:
        """`item` with its creation time, or with the problem that keeps it from having one."""
        item_id = str(item.raw.get("id") or "")
        created_text = item.raw.get(self.time_field)
        if not item_id or not created_text:
            missing = ", ".join(f for f in ("id", self.time_field) if not item.raw.get(f))
            return replace(
                item, problem=f"missing field(s): {missing} (deleted, or hidden from this token)"
            )
        try:
            created = datetime.fromisoformat(str(created_text))
        except ValueError:
            created = None
        if created is None or created.tzinfo is None:
            reason = f"invalid {self.time_field} (want ISO 8601 with offset): {created_text}"
            return replace(item, problem=reason)
        return replace(item, created=created)

    def to_post(self, item: GraphItem) -> Post:
        if item.created is None:
            raise Rejected(item.problem)
        try:
            return self._post_of(item, item.created)
        except KeyError as exc:
            msg = f"missing field: {exc.args[0]}"
            raise Rejected(msg) from exc
        except ValidationError as exc:
            raise Rejected(describe_validation_error(exc)) from exc

    def origin(self, item: GraphItem, position: int) -> str:
        return f"{self.name} {self.edge.path} id {item.raw.get('id', '?')}"

    def raw(self, item: GraphItem) -> Any:
        return item.raw

    def check(self) -> CheckResult:
        try:
            self.client.connection(self.name, self.edge, self.node_id, self.edge_name, {"limit": 1})
        except RateLimited as exc:
            return CheckResult(self.name, True, f"token accepted, rate limited now: {exc}", {})
        except AccessDenied as exc:
            return CheckResult(self.name, False, str(exc), {self.edge.path: False})
        except ConnectorError as exc:
            return CheckResult(self.name, False, str(exc), {})
        return CheckResult(
            self.name,
            True,
            f"page access token accepted (Graph API {self.client.settings.graph_api_version})",
            {self.edge.path: True},
        )


def _fb_media(raw: Mapping[str, Any]) -> tuple[Media, ...]:
    media = []
    for attachment in raw.get("attachments", {}).get("data", []):
        kind = attachment.get("media_type")
        image = attachment.get("media", {}).get("image", {})
        media.append(
            Media(
                type=kind if kind in ("photo", "video") else "other",
                url=image.get("src") or attachment.get("url"),
            )
        )
    return tuple(media)


def _ig_media(raw: Mapping[str, Any]) -> tuple[Media, ...]:
    kind = {"IMAGE": "photo", "VIDEO": "video"}.get(str(raw.get("media_type")), "other")
    return (Media.model_validate({"type": kind, "url": raw.get("media_url")}),)


def _total(edge: Any) -> Any:
    """The ``summary.total_count`` of an edge asked for with ``.summary(total_count)``."""
    summary = edge.get("summary") if isinstance(edge, Mapping) else None
    return summary.get("total_count") if isinstance(summary, Mapping) else None


def graph_engagement(raw: Mapping[str, Any]) -> Engagement | None:
    """A Page post's counts as read now: reactions of every kind as likes, shares as reposts,
    comments as replies; None for an item read without them (a comment, a tagging post)."""
    reactions, comments = _total(raw.get("reactions")), _total(raw.get("comments"))
    shares = raw.get("shares")
    if isinstance(shares, Mapping):
        shared = shares.get("count")
    elif shares is None and (count_of(reactions) is not None or count_of(comments) is not None):
        shared = 0  # the Graph API leaves ``shares`` out of a post nobody has shared
    else:
        shared = None
    return read_engagement(likes=reactions, reposts=shared, replies=comments)


def instagram_engagement(raw: Mapping[str, Any]) -> Engagement | None:
    """Instagram media's counts as read now. ``like_count`` is left out where the owner hid the
    likes: then likes is None."""
    return read_engagement(likes=raw.get("like_count"), replies=raw.get("comments_count"))


class FacebookSource(GraphSource):
    """A Facebook Page source: posts and comments carry ``message``, ``from`` and
    ``created_time``."""

    platform: Platform = "facebook"

    def _post_of(self, item: GraphItem, created: datetime) -> Post:
        raw = item.raw
        author = raw.get("from") or {}
        by_page = str(author.get("id")) == self.node_id
        return Post(
            platform="facebook",
            post_id=str(raw["id"]),
            # The page's own answers in the comments are official content too (policy checks).
            kind="official_post" if by_page else item.kind,
            account=self.handle,
            author=author.get("name") or UNKNOWN_AUTHOR,
            text=raw.get("message", ""),
            created_at=created,
            url=raw.get("permalink_url"),
            media=_fb_media(raw),
            in_reply_to=item.in_reply_to,
            source=self.name,
            engagement=graph_engagement(raw),
        )


class FacebookPagePosts(FacebookSource):
    """The page's own posts."""

    edge, edge_name = PAGE_POSTS, "posts"

    def _items(self, since: datetime) -> Iterator[GraphItem]:
        args = {"fields": FB_COUNTED_POST_FIELDS, "since": int(since.timestamp())}
        for raw in self._pages(self.edge, self.node_id, "posts", args):
            yield GraphItem(raw, "official_post")


class FacebookVisitorPosts(FacebookSource):
    """Posts that visitors wrote on the page."""

    edge, edge_name = VISITOR_POSTS, "visitor_posts"

    def _items(self, since: datetime) -> Iterator[GraphItem]:
        args = {"fields": FB_COUNTED_POST_FIELDS, "since": int(since.timestamp())}
        for raw in self._pages(self.edge, self.node_id, "visitor_posts", args):
            yield GraphItem(raw, "mention")


class FacebookTagged(FacebookSource):
    """Posts that tag (mention) the page."""

    edge, edge_name = PAGE_TAGGED, "tagged"

    def _items(self, since: datetime) -> Iterator[GraphItem]:
        args = {"fields": FB_POST_FIELDS, "since": int(since.timestamp())}
        for raw in self._pages(self.edge, self.node_id, "tagged", args):
            yield GraphItem(raw, "mention")


class FacebookComments(FacebookSource):
    """Comments and replies on the page's posts of the last ``comment_lookback_days``.

    ``filter=stream`` lists replies with the top-level comments (each reply names its
    ``parent``), so one paged walk per post finds both.
    """

    edge, edge_name = PAGE_COMMENTS, "comments"

    def _items(self, since: datetime) -> Iterator[GraphItem]:
        window = datetime.now(UTC) - timedelta(days=self.client.settings.comment_lookback_days)
        recent = {"fields": "id", "since": int(window.timestamp())}
        for post in list(self._pages(PAGE_POSTS, self.node_id, "posts", recent)):
            args = {"fields": FB_COMMENT_FIELDS, "filter": "stream", "order": "chronological"}
            for raw in self._pages(self.edge, str(post["id"]), "comments", args):
                parent = (raw.get("parent") or {}).get("id")
                yield GraphItem(raw, "reply" if parent else "comment", parent or str(post["id"]))


class InstagramSource(GraphSource):
    """An Instagram business account source: items carry ``timestamp`` and ``username``."""

    platform: Platform = "instagram"
    time_field = "timestamp"

    def _post_of(self, item: GraphItem, created: datetime) -> Post:
        raw = item.raw
        is_media = "media_type" in raw
        author = raw.get("username") or (raw.get("from") or {}).get("username") or UNKNOWN_AUTHOR
        by_account = str(author).lower() == self.handle.lower()
        return Post(
            platform="instagram",
            post_id=str(raw["id"]),
            kind="official_post" if by_account else item.kind,
            account=self.handle,
            author=author,
            text=raw.get("caption", "") if is_media else raw.get("text", ""),
            created_at=created,
            url=raw.get("permalink"),
            media=_ig_media(raw) if is_media else (),
            in_reply_to=item.in_reply_to,
            source=self.name,
            engagement=instagram_engagement(raw),
        )


class InstagramMedia(InstagramSource):
    """The account's own media (posts, reels, carousels)."""

    edge, edge_name = IG_MEDIA, "media"

    def _items(self, since: datetime) -> Iterator[GraphItem]:
        args = {"fields": IG_MEDIA_FIELDS, "since": int(since.timestamp())}
        for raw in self._pages(self.edge, self.node_id, "media", args):
            yield GraphItem(raw, "official_post")


class InstagramMentions(InstagramSource):
    """Media in which the account is tagged."""

    edge, edge_name = IG_TAGS, "tags"

    def _items(self, since: datetime) -> Iterator[GraphItem]:
        for raw in self._pages(self.edge, self.node_id, "tags", {"fields": IG_MEDIA_FIELDS}):
            yield GraphItem(raw, "mention")


class InstagramComments(InstagramSource):
    """Comments and their replies on the account's media of the last ``comment_lookback_days``."""

    edge, edge_name = IG_COMMENTS, "comments"

    def _items(self, since: datetime) -> Iterator[GraphItem]:
        window = datetime.now(UTC) - timedelta(days=self.client.settings.comment_lookback_days)
        recent = {"fields": "id", "since": int(window.timestamp())}
        for media in list(self._pages(IG_MEDIA, self.node_id, "media", recent)):
            args = {"fields": IG_COMMENT_WITH_REPLIES}
            for raw in self._pages(self.edge, str(media["id"]), "comments", args):
                comment = {k: v for k, v in raw.items() if k != "replies"}
                yield GraphItem(comment, "comment", str(media["id"]))
                yield from self._replies(raw)

    def _replies(self, comment: Mapping[str, Any]) -> Iterator[GraphItem]:
        nested = comment.get("replies") or {}
        replies = list(nested.get("data", []))
        if nested.get("paging", {}).get("next"):
            # More replies than the nested first page: walk /{comment-id}/replies instead.
            args = {"fields": IG_COMMENT_FIELDS}
            replies = list(self._pages(self.edge, str(comment["id"]), "replies", args))
        for reply in replies:
            yield GraphItem(reply, "reply", str(comment["id"]))


class GraphEngagement(EngagementRefresh[GraphSource]):
    """``facebook:engagement`` or ``instagram:engagement``: the page's posts (or the account's
    media) of the refresh window read again for fresh counts, and the high-engagement visitor
    posts by id (``GET /?ids=``, 50 a request). Tagged Instagram media is not the account's to
    look up by id, and carries no counts to begin with on Facebook, so it is not refreshed."""

    def __init__(
        self,
        platform: Platform,
        client: GraphClient,
        own: Sequence[GraphSource],
        mention_sources: Sequence[GraphSource],
        schedule: RefreshSchedule,
        hot_mentions: HotMentions | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(
            f"{platform}:engagement", schedule, own, mention_sources, hot_mentions, clock
        )
        self.client = client

    def mentions(self, hot: Sequence[HotMention]) -> tuple[list[Post], list[DeadLetter]]:
        results: list[Post | DeadLetter | None] = []
        for ids, found_by in self.lookups(hot, MAX_LOOKUP_IDS):
            answer, _ = self.client.objects(self.name, ids, {"fields": FB_COUNTED_POST_FIELDS})
            for position, post_id in enumerate(ids):
                raw = answer.get(post_id)
                if not isinstance(raw, Mapping):
                    continue  # deleted since, or hidden from this token: nothing to refresh
                source = found_by[post_id]
                item = source._dated(GraphItem(raw, "mention"))
                results.append(source._normalise(item, position))
        return collect(iter(results))


def facebook_sources(
    settings: FacebookSettings,
    pages: list[tuple[str, str]],
    instagram_accounts: list[tuple[str, str]],
    on_api_call: ApiCallRecorder | None = None,
    refresh: RefreshSchedule | None = None,
) -> list[Connector]:
    """Every source of each Facebook Page and Instagram account, given as (handle, platform_id),
    and the engagement refresh of each platform (`refresh`: the settings' schedule; None: the
    default one)."""
    client = GraphClient(settings, on_api_call)
    schedule = refresh or RefreshSchedule()
    sources: list[Connector] = []
    page_posts: list[GraphSource] = []
    visitor_posts: list[GraphSource] = []
    hot = HotMentions()
    for handle, page_id in pages:
        posts = FacebookPagePosts(client, handle, page_id, "posts")
        visitors = FacebookVisitorPosts(client, handle, page_id, "visitor_posts")
        visitors.hot_mentions = hot
        page_posts.append(posts)
        visitor_posts.append(visitors)
        sources += [
            posts,
            FacebookComments(client, handle, page_id, "comments"),
            visitors,
            FacebookTagged(client, handle, page_id, "tagged"),
        ]
    media: list[GraphSource] = []
    for handle, ig_user_id in instagram_accounts:
        media.append(InstagramMedia(client, handle, ig_user_id, "media"))
        sources += [
            media[-1],
            InstagramComments(client, handle, ig_user_id, "comments"),
            InstagramMentions(client, handle, ig_user_id, "mentions"),
        ]
    if page_posts:
        sources.append(
            GraphEngagement("facebook", client, page_posts, visitor_posts, schedule, hot)
        )
    if media:
        sources.append(GraphEngagement("instagram", client, media, [], schedule))
    return sources
