"""YouTube connectors (YouTube Data API v3 through google-api-python-client), two per channel of
the register (its ``platform_id`` is the channel id, ``UC…``), all sharing one `YouTubeApi`:

- ``youtube:uploads:<handle>``: the channel's uploads playlist (``channels.list`` once for its id,
  then ``playlistItems.list``) and ``videos.list`` for the videos' snippet and statistics, as
  ``official_post`` Posts with `Engagement` (likes, comments as replies, views). Uploads younger
  than ``connectors.engagement_refresh_hours`` are sent again on every poll with fresh counts (the
  index keeps the latest); the weekly activity sweep finds each channel's last upload in the index.
  With no checkpoint the newest upload is always taken, however old, so the sweep knows it.
- ``youtube:comments:<handle>``: ``commentThreads.list`` with ``allThreadsRelatedToChannelId``
  (every video of the channel in one listing), newest thread first, down to the threads started
  ``comment_lookback_days`` ago. A top-level comment is a ``comment`` (``in_reply_to``: the video
  id), an answer in its thread a ``reply`` (``in_reply_to``: the top-level comment id). A thread
  whose ``replies`` part does not hold all its replies is completed with ``comments.list``.

Comments by the channel itself (its owner answering in the comments) stay ``comment``/``reply``
with the register's handle as author: they are the channel speaking, so the look-alike check
must not flag them, but they are not uploads, and counting them as ``official_post`` would let a
channel that answers comments but never uploads pass the weekly activity sweep.

Checkpoint (each source): the newest ``publishedAt`` produced and the ids produced at that second
(YouTube's times have one-second resolution); for comments also the reply count of each busy
thread, so its replies are read again only when the count changed. A first poll of the comments
takes those of the last ``initial_lookback_hours`` only, so a new deployment does not flood the
team. An item without a readable ``publishedAt`` cannot be placed against the checkpoint: it is
dead-lettered on each poll that lists it (YouTube always sends one; none was seen missing).

Quota: the API key has a daily quota (10,000 units by default, reset at midnight Pacific time).
Every call used here costs 1 unit; ``search.list`` would cost 100 and is not used. `QuotaLedger`
counts what this process spends against ``daily_quota_units`` and stops calling once it is spent
(or once YouTube answers ``quotaExceeded``) until the reset. A short-term ``rateLimitExceeded``
waits ``rate_limit_backoff_seconds`` only: waiting until midnight for it would leave the team
blind to comments for up to a day. Each source polls on its own slower
schedule (comments every ``comment_poll_minutes``, uploads every
``connectors.engagement_refresh_minutes``). `estimated_daily_units` says what that costs.

Nothing is fetched at run time but the API itself: the client is built from the discovery
document bundled in google-api-python-client (``static_discovery=True``, no discovery cache).
"""

from __future__ import annotations

import json
import logging
import math
import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from datetime import time as clock_time
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import httplib2
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from tenacity import retry_if_exception

from ingest.connector import (
    AccessDenied,
    CheckResult,
    Connector,
    ConnectorError,
    Fetched,
    RateLimited,
    SourceUnavailable,
)
from ingest.connectors.common import (
    ApiCallRecorder,
    Rejected,
    active_accounts,
    api_retrying,
    clean_text,
    retry_policy,
    validated_post,
)
from ingest.connectors.paged import Cursor, NewestSeen, Page, PagedSource
from socmon.config.connectors import YouTubeSettings
from socmon.config.governance import OfficialAccount
from socmon.records import Engagement, Media, Post, PostKind, utcnow
from socmon.redact import Redactor
from socmon.settings import Settings

log = logging.getLogger(__name__)

KEY_ENV = "SOCMON_CONNECTORS__YOUTUBE__API_KEY"
PACIFIC = ZoneInfo("America/Los_Angeles")  # the daily quota resets at midnight Pacific time
WATCH_URL = "https://www.youtube.com/watch?v={video_id}"
MAX_IDS = 50  # playlistItems.list and videos.list take at most 50 per page or per call


@dataclass(frozen=True)
class Endpoint:
    """A Data API method as the documentation names it, with its quota cost in units."""

    name: str
    cost: int = 1


