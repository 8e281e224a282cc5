"""What the platform connectors share: text clean-up, building a `Post` or rejecting the item,
engagement counts, retry limits, and picking a platform's accounts from the register."""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Self

import tenacity
from pydantic import ValidationError

from ingest.connector import ConnectorError
from socmon.config.connectors import ApiClientSettings, ConnectorSettings
from socmon.config.governance import OfficialAccount
from socmon.records import Engagement, Post, describe_validation_error, utcnow

log = logging.getLogger(__name__)

# Zero-width space, word joiner and BOM hide words ("A&E") from keyword rules; the zero-width
# joiner and non-joiner stay, since emoji sequences and Urdu/Persian spelling need them.
STRIPPED_CHARACTERS = dict.fromkeys(map(ord, "\u200b\u2060\ufeff"))

ApiCallRecorder = Callable[[str, str], None]
"""Called with (source, HTTP status or "timeout") after every API request: feeds the metrics."""


class Rejected(ValueError):
    """One item cannot become a `Post`; the message is the dead letter's reason."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of 5xx answers and time-outs: `attempts` tries, exponential wait capped."""

    attempts: int = 3
    wait_initial: float = 1.0
    wait_max: float = 30.0


def retry_policy(settings: ApiClientSettings) -> RetryPolicy:
    """The retry limits a platform's settings ask for (`max_retries` after the first try)."""
    return RetryPolicy(
        attempts=settings.max_retries + 1,
        wait_initial=settings.retry_backoff_seconds,
        wait_max=60.0,
    )


def clean_text(text: str) -> str:
    """Post text as classifiers should see it; lone surrogates (unencodable) are rejected."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        msg = f"text has an unpaired surrogate at position {exc.start} (not valid Unicode)"
        raise Rejected(msg) from exc
    return unicodedata.normalize("NFC", text.translate(STRIPPED_CHARACTERS))


def validated_post(values: Mapping[str, Any], what: str | None = None) -> Post:
    """`values` as a `Post`; a value the record refuses rejects the item, naming it (`what`)."""
    try:
        return Post.model_validate(values)
    except ValidationError as exc:
        detail = describe_validation_error(exc)
        raise Rejected(f"{what}: {detail}" if what else detail) from exc


def active_accounts(accounts: Iterable[OfficialAccount], platform: str) -> list[OfficialAccount]:
    """The register's active accounts on `platform`."""
    return [a for a in accounts if a.platform == platform and a.status == "active"]


def _describe(exc: BaseException | None) -> str:
    return str(exc) if exc is not None else ""


def api_retrying(
    policy: RetryPolicy,
    retry: tenacity.retry_base,
    where: str,
    *,
    describe: Callable[[BaseException | None], str] = _describe,
    sleep: Callable[[float], None] | None = None,
) -> tenacity.Retrying:
    """Bounded retries of one API call: `policy.attempts` tries with capped exponential waits,
    each failed try logged with `where` (say which source and endpoint; never a token)."""
    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts),
        wait=tenacity.wait_exponential(multiplier=policy.wait_initial, max=policy.wait_max),
        retry=retry,
        reraise=True,
        sleep=sleep or tenacity.nap.sleep,
        before_sleep=lambda state: log.warning(
            "%s attempt=%d failed, retrying: %s",
            where,
            state.attempt_number,
            describe(state.outcome.exception() if state.outcome else None),
        ),
    )


# --- engagement ------------------------------------------------------------------------------

MAX_COUNT = 10**12
"""The largest count kept: more than a trillion reactions is a broken value, not a post (and a
count must fit the index's 64-bit integer fields)."""


