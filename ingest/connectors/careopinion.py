"""Care Opinion connector (API v2, httpx): patients' stories about the organisation's services, and
whether the organisation has answered them.

One `Connector` per followed organisation code (``careopinion.organisations``, NACS/ODS codes),
``careopinion:stories:<code>``, all sharing one `CareOpinionApi`: one httpx client, one
subscription key and one request-rate limiter, since Care Opinion allows 5 requests per second per
subscription, not per source.

What the API gives (https://www.careopinion.org.uk/info/api-v2 and the pages it links):

- ``GET /opinions`` lists the subscription's stories, oldest published first, filtered like the web
  site's search (``nacs=<code>``, ``publishedafter=<date>``) and paged with ``skip``/``take``
  (at most 100). The answer is a JSON array of opinions: ``id``, ``title``, ``body`` (Markdown),
  ``dateOfSubmission``, ``dateOfPublication`` (UTC), ``authorRole``, ``criticality``,
  ``progress``, ``links`` (``rel``, ``id``, ``href``) and more.
- ``GET /opinions/{id}/responses`` lists the published responses to a story. A response counts
  as the organisation's when it links (``rel`` ``healthservice`` or ``organisation``) to a
  followed code or a service under it: NHS site and service codes start with their trust's code.
- Authentication: the header ``Authorization: SUBSCRIPTION_KEY <key>``. A refused key is answered
  with a redirect to the login page (not a 401), so redirects are not followed and mean "refused".

Each story becomes a ``mention`` Post on platform ``careopinion``: ``account`` the organisation
code, text the title and the story, ``engagement.replies`` the number of responses and
``engagement.responded`` whether the organisation has responded.

Checkpoint (`StoryCursor`): the newest ``dateOfPublication`` produced and the ids published at that
moment, plus the stories not yet answered by the organisation (``watch``: id -> [published,
responses]). Stories on the watch list are read again (at most every
``connectors.engagement_refresh_minutes``) for ``response_watch_days`` after publication, and sent
again only when their responses changed: the index then keeps the answered version.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from pydantic import SecretStr

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
from socmon.config.connectors import CareOpinionSettings
from socmon.records import Engagement, Post
from socmon.redact import Redactor
from socmon.settings import Settings

log = logging.getLogger(__name__)

KEY_ENV = "SOCMON_CONNECTORS__CAREOPINION__SUBSCRIPTION_KEY"
OPINIONS = "GET /opinions"
RESPONSES = "GET /opinions/{id}/responses"
STORY_URL = "https://www.careopinion.org.uk/{id}"
ORGANISATION_RELS = frozenset({"healthservice", "organisation", "organization"})
UNKNOWN_AUTHOR = "anonymous (Care Opinion author)"


# --- the request rate ------------------------------------------------------------------------


class RequestSpacing:
    """Keeps requests at or under `per_second`: each one starts at least ``1/per_second`` after
    the one before, so any one-second window holds at most `per_second` of them.

    A spacing rather than a burst budget: Care Opinion counts requests per second, and a burst of
    five at once followed by a sixth 0.2 s after the first would be over it.
    """

    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next = -math.inf

    def wait(self) -> None:
        """Return when the next request may start."""
        now = self._clock()
        if now < self._next:
            self._sleep(self._next - now)
            now = max(self._clock(), self._next)
        self._next = now + self.interval


# --- the client ------------------------------------------------------------------------------


class CareOpinionApi:
    """The one httpx client of the Care Opinion sources: the subscription key, time-outs, the
    request rate, bounded retries and the meaning of each status."""

    def __init__(
        self,
        settings: CareOpinionSettings,
        on_api_call: ApiCallRecorder | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if settings.subscription_key is None:
            msg = f"Care Opinion needs the subscription's HTTP header API key: set {KEY_ENV}"
            raise AccessDenied(msg)
        self.settings = settings
        key: SecretStr = settings.subscription_key
        self._redactor = Redactor([key])
        self.client = httpx.Client(
            base_url=settings.api_base_url.rstrip("/") + "/",
            headers={
                "Authorization": f"SUBSCRIPTION_KEY {key.get_secret_value()}",
                "Accept": "application/json",
            },
            timeout=settings.request_timeout_seconds,
            verify=tls_context(),
            follow_redirects=False,  # a refused key is a redirect to the login page
        )
        self.limiter = RequestSpacing(settings.requests_per_second, clock, sleep)
        self._on_api_call = on_api_call
        self._sleep = sleep

    def get(self, source: str, endpoint: str, path: str, params: Mapping[str, Any]) -> Any:
        """The JSON answer to ``GET path`` with retries; errors as `ConnectorError` s."""
        response = retried(
            partial(self._send, source, path, params),
            self.settings,
            f"Care Opinion {endpoint}",
            f"careopinion source={source} endpoint={endpoint!r}",
            self._sleep,
        )
        return self._json(endpoint, response)

    def _send(self, source: str, path: str, params: Mapping[str, Any]) -> httpx.Response:
        self.limiter.wait()
        return counted_get(self.client, self._on_api_call, source, path, params=dict(params))

    def _json(self, endpoint: str, response: httpx.Response) -> Any:
        status = response.status_code
        detail = self._redactor.redact(response.text[:200].strip())
        if status == 429:
            wait = retry_after_seconds(response.headers, self.settings.rate_limit_backoff_seconds)
            msg = f"Care Opinion {endpoint} answered 429 (over 5 requests/s?); retry in {wait:.0f}s"
            raise RateLimited(msg, wait)
        if status in (401, 403) or 300 <= status < 400:
            what = "redirected to the login page" if status < 400 else f"answered {status}"
            msg = (
                f"Care Opinion {endpoint} {what}: the subscription key was refused; set the "
                f"subscription's HTTP header API key (API access, admins only) in {KEY_ENV}"
            )
            raise AccessDenied(msg)
        if status >= 400:
            msg = f"Care Opinion {endpoint} answered {status} ({detail})"
            raise ConnectorError(msg)
        try:
            return response.json()
        except ValueError as exc:
            msg = f"Care Opinion {endpoint} answered {status} with something that is not JSON"
            raise SourceUnavailable(msg) from exc

    def close(self) -> None:
        self.client.close()


# --- stories ---------------------------------------------------------------------------------


def parse_time(value: object) -> datetime:
    """A Care Opinion time; the API writes UTC, sometimes without an offset."""
    if not isinstance(value, str) or not value:
        msg = f"not a date: {value!r}"
        raise ValueError(msg)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def by_organisation(response: Mapping[str, Any], codes: Sequence[str]) -> bool:
    """Whether a response was written for the organisation: it links to a followed code, or to a
    service whose code starts with one (``RX1RA`` is a site of trust ``RX1``)."""
    wanted = [c.upper() for c in codes]
    for link in response.get("links") or ():
        if not isinstance(link, Mapping):
            continue
        rel = str(link.get("rel") or link.get("relation") or "").lower()
        linked = str(link.get("id") or "").upper()
        if rel in ORGANISATION_RELS and linked and any(linked.startswith(c) for c in wanted):
            return True
    return False


@dataclass(frozen=True)
class Story:
    """An opinion as listed, with its responses once read (or why it cannot be a post)."""

    raw: Any
    responses: tuple[Any, ...] = ()
    responded: bool = False
    published: datetime | None = None
    problem: str = ""

    @property
    def story_id(self) -> str:
        return str(self.raw.get("id", "")) if isinstance(self.raw, Mapping) else ""


def _author(opinion: Mapping[str, Any]) -> str:
    """The nickname the author chose; the API has carried it under more than one name."""
    for name in ("author", "authorName", "nickname"):
        value = opinion.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    role = opinion.get("authorRole")
    return f"anonymous {role}" if isinstance(role, str) and role else UNKNOWN_AUTHOR


@dataclass
class StoryCursor(NewestSeen[datetime], Cursor):
    """The newest publication time produced, the ids published at that moment, and the stories
    still waiting for the organisation's answer (id -> [published ISO time, responses seen])."""

    newest: datetime | None = None
    ids_at_newest: set[str] = field(default_factory=set)
    watch: dict[str, tuple[str, int]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)  # dead-lettered ids, newest last

    REJECTED_KEPT = 200

    @classmethod
    def parse(cls, checkpoint: str | None, source: str) -> StoryCursor:
        if not checkpoint:
            return cls()
        data = json.loads(checkpoint)
        newest = data.get("newest")
        return cls(
            datetime.fromisoformat(newest) if newest else None,
            set(data.get("ids", [])),
            {k: (str(v[0]), int(v[1])) for k, v in data.get("watch", {}).items()},
            [str(r) for r in data.get("rejected", [])],
        )

    def dump(self) -> str | None:
        if self.newest is None and not self.watch and not self.rejected:
            return None
        return json.dumps(
            {
                "newest": self.newest.isoformat() if self.newest else None,
                "ids": sorted(self.ids_at_newest),
                "watch": {k: list(v) for k, v in sorted(self.watch.items())},
                "rejected": self.rejected[-self.REJECTED_KEPT :],
            }
        )

    def copy(self) -> StoryCursor:
        return StoryCursor(
            self.newest, set(self.ids_at_newest), dict(self.watch), list(self.rejected)
        )

    def oldest_watched(self) -> datetime | None:
        times = [datetime.fromisoformat(published) for published, _ in self.watch.values()]
        return min(times) if times else None


