"""X/Twitter connectors (API v2 through tweepy): mentions of, searches about, and posts by the
official accounts. One connector per source, so each keeps its own since_id checkpoint and metrics.

All sources share one `TwitterApi`: the tweepy client, the time-out, the bounded retries of server
errors and the translation of HTTP errors into the connector error contract.

Every post carries its ``public_metrics`` as `Engagement` (``impression_count`` as views); the
refresh source ``twitter:engagement`` (`TwitterEngagement`) reads the official accounts' recent
posts again for fresh counts.
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tenacity
import tweepy
from requests.adapters import HTTPAdapter

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
    read_engagement,
    retry_policy,
    validated_post,
)
from ingest.connectors.paged import Cursor, EngagementRefresh, Page, PagedSource, collect
from socmon.config.connectors import TwitterSettings
from socmon.deadletters import dead_letter
from socmon.records import DeadLetter, Engagement, Media, Post, PostKind, utcnow

log = logging.getLogger(__name__)


TWEET_FIELDS = [
    "author_id",
    "created_at",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "attachments",
    "lang",
    "public_metrics",
    "note_tweet",  # the full text of a post longer than 280 characters
    "withheld",
]
EXPANSIONS = ["author_id", "attachments.media_keys", "referenced_tweets.id"]
USER_FIELDS = ["username", "name"]
MEDIA_FIELDS = ["type", "url", "preview_image_url", "alt_text"]
FIELDS: dict[str, Any] = {
    "tweet_fields": TWEET_FIELDS,
    "expansions": EXPANSIONS,
    "user_fields": USER_FIELDS,
    "media_fields": MEDIA_FIELDS,
}

# X answers 429 without a reset header only rarely; its rate-limit windows are 15 minutes long.
DEFAULT_RATE_LIMIT_WAIT = 15 * 60.0
MEDIA_TYPES = {"photo", "video", "animated_gif"}
TOKEN_ENV = "SOCMON_CONNECTORS__TWITTER__BEARER_TOKEN"


def _safe_description(exc: BaseException | None) -> str:
    """An error for the log without the request URL, which may carry a token in its query."""
    if exc is None or isinstance(exc, tweepy.HTTPException):
        return str(exc)
    return type(exc).__name__


@dataclass(frozen=True)
class Endpoint:
    """An X API endpoint as the developer portal names it, for error messages and `check`."""

    path: str
    min_access: str


MENTIONS = Endpoint("GET /2/users/:id/mentions", "Basic")
SEARCH = Endpoint("GET /2/tweets/search/recent", "Basic")
USER_POSTS = Endpoint("GET /2/users/:id/tweets", "Basic")
USER_LOOKUP = Endpoint("GET /2/users/by/username/:username", "Basic")
TWEETS_LOOKUP = Endpoint("GET /2/tweets", "Basic")
MAX_LOOKUP_IDS = 100  # GET /2/tweets takes up to 100 ids


class _TimeoutAdapter(HTTPAdapter):
    """tweepy sends its requests without a time-out; a hung connection must not stall a source."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def _status_of(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(exc, requests.Timeout | requests.ConnectionError) and response is None:
        return "timeout"
    code = getattr(response, "status_code", None)
    return str(code) if code is not None else "error"


def _retry_after(headers: Mapping[str, str], now: float) -> float:
    """Seconds until the rate-limit window resets (``x-rate-limit-reset`` is a Unix time)."""
    reset = headers.get("x-rate-limit-reset")
    if reset is None or not reset.isdigit():
        return DEFAULT_RATE_LIMIT_WAIT
    return max(1.0, float(reset) - now)


