"""LinkedIn organisation page connectors: the Community Management REST API through httpx.

The organisations are the register's active ``linkedin`` accounts; ``platform_id`` is the numeric
organisation id (``urn:li:organization:<id>``). Two sources per organisation, all sharing one
`LinkedInApi` (one httpx client, one token):

- ``linkedin:posts:<handle>``: the page's posts (``GET /rest/posts?q=author``, a Rest.li finder,
  sorted by last modification, newest first) as ``official_post``, with their counts from one
  batch call of ``GET /rest/organizationalEntityShareStatistics`` (likes, comments, reposts,
  impressions). Posts younger than ``connectors.engagement_refresh_hours`` are sent again with
  fresh counts every ``connectors.engagement_refresh_minutes``; the index keeps the latest. The
  first poll always takes the newest post, however old, so the weekly sweep learns the page's
  last-post date.
- ``linkedin:comments:<handle>``: comments on the posts of the last ``comment_lookback_days``
  (``GET /rest/socialActions/{post-urn}/comments``) as ``comment``, and the replies to them
  (the same call on the comment's URN) as ``reply``, each with ``in_reply_to``. The page's own
  comments are ``official_post`` (the policy checks read them).

Mentions of the page: LinkedIn offers them to a page admin only as Organization Social Action
Notifications (``SHARE_MENTION``, scope ``rw_organization_admin``), pushed to a registered webhook
(or pulled through ``eventSubscriptions``); that is not polled here (see the README).

Every request carries ``Authorization: Bearer``, ``LinkedIn-Version: <api_version>`` and
``X-Restli-Protocol-Version: 2.0.0``; URNs in paths and queries are URL-encoded, as Rest.li 2.0
requires. Scopes: ``r_organization_social`` (posts), ``r_organization_social_feed`` (comments; the
older name is ``r_organization_social``) and ``rw_organization_admin`` (share statistics), each for
a member who is an ADMINISTRATOR of the page. A token without the statistics scope still reads
posts, without counts. LinkedIn's limits are per day (per app and per member); a 429 waits for
``Retry-After`` or ``rate_limit_backoff_seconds``.

Checkpoints: posts keep the newest ``lastModifiedAt`` produced and the ids modified at that
millisecond (an edited post is sent again); comments keep the newest ``created.time`` and the ids
at it. Both read newest first, so a poll reads all it needs and hands it over as one page.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

import httpx

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
    Rejected,
    active_accounts,
    clean_text,
    validated_post,
)
from ingest.connectors.httpapi import (
    counted_get,
    retried,
    retry_after_seconds,
    tls_context,
)
from ingest.connectors.paged import Cursor, NewestSeen, Page, PagedSource
from socmon.config.connectors import LinkedInSettings
from socmon.config.governance import OfficialAccount
from socmon.records import Engagement, Media, Post, PostKind
from socmon.redact import Redactor
from socmon.settings import Settings

log = logging.getLogger(__name__)

API_BASE = "https://api.linkedin.com/rest/"
TOKEN_ENV = "SOCMON_CONNECTORS__LINKEDIN__ACCESS_TOKEN"
FEED_URL = "https://www.linkedin.com/feed/update/{urn}/"
STATS_BATCH = 50  # URNs per share-statistics call: keeps the URL well under server limits


@dataclass(frozen=True)
class Endpoint:
    """A REST endpoint as LinkedIn's documentation names it, with the scope it needs."""

    path: str
    scopes: str


POSTS = Endpoint("GET /rest/posts?q=author", "r_organization_social")
COMMENTS = Endpoint(
    "GET /rest/socialActions/{urn}/comments",
    "r_organization_social_feed (r_organization_social before it)",
)
SHARE_STATISTICS = Endpoint(
    "GET /rest/organizationalEntityShareStatistics", "rw_organization_admin"
)


# --- text ------------------------------------------------------------------------------------