CHANNELS = Endpoint("channels.list")
PLAYLIST_ITEMS = Endpoint("playlistItems.list")
VIDEOS = Endpoint("videos.list")
COMMENT_THREADS = Endpoint("commentThreads.list")
COMMENTS = Endpoint("comments.list")
# search.list costs 100 units (a hundred times the calls above) and is deliberately not used.

# Error reasons (``error.errors[].reason``, or ``error.details[].reason`` of newer answers).
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
SHORT_LIMIT_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"}
)
KEY_REASONS = frozenset(
    {
        "keyInvalid",
        "keyExpired",
        "API_KEY_INVALID",
        "API_KEY_EXPIRED",
        "forbidden",
        "accessNotConfigured",
        "SERVICE_DISABLED",
        "ipRefererBlocked",
        "API_KEY_SERVICE_BLOCKED",
        "API_KEY_IP_ADDRESS_BLOCKED",
        "API_KEY_HTTP_REFERRER_BLOCKED",
    }
)
# What a network failure looks like under httplib2: a socket time-out, a refused connection, a
# name that does not resolve.
NETWORK_ERRORS = (OSError, httplib2.HttpLib2Error)


def parse_time(value: object) -> datetime | None:
    """A Data API time (``2026-11-30T10:15:02Z``, older answers with ``.000Z``), or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _count(value: object) -> int | None:
    """A statistics count: the API sends them as decimal strings (comments' ``likeCount`` as a
    number); absent (hidden by the channel) or unreadable is None, so a bad count never costs
    the post."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        count = int(value)
    except ValueError:
        return None
    return count if 0 <= count <= 10**12 else None


# --- quota -----------------------------------------------------------------------------------


def seconds_until_quota_reset(now: datetime) -> float:
    """Seconds from `now` to the next midnight Pacific time, when YouTube resets the quota."""
    local = now.astimezone(PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), clock_time(0), tzinfo=PACIFIC)
    return max(1.0, (midnight - now).total_seconds())


def estimated_daily_units(
    channels: int, comment_poll_minutes: float, upload_poll_minutes: float
) -> int:
    """Quota units a day the sources of `channels` channels cost at least: a comments poll reads
    one page (1 unit), an uploads poll a playlist page and a videos batch (2 units), and each
    channel's uploads playlist is looked up once. Busy channels cost more (more pages, threads
    with many replies)."""
    comment_polls = math.ceil(24 * 60 / comment_poll_minutes)
    upload_polls = math.ceil(24 * 60 / upload_poll_minutes)
    return channels * (comment_polls + 2 * upload_polls + 1)


@dataclass
class QuotaLedger:
    """The quota units this process spent on the current Pacific day, against a daily budget."""

    daily_units: int
    now: Callable[[], datetime] = utcnow
    spent: int = 0
    day: str = ""

    def _roll(self, now: datetime) -> None:
        today = now.astimezone(PACIFIC).date().isoformat()
        if today != self.day:
            self.day, self.spent = today, 0

    def wait_seconds(self, cost: int) -> float:
        """0 when a call of `cost` units fits in today's budget, else the seconds to the reset."""
        now = self.now()
        self._roll(now)
        return 0.0 if self.spent + cost <= self.daily_units else seconds_until_quota_reset(now)

    def spend(self, cost: int) -> None:
        self._roll(self.now())
        self.spent += cost

    def exhaust(self) -> None:
        """YouTube said the quota is spent (another user of the key, or a restart lost count)."""
        self._roll(self.now())
        self.spent = max(self.spent, self.daily_units)


# --- the client ------------------------------------------------------------------------------


def error_reasons(exc: HttpError) -> frozenset[str]:
    """The machine-readable reasons of an error answer (both of Google's error formats)."""
    try:
        body = json.loads(exc.content.decode("utf-8"))
        error = body["error"]
    except (ValueError, KeyError, TypeError):
        return frozenset()
    if not isinstance(error, dict):
        return frozenset()
    reasons = {
        entry["reason"]
        for key in ("errors", "details")
        for entry in error.get(key) or ()
        if isinstance(entry, dict) and isinstance(entry.get("reason"), str)
    }
    if isinstance(error.get("status"), str):
        reasons.add(error["status"])
    return frozenset(reasons)


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, HttpError):
        return exc.status_code >= 500
    return isinstance(exc, NETWORK_ERRORS)


