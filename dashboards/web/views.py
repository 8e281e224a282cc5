"""What the pages show, worked out from the index and the settings, apart from HTTP.

Each function takes what it needs and returns plain data for a template, so it can be tested
without a server: the filters of the mentions list, the register of official accounts with each
account's last post and status, and who was alerted about a post.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import get_args

from socmon.config.governance import OfficialAccount, handle_key
from socmon.index.port import PostQuery
from socmon.records import (
    SENTIMENTS,
    Alert,
    AlertKind,
    Delivery,
    Platform,
    PostKind,
    Sentiment,
)
from socmon.settings import Settings

PLATFORMS: tuple[Platform, ...] = get_args(Platform)
POST_KINDS: tuple[PostKind, ...] = get_args(PostKind)
# The alerts a single post can raise (stream_processors.alert_rules); their ids are kind:post-key.
POST_ALERT_KINDS: tuple[AlertKind, ...] = (
    "urgent",
    "policy_breach",
    "abuse",
    "concern",
    "compliment",
)
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Filters:
    """The mentions list's filters as typed by the user, and the query they make."""

    text: str = ""
    sentiment: Sentiment | None = None
    department: str | None = None
    platform: Platform | None = None
    account: str | None = None
    kind: PostKind | None = None
    since: date | None = None
    until: date | None = None  # inclusive: the last day shown
    limit: int = DEFAULT_LIMIT
    problems: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return any(
            (
                self.text,
                self.sentiment,
                self.department,
                self.platform,
                self.account,
                self.kind,
                self.since,
                self.until,
            )
        )

    def query(self, zone: tzinfo, *, limit: int | None = None) -> PostQuery:
        """The index query; days are local days in `zone`, `until` included."""
        return PostQuery(
            text=self.text or None,
            sentiment=self.sentiment,
            department=self.department,
            platform=self.platform,
            account=self.account,
            kind=self.kind,
            since=local_midnight(self.since, zone) if self.since else None,
            until=local_midnight(self.until + timedelta(days=1), zone) if self.until else None,
            limit=self.limit if limit is None else limit,
        )

    def without_dates(self) -> Filters:
        return Filters(
            text=self.text,
            sentiment=self.sentiment,
            department=self.department,
            platform=self.platform,
            account=self.account,
            kind=self.kind,
        )

    def params(self, **changes: str | int | None) -> dict[str, str]:
        """The query string parameters of these filters, with `changes` (None removes one)."""
        values: dict[str, str | int | None] = {
            "q": self.text or None,
            "sentiment": self.sentiment,
            "department": self.department,
            "platform": self.platform,
            "account": self.account,
            "kind": self.kind,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "limit": self.limit if self.limit != DEFAULT_LIMIT else None,
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _choice(value: str | None, allowed: tuple[str, ...], what: str, problems: list[str]) -> str:
    if not value:
        return ""
    if value in allowed:
        return value
    problems.append(f"Unknown {what} {value!r}: ignored.")
    return ""


def _day(value: str | None, what: str, problems: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(f"The {what} date {value!r} is not a date (YYYY-MM-DD): ignored.")
        return None


def parse_filters(params: Mapping[str, str], department_ids: tuple[str, ...]) -> Filters:
    """Filters from the query string; anything unusable is dropped and said in ``problems``."""
    problems: list[str] = []
    sentiment = _choice(params.get("sentiment"), SENTIMENTS, "sentiment", problems)
    platform = _choice(params.get("platform"), PLATFORMS, "platform", problems)
    kind = _choice(params.get("kind"), POST_KINDS, "kind of post", problems)
    department = _choice(params.get("department"), department_ids, "department", problems)
    since = _day(params.get("since"), "from", problems)
    until = _day(params.get("until"), "to", problems)
    if since and until and since > until:
        problems.append("The 'from' date is after the 'to' date: the dates were swapped.")
        since, until = until, since
    try:
        limit = int(params.get("limit") or DEFAULT_LIMIT)
    except ValueError:
        limit = DEFAULT_LIMIT
    return Filters(
        text=(params.get("q") or "").strip()[:500],
        sentiment=sentiment or None,  # type: ignore[arg-type]  # checked against SENTIMENTS
        department=department or None,
        platform=platform or None,  # type: ignore[arg-type]  # checked against PLATFORMS
        account=(params.get("account") or "").strip() or None,
        kind=kind or None,  # type: ignore[arg-type]  # checked against POST_KINDS
        since=since,
        until=until,
        limit=min(max(limit, 1), MAX_LIMIT),
        problems=tuple(problems),
    )


@dataclass(frozen=True)
class AccountRow:
    """One line of the register page: the account, its newest post and what needs doing."""

    platform: str
    handle: str
    account: OfficialAccount | None  # None: seen posting but not in the register
    last_post: datetime | None
    status: str
    status_class: str  # ok, warn, alert, muted: the colour of the status tag
    notes: tuple[str, ...] = field(default=())


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    # the 31st of a shorter month becomes its last day; the 28th is always safe
    for last in (day.day, 30, 29, 28):
        try:
            return date(day.year + year, month + 1, last)
        except ValueError:
            continue
    return date(day.year + year, month + 1, 28)


def account_rows(
    settings: Settings,
    last_posts: Mapping[tuple[str, str], datetime],
    today: date,
    accounts: Sequence[OfficialAccount] | None = None,
) -> list[AccountRow]:
    """The register (``accounts``: the one in effect, default the configured one) with each
    account's last post and status, then unregistered accounts."""
    newest: dict[tuple[str, str], datetime] = {}
    shown: dict[tuple[str, str], tuple[str, str]] = {}
    for (platform, handle), when in last_posts.items():
        key = (platform, handle_key(handle))
        if key not in newest or when > newest[key]:
            newest[key] = when
            shown[key] = (platform, handle)
    rows: list[AccountRow] = []
    registered: set[tuple[str, str]] = set()
    review_months = settings.governance.review_interval_months
    for acc in settings.accounts if accounts is None else accounts:
        registered.add(acc.key)
        last = newest.get(acc.key)
        notes: list[str] = []
        if acc.last_review is None:
            notes.append("Never reviewed")
        elif _add_months(acc.last_review, review_months) < today:
            notes.append(f"Quarterly review overdue (last {acc.last_review:%d %b %Y})")
        if acc.status == "closed":
            status, css = "Closed", "muted"
        elif acc.owner_left:
            status, css = "Owner has left: hand over to Communications", "alert"
        elif last is None:
            status, css = "No post seen", "warn"
        else:
            quiet = (today - last.date()).days
            if quiet > acc.expected_interval_days:
                status, css = f"Quiet for {quiet} days", "warn"
            else:
                status, css = "Active", "ok"
        rows.append(
            AccountRow(acc.platform, acc.handle.lstrip("@"), acc, last, status, css, tuple(notes))
        )
    for key, when in sorted(newest.items()):
        if key in registered:
            continue
        platform, handle = shown[key]
        rows.append(
            AccountRow(
                platform,
                handle.lstrip("@"),
                None,
                when,
                "Not in the register",
                "alert",
                ("Official posts seen from an account the register does not list",),
            )
        )
    return rows


@dataclass(frozen=True)
class AlertedPerson:
    """One delivery of an alert about a post: who, how, when, and whether it got through."""

    alert_kind: str
    recipient: str
    channel: str
    result: str
    when: datetime
    detail: str


def alert_ids_for(post_key: str) -> list[str]:
    return [Alert.make_id(kind, post_key) for kind in POST_ALERT_KINDS]


def alerted_people(deliveries: list[Delivery]) -> list[AlertedPerson]:
    return [
        AlertedPerson(d.alert_kind, d.recipient, d.channel, d.result, d.delivered_at, d.detail)
        for d in sorted(deliveries, key=lambda d: (d.delivered_at, d.recipient))
    ]
