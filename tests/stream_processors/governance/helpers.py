"""Shared builders for the governance tests: accounts, official posts, a clock the test moves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count

from socmon.config.governance import OfficialAccount
from socmon.records import Breach, Classification, EnrichedPost, Post

_ids = count(1)

# Monday 19 October 2026, 09:00 in London (BST, UTC+1): a sweep day of the default schedule.
SWEEP_AT = datetime(2026, 10, 19, 8, 0, tzinfo=UTC)


class Clock:
    """A clock the test sets and moves; the code under test only calls it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def account(handle: str = "NorthbrookMaternity", **fields) -> OfficialAccount:
    values = {
        "platform": "twitter",
        "handle": handle,
        "team": "Maternity",
        "owner": "Grace Okafor",
        "line_manager": "Head of Midwifery",
        "approved_on": date(2022, 1, 20),
        "last_review": date(2026, 9, 15),
    } | fields
    return OfficialAccount(**values)


def official_post(
    handle: str, at: datetime, *, platform: str = "twitter", breaches: tuple[str, ...] = ()
) -> EnrichedPost:
    number = next(_ids)
    post = Post(
        platform=platform,
        post_id=f"g{number}",
        kind="official_post",
        account=handle,
        author=handle,
        text=f"Official update number {number}",
        created_at=at,
        source="replay",
    )
    found = tuple(
        Breach(rule=rule, severity="high", evidence="x", start=0, end=1) for rule in breaches
    )
    return EnrichedPost(
        post=post,
        classification=Classification(sentiment="neutral", confidence=0.9, breaches=found),
    )


def mention(author: str, at: datetime, *, platform: str = "twitter") -> EnrichedPost:
    post = Post(
        platform=platform,
        post_id=f"m{next(_ids)}",
        kind="mention",
        account="NorthbrookNHS",
        author=author,
        text="Opening times of the new clinic at Northbrook General",
        created_at=at,
        source="replay",
    )
    return EnrichedPost(
        post=post, classification=Classification(sentiment="neutral", confidence=0.8)
    )