class YouTubeApi:
    """The one Data API client of the YouTube sources: quota, retries, errors, and the channels'
    uploads playlists."""

    def __init__(
        self,
        settings: YouTubeSettings,
        on_api_call: ApiCallRecorder | None = None,
        http: Any = None,
        now: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if settings.api_key is None:
            msg = f"YouTube needs a Data API key: set {KEY_ENV}"
            raise AccessDenied(msg)
        self.settings = settings
        self.now = now
        self.quota = QuotaLedger(settings.daily_quota_units, now)
        self._on_api_call = on_api_call
        self._sleep = sleep
        # The key travels in every request's query, and HttpError's text quotes the request URI:
        # nothing from an error is logged or raised without this redactor.
        self._redactor = Redactor([settings.api_key])
        # static_discovery: the YouTube v3 discovery document bundled in the package is used, no
        # request is made to fetch it; cache_discovery=False: no cache file is written or read.
        self.service = build(
            "youtube",
            "v3",
            developerKey=settings.api_key.get_secret_value(),
            http=http
            if http is not None
            else httplib2.Http(timeout=settings.request_timeout_seconds),
            static_discovery=True,
            cache_discovery=False,
        )
        self._uploads: dict[str, str] = {}

    def call(self, source: str, endpoint: Endpoint, request: Callable[[], Any]) -> dict[str, Any]:
        """One API call (`request` builds it) with quota accounting and bounded retries of 5xx
        and network failures; errors mapped to `ConnectorError`s."""
        wait = self.quota.wait_seconds(endpoint.cost)
        if wait > 0:
            msg = (
                f"YouTube quota of {self.quota.daily_units} units for today is spent; "
                f"{endpoint.name} not called until midnight Pacific time, in {wait:.0f}s"
            )
            raise RateLimited(msg, wait)
        retrying = api_retrying(
            retry_policy(self.settings),
            retry_if_exception(_transient),
            f"source={source} endpoint={endpoint.name}",
            describe=self._describe,
            sleep=self._sleep,
        )

        def counted() -> dict[str, Any]:
            self.quota.spend(endpoint.cost)  # a failed call costs its units too
            try:
                answer = request().execute(num_retries=0)  # retries are ours, bounded and logged
            except HttpError as exc:
                self._record(source, str(exc.status_code))
                raise
            except NETWORK_ERRORS:
                self._record(source, "timeout")
                raise
            self._record(source, "200")
            return answer if isinstance(answer, dict) else {}

        try:
            return retrying(counted)
        except HttpError as exc:
            raise self._connector_error(endpoint, exc) from exc
        except NETWORK_ERRORS as exc:
            msg = (
                f"YouTube {endpoint.name} did not answer after {self.settings.max_retries + 1} "
                f"attempts ({type(exc).__name__}); trying again next poll"
            )
            raise SourceUnavailable(msg) from exc

    def uploads_playlist(self, source: str, channel_id: str) -> str:
        """The id of the channel's uploads playlist (``channels.list``, once per channel)."""
        if channel_id not in self._uploads:
            answer = self.call(
                source,
                CHANNELS,
                partial(self.service.channels().list, part="contentDetails", id=channel_id),
            )
            items = answer.get("items") or []
            if not items:
                msg = (
                    f"YouTube has no channel with the id {channel_id!r}; put the channel id "
                    "(UC…, on the channel's About page under Share channel → Copy channel ID) "
                    "as the account's platform_id in the register"
                )
                raise ConnectorError(msg)
            try:
                playlist = items[0]["contentDetails"]["relatedPlaylists"]["uploads"]
            except (KeyError, TypeError, IndexError) as exc:
                msg = f"YouTube channels.list gave no uploads playlist for channel {channel_id}"
                raise SourceUnavailable(msg) from exc
            self._uploads[channel_id] = str(playlist)
        return self._uploads[channel_id]

    def close(self) -> None:
        self.service.close()

    def _record(self, source: str, status: str) -> None:
        if self._on_api_call is not None:
            self._on_api_call(source, status)

    def _describe(self, exc: BaseException | None) -> str:
        if isinstance(exc, HttpError):
            return self._redactor.redact(f"HTTP {exc.status_code}: {exc.reason}")
        return type(exc).__name__ if exc is not None else ""

    def _connector_error(self, endpoint: Endpoint, exc: HttpError) -> ConnectorError:
        status = exc.status_code
        reasons = error_reasons(exc)
        named = ", ".join(sorted(reasons)) or "no reason given"
        detail = self._redactor.redact(f"{status} {named}: {exc.reason}")
        what = f"YouTube {endpoint.name}"
        if reasons & QUOTA_REASONS:
            self.quota.exhaust()
            wait = seconds_until_quota_reset(self.now())
            msg = (
                f"{what}: the API key's daily quota is spent ({detail}); waiting {wait:.0f}s "
                "until it resets at midnight Pacific time"
            )
            return RateLimited(msg, wait)
        if status == 429 or reasons & SHORT_LIMIT_REASONS:
            wait = self.settings.rate_limit_backoff_seconds
            return RateLimited(f"{what}: rate limited ({detail}); waiting {wait:.0f}s", wait)
        if status == 401 or reasons & KEY_REASONS:
            msg = (
                f"{what} refused the API key ({detail}); create a key with the YouTube Data API "
                f"v3 enabled in the Google Cloud console and set it in {KEY_ENV}"
            )
            return AccessDenied(msg)
        if status >= 500:
            msg = (
                f"{what} kept failing ({detail}) after {self.settings.max_retries + 1} attempts; "
                "trying again next poll"
            )
            return SourceUnavailable(msg)
        if status == 404:
            msg = f"{what}: not found ({detail}); check the channel id in the register"
            return ConnectorError(msg)
        return ConnectorError(f"{what} failed ({detail})")


# --- checkpoint ------------------------------------------------------------------------------


@dataclass
class PublishedCursor(NewestSeen[datetime], Cursor):
    """The newest ``publishedAt`` produced, and the ids produced at exactly that second.

    `reply_counts` (comments only): the ``totalReplyCount`` of each thread in the window whose
    replies had to be read with ``comments.list``, so a thread is read again only when its count
    changed: a quota unit per poll per busy thread saved.
    """

    newest: datetime | None = None
    ids_at_newest: set[str] = field(default_factory=set)
    reply_counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, checkpoint: str | None, source: str) -> PublishedCursor:
        if not checkpoint:
            return cls()
        data = json.loads(checkpoint)
        newest = datetime.fromisoformat(data["newest"]) if data.get("newest") else None
        return cls(newest, set(data.get("ids", [])), dict(data.get("replies", {})))

    def dump(self) -> str | None:
        if self.newest is None and not self.reply_counts:
            return None
        data: dict[str, Any] = {
            "newest": self.newest.isoformat() if self.newest else None,
            "ids": sorted(self.ids_at_newest),
        }
        if self.reply_counts:
            data["replies"] = dict(sorted(self.reply_counts.items()))
        return json.dumps(data)

    def copy(self) -> PublishedCursor:
        return PublishedCursor(self.newest, set(self.ids_at_newest), dict(self.reply_counts))