# LinkedIn's "little text format": @[Name](urn) mentions, {hashtag|\#|tag} hashtags, and a
# backslash before each reserved character ( | { } @ [ ] ( ) < > # \ * _ ~ ).
_LITTLE = re.compile(
    r"@\[(?P<name>(?:\\.|[^\]\\])*)\]\((?P<urn>urn:li:[^)]*)\)"
    r"|\{hashtag\|\\?#\|(?P<tag>(?:\\.|[^}\\])*)\}"
    r"|\\(?P<char>.)",
    re.DOTALL,
)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def little_text(commentary: str) -> str:
    """Plain text of a post's ``commentary``: mentions as ``@Name``, hashtags as ``#tag``."""

    def plain(match: re.Match[str]) -> str:
        if match.group("char") is not None:
            return match.group("char")
        if match.group("tag") is not None:
            return "#" + _ESCAPED.sub(r"\1", match.group("tag"))
        return "@" + _ESCAPED.sub(r"\1", match.group("name"))

    return _LITTLE.sub(plain, commentary)


def from_millis(value: object) -> datetime:
    """A LinkedIn time (milliseconds since the epoch)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"not a time in milliseconds: {value!r}"
        raise ValueError(msg)
    return datetime.fromtimestamp(value / 1000, UTC)


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def permalink(urn: str, comment_urn: str | None = None) -> str:
    """The post's page on linkedin.com (a comment: the post's page, scrolled to the comment)."""
    url = FEED_URL.format(urn=urn)
    return f"{url}?commentUrn={quote(comment_urn, safe='')}" if comment_urn else url


def _list(urns: Sequence[str]) -> str:
    """A Rest.li 2.0 list of URNs for a query: ``List(urn%3Ali%3Ashare%3A1,...)``."""
    return "List(" + ",".join(quote(u, safe="") for u in urns) + ")"


# --- the client ------------------------------------------------------------------------------


class LinkedInApi:
    """The one httpx client of the LinkedIn sources: headers, time-outs, bounded retries and
    what each status means."""

    def __init__(
        self,
        settings: LinkedInSettings,
        on_api_call: ApiCallRecorder | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if settings.access_token is None:
            msg = f"LinkedIn needs a page admin's access token: set {TOKEN_ENV}"
            raise AccessDenied(msg)
        self.settings = settings
        self._redactor = Redactor([settings.access_token])
        self.client = httpx.Client(
            base_url=API_BASE,
            headers={
                "Authorization": f"Bearer {settings.access_token.get_secret_value()}",
                "LinkedIn-Version": settings.api_version,
                "X-Restli-Protocol-Version": "2.0.0",
            },
            timeout=settings.request_timeout_seconds,
            verify=tls_context(),
        )
        self._on_api_call = on_api_call
        self._sleep = sleep

    def get(self, source: str, endpoint: Endpoint, path_and_query: str, finder: bool) -> Any:
        """The JSON answer to ``GET path_and_query`` (already encoded the Rest.li way)."""
        headers = {"X-RestLi-Method": "FINDER"} if finder else {}
        response = retried(
            partial(self._send, source, path_and_query, headers),
            self.settings,
            f"LinkedIn {endpoint.path}",
            f"linkedin source={source} endpoint={endpoint.path!r}",
            self._sleep,
        )
        return self._json(endpoint, response)

    def _send(self, source: str, path: str, headers: Mapping[str, str]) -> httpx.Response:
        return counted_get(self.client, self._on_api_call, source, path, headers=dict(headers))

    def _message(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            body = None
        text = body.get("message") if isinstance(body, dict) else None
        return self._redactor.redact(str(text or response.text[:200]).strip())

    def _json(self, endpoint: Endpoint, response: httpx.Response) -> Any:
        status = response.status_code
        if status == 429:
            wait = retry_after_seconds(response.headers, self.settings.rate_limit_backoff_seconds)
            msg = (
                f"LinkedIn {endpoint.path} answered 429 ({self._message(response)}); its limits "
                f"are per day, waiting {wait:.0f}s"
            )
            raise RateLimited(msg, wait)
        if status == 401:
            msg = (
                f"LinkedIn {endpoint.path} refused the access token (401: "
                f"{self._message(response)}); tokens last 60 days: sign in again as a page "
                f"administrator and set the new token in {TOKEN_ENV}"
            )
            raise AccessDenied(msg)
        if status == 403:
            msg = (
                f"LinkedIn {endpoint.path} needs the scope {endpoint.scopes}, granted by a member "
                f"who is an ADMINISTRATOR of the page (403: {self._message(response)}); authorise "
                f"the app with it and set the new token in {TOKEN_ENV}"
            )
            raise AccessDenied(msg)
        if status >= 400:
            msg = f"LinkedIn {endpoint.path} answered {status} ({self._message(response)})"
            raise ConnectorError(msg)
        try:
            return response.json()
        except ValueError as exc:
            msg = f"LinkedIn {endpoint.path} answered {status} with something that is not JSON"
            raise SourceUnavailable(msg) from exc

    def posts_page(self, source: str, org_urn: str, start: int, count: int) -> list[Any]:
        """One page of the organisation's posts, newest modified first."""
        query = (
            f"posts?q=author&author={quote(org_urn, safe='')}&sortBy=LAST_MODIFIED"
            f"&start={start}&count={count}"
        )
        return _elements(self.get(source, POSTS, query, finder=True), POSTS)

    def comments_page(self, source: str, urn: str, start: int, count: int) -> list[Any]:
        """One page of the comments on a post or on a comment."""
        query = f"socialActions/{quote(urn, safe='')}/comments?start={start}&count={count}"
        return _elements(self.get(source, COMMENTS, query, finder=False), COMMENTS)

    def share_statistics(
        self, source: str, org_urn: str, urns: Sequence[str]
    ) -> dict[str, Engagement]:
        """The lifetime counts of the organisation's posts `urns`, by URN (one call per 50)."""
        counts: dict[str, Engagement] = {}
        for first in range(0, len(urns), STATS_BATCH):
            batch = urns[first : first + STATS_BATCH]
            shares = [u for u in batch if u.startswith("urn:li:share:")]
            ugc = [u for u in batch if u.startswith("urn:li:ugcPost:")]
            query = (
                "organizationalEntityShareStatistics?q=organizationalEntity"
                f"&organizationalEntity={quote(org_urn, safe='')}"
                + (f"&shares={_list(shares)}" if shares else "")
                + (f"&ugcPosts={_list(ugc)}" if ugc else "")
            )
            answer = self.get(source, SHARE_STATISTICS, query, finder=True)
            for element in _elements(answer, SHARE_STATISTICS):
                urn = element.get("share") or element.get("ugcPost")
                stats = element.get("totalShareStatistics")
                if isinstance(urn, str) and isinstance(stats, dict):
                    counts[urn] = Engagement(
                        likes=stats.get("likeCount"),
                        replies=stats.get("commentCount"),
                        reposts=stats.get("shareCount"),
                        views=stats.get("impressionCount"),
                    )
        return counts

    def close(self) -> None:
        self.client.close()


