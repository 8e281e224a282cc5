"""Mastodon connectors (Mastodon.py): mentions of, searches about, and statuses of the official
accounts, one `Connector` per source, all sharing one `MastodonApi` (one client, one token):

- ``mastodon:mentions:<acct>``: when the access token belongs to that account, its notifications of
  type ``mention`` (a mention that answers one of its statuses is a ``reply``); for any other
  official account, ``search_v2`` for ``@acct`` (the instance must have full-text search, and
  since Mastodon 4.2 only finds posts of people who opted into search).
- ``mastodon:search:<query>``: ``timeline_hashtag`` for a ``#tag``, ``search_v2`` otherwise.
- ``mastodon:posts:<acct>``: ``account_statuses`` of the official account (boosts excluded: they
  are not its words) as ``official_post``.

Checkpoint: the newest id already produced (the ``since_id``). A poll asks for
``min_id=<checkpoint>`` (the page just after it) and goes on with ``min_id=<newest id of that
page>`` until a short or empty page: resuming after a restart is the same call. With no
checkpoint a source takes its newest page only, so a new deployment does not flood the team with
old posts.

Post id: the status id on the configured instance (what ``in_reply_to_id`` refers to). It is stable
for as long as the deployment reads from the same instance.

Text: statuses are HTML; `status_text` turns them into plain text with paragraphs and line breaks
kept, and links shown as their address. A content warning comes first, as ``CW: ...``.

Engagement: a status's ``favourites_count``, ``reblogs_count``, ``replies_count`` (and
``quotes_count`` on servers with quote posts); Mastodon counts no views. ``mastodon:engagement``
(`MastodonEngagement`) reads the official accounts' recent statuses again for fresh counts, and
the high-engagement mentions by id (``GET /api/v1/statuses?id[]=``, Mastodon 4.3 and later).
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlparse

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)
from pydantic import SecretStr
from tenacity import retry_if_exception_type

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
    read_engagement,
    validated_post,
)
from ingest.connectors.paged import Cursor, EngagementRefresh, Page, PagedSource, collect
from socmon.config.governance import OfficialAccount
from socmon.deadletters import dead_letter
from socmon.records import DeadLetter, Engagement, Media, Post, PostKind, utcnow
from socmon.redact import Redactor
from socmon.settings import Settings

log = logging.getLogger(__name__)

VERIFY_CREDENTIALS = "GET /api/v1/accounts/verify_credentials"
ACCOUNT_LOOKUP = "GET /api/v1/accounts/lookup"
NOTIFICATIONS = "GET /api/v1/notifications"
ACCOUNT_STATUSES = "GET /api/v1/accounts/:id/statuses"
HASHTAG_TIMELINE = "GET /api/v1/timelines/tag/:hashtag"
SEARCH = "GET /api/v2/search"
STATUSES = "GET /api/v1/statuses"
MAX_LOOKUP_IDS = 20  # statuses asked for by id in one request

MEDIA_TYPES = {"image": "photo", "video": "video", "gifv": "animated_gif"}
DEFAULT_RATE_LIMIT_WAIT = 300.0  # Mastodon's windows are five minutes
TRANSIENT = (MastodonServerError, MastodonNetworkError)


# --- text ------------------------------------------------------------------------------------


class _StatusHTML(HTMLParser):
    """Collects the text of a status's HTML: <p> as paragraphs, <br> as line breaks, links as text
    (Mastodon's own links already show the full address, split over hidden spans)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._links: list[tuple[str | None, int]] = []  # href, where its text starts

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")
        elif tag == "a":
            self._links.append((dict(attrs).get("href"), len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._links:
            href, start = self._links.pop()
            label = "".join(self.parts[start:]).strip()
            # A link whose text is neither its address nor a @mention/#tag (other servers write
            # such links) keeps its address in brackets, so a reader can still see where it goes.
            if href and label and label[0] not in "@#" and _bare(label) != _bare(href):
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _bare(url: str) -> str:
    return url.split("://", 1)[-1].rstrip("/")


def status_text(html: str, spoiler: str = "") -> str:
    """Plain text of a status's HTML content, the content warning (if any) first."""
    parser = _StatusHTML()
    parser.feed(html)
    parser.close()
    text = "\n".join(line.strip() for line in "".join(parser.parts).splitlines()).strip()
    return f"CW: {spoiler.strip()}\n\n{text}" if spoiler.strip() else text


# --- checkpoint ------------------------------------------------------------------------------


def _id_key(status_id: str) -> tuple[int, str]:
    # Mastodon ids are decimal strings of growing length, other servers' (GoToSocial) are
    # fixed-length ULIDs: ordering by (length, text) is right for both.
    return len(status_id), status_id


def _newest(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return max(a, b, key=_id_key)


@dataclass(frozen=True)
class MinId(Cursor):
    """The checkpoint: the newest id already produced, as the server wrote it (None: never
    polled). A poll asks for ``min_id=<it>``, the page just after it."""

    since_id: str | None = None

    @classmethod
    def parse(cls, checkpoint: str | None, source: str) -> MinId:
        return cls(checkpoint)

    def dump(self) -> str | None:
        return self.since_id

    def after(self, items: Sequence[Any]) -> MinId:
        """The cursor past every item of a page that has an id (produced or dead-lettered)."""
        newest = self.since_id
        for item in items:
            item_id = item.get("id") if isinstance(item, dict) else None
            if isinstance(item_id, str | int):
                newest = _newest(newest, str(item_id))
        return MinId(newest)


# --- the client ------------------------------------------------------------------------------


class MastodonApi:
    """The one Mastodon.py client of the connectors: retries, errors, rate-limit budget, and who
    the token belongs to."""

    def __init__(
        self,
        api_base_url: str,
        access_token: SecretStr,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.api_base_url = api_base_url.rstrip("/")
        self.host = urlparse(self.api_base_url).hostname or self.api_base_url
        self.retry = retry or RetryPolicy()
        # A server may echo the Authorization header in its error: errors never quote the token.
        self._redactor = Redactor([access_token])
        self.on_api_call: ApiCallRecorder | None = None  # feeds socmon_connector_api_calls
        # "throw": a 429 raises at once (the runner schedules the next poll); the default "wait"
        # would sleep inside a poll and stall every other source.
        self.client = Mastodon(
            access_token=access_token.get_secret_value(),
            api_base_url=self.api_base_url,
            ratelimit_method="throw",
            request_timeout=timeout,
            version_check_mode="none",
        )
        self._me: Any = None
        self._account_ids: dict[str, str] = {}

    def _count_call(self, status: str) -> None:
        if self.on_api_call is not None:
            self.on_api_call("mastodon", status)

    def call(self, endpoint: str, request: Callable[[], Any]) -> Any:
        """One API call with bounded retries; errors mapped to `ConnectorError`s."""
        wait = self.wait_seconds
        if wait > 0:
            msg = f"Mastodon rate limit spent; {endpoint} not called for another {wait:.0f}s"
            raise RateLimited(msg, wait)
        retrying = api_retrying(
            self.retry,
            retry_if_exception_type(TRANSIENT),
            f"mastodon endpoint={endpoint}",
            describe=lambda exc: self._redactor.redact(str(exc)) if exc else "",
        )

        def counted() -> Any:
            try:
                result = request()
            except MastodonError as exc:
                self._count_call(type(exc).__name__.removeprefix("Mastodon"))
                raise
            self._count_call("ok")
            return result

        try:
            return retrying(counted)
        except MastodonError as exc:
            raise self._connector_error(endpoint, exc) from exc

    @property
    def wait_seconds(self) -> float:
        """Seconds until the rate-limit window resets when its budget is spent (0: go ahead)."""
        reset = self.client.ratelimit_reset
        if self.client.ratelimit_remaining > 0 or reset is None:
            return 0.0
        return max(0.0, float(reset) - time.time())

    def me(self) -> Any:
        """The account the token belongs to (fetched once)."""
        if self._me is None:
            self._me = self.call(VERIFY_CREDENTIALS, self.client.account_verify_credentials)
        return self._me

    def owns(self, acct: str) -> bool:
        return self.normalise(self.me()["acct"]) == self.normalise(acct)

    def account_id(self, acct: str, registered: str | None = None) -> str:
        """The instance's id of an account: the register's platform_id, else a lookup (cached)."""
        key = self.normalise(acct)
        if registered:
            self._account_ids[key] = registered
        if key not in self._account_ids:
            account = self.call(ACCOUNT_LOOKUP, lambda: self.client.account_lookup(key))
            self._account_ids[key] = str(account["id"])
        return self._account_ids[key]

    def known_ids(self) -> frozenset[str]:
        return frozenset(self._account_ids.values())

    def normalise(self, acct: str) -> str:
        """``@Name@this.instance`` and ``Name`` are the same account: ``name``."""
        name = acct.strip().lstrip("@").lower()
        local, _, domain = name.partition("@")
        return local if domain in ("", self.host.lower()) else name

    def close(self) -> None:
        self.client.session.close()

    def _connector_error(self, endpoint: str, exc: MastodonError) -> ConnectorError:
        # Mastodon.py's API errors carry (message, status, reason, server's error text or None).
        api_error = isinstance(exc, MastodonAPIError) and len(exc.args) == 4
        status = exc.args[1] if api_error else None
        detail = self._redactor.redact(str((exc.args[3] or exc.args[2]) if api_error else exc))
        if isinstance(exc, MastodonRatelimitError):
            reset = self.client.ratelimit_reset
            wait = float(reset) - time.time() if reset else 0.0
            wait = wait if wait > 0 else DEFAULT_RATE_LIMIT_WAIT
            return RateLimited(f"Mastodon {endpoint} answered 429; retry in {wait:.0f}s", wait)
        if isinstance(exc, MastodonUnauthorizedError) or status == 403:
            return AccessDenied(
                f"Mastodon {endpoint} on {self.host} refused the access token ({status} {detail}); "
                "set a valid token with the read scope in SOCMON_CONNECTORS__MASTODON__ACCESS_TOKEN"
            )
        if isinstance(exc, MastodonNotFoundError):
            return ConnectorError(f"Mastodon {endpoint} on {self.host}: not found ({detail})")
        if isinstance(exc, TRANSIENT):
            return SourceUnavailable(
                f"Mastodon {endpoint} on {self.host} failed after {self.retry.attempts} "
                f"attempts: {status or ''} {detail}"
            )
        if isinstance(exc, MastodonAPIError):
            return ConnectorError(f"Mastodon {endpoint} answered {status} ({detail})")
        return ConnectorError(f"Mastodon {endpoint}: {detail}")


# --- connectors ------------------------------------------------------------------------------


class MastodonSource(PagedSource[Any, MinId]):
    """A Mastodon source read forwards from its checkpoint with ``min_id``."""

    endpoint: str
    cursor_type = MinId
    # Paging forwards, a poll cut short by a rate limit goes on from the last page it read.
    keeps_pages_when_rate_limited = True

    def __init__(
        self,
        name: str,
        api: MastodonApi,
        account: str,
        official: frozenset[str],
        page_size: int = 40,
        max_pages: int = 10,
    ) -> None:
        self.name = name
        self.api = api
        self.account = account  # the official account a post concerns or was posted by
        self.official = official  # normalised accts of the register
        self.page_size = page_size
        self.max_pages = max_pages

    @abstractmethod
    def fetch_page(self, min_id: str | None, limit: int) -> list[Any]:
        """The items just newer than `min_id` (the newest ones when None)."""

    def pages(self, start: MinId) -> Iterator[Page[Any, MinId]]:
        cursor = start
        while True:  # until a page is the last; `max_pages` is applied by `PagedSource.poll`
            items = self.fetch_page(cursor.since_id, self.page_size)
            cursor = cursor.after(items)
            wait = self.api.wait_seconds
            # With no checkpoint only the newest page is read; a short page is all there is.
            last = start.since_id is None or len(items) < self.page_size or wait > 0
            yield Page(items, cursor, retry_after=wait or None, last=last)

    def origin(self, item: Any, position: int) -> str:
        item_id = item.get("id") if isinstance(item, dict) else None
        return f"{self.name}:{item_id if item_id is not None else f'#{position}'}"

    def status_post(self, status: Any, kind: PostKind) -> Post | None:
        """A status to a `Post`, or None when an official account wrote it (its posts source
        reports it, as official_post)."""
        if not isinstance(status, dict):
            msg = "status is missing (deleted?)"
            raise Rejected(msg)
        missing = [f for f in ("id", "account", "content", "created_at") if status.get(f) is None]
        if missing:
            msg = f"status {status.get('id')} misses field(s): {', '.join(missing)}"
            raise Rejected(msg)
        author = status["account"].get("acct")
        if not author:
            msg = f"status {status['id']} has no author acct"
            raise Rejected(msg)
        if kind != "official_post" and self.api.normalise(author) in self.official:
            return None
        created_at = status["created_at"]
        if isinstance(created_at, str):  # Mastodon.py leaves times it cannot read as text
            msg = f"status {status['id']}: created_at {created_at!r} is not a time"
            raise Rejected(msg)
        if kind == "mention" and str(status.get("in_reply_to_account_id")) in self.api.known_ids():
            kind = "reply"
        values: dict[str, Any] = {
            "platform": "mastodon",
            "post_id": str(status["id"]),
            "kind": kind,
            "account": self.account,
            "author": author,
            "text": clean_text(status_text(status["content"], status.get("spoiler_text") or "")),
            "created_at": created_at,
            "url": status.get("url") or status.get("uri"),
            "media": tuple(
                Media(
                    type=MEDIA_TYPES.get(m.get("type"), "other"),
                    url=m.get("url"),
                    alt_text=m.get("description"),
                )
                for m in status.get("media_attachments") or ()
            ),
            "lang": status.get("language"),
            "in_reply_to": str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None,
            "source": self.name,
            "engagement": status_engagement(status),
        }
        return validated_post(values, f"status {status['id']}")

    def check(self) -> CheckResult:
        endpoints: dict[str, bool] = {}
        try:
            me = self.api.me()
            endpoints[VERIFY_CREDENTIALS] = True
            self.fetch_page(None, 1)
            endpoints[self.endpoint] = True
        except ConnectorError as exc:
            endpoints.setdefault(VERIFY_CREDENTIALS, False)
            endpoints.setdefault(self.endpoint, False)
            return CheckResult(self.name, ok=False, detail=str(exc), endpoints=endpoints)
        detail = f"token of @{me['acct']} on {self.api.host}; {self.endpoint} answers"
        return CheckResult(self.name, ok=True, detail=detail, endpoints=endpoints)

    def close(self) -> None:
        self.api.close()


def status_engagement(status: Any) -> Engagement | None:
    """A status's counts as read now: favourites, boosts, replies and (servers with quote posts)
    quotes; Mastodon counts no views."""
    return read_engagement(
        likes=status.get("favourites_count"),
        reposts=status.get("reblogs_count"),
        replies=status.get("replies_count"),
        quotes=status.get("quotes_count"),
    )


class MentionsSource(MastodonSource):
    """Mentions of an official account: its notifications when the token is its own, else a
    search for ``@acct``."""

    endpoint = NOTIFICATIONS

    def fetch_page(self, min_id: str | None, limit: int) -> list[Any]:
        if self.api.owns(self.account):
            self.endpoint = NOTIFICATIONS
            self.api.account_id(self.account, str(self.api.me()["id"]))
            page = self.api.call(
                NOTIFICATIONS,
                lambda: self.api.client.notifications(
                    types=["mention"], min_id=min_id, limit=limit
                ),
            )
            return list(page)
        self.endpoint = SEARCH
        return _search_statuses(self.api, f"@{self.account}", min_id, limit)

    def to_post(self, item: Any) -> Post | None:
        if self.endpoint == SEARCH:
            return self.status_post(item, "mention")
        if item.get("type") != "mention":
            msg = f"notification type {item.get('type')!r} was not asked for"
            raise Rejected(msg)
        return self.status_post(item.get("status"), "mention")


class SearchSource(MastodonSource):
    """A configured search: the hashtag timeline for ``#tag``, full-text search otherwise."""

    def __init__(self, name: str, api: MastodonApi, query: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(name, api, *args, **kwargs)
        self.query = query
        self.endpoint = HASHTAG_TIMELINE if query.startswith("#") else SEARCH

    def fetch_page(self, min_id: str | None, limit: int) -> list[Any]:
        if self.endpoint == HASHTAG_TIMELINE:
            tag = self.query.lstrip("#")
            return list(
                self.api.call(
                    HASHTAG_TIMELINE,
                    lambda: self.api.client.timeline_hashtag(tag, min_id=min_id, limit=limit),
                )
            )
        return _search_statuses(self.api, self.query, min_id, limit)

    def to_post(self, item: Any) -> Post | None:
        return self.status_post(item, "mention")


class StatusesSource(MastodonSource):
    """An official account's own statuses (``account_statuses``, boosts excluded)."""

    endpoint = ACCOUNT_STATUSES

    def __init__(self, *args: Any, platform_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.platform_id = platform_id

    def fetch_page(self, min_id: str | None, limit: int) -> list[Any]:
        account_id = self.api.account_id(self.account, self.platform_id)
        return list(
            self.api.call(
                ACCOUNT_STATUSES,
                lambda: self.api.client.account_statuses(
                    account_id, exclude_reblogs=True, min_id=min_id, limit=limit
                ),
            )
        )

    def to_post(self, item: Any) -> Post | None:
        return self.status_post(item, "official_post")

    def since(self, moment: datetime) -> Iterator[Post | DeadLetter | None]:
        """The account's statuses written since `moment`, normalised again: paged backwards
        with ``max_id`` from the newest until an older one (at most `max_pages` pages)."""
        account_id = self.api.account_id(self.account, self.platform_id)
        max_id: str | None = None
        for _ in range(self.max_pages or 1):
            request = partial(
                self.api.client.account_statuses,
                account_id,
                exclude_reblogs=True,
                max_id=max_id,
                limit=self.page_size,
            )
            page = list(self.api.call(ACCOUNT_STATUSES, request))
            older = False
            for position, status in enumerate(page):
                created = status.get("created_at") if isinstance(status, dict) else None
                if isinstance(created, datetime) and created < moment:
                    older = True
                    continue
                yield self._normalise(status, position)
            ids = [s.get("id") for s in page if isinstance(s, dict) and s.get("id") is not None]
            if older or len(page) < self.page_size or not ids:
                return
            max_id = str(min((str(i) for i in ids), key=_id_key))


def _search_statuses(api: MastodonApi, query: str, min_id: str | None, limit: int) -> list[Any]:
    result = api.call(
        SEARCH,
        lambda: api.client.search_v2(
            query, resolve=False, result_type="statuses", min_id=min_id, limit=limit
        ),
    )
    statuses = result.get("statuses") if isinstance(result, dict) else None
    if not isinstance(statuses, list):
        msg = f"Mastodon {SEARCH} answered without a statuses list"
        raise SourceUnavailable(msg)
    return statuses


class MastodonEngagement(EngagementRefresh[MastodonSource]):
    """``mastodon:engagement``: the official accounts' statuses of the refresh window read again
    for fresh counts, and the high-engagement mentions by id (``GET /api/v1/statuses?id[]=``;
    a server older than Mastodon 4.3 answers 404 there, and only the official statuses are
    refreshed)."""

    def __init__(
        self,
        api: MastodonApi,
        own: Sequence[StatusesSource],
        mention_sources: Sequence[MastodonSource],
        schedule: RefreshSchedule,
        hot_mentions: HotMentions | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__("mastodon:engagement", schedule, own, mention_sources, hot_mentions, clock)
        self.api = api

    def mentions(self, hot: Sequence[HotMention]) -> tuple[list[Post], list[DeadLetter]]:
        results: list[Post | DeadLetter | None] = []
        for ids, found_by in self.lookups(hot, MAX_LOOKUP_IDS):
            try:
                statuses = self.api.call(STATUSES, partial(self.api.client.statuses, ids))
            except ConnectorError as exc:
                if not isinstance(exc.__cause__, MastodonNotFoundError):
                    raise
                log.warning(
                    "source=%s %s is not on %s (Mastodon before 4.3): mentions not refreshed",
                    self.name,
                    STATUSES,
                    self.api.host,
                )
                break
            for position, status in enumerate(statuses):
                source = found_by.get(str(status.get("id"))) if isinstance(status, dict) else None
                if source is None:
                    results.append(
                        dead_letter(
                            "ingest",
                            f"{self.name}:#{position}",
                            status,
                            "unexpected item: not one of the statuses asked for",
                        )
                    )
                    continue
                as_mention = partial(source.status_post, kind="mention")
                results.append(source._normalise(status, position, as_mention))
        return collect(iter(results))


# --- registry entry point --------------------------------------------------------------------


def from_settings(
    settings: Settings, on_api_call: ApiCallRecorder | None = None
) -> list[Connector]:
    """The Mastodon sources the settings ask for; [] when disabled or credentials are missing."""
    conf = settings.connectors.mastodon
    if not conf.enabled:
        return []
    if not conf.api_base_url or conf.access_token is None:
        log.warning(
            "mastodon enabled but SOCMON_CONNECTORS__MASTODON__API_BASE_URL or __ACCESS_TOKEN is "
            "not set; no Mastodon source will run"
        )
        return []
    api = MastodonApi(conf.api_base_url, conf.access_token)
    api.on_api_call = on_api_call
    return build_sources(
        api,
        active_accounts(settings.accounts, "mastodon"),
        conf.search_queries,
        refresh=RefreshSchedule.of(settings.connectors),
    )


def build_sources(
    api: MastodonApi,
    accounts: Sequence[OfficialAccount],
    search_queries: Sequence[str],
    page_size: int = 40,
    max_pages: int = 10,
    refresh: RefreshSchedule | None = None,
) -> list[Connector]:
    """One connector per source, all on `api`; and with `refresh`, the engagement refresh of the
    official accounts' statuses and of the mentions with high engagement."""
    official = frozenset(api.normalise(a.handle) for a in accounts)
    paging: dict[str, Any] = {"page_size": page_size, "max_pages": max_pages}
    for acc in accounts:
        if acc.platform_id:
            api.account_id(acc.handle, acc.platform_id)
    sources: list[Connector] = []
    for acc in accounts:
        handle = acc.handle.lstrip("@")
        sources.append(
            MentionsSource(f"mastodon:mentions:{handle}", api, handle, official, **paging)
        )
        sources.append(
            StatusesSource(
                f"mastodon:posts:{handle}",
                api,
                handle,
                official,
                platform_id=acc.platform_id,
                **paging,
            )
        )
    # Search hits that concern no particular account are filed under the first one in the register.
    default_account = accounts[0].handle.lstrip("@") if accounts else api.host
    for query in search_queries:
        sources.append(
            SearchSource(
                f"mastodon:search:{query}", api, query, default_account, official, **paging
            )
        )
    if refresh is not None and accounts:
        hot = HotMentions()
        own = [s for s in sources if isinstance(s, StatusesSource)]
        mentions = [s for s in sources if isinstance(s, MentionsSource | SearchSource)]
        for source in mentions:
            source.hot_mentions = hot
        sources.append(MastodonEngagement(api, own, mentions, refresh, hot))
    return sources