@dataclass(frozen=True)
class Item:
    """A video or a comment as the API sent it, and what its listing says about it.

    `published` is None when its id or time cannot be read; `problem` then says why, and the
    item becomes a dead letter. `refresh` marks an upload produced before, sent again for its
    counts.
    """

    raw: Any
    kind: PostKind
    item_id: str = ""
    published: datetime | None = None
    problem: str = ""
    video_id: str | None = None
    in_reply_to: str | None = None
    reply_count: int | None = None
    refresh: bool = False


def _item(raw: Any, kind: PostKind, what: str, **context: Any) -> Item:
    """`raw` with its id and ``snippet.publishedAt`` read, or the problem that stops that."""
    if not isinstance(raw, dict):
        return Item(raw, kind, problem=f"{what} is not an object")
    item_id = raw.get("id")
    snippet = raw.get("snippet")
    published = parse_time(snippet.get("publishedAt")) if isinstance(snippet, dict) else None
    if not isinstance(item_id, str) or not item_id:
        return Item(raw, kind, problem=f"{what} has no id")
    if published is None:
        stamp = snippet.get("publishedAt") if isinstance(snippet, dict) else None
        reason = f"{what} {item_id} has no valid snippet.publishedAt (got {stamp!r})"
        return Item(raw, kind, item_id, problem=reason)
    return Item(raw, kind, item_id, published, **context)