def _elements(answer: Any, endpoint: Endpoint) -> list[Any]:
    elements = answer.get("elements") if isinstance(answer, dict) else None
    if not isinstance(elements, list):
        msg = f"LinkedIn {endpoint.path} answered without an elements list"
        raise SourceUnavailable(msg)
    return elements


# --- checkpoint ------------------------------------------------------------------------------


@dataclass
class MillisCursor(NewestSeen[int], Cursor):
    """The newest time produced (ms since the epoch) and the ids at exactly that millisecond;
    and the ids of items dead-lettered for lack of a time, so they are dead-lettered once."""

    newest: int | None = None
    ids_at_newest: set[str] = field(default_factory=set)
    rejected: list[str] = field(default_factory=list)

    REJECTED_KEPT = 200

    @classmethod
    def parse(cls, checkpoint: str | None, source: str) -> MillisCursor:
        if not checkpoint:
            return cls()
        data = json.loads(checkpoint)
        newest = data.get("newest")
        return cls(
            int(newest) if newest is not None else None,
            set(data.get("ids", [])),
            [str(r) for r in data.get("rejected", [])],
        )

    def dump(self) -> str | None:
        if self.newest is None and not self.rejected:
            return None
        state: dict[str, Any] = {"newest": self.newest, "ids": sorted(self.ids_at_newest)}
        if self.rejected:
            state["rejected"] = self.rejected[-self.REJECTED_KEPT :]
        return json.dumps(state)

    def copy(self) -> MillisCursor:
        return MillisCursor(self.newest, set(self.ids_at_newest), list(self.rejected))

    def first_rejection(self, item_id: str) -> bool:
        """Whether an item without a usable time is dead-lettered now (not already before)."""
        if item_id and item_id in self.rejected:
            return False
        if item_id:
            self.rejected.append(item_id)
        return True