def count_of(value: Any) -> int | None:
    """A platform's count as an int; None when it is missing or malformed (negative, not a whole
    number, a bool, absurdly large): a bad count loses that count, never the post."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        return None
    return value


def read_engagement(
    *,
    likes: Any = None,
    reposts: Any = None,
    replies: Any = None,
    quotes: Any = None,
    views: Any = None,
    read_at: datetime | None = None,
) -> Engagement | None:
    """The counts of a post as the platform sent them (each checked by `count_of`), read at
    `read_at` (default: now); None when the answer carried no usable count at all."""
    counts = {
        "likes": count_of(likes),
        "reposts": count_of(reposts),
        "replies": count_of(replies),
        "quotes": count_of(quotes),
        "views": count_of(views),
    }
    if all(value is None for value in counts.values()):
        return None
    return Engagement(**counts, read_at=read_at or utcnow())


# A mention that already had this much engagement when it was read may be spreading: its counts
# are read again with the official posts'. 50 reposts or 200 likes is far above what a local
# hospital's mentions usually get (a handful), so few mentions qualify and the look-ups stay cheap.
HOT_REPOSTS = 50
HOT_LIKES = 200
MAX_HOT_MENTIONS = 100
"""Mentions kept for refreshing at most (the newest): bounds the checkpoint and the look-ups."""


def is_high_engagement(post: Post) -> bool:
    """A mention (not an official post) read with `HOT_REPOSTS` reposts or `HOT_LIKES` likes."""
    counts = post.engagement
    if post.kind == "official_post" or counts is None:
        return False
    return (counts.reposts or 0) >= HOT_REPOSTS or (counts.likes or 0) >= HOT_LIKES


@dataclass(frozen=True)
class HotMention:
    """A high-engagement mention to refresh: its id, the source that found it (which normalises
    it again the same way) and when it was written (it is dropped once outside the window)."""

    post_id: str
    source: str
    created_at: datetime


def _newest_first(mentions: Iterable[HotMention], since: datetime) -> list[HotMention]:
    """`mentions` written since `since`, once each, newest first, at most `MAX_HOT_MENTIONS`."""
    unique: dict[str, HotMention] = {}
    for mention in mentions:
        if mention.created_at >= since:
            unique.setdefault(mention.post_id, mention)
    ordered = sorted(unique.values(), key=lambda m: m.created_at, reverse=True)
    return ordered[:MAX_HOT_MENTIONS]


@dataclass
class HotMentions:
    """The high-engagement mentions a platform's sources have read, handed in memory to that
    platform's refresh source, which keeps them in its checkpoint (so they survive a restart).

    Bounded: only the newest `MAX_HOT_MENTIONS` are kept.
    """

    mentions: list[HotMention] = field(default_factory=list)

    def note(self, post: Post) -> None:
        """Remember `post` when it is a mention with high engagement."""
        if is_high_engagement(post):
            self.mentions.append(HotMention(post.post_id, post.source, post.created_at))
            if len(self.mentions) > 2 * MAX_HOT_MENTIONS:
                oldest = min(m.created_at for m in self.mentions)
                self.mentions = _newest_first(self.mentions, oldest)


@dataclass(frozen=True)
class RefreshSchedule:
    """How often the counts of recent posts are read again (`every`), and how recent a post must
    be (`window`); `ConnectorSettings.engagement_refresh_minutes` and `_hours`."""

    every: timedelta = timedelta(
        minutes=ConnectorSettings.model_fields["engagement_refresh_minutes"].default
    )
    window: timedelta = timedelta(
        hours=ConnectorSettings.model_fields["engagement_refresh_hours"].default
    )

    @classmethod
    def of(cls, settings: ConnectorSettings) -> RefreshSchedule:
        return cls(
            every=timedelta(minutes=settings.engagement_refresh_minutes),
            window=timedelta(hours=settings.engagement_refresh_hours),
        )


@dataclass(frozen=True)
class RefreshCheckpoint:
    """A refresh source's checkpoint: when it last read the counts again (None: never), and the
    high-engagement mentions it refreshes."""

    refreshed_at: datetime | None = None
    hot: tuple[HotMention, ...] = ()

    @classmethod
    def parse(cls, checkpoint: str | None, source: str) -> Self:
        if not checkpoint:
            return cls()
        try:
            state = json.loads(checkpoint)
            when = state.get("refreshed_at")
            return cls(
                refreshed_at=_aware(when) if when else None,
                hot=tuple(
                    HotMention(str(post_id), str(found_by), _aware(created))
                    for post_id, found_by, created in state.get("hot", [])
                ),
            )
        except (ValueError, AttributeError, TypeError) as exc:
            msg = f"{source}: unreadable checkpoint {checkpoint!r} ({exc}); reset it to start over"
            raise ConnectorError(msg) from exc

    def dump(self) -> str | None:
        if self.refreshed_at is None and not self.hot:
            return None
        return json.dumps(
            {
                "refreshed_at": self.refreshed_at.isoformat() if self.refreshed_at else None,
                "hot": [[m.post_id, m.source, m.created_at.isoformat()] for m in self.hot],
            }
        )

    def with_mentions(self, mentions: Sequence[HotMention], since: datetime) -> RefreshCheckpoint:
        """This checkpoint with `mentions` added, those written before `since` dropped."""
        return RefreshCheckpoint(
            self.refreshed_at, tuple(_newest_first([*self.hot, *mentions], since))
        )


def _aware(value: Any) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        msg = f"time {value!r} has no time zone"
        raise ValueError(msg)
    return moment