# --- sources ---------------------------------------------------------------------------------


class YouTubeSource(PagedSource[Item, PublishedCursor]):
    """A source of one channel, polled at most every `interval` seconds (the quota).

    Every listing pages from the newest item backwards, so a poll hands its new items over as
    one `Page`: one cut short by the quota fails as a whole and the checkpoint stays where it was.
    """

    cursor_type = PublishedCursor
    kind_name: str
    endpoint: Endpoint

    def __init__(
        self,
        api: YouTubeApi,
        handle: str,
        channel_id: str,
        interval: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.handle = handle.lstrip("@")
        self.channel_id = channel_id
        self.name = f"youtube:{self.kind_name}:{self.handle}"
        self.interval = interval
        self._clock = clock
        self._polled_at: float | None = None

    def poll(self, checkpoint: str | None) -> Fetched:
        started = self._clock()
        if self._polled_at is not None and started - self._polled_at < self.interval:
            return Fetched(checkpoint=checkpoint)  # not due: no call, no quota spent
        try:
            fetched = super().poll(checkpoint)
        except ConnectorError:
            self._polled_at = started  # a failing poll waits its turn too (it may cost quota)
            raise
        if fetched.exhausted:
            self._polled_at = started
        return fetched

    def origin(self, item: Item, position: int) -> str:
        return f"{self.name} {self.endpoint.name} id {item.item_id or f'#{position}'}"

    def raw(self, item: Item) -> Any:
        return item.raw

    def to_post(self, item: Item) -> Post | None:
        if item.published is None:
            raise Rejected(item.problem)
        try:
            return self.post_of(item, item.published)
        except Rejected:
            if item.refresh:
                # Already produced (or dead-lettered) when it was new; not again on every poll.
                log.debug("source=%s skips refreshing item %s", self.name, item.item_id)
                return None
            raise

    @abstractmethod
    def post_of(self, item: Item, published: datetime) -> Post:
        """An item with an id and a time to a `Post`; raises `Rejected` when it cannot be."""

    def check(self) -> CheckResult:
        try:
            self.api.uploads_playlist(self.name, self.channel_id)
        except RateLimited as exc:
            return CheckResult(self.name, True, f"not checked, the quota is spent: {exc}", {})
        except AccessDenied as exc:
            return CheckResult(self.name, False, str(exc), {CHANNELS.name: False})
        except SourceUnavailable as exc:
            return CheckResult(self.name, False, str(exc), {})
        except ConnectorError as exc:  # the key works; the channel id does not
            return CheckResult(self.name, False, str(exc), {CHANNELS.name: True})
        detail = f"API key accepted; channel {self.channel_id} found"
        return CheckResult(self.name, True, detail, {CHANNELS.name: True})

    def close(self) -> None:
        self.api.close()

    def _listing(
        self, endpoint: Endpoint, method: Callable[..., Any], params: Mapping[str, Any], pages: int
    ) -> Iterator[dict[str, Any]]:
        """The answers of a paged list call, following ``nextPageToken`` for at most `pages`."""
        token: str | None = None
        for _ in range(pages):
            args = {**params, **({"pageToken": token} if token else {})}
            answer = self.api.call(self.name, endpoint, partial(method, **args))
            yield answer
            token = answer.get("nextPageToken")
            if not token or not answer.get("items"):
                return


class UploadsSource(YouTubeSource):
    """The channel's uploads as official posts with their counts; recent ones sent again."""

    kind_name = "uploads"
    endpoint = VIDEOS

    def __init__(self, *args: Any, refresh_hours: float = 48.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refresh_hours = refresh_hours

    def pages(self, start: PublishedCursor) -> Iterator[Page[Item, PublishedCursor]]:
        now = self.api.now()
        refresh_from = now - timedelta(hours=self.refresh_hours)
        first_from = now - timedelta(hours=self.api.settings.initial_lookback_hours)

        def wanted(video_id: str, published: datetime) -> bool:
            if published >= refresh_from:
                return True  # recent: sent (again) with fresh counts
            if start.newest is None:
                return published >= first_from
            return start.is_new(video_id, published)

        listed = self._listed(wanted, newest_anyway=start.newest is None)
        mark = start.copy()
        items: list[Item] = []
        for video in self._videos(listed):
            item = _item(video, "official_post", "video")
            published = item.published
            if published is not None:
                if not start.is_new(item.item_id, published):
                    item = replace(item, refresh=True)
                mark.advance(item.item_id, published)
            items.append(item)
        yield Page(items, mark, last=True)

    def _listed(self, wanted: Callable[[str, datetime], bool], newest_anyway: bool) -> list[str]:
        """Ids of the uploads `wanted`, newest first, and the newest upload when `newest_anyway`.

        The uploads playlist lists the newest first, so the walk ends at the first upload not
        wanted. Private and deleted videos have no ``videoPublishedAt`` there: skipped.
        """
        playlist = self.api.uploads_playlist(self.name, self.channel_id)
        ids: list[str] = []
        newest: str | None = None
        params = {
            "part": "contentDetails",
            "playlistId": playlist,
            "maxResults": min(MAX_IDS, self.api.settings.page_size),
        }
        method = self.api.service.playlistItems().list
        for answer in self._listing(PLAYLIST_ITEMS, method, params, pages=10):
            for entry in answer.get("items") or ():
                details = entry.get("contentDetails") if isinstance(entry, dict) else None
                video_id = details.get("videoId") if isinstance(details, dict) else None
                published = parse_time(details.get("videoPublishedAt")) if details else None
                if not isinstance(video_id, str) or published is None:
                    continue
                newest = newest or video_id
                if not wanted(video_id, published):
                    break
                ids.append(video_id)
            else:
                continue  # every upload of the page was wanted: the next page may have more
            break
        if newest_anyway and newest and newest not in ids:
            ids.insert(0, newest)
        return ids

    def _videos(self, ids: Sequence[str]) -> Iterator[Any]:
        """``videos.list`` for `ids`, 50 at a time; a video it does not return (private since,
        deleted) is left out."""
        for offset in range(0, len(ids), MAX_IDS):
            batch = list(ids[offset : offset + MAX_IDS])
            answer = self.api.call(
                self.name,
                VIDEOS,
                partial(
                    self.api.service.videos().list, part="snippet,statistics", id=",".join(batch)
                ),
            )
            yield from answer.get("items") or ()

    def post_of(self, item: Item, published: datetime) -> Post:
        video = item.raw
        snippet = video["snippet"]
        title = snippet.get("title")
        if not isinstance(title, str):
            msg = f"video {item.item_id} has no snippet.title"
            raise Rejected(msg)
        description = snippet.get("description") or ""
        stats = video.get("statistics") if isinstance(video.get("statistics"), dict) else {}
        url = WATCH_URL.format(video_id=item.item_id)
        values: dict[str, Any] = {
            "platform": "youtube",
            "post_id": item.item_id,
            "kind": "official_post",
            "account": self.handle,
            "author": self.handle,
            "text": clean_text(f"{title}\n\n{description}".strip()),
            "created_at": published,
            "url": url,
            "media": (Media(type="video", url=url),),
            "lang": snippet.get("defaultLanguage") or snippet.get("defaultAudioLanguage"),
            "source": self.name,
            "engagement": Engagement(
                likes=_count(stats.get("likeCount")),
                replies=_count(stats.get("commentCount")),
                views=_count(stats.get("viewCount")),
                read_at=self.api.now(),
            ),
        }
        return validated_post(values, f"video {item.item_id}")


class CommentsSource(YouTubeSource):
    """Comments and replies on every video of the channel, from ``commentThreads.list``."""

    kind_name = "comments"
    endpoint = COMMENT_THREADS

    def pages(self, start: PublishedCursor) -> Iterator[Page[Item, PublishedCursor]]:
        now = self.api.now()
        settings = self.api.settings
        window = now - timedelta(days=settings.comment_lookback_days)
        first = now - timedelta(hours=settings.initial_lookback_hours)
        mark = start.copy()
        # Only the threads of this walk are remembered: those that left the window are dropped.
        mark.reply_counts = {}
        seen: set[str] = set()
        items: list[Item] = []
        for item in self._items(window, start.reply_counts, mark.reply_counts):
            if item.published is not None:
                if item.item_id in seen or not start.is_new(item.item_id, item.published):
                    continue
                if start.newest is None and item.published < first:
                    continue
                seen.add(item.item_id)
                mark.advance(item.item_id, item.published)
            items.append(item)
        yield Page(items, mark, last=True)

    def _items(
        self, window: datetime, known: Mapping[str, int], counts: dict[str, int]
    ) -> Iterator[Item]:
        """Every comment of the threads started since `window`, newest thread first (`known`
        and `counts`: the reply counts of busy threads at the last poll and now)."""
        settings = self.api.settings
        params = {
            "part": "snippet,replies",
            "allThreadsRelatedToChannelId": self.channel_id,
            "order": "time",
            "textFormat": "plainText",
            "maxResults": settings.page_size,
        }
        method = self.api.service.commentThreads().list
        more = False
        for answer in self._listing(COMMENT_THREADS, method, params, settings.max_comment_pages):
            more = bool(answer.get("nextPageToken"))
            reached_window = False
            for thread in answer.get("items") or ():
                items = list(self._thread(thread, known, counts))
                yield from items
                top = items[0]
                if top.kind == "comment" and top.published is not None and top.published < window:
                    reached_window = True
            # Threads are listed by when they were started, newest first.
            if reached_window:
                return
        if more:
            log.warning(
                "source=%s read max_comment_pages=%d pages of comment threads without reaching "
                "the comment_lookback_days window; replies in older threads are not read this poll",
                self.name,
                settings.max_comment_pages,
            )

    def _thread(
        self, thread: Any, known: Mapping[str, int], counts: dict[str, int]
    ) -> Iterator[Item]:
        """A thread's top-level comment, then its replies: those of its ``replies`` part, or when
        that holds only some, all of them from ``comments.list`` (unless the thread's reply count
        is still what it was at the last poll: then none is new)."""
        snippet = thread.get("snippet") if isinstance(thread, dict) else None
        top = snippet.get("topLevelComment") if isinstance(snippet, dict) else None
        if not isinstance(snippet, dict) or not isinstance(top, dict):
            thread_id = thread.get("id", "") if isinstance(thread, dict) else ""
            yield Item(thread, "comment", str(thread_id), problem="thread has no topLevelComment")
            return
        video_id = snippet.get("videoId") or (top.get("snippet") or {}).get("videoId")
        reply_count = _count(snippet.get("totalReplyCount"))
        yield _item(
            top,
            "comment",
            "comment",
            video_id=video_id,
            in_reply_to=video_id,
            reply_count=reply_count,
        )
        nested = thread.get("replies")
        replies = list(nested.get("comments") or ()) if isinstance(nested, dict) else []
        top_id = top.get("id")
        if reply_count and reply_count > len(replies) and isinstance(top_id, str):
            counts[top_id] = reply_count
            replies = [] if known.get(top_id) == reply_count else self._all_replies(top_id)
        for reply in replies:
            about = reply.get("snippet") if isinstance(reply, dict) else None
            parent = about.get("parentId") if isinstance(about, dict) else None
            yield _item(reply, "reply", "reply", video_id=video_id, in_reply_to=parent or top_id)

    def _all_replies(self, parent_id: str) -> list[Any]:
        params = {
            "part": "snippet",
            "parentId": parent_id,
            "textFormat": "plainText",
            "maxResults": 100,
        }
        method = self.api.service.comments().list
        return [
            reply
            for answer in self._listing(COMMENTS, method, params, pages=10)
            for reply in answer.get("items") or ()
        ]

    def post_of(self, item: Item, published: datetime) -> Post:
        snippet = item.raw["snippet"]
        text = snippet.get("textDisplay")
        if not isinstance(text, str):
            msg = f"{item.kind} {item.item_id} has no snippet.textDisplay"
            raise Rejected(msg)
        author_channel = (snippet.get("authorChannelId") or {}).get("value")
        if author_channel == self.channel_id:
            author = self.handle  # the channel answering: the register's name for it
        else:
            author = str(snippet.get("authorDisplayName") or "").lstrip("@")
        if not author:
            msg = f"{item.kind} {item.item_id} has no authorDisplayName"
            raise Rejected(msg)
        url = (
            f"{WATCH_URL.format(video_id=item.video_id)}&lc={item.item_id}"
            if item.video_id
            else None
        )
        values: dict[str, Any] = {
            "platform": "youtube",
            "post_id": item.item_id,
            "kind": item.kind,
            "account": self.handle,
            "author": author,
            "text": clean_text(text),
            "created_at": published,
            "url": url,
            "in_reply_to": item.in_reply_to,
            "source": self.name,
            "engagement": Engagement(
                likes=_count(snippet.get("likeCount")),
                replies=item.reply_count if item.kind == "comment" else None,
                read_at=self.api.now(),
            ),
        }
        return validated_post(values, f"{item.kind} {item.item_id}")


# --- registry entry point --------------------------------------------------------------------


def channels_of(accounts: Iterable[OfficialAccount]) -> tuple[list[tuple[str, str]], list[str]]:
    """(handle, channel id) of the register's active YouTube accounts, and a notice for each
    account that cannot be polled because its ``platform_id`` is not a channel id."""
    channels: list[tuple[str, str]] = []
    notices: list[str] = []
    for account in active_accounts(accounts, "youtube"):
        handle = account.handle.lstrip("@")
        channel_id = (account.platform_id or "").strip()
        if channel_id.startswith("UC"):
            channels.append((handle, channel_id))
            continue
        found = f"is {channel_id!r}" if channel_id else "is missing"
        notices.append(
            f"youtube: account {handle!r} has no channel id: its platform_id in the register "
            f"{found}; add the channel id (UC…, from YouTube Studio → Settings → Channel → "
            "Advanced settings, or the channel's About → Share channel → Copy channel ID). "
            "Not polled until then"
        )
    return channels, notices


def from_settings(
    settings: Settings, on_api_call: ApiCallRecorder | None = None
) -> list[Connector]:
    """The YouTube sources the settings ask for; [] when disabled or the key is missing."""
    conf = settings.connectors.youtube
    if not conf.enabled:
        return []
    if conf.api_key is None:
        log.warning("youtube enabled but %s is not set; no YouTube source will run", KEY_ENV)
        return []
    channels, notices = channels_of(settings.accounts)
    for notice in notices:
        log.warning("%s", notice)
    if not channels:
        log.warning(
            "youtube enabled, but no active youtube account with a channel id in the register; "
            "nothing to poll"
        )
        return []
    upload_minutes = settings.connectors.engagement_refresh_minutes
    units = estimated_daily_units(len(channels), conf.comment_poll_minutes, upload_minutes)
    (log.warning if units > conf.daily_quota_units else log.info)(
        "youtube: %d channel(s) cost about %d of %d quota units a day (comments every %.0f min, "
        "uploads every %.0f min)",
        len(channels),
        units,
        conf.daily_quota_units,
        conf.comment_poll_minutes,
        upload_minutes,
    )
    api = YouTubeApi(conf, on_api_call)
    return build_sources(
        api,
        channels,
        comment_interval=conf.comment_poll_minutes * 60,
        upload_interval=upload_minutes * 60,
        refresh_hours=settings.connectors.engagement_refresh_hours,
    )


def build_sources(
    api: YouTubeApi,
    channels: Sequence[tuple[str, str]],
    comment_interval: float = 0.0,
    upload_interval: float = 0.0,
    refresh_hours: float = 48.0,
    clock: Callable[[], float] = time.monotonic,
) -> list[Connector]:
    """An uploads and a comments source per (handle, channel id), all on `api`."""
    sources: list[Connector] = []
    for handle, channel_id in channels:
        sources.append(
            UploadsSource(
                api, handle, channel_id, upload_interval, clock, refresh_hours=refresh_hours
            )
        )
        sources.append(CommentsSource(api, handle, channel_id, comment_interval, clock))
    return sources