# --- sources ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkedInItem:
    """A post or comment as LinkedIn sent it, with what the source knows beyond its fields."""

    raw: Any
    kind: PostKind
    in_reply_to: str | None = None
    post_urn: str | None = None  # a comment: the post it is on
    engagement: Engagement | None = None
    problem: str = ""

    @property
    def item_id(self) -> str:
        if not isinstance(self.raw, Mapping):
            return ""
        return str(self.raw.get("commentUrn") or self.raw.get("id") or "")


def _media(content: Any) -> tuple[Media, ...]:
    if not isinstance(content, Mapping):
        return ()
    found = []
    images = (content.get("multiImage") or {}).get("images") or []
    for image in [content.get("media"), *images]:
        if isinstance(image, Mapping) and isinstance(image.get("id"), str):
            kind = "video" if ":video:" in image["id"] else "photo"
            found.append(Media(type=kind, alt_text=image.get("altText") or image.get("title")))
    return tuple(found)


class LinkedInSource(PagedSource[LinkedInItem, MillisCursor]):
    """A source of one organisation page; subclasses say what they read."""

    cursor_type = MillisCursor
    what: str
    endpoint: Endpoint

    def __init__(
        self,
        api: LinkedInApi,
        handle: str,
        organisation_id: str,
        refresh_every: timedelta = timedelta(minutes=15),
        refresh_within: timedelta = timedelta(hours=48),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.api = api
        self.handle = handle.lstrip("@")
        self.org_urn = f"urn:li:organization:{organisation_id}"
        self.name = f"linkedin:{self.what}:{self.handle}"
        self.refresh_every = refresh_every
        self.refresh_within = refresh_within
        self._now = now

    def _posts(self, floor: int, keep_first: bool = False) -> Iterator[Any]:
        """The page's posts modified at or after `floor` (ms), newest modified first; with
        `keep_first`, also down to the newest published one, however old."""
        size = self.api.settings.page_size
        for page in range(self.api.settings.max_pages):
            elements = self.api.posts_page(self.name, self.org_urn, page * size, size)
            for element in elements:
                fields = element if isinstance(element, dict) else {}
                modified = fields.get("lastModifiedAt")
                if isinstance(modified, int) and modified < floor and not keep_first:
                    return
                if fields.get("lifecycleState", "PUBLISHED") == "PUBLISHED":
                    keep_first = False
                yield element
            if len(elements) < size:
                return

    def origin(self, item: LinkedInItem, position: int) -> str:
        return f"{self.name} {self.endpoint.path} id {item.item_id or f'#{position}'}"

    def raw(self, item: LinkedInItem) -> Any:
        return item.raw

    def check(self) -> CheckResult:
        try:
            self.api.posts_page(self.name, self.org_urn, 0, 1)
        except RateLimited as exc:
            return CheckResult(self.name, True, f"token accepted, rate limited now: {exc}")
        except AccessDenied as exc:
            return CheckResult(self.name, False, str(exc), {POSTS.path: False})
        except ConnectorError as exc:
            return CheckResult(self.name, False, str(exc), {})
        detail = (
            f"access token accepted (LinkedIn-Version {self.api.settings.api_version}); "
            f"the posts of {self.org_urn} can be read"
        )
        return CheckResult(self.name, True, detail, {POSTS.path: True})

    def close(self) -> None:
        self.api.close()


class PostsSource(LinkedInSource):
    """The page's own posts, with counts; recent ones sent again with fresh counts."""

    what = "posts"
    endpoint = POSTS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refreshed_at: datetime | None = None  # in memory: a restart refreshes at once
        self._statistics_refused = False

    def pages(self, start: MillisCursor) -> Iterator[Page[LinkedInItem, MillisCursor]]:
        now = self._now()
        lookback = timedelta(hours=self.api.settings.initial_lookback_hours)
        floor = start.newest if start.newest is not None else millis(now - lookback)
        recent_from = millis(now - self.refresh_within)
        refresh = self._refreshed_at is None or now - self._refreshed_at >= self.refresh_every
        walk_floor = min(floor, recent_from) if refresh else floor
        mark = start.copy()
        chosen: list[LinkedInItem] = []
        newest_post: LinkedInItem | None = None
        for raw in self._posts(walk_floor, keep_first=start.newest is None):
            item = self._dated(raw)
            if item.problem:
                if mark.first_rejection(item.item_id):
                    chosen.append(item)
                continue
            if raw.get("lifecycleState", "PUBLISHED") != "PUBLISHED":
                continue  # drafts and posts still processing are not on the page yet
            newest_post = newest_post or item
            post_id, modified = str(raw["id"]), int(raw["lastModifiedAt"])
            is_new = modified >= floor and start.is_new(post_id, modified)
            recent = refresh and _published(raw) >= recent_from
            if is_new:
                mark.advance(post_id, modified)
            if is_new or recent:
                chosen.append(item)
        if start.newest is None and newest_post is not None and newest_post not in chosen:
            # The first poll: the newest post, however old, tells the sweep the last-post date.
            chosen.append(newest_post)
            mark.advance(str(newest_post.raw["id"]), int(newest_post.raw["lastModifiedAt"]))
        counted = self._with_counts(chosen)
        if refresh:
            self._refreshed_at = now  # only once the counts were read
        yield Page(counted, mark)

    def _dated(self, raw: Any) -> LinkedInItem:
        item = LinkedInItem(raw, "official_post")
        if not isinstance(raw, dict):
            return replace(item, problem="post is not an object")
        missing = [f for f in ("id", "lastModifiedAt") if raw.get(f) is None]
        if missing:
            return replace(item, problem=f"post misses field(s): {', '.join(missing)}")
        if not isinstance(raw["lastModifiedAt"], int):
            return replace(item, problem=f"lastModifiedAt {raw['lastModifiedAt']!r} is not ms")
        return item

    def _with_counts(self, items: list[LinkedInItem]) -> list[LinkedInItem]:
        urns = [str(i.raw["id"]) for i in items if not i.problem]
        if not urns or self._statistics_refused:
            return items
        try:
            counts = self.api.share_statistics(self.name, self.org_urn, urns)
        except AccessDenied as exc:
            # Posts matter more than their counts: go on without them, and say why once.
            self._statistics_refused = True
            log.warning("source=%s posts are read without counts: %s", self.name, exc)
            return items
        return [replace(i, engagement=counts.get(str(i.raw.get("id")))) for i in items]

    def to_post(self, item: LinkedInItem) -> Post:
        if item.problem:
            raise Rejected(item.problem)
        raw = item.raw
        urn = str(raw["id"])
        values = {
            "platform": "linkedin",
            "post_id": urn,
            "kind": "official_post",
            "account": self.handle,
            "author": self.handle,
            "text": clean_text(little_text(str(raw.get("commentary") or ""))),
            "created_at": from_millis(_published(raw)),
            "url": permalink(urn),
            "media": _media(raw.get("content")),
            "source": self.name,
            "engagement": item.engagement,
        }
        return validated_post(values, f"post {urn}")


def _published(raw: Mapping[str, Any]) -> int:
    """When a post went public (ms): ``publishedAt``, else ``createdAt``, else last modified."""
    for name in ("publishedAt", "createdAt", "lastModifiedAt"):
        value = raw.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 0


class CommentsSource(LinkedInSource):
    """Comments (and replies to them) on the page's posts of the last ``comment_lookback_days``."""

    what = "comments"
    endpoint = COMMENTS

    def pages(self, start: MillisCursor) -> Iterator[Page[LinkedInItem, MillisCursor]]:
        now = self._now()
        settings = self.api.settings
        window = millis(now - timedelta(days=settings.comment_lookback_days))
        lookback = millis(now - timedelta(hours=settings.initial_lookback_hours))
        floor = start.newest if start.newest is not None else lookback
        mark = start.copy()
        new: list[LinkedInItem] = []
        posts = [p for p in self._posts(window) if isinstance(p, dict) and p.get("id")]
        for post in posts:
            if _published(post) < window:
                continue
            post_urn = str(post["id"])
            for item in self._comments(post_urn, post_urn, "comment"):
                if item.problem:
                    if mark.first_rejection(item.item_id):
                        new.append(item)
                    continue
                created = int(item.raw["created"]["time"])
                if created >= floor and start.is_new(item.item_id, created):
                    mark.advance(item.item_id, created)
                    new.append(item)
        yield Page(new, mark)

    def _comments(self, urn: str, post_urn: str, kind: PostKind) -> Iterator[LinkedInItem]:
        """The comments on `urn` (a post or a comment), each followed by its replies."""
        size = self.api.settings.page_size
        for page in range(self.api.settings.max_pages):
            elements = self.api.comments_page(self.name, urn, page * size, size)
            for raw in elements:
                item = self._checked(LinkedInItem(raw, kind, urn, post_urn))
                yield item
                summary = raw.get("commentsSummary") if isinstance(raw, dict) else None
                replies = summary.get("totalFirstLevelComments", 0) if summary else 0
                if kind == "comment" and not item.problem and replies:
                    yield from self._comments(item.item_id, post_urn, "reply")
            if len(elements) < size:
                return

    def _checked(self, item: LinkedInItem) -> LinkedInItem:
        raw = item.raw
        if not isinstance(raw, dict):
            return replace(item, problem="comment is not an object")
        if not raw.get("commentUrn") and raw.get("id") and raw.get("object"):
            # Older versions leave commentUrn out; it is built from the activity and the id.
            raw = {**raw, "commentUrn": f"urn:li:comment:({raw['object']},{raw['id']})"}
            item = replace(item, raw=raw)
        created = (raw.get("created") or {}).get("time")
        missing = [
            name
            for name, value in (("commentUrn", raw.get("commentUrn")), ("created.time", created))
            if value is None
        ]
        if missing:
            return replace(item, problem=f"comment misses field(s): {', '.join(missing)}")
        if not isinstance(created, int) or isinstance(created, bool):
            return replace(item, problem=f"created.time {created!r} is not ms")
        return item

    def to_post(self, item: LinkedInItem) -> Post:
        if item.problem:
            raise Rejected(item.problem)
        raw = item.raw
        comment_urn = item.item_id
        actor = str(raw.get("actor") or raw.get("created", {}).get("actor") or "")
        by_page = actor == self.org_urn
        likes = (raw.get("likesSummary") or {}).get("totalLikes")
        replies = (raw.get("commentsSummary") or {}).get("aggregatedTotalComments")
        values = {
            "platform": "linkedin",
            "post_id": comment_urn,
            "kind": "official_post" if by_page else item.kind,
            "account": self.handle,
            # LinkedIn gives the commenter's URN only; names need a lookup members must allow.
            "author": self.handle if by_page else actor,
            "text": clean_text(str((raw.get("message") or {}).get("text") or "")),
            "created_at": from_millis(raw["created"]["time"]),
            "url": permalink(item.post_urn or "", comment_urn),
            "in_reply_to": item.in_reply_to,
            "source": self.name,
            "engagement": Engagement(likes=likes, replies=replies),
        }
        return validated_post(values, f"comment {comment_urn}")


# --- registry entry point --------------------------------------------------------------------


def build_sources(
    api: LinkedInApi,
    accounts: Sequence[OfficialAccount],
    refresh_every: timedelta = timedelta(minutes=15),
    refresh_within: timedelta = timedelta(hours=48),
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Connector]:
    """The posts and comments sources of each organisation (accounts with a platform_id)."""
    sources: list[Connector] = []
    for account in accounts:
        if not account.platform_id:
            continue
        for kind in (PostsSource, CommentsSource):
            sources.append(
                kind(api, account.handle, account.platform_id, refresh_every, refresh_within, now)
            )
    return sources


def from_settings(
    settings: Settings, on_api_call: ApiCallRecorder | None = None
) -> list[Connector]:
    """The LinkedIn sources the settings ask for; [] when disabled or not configured."""
    conf = settings.connectors.linkedin
    if not conf.enabled:
        return []
    if conf.access_token is None:
        log.warning("linkedin enabled but %s is not set; no LinkedIn source will run", TOKEN_ENV)
        return []
    accounts = active_accounts(settings.accounts, "linkedin")
    for account in accounts:
        if not account.platform_id:
            log.warning(
                "linkedin: account %r has no platform_id in the register; add the organisation "
                "id (the number in the page admin's URL linkedin.com/company/<id>/admin). Not "
                "polled until then",
                account.handle,
            )
    if not any(a.platform_id for a in accounts):
        log.warning(
            "linkedin enabled, but no active linkedin account with a platform_id in the "
            "register; nothing to poll"
        )
        return []
    refresh_every = timedelta(minutes=settings.connectors.engagement_refresh_minutes)
    refresh_within = timedelta(hours=settings.connectors.engagement_refresh_hours)
    api = LinkedInApi(conf, on_api_call)
    return build_sources(api, accounts, refresh_every, refresh_within)