class TwitterApi:
    """The one tweepy client of a process, with time-outs, bounded retries and error translation."""

    def __init__(
        self,
        settings: TwitterSettings,
        on_api_call: ApiCallRecorder | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if settings.bearer_token is None:
            msg = f"X/Twitter needs a bearer token: set {TOKEN_ENV}"
            raise AccessDenied(msg)
        self.settings = settings
        # requests.Response, not tweepy.Response: the x-rate-limit-* headers of every page are
        # needed to schedule the next poll, and the raw JSON is what a dead letter must carry.
        self.client = tweepy.Client(
            bearer_token=settings.bearer_token.get_secret_value(),
            return_type=requests.Response,
            wait_on_rate_limit=False,  # the runner waits for this source only, never blocks others
        )
        self.client.session.mount("https://", _TimeoutAdapter(settings.request_timeout_seconds))
        self._on_api_call = on_api_call
        self._sleep = sleep
        self._clock = clock
        self._user_ids: dict[str, str] = {}

    def call(
        self, source: str, endpoint: Endpoint, method: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> requests.Response:
        """One request, retried on 5xx and time-outs (bounded), errors translated for the runner."""
        retrying = api_retrying(
            retry_policy(self.settings),
            tenacity.retry_if_exception_type(
                (tweepy.TwitterServerError, requests.Timeout, requests.ConnectionError)
            ),
            f"source={source} endpoint={endpoint.path!r}",
            describe=_safe_description,
            sleep=self._sleep,
        )
        try:
            for attempt in retrying:
                with attempt:
                    try:
                        response: requests.Response = method(*args, **kwargs)
                    except (tweepy.HTTPException, requests.RequestException) as exc:
                        self._record(source, _status_of(exc))
                        raise
                    self._record(source, str(response.status_code))
                    return response
        except tweepy.HTTPException as exc:
            raise self._translate(exc, endpoint) from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            msg = (
                f"{endpoint.path} did not answer after {self.settings.max_retries + 1} attempts "
                f"({type(exc).__name__}); trying again next poll"
            )
            raise SourceUnavailable(msg) from exc
        msg = f"{endpoint.path}: no attempt was made"  # tenacity always makes one
        raise SourceUnavailable(msg)

    def pages(
        self, source: str, endpoint: Endpoint, method: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Iterator[tuple[dict[str, Any], float | None]]:
        """Every page of a paginated endpoint, newest first, with tweepy's paginator.

        Yields each page's JSON body and, when the rate limit is used up after it, the seconds
        until it resets. A used-up limit with more pages to read raises `RateLimited`: the
        checkpoint is not moved, so the next poll starts again from it.
        """

        def request_page(*a: Any, **kw: Any) -> requests.Response:
            return self.call(source, endpoint, method, *a, **kw)

        # The paginator picks `next_token` or `pagination_token` by the method's name.
        request_page.__name__ = method.__name__
        for response in tweepy.Paginator(request_page, *args, **kwargs):
            body: dict[str, Any] = response.json()
            exhausted_limit = response.headers.get("x-rate-limit-remaining") == "0"
            wait = _retry_after(response.headers, self._clock()) if exhausted_limit else None
            if wait is not None and body.get("meta", {}).get("next_token"):
                msg = f"{endpoint.path}: rate limit used up with pages left; waiting {wait:.0f}s"
                raise RateLimited(msg, wait)
            yield body, wait

    def user_id(self, source: str, handle: str, platform_id: str | None) -> str:
        """The numeric id of an official account: from the register, else looked up once."""
        if platform_id:
            return platform_id
        key = handle.lstrip("@").lower()
        if key not in self._user_ids:
            response = self.call(
                source, USER_LOOKUP, self.client.get_user, username=handle.lstrip("@")
            )
            body = response.json()
            data = body.get("data")
            if not data:
                detail = "; ".join(e.get("detail", "") for e in body.get("errors", []))
                msg = (
                    f"X/Twitter user @{handle} was not found ({detail or 'no data'}); check the "
                    "handle in the accounts register or set its platform_id"
                )
                raise ConnectorError(msg)
            self._user_ids[key] = str(data["id"])
        return self._user_ids[key]

    def _record(self, source: str, status: str) -> None:
        if self._on_api_call is not None:
            self._on_api_call(source, status)

    def _translate(self, exc: tweepy.HTTPException, endpoint: Endpoint) -> ConnectorError:
        detail = "; ".join(str(m) for m in exc.api_messages) or str(exc)
        if isinstance(exc, tweepy.TooManyRequests):
            wait = _retry_after(exc.response.headers, self._clock())
            msg = f"{endpoint.path}: rate limited (429); next request in {wait:.0f}s"
            return RateLimited(msg, wait)
        if isinstance(exc, tweepy.Unauthorized):
            msg = (
                f"{endpoint.path}: the bearer token was refused (401 Unauthorized); generate a new "
                f"bearer token for the app in the X developer portal and set {TOKEN_ENV}"
            )
            return AccessDenied(msg)
        if isinstance(exc, tweepy.Forbidden):
            # 403 covers both "client-not-enrolled" (app outside a project) and code 453
            # ("you currently have access to a subset of X API V2 endpoints").
            codes = ", ".join(str(c) for c in exc.api_codes)
            answer = f"403, code {codes}" if codes else "403"
            msg = (
                f"{endpoint.path} needs {endpoint.min_access} access or higher; your app's access "
                f"level does not allow it ({answer}: {detail}) — upgrade the project in the X "
                "developer portal, or remove this source from the configuration"
            )
            return AccessDenied(msg)
        if isinstance(exc, tweepy.TwitterServerError):
            status = exc.response.status_code
            msg = (
                f"{endpoint.path} kept failing with {status} after "
                f"{self.settings.max_retries + 1} attempts ({detail}); trying again next poll"
            )
            return SourceUnavailable(msg)
        status = exc.response.status_code
        msg = f"{endpoint.path} refused the request ({status}: {detail})"
        return ConnectorError(msg)


@dataclass(frozen=True)
class _Includes:
    """The expansions of one page, indexed by id."""

    users: dict[str, dict[str, Any]]
    media: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> _Includes:
        includes = body.get("includes", {})
        return cls(
            users={str(u["id"]): u for u in includes.get("users", []) if "id" in u},
            media={m["media_key"]: m for m in includes.get("media", []) if "media_key" in m},
        )


@dataclass(frozen=True)
class Tweet:
    """A tweet of a page, with the page's expansions its author and media are looked up in."""

    raw: Mapping[str, Any]
    includes: _Includes


@dataclass(frozen=True)
class SinceId(Cursor):
    """The checkpoint: the newest tweet id produced (0: none yet). X ids grow with time, so the
    next poll asks for ``since_id=<it>``; the first poll looks back `initial_lookback_hours`."""

    newest: int = 0

    @classmethod
    def parse(cls, checkpoint: str | None, source: str) -> SinceId:
        return cls(int(checkpoint) if checkpoint else 0)

    def dump(self) -> str | None:
        return str(self.newest) if self.newest else None

    def after(self, tweets: Sequence[Tweet]) -> SinceId:
        """The cursor past every tweet of a page (produced or dead-lettered) with a numeric id."""
        ids = [int(t.raw["id"]) for t in tweets if str(t.raw.get("id", "")).isdigit()]
        return SinceId(max([self.newest, *ids]))


class TwitterSource(PagedSource[Tweet, SinceId]):
    """One X/Twitter source; subclasses say which endpoint and what kind of post it yields.

    Every page is read in one poll: X pages backwards from the newest tweet, so a poll cut short
    (a rate limit with pages left) cannot resume and fails as a whole, keeping the checkpoint.
    """

    platform = "twitter"
    endpoint: Endpoint
    cursor_type = SinceId

    def __init__(self, api: TwitterApi, name: str) -> None:
        self.api = api
        self.name = name

    @abstractmethod
    def _request(self) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
        """The tweepy method, its positional and keyword arguments (without paging)."""

    @abstractmethod
    def _kind(self, tweet: Mapping[str, Any]) -> PostKind:
        """The kind of post a tweet of this source is."""

    @abstractmethod
    def _account(self, tweet: Mapping[str, Any]) -> str:
        """The official account handle the tweet concerns."""

    def pages(self, start: SinceId) -> Iterator[Page[Tweet, SinceId]]:
        method, args, kwargs = self._request()
        kwargs |= {"max_results": self.api.settings.max_results, **FIELDS}
        if start.newest:
            kwargs["since_id"] = str(start.newest)
        else:
            lookback = timedelta(hours=self.api.settings.initial_lookback_hours)
            kwargs["start_time"] = datetime.now(UTC) - lookback
        cursor = start
        for body, wait in self.api.pages(self.name, self.endpoint, method, *args, **kwargs):
            includes = _Includes.of(body)
            tweets = [Tweet(raw, includes) for raw in body.get("data", [])]
            cursor = cursor.after(tweets)
            unavailable = [self._unavailable(error) for error in body.get("errors", [])]
            yield Page(tweets, cursor, retry_after=wait, rejects=unavailable)

    def since(self, start_time: datetime) -> Iterator[Post | DeadLetter | None]:
        """Every tweet of this source written since `start_time`, normalised again (every page:
        a rate limit with pages left raises `RateLimited`). The page's partial errors were
        dead-lettered when the tweets were first read, so they are not repeated."""
        method, args, kwargs = self._request()
        kwargs |= {"max_results": self.api.settings.max_results, "start_time": start_time}
        for body, _ in self.api.pages(self.name, self.endpoint, method, *args, **kwargs | FIELDS):
            includes = _Includes.of(body)
            for position, raw in enumerate(body.get("data", [])):
                yield self._normalise(Tweet(raw, includes), position)

    def check(self) -> CheckResult:
        try:
            method, args, kwargs = self._request()
            self.api.call(self.name, self.endpoint, method, *args, max_results=10, **kwargs)
        except RateLimited as exc:
            return CheckResult(
                self.name, True, f"credentials accepted, rate limited now: {exc}", {}
            )
        except AccessDenied as exc:
            return CheckResult(self.name, False, str(exc), {self.endpoint.path: False})
        except ConnectorError as exc:
            return CheckResult(self.name, False, str(exc), {})
        return CheckResult(self.name, True, "bearer token accepted", {self.endpoint.path: True})

    def to_post(self, item: Tweet) -> Post:
        tweet, includes = item.raw, item.includes
        tweet_id = str(tweet.get("id", "?"))
        withheld = tweet.get("withheld")
        if withheld:
            where = ", ".join(withheld.get("country_codes", [])) or "some countries"
            why = "a copyright claim" if withheld.get("copyright") else "a legal demand"
            msg = f"withheld in {where} after {why}"
            raise Rejected(msg)
        author = includes.users.get(str(tweet.get("author_id")))
        if author is None:
            msg = f"missing field: author (user {tweet.get('author_id')} not in includes.users)"
            raise Rejected(msg)
        text = (tweet.get("note_tweet") or {}).get("text") or tweet.get("text")
        if text is None:
            msg = "missing field: text"
            raise Rejected(msg)
        replied_to = next(
            (r["id"] for r in tweet.get("referenced_tweets", []) if r.get("type") == "replied_to"),
            None,
        )
        media = [
            Media(
                type=m["type"] if m.get("type") in MEDIA_TYPES else "other",
                url=m.get("url") or m.get("preview_image_url"),
                alt_text=m.get("alt_text"),
            )
            for key in tweet.get("attachments", {}).get("media_keys", [])
            if (m := includes.media.get(key)) is not None
        ]
        return validated_post(
            {
                "platform": "twitter",
                "post_id": tweet_id,
                "kind": self._kind(tweet),
                "account": self._account(tweet),
                "author": author.get("username") or author.get("name") or str(author["id"]),
                "text": text,
                "created_at": tweet.get("created_at"),  # pydantic parses X's ISO 8601 "…Z"
                "url": f"https://x.com/{author.get('username', 'i')}/status/{tweet_id}",
                "media": tuple(media),
                "lang": tweet.get("lang"),
                "in_reply_to": replied_to,
                "source": self.name,
                "engagement": tweet_engagement(tweet),
            }
        )

    def origin(self, item: Tweet, position: int) -> str:
        return f"{self.name} tweet {item.raw.get('id', '?')}"

    def raw(self, item: Tweet) -> Any:
        return item.raw

    def _unavailable(self, error: Mapping[str, Any]) -> DeadLetter:
        """A partial error of the page: a post that was deleted, is protected or was suspended."""
        reason = f"not available: {error.get('title', 'error')}: {error.get('detail', '')}".strip()
        resource = f"{error.get('resource_type', 'item')} {error.get('resource_id', '?')}"
        return dead_letter("ingest", f"{self.name} {resource}", error, reason)


def tweet_engagement(tweet: Mapping[str, Any]) -> Engagement | None:
    """A tweet's ``public_metrics`` as read now (``impression_count`` as views; X gives it for
    posts since late 2022); None when the tweet came without them."""
    metrics = tweet.get("public_metrics")
    if not isinstance(metrics, Mapping):
        return None
    return read_engagement(
        likes=metrics.get("like_count"),
        reposts=metrics.get("retweet_count"),
        replies=metrics.get("reply_count"),
        quotes=metrics.get("quote_count"),
        views=metrics.get("impression_count"),
    )


class TwitterMentions(TwitterSource):
    """Posts that mention an official account; a reply to one of its posts is a "reply"."""

    endpoint = MENTIONS

    def __init__(self, api: TwitterApi, handle: str, platform_id: str | None = None) -> None:
        super().__init__(api, f"twitter:mentions:{handle.lstrip('@')}")
        self.handle = handle.lstrip("@")
        self.platform_id = platform_id

    def _request(self) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
        user_id = self.api.user_id(self.name, self.handle, self.platform_id)
        return self.api.client.get_users_mentions, (user_id,), {}

    def _kind(self, tweet: Mapping[str, Any]) -> PostKind:
        own_id = self.api.user_id(self.name, self.handle, self.platform_id)
        return "reply" if str(tweet.get("in_reply_to_user_id")) == own_id else "mention"

    def _account(self, tweet: Mapping[str, Any]) -> str:
        return self.handle


class TwitterSearch(TwitterSource):
    """Recent posts matching a configured query (organisation and site names, hashtags)."""

    endpoint = SEARCH

    def __init__(self, api: TwitterApi, query: str, official_handles: list[str]) -> None:
        super().__init__(api, f"twitter:search:{query}")
        self.query = query
        self.official_handles = [h.lstrip("@") for h in official_handles]

    def _request(self) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
        return self.api.client.search_recent_tweets, (self.query,), {}

    def _kind(self, tweet: Mapping[str, Any]) -> PostKind:
        return "mention"

    def _account(self, tweet: Mapping[str, Any]) -> str:
        # The official account named in the post; else the first of the register (the
        # organisation's main account), so routing and tallies always have an owner.
        text = str(tweet.get("text", "")).lower()
        for handle in self.official_handles:
            if f"@{handle.lower()}" in text:
                return handle
        return self.official_handles[0] if self.official_handles else self.query


class TwitterOwnPosts(TwitterSource):
    """The posts of an official account itself, for the weekly activity and content checks."""

    endpoint = USER_POSTS

    def __init__(self, api: TwitterApi, handle: str, platform_id: str | None = None) -> None:
        super().__init__(api, f"twitter:posts:{handle.lstrip('@')}")
        self.handle = handle.lstrip("@")
        self.platform_id = platform_id

    def _request(self) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
        user_id = self.api.user_id(self.name, self.handle, self.platform_id)
        return self.api.client.get_users_tweets, (user_id,), {}

    def _kind(self, tweet: Mapping[str, Any]) -> PostKind:
        return "official_post"

    def _account(self, tweet: Mapping[str, Any]) -> str:
        return self.handle


class TwitterEngagement(EngagementRefresh[TwitterSource]):
    """``twitter:engagement``: the official accounts' posts of the refresh window read again
    (``GET /2/users/:id/tweets`` from ``start_time``), for fresh ``public_metrics``.

    On the pay-per-use tier (the default since 2026) X bills every post read, so this reads only
    the official accounts' own posts (a few a day, each read again every refresh). On a tier with
    a monthly quota instead (basic, pro, enterprise) it also reads the high-engagement mentions
    again, by id (``GET /2/tweets?ids=``, 100 a request).
    """

    def __init__(
        self,
        api: TwitterApi,
        own: Sequence[TwitterOwnPosts],
        mention_sources: Sequence[TwitterSource],
        schedule: RefreshSchedule,
        hot_mentions: HotMentions | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__("twitter:engagement", schedule, own, mention_sources, hot_mentions, clock)
        self.api = api

    @property
    def refreshes_mentions(self) -> bool:
        """Whether mentions are read again: never on pay-per-use, where every read is billed."""
        return self.api.settings.tier != "pay_per_use"

    def mentions(self, hot: Sequence[HotMention]) -> tuple[list[Post], list[DeadLetter]]:
        if not self.refreshes_mentions:
            return [], []
        posts: list[Post] = []
        rejects: list[DeadLetter] = []
        for ids, found_by in self.lookups(hot, MAX_LOOKUP_IDS):
            response = self.api.call(
                self.name, TWEETS_LOOKUP, self.api.client.get_tweets, ids, **FIELDS
            )
            body: dict[str, Any] = response.json()
            includes = _Includes.of(body)
            # A mention deleted since is left out of `data` (and named in `errors`): nothing to
            # refresh, and it was produced when it was read.
            tweets = [t for t in body.get("data", []) if str(t.get("id")) in found_by]
            page_posts, page_rejects = collect(
                found_by[str(raw["id"])]._normalise(Tweet(raw, includes), position)
                for position, raw in enumerate(tweets)
            )
            posts += page_posts
            rejects += page_rejects
        return posts, rejects


def twitter_sources(
    settings: TwitterSettings,
    accounts: list[tuple[str, str | None]],
    on_api_call: ApiCallRecorder | None = None,
    refresh: RefreshSchedule | None = None,
) -> list[Connector]:
    """Mentions and own posts of each official account (handle, platform_id), the searches, and
    the engagement refresh (`refresh`: the settings' schedule; None: the default one)."""
    api = TwitterApi(settings, on_api_call)
    hot = HotMentions()
    mentions: list[TwitterSource] = []
    own: list[TwitterOwnPosts] = []
    for handle, platform_id in accounts:
        mentions.append(TwitterMentions(api, handle, platform_id))
        own.append(TwitterOwnPosts(api, handle, platform_id))
    handles = [handle for handle, _ in accounts]
    mentions.extend(TwitterSearch(api, query, handles) for query in settings.search_queries)
    for source in mentions:
        source.hot_mentions = hot
    sources: list[Connector] = []
    for index, _ in enumerate(accounts):
        sources += [mentions[index], own[index]]
    sources += mentions[len(accounts) :]
    if own:
        sources.append(TwitterEngagement(api, own, mentions, refresh or RefreshSchedule(), hot))
    return sources