class StoriesSource(PagedSource[Story, StoryCursor]):
    """The stories about one organisation code (see the module docstring)."""

    cursor_type = StoryCursor
    # The listing is oldest first: a poll cut short by a rate limit resumes after its last page.
    keeps_pages_when_rate_limited = True

    def __init__(
        self,
        api: CareOpinionApi,
        code: str,
        refresh_every: timedelta = timedelta(minutes=15),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.api = api
        self.code = code
        self.name = f"careopinion:stories:{code}"
        self.max_pages = api.settings.max_pages
        self.refresh_every = refresh_every
        self._now = now
        self._refreshed_at: datetime | None = None  # in memory: a restart refreshes at once

    # -- paging --

    def pages(self, start: StoryCursor) -> Iterator[Page[Story, StoryCursor]]:
        now = self._now()
        settings = self.api.settings
        mark = start.copy()
        window = now - timedelta(days=settings.response_watch_days)
        mark.watch = {k: v for k, v in mark.watch.items() if datetime.fromisoformat(v[0]) >= window}
        since = start.newest or now - timedelta(hours=settings.initial_lookback_hours)
        refresh = bool(mark.watch) and (
            self._refreshed_at is None or now - self._refreshed_at >= self.refresh_every
        )
        oldest = mark.oldest_watched()
        if refresh and oldest is not None:
            since = min(since, oldest)
        if refresh or self._refreshed_at is None:
            # Every story this poll puts on the watch list is read now, too.
            self._refreshed_at = now
        skip = 0
        while True:
            params = {
                "nacs": self.code,
                # A date, and whether "after" takes in the day itself is not documented: ask from
                # the day before and keep only what is new (`_story`).
                "publishedafter": (since - timedelta(days=1)).date().isoformat(),
                "take": settings.page_size,
                "skip": skip,
            }
            listed = self.api.get(self.name, OPINIONS, "opinions", params)
            if not isinstance(listed, list):
                msg = f"Care Opinion {OPINIONS} answered without a list of opinions"
                raise SourceUnavailable(msg)
            skip += len(listed)
            stories = [s for s in (self._story(raw, start, mark, refresh) for raw in listed) if s]
            yield Page(stories, mark.copy(), last=len(listed) < settings.page_size)

    def _story(
        self, raw: Any, start: StoryCursor, mark: StoryCursor, refresh: bool
    ) -> Story | None:
        """The listed opinion as a `Story` to produce, or None when it is neither new nor a
        watched story whose responses changed. `mark` advances over it."""
        story = Story(raw)
        if not isinstance(raw, Mapping) or not story.story_id:
            return replace(story, problem="opinion without an id")
        try:
            published = parse_time(raw.get("dateOfPublication"))
        except ValueError as exc:
            # It cannot be placed against the checkpoint: its id keeps it from coming back.
            if story.story_id in mark.rejected:
                return None
            mark.rejected.append(story.story_id)
            return replace(story, problem=f"dateOfPublication: {exc}")
        story_id = story.story_id
        new = start.is_new(story_id, published)
        watched = story_id in mark.watch
        if not new and not (refresh and watched):
            return None
        responses = self._responses(story_id)
        responded = any(by_organisation(r, [self.code]) for r in responses)
        if new:
            mark.advance(story_id, published)
        elif len(responses) == mark.watch[story_id][1] and not responded:
            return None  # watched, and nothing changed since it was last sent
        window = self._now() - timedelta(days=self.api.settings.response_watch_days)
        if responded or published < window:
            mark.watch.pop(story_id, None)
        else:
            mark.watch[story_id] = (published.isoformat(), len(responses))
        return Story(raw, tuple(responses), responded, published)

    def _responses(self, story_id: str) -> list[Any]:
        path = f"opinions/{story_id}/responses"
        answer = self.api.get(self.name, RESPONSES, path, {})
        return [r for r in answer if isinstance(r, Mapping)] if isinstance(answer, list) else []

    # -- items --

    def to_post(self, item: Story) -> Post:
        if item.problem or item.published is None:
            raise Rejected(item.problem or "opinion without a publication date")
        raw = item.raw
        title = str(raw.get("title") or "").strip()
        body = str(raw.get("body") or "").strip()
        if not body and not title:
            msg = f"opinion {item.story_id} has no title and no body (withdrawn?)"
            raise Rejected(msg)
        try:
            written = parse_time(raw.get("dateOfSubmission"))
        except ValueError:
            written = item.published
        values = {
            "platform": "careopinion",
            "post_id": item.story_id,
            "kind": "mention",
            "account": self.code,
            "author": _author(raw),
            "text": clean_text(f"{title}\n\n{body}" if title and body else title or body),
            "created_at": written,
            "url": STORY_URL.format(id=item.story_id),
            "lang": "en",
            "source": self.name,
            "engagement": Engagement(replies=len(item.responses), responded=item.responded),
        }
        return validated_post(values, f"opinion {item.story_id}")

    def origin(self, item: Story, position: int) -> str:
        return f"{self.name}:{item.story_id or f'#{position}'}"

    def raw(self, item: Story) -> Any:
        return item.raw

    def check(self) -> CheckResult:
        params = {"nacs": self.code, "take": 1}
        try:
            self.api.get(self.name, OPINIONS, "opinions", params)
        except RateLimited as exc:
            return CheckResult(self.name, True, f"key accepted, rate limited now: {exc}")
        except AccessDenied as exc:
            return CheckResult(self.name, False, str(exc), {OPINIONS: False})
        except ConnectorError as exc:
            return CheckResult(self.name, False, str(exc), {})
        detail = f"subscription key accepted; stories about {self.code} can be read"
        return CheckResult(self.name, True, detail, {OPINIONS: True})

    def close(self) -> None:
        self.api.close()


# --- registry entry point --------------------------------------------------------------------


def build_sources(
    api: CareOpinionApi,
    codes: Sequence[str],
    refresh_every: timedelta = timedelta(minutes=15),
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Connector]:
    """One source per organisation code, all on `api`."""
    return [StoriesSource(api, code.strip(), refresh_every, now) for code in codes if code.strip()]


def from_settings(
    settings: Settings, on_api_call: ApiCallRecorder | None = None
) -> list[Connector]:
    """The Care Opinion sources the settings ask for; [] when disabled or not configured."""
    conf = settings.connectors.careopinion
    if not conf.enabled:
        return []
    if conf.subscription_key is None:
        log.warning(
            "careopinion enabled but %s is not set; no Care Opinion source will run", KEY_ENV
        )
        return []
    if not conf.organisations:
        log.warning(
            "careopinion enabled but connectors.careopinion.organisations is empty; add the "
            "organisation's NACS code (its page on careopinion.org.uk shows it); nothing to poll"
        )
        return []
    refresh = timedelta(minutes=settings.connectors.engagement_refresh_minutes)
    return build_sources(CareOpinionApi(conf, on_api_call), conf.organisations, refresh)
