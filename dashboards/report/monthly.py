"""The figures of the monthly social media activity report, gathered through the index port.

Everything here is numbers and names, no HTML: `dashboards.report.render` turns a
`MonthlyReport` into a page. Months are UTC calendar months, as the index counts days in UTC.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dashboards.report.themes import Theme, top_themes
from socmon.index.port import NO_VALUE, DocumentStore, Index, PostQuery, PostStore
from socmon.records import SENTIMENTS, Alert, RecordError, utcnow
from socmon.register import ACCOUNT_REQUESTS, AccountRequest, load_register
from socmon.settings import Settings

"""The document collection the governance stage keeps new-account requests in (a data contract:
this module reads the documents with a model of its own, not the governance stage's code)."""
THEME_SAMPLE = 10_000  # concerns read for themes: a search window, far above a month's concerns
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MENTION_KINDS = ("mention", "comment", "reply")  # what the public says; not our own posts


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month, UTC."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """``2026-10`` -> Month(2026, 10); ValueError with the expected form otherwise."""
        found = _MONTH.match(text.strip())
        if not found or not 1 <= int(found.group(2)) <= 12:
            msg = f"a month is written YYYY-MM, like 2026-10; got {text!r}"
            raise ValueError(msg)
        if not 2000 <= int(found.group(1)) <= 2099:
            msg = f"a report is for a month of 2000 to 2099 (the years posts carry); got {text!r}"
            raise ValueError(msg)
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def before(cls, moment: datetime) -> Month:
        """The last full month before `moment` (what a report run today is about)."""
        return cls(moment.year, moment.month).previous

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first moment of the next month (exclusive)."""
        return self.next.start

    @property
    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def label(self) -> str:
        return self.start.strftime("%B %Y")

    def days(self) -> list[date]:
        first = self.start.date()
        return [first + timedelta(days=n) for n in range((self.end.date() - first).days)]

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Change:
    """A figure this month and the month before."""

    now: int
    before: int

    @property
    def delta(self) -> int:
        return self.now - self.before

    @property
    def percent(self) -> float | None:
        """Relative change, None when there was nothing the month before."""
        return None if self.before == 0 else 100.0 * self.delta / self.before

    @property
    def direction(self) -> str:
        return "up" if self.delta > 0 else "down" if self.delta < 0 else "same"


@dataclass(frozen=True)
class TallyRow:
    """Compliments and concerns of one department or platform, with last month's."""

    key: str
    name: str
    compliments: Change
    concerns: Change
    neutral: int


@dataclass(frozen=True)
class AccountActivity:
    """An official account's posts per week of the month, and whether it went quiet."""

    platform: str
    handle: str
    registered: bool
    team: str = ""
    owner: str = ""
    weekly: tuple[int, ...] = ()
    last_post: date | None = None
    quiet_days: int | None = None  # days without an official post at the month's end
    expected_interval_days: int = 7

    @property
    def quiet(self) -> bool:
        return self.registered and (
            self.quiet_days is None or self.quiet_days > self.expected_interval_days
        )


@dataclass(frozen=True)
class BreachRow:
    """Policy-breach alerts on one official account in the month."""

    platform: str
    account: str
    alerts: int
    rules: tuple[str, ...]


@dataclass(frozen=True)
class MonthlyReport:
    """Everything the monthly social media activity report shows."""

    organisation: str
    month: Month
    generated_at: datetime
    sentiment: dict[str, Change]
    departments: list[TallyRow]
    platforms: list[TallyRow]
    daily: list[tuple[str, dict[str, int]]]
    themes: list[Theme]
    alerts: dict[str, Change]
    abuse: Change
    abuse_by_account: list[tuple[str, str, int]]
    breaches: list[BreachRow]
    weeks: list[str]
    accounts: list[AccountActivity]
    account_requests: list[AccountRequest]
    account_requests_error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def mentions(self) -> Change:
        return Change(
            sum(c.now for c in self.sentiment.values()),
            sum(c.before for c in self.sentiment.values()),
        )

    @property
    def quiet_accounts(self) -> list[AccountActivity]:
        return [account for account in self.accounts if account.quiet]

    @property
    def unregistered_accounts(self) -> list[AccountActivity]:
        return [account for account in self.accounts if not account.registered]

    @property
    def requests_by_decision(self) -> dict[str, int]:
        counts: dict[str, int] = {"approved": 0, "rejected": 0, "pending": 0}
        for request in self.account_requests:
            decision = request.decision or "pending"
            counts[decision] = counts.get(decision, 0) + 1
        return counts


def _mention_counts(
    index: PostStore, month: Month, by: Sequence[Any]
) -> dict[tuple[str, ...], int]:
    """Counts of the public's posts (not our own) in the month, keyed without the kind."""
    query = PostQuery(since=month.start, until=month.end)
    counts: dict[tuple[str, ...], int] = defaultdict(int)
    for key, count in index.count_posts(query, by=("kind", *by)).items():
        if key[0] in MENTION_KINDS:
            counts[key[1:]] += count
    return counts


def _tally_rows(
    now: Mapping[tuple[str, ...], int],
    before: Mapping[tuple[str, ...], int],
    names: Mapping[str, str],
) -> list[TallyRow]:
    """Rows keyed by the first element of the count keys, the second being the sentiment."""
    keys = {key[0] for key in now} | {key[0] for key in before}
    rows = [
        TallyRow(
            key=key,
            name=names.get(key, key),
            compliments=Change(now.get((key, "compliment"), 0), before.get((key, "compliment"), 0)),
            concerns=Change(now.get((key, "concern"), 0), before.get((key, "concern"), 0)),
            neutral=now.get((key, "neutral"), 0),
        )
        for key in keys
    ]
    # busiest first (what needs attention), the unassigned group last
    return sorted(
        rows,
        key=lambda r: (r.key == NO_VALUE, -(r.compliments.now + r.concerns.now), r.name),
    )


def _normalised(handle: str) -> str:
    return handle.strip().lstrip("@").casefold()


def _account_activity(
    index: Index, settings: Settings, month: Month, weeks: list[str]
) -> list[AccountActivity]:
    in_month = index.count_posts(
        PostQuery(kind="official_post", since=month.start, until=month.end),
        by=("platform", "account", "week"),
    )
    # The newest official post before the month's end, per account: a day is precise enough
    # for a weekly expectation, and one query answers for every account (and for a past month,
    # where `last_post_per_account`, which answers as of now, would not).
    history = index.count_posts(
        PostQuery(kind="official_post", since=month.end - timedelta(days=366), until=month.end),
        by=("platform", "account", "day"),
    )
    last_day: dict[tuple[str, str], date] = {}
    spelling: dict[tuple[str, str], str] = {}
    for platform, account, day in history:
        key = (platform, _normalised(account))
        spelling.setdefault(key, account)
        last_day[key] = max(last_day.get(key, date.min), date.fromisoformat(day))
    weekly: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for (platform, account, week), count in in_month.items():
        key = (platform, _normalised(account))
        spelling.setdefault(key, account)
        weekly[key][week] = weekly[key].get(week, 0) + count
    month_end = (month.end - timedelta(days=1)).date()
    activity: list[AccountActivity] = []
    registered: set[tuple[str, str]] = set()
    # the register in effect: owner changes and closures recorded with `socmon accounts`
    for entry in load_register(settings.accounts, index).accounts:
        if entry.status != "active":
            continue
        key = (entry.platform, _normalised(entry.handle))
        registered.add(key)
        last = last_day.get(key)
        activity.append(
            AccountActivity(
                platform=entry.platform,
                handle=entry.handle,
                registered=True,
                team=entry.team,
                owner=entry.owner or "",
                weekly=tuple(weekly.get(key, {}).get(week, 0) for week in weeks),
                last_post=last,
                quiet_days=(month_end - last).days if last else None,
                expected_interval_days=entry.expected_interval_days,
            )
        )
    for key, counts in sorted(weekly.items()):
        if key not in registered:
            last = last_day.get(key)
            activity.append(
                AccountActivity(
                    platform=key[0],
                    handle=spelling[key],
                    registered=False,
                    weekly=tuple(counts.get(week, 0) for week in weeks),
                    last_post=last,
                    quiet_days=(month_end - last).days if last else None,
                )
            )
    return activity


def _breaches(alerts: Iterable[Alert]) -> list[BreachRow]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    rules: dict[tuple[str, str], set[str]] = defaultdict(set)
    for alert in alerts:
        if alert.kind != "policy_breach":
            continue
        key = (alert.post.platform if alert.post else "", alert.account or "")
        counts[key] += 1
        if alert.classification:
            rules[key] |= {breach.rule for breach in alert.classification.breaches}
    return [
        BreachRow(platform, account, count, tuple(sorted(rules[(platform, account)])))
        for (platform, account), count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def _account_requests(
    store: DocumentStore, month: Month
) -> tuple[list[AccountRequest], str | None]:
    """Requests made or decided in the month, or the reason they could not be read."""
    try:
        requests = store.get_documents(ACCOUNT_REQUESTS)
    except RecordError as exc:
        return [], str(exc)
    first, following = month.start.date(), month.end.date()
    chosen = [
        request
        for request in requests
        if any(
            first <= day < following
            for day in (request.requested_on, request.decided_on)
            if day is not None
        )
    ]
    return sorted(chosen, key=lambda r: (r.requested_on, r.team)), None


def build_report(
    index: Index, settings: Settings, month: Month, now: datetime | None = None
) -> MonthlyReport:
    """Gather the month's figures (and the previous month's, for the trend) from the index."""
    previous = month.previous
    sentiments = {key[0]: n for key, n in _mention_counts(index, month, ("sentiment",)).items()}
    sentiments_before = {
        key[0]: n for key, n in _mention_counts(index, previous, ("sentiment",)).items()
    }
    names = {department.id: department.name for department in settings.departments}
    names[NO_VALUE] = "No department identified"
    departments = _tally_rows(
        _mention_counts(index, month, ("department", "sentiment")),
        _mention_counts(index, previous, ("department", "sentiment")),
        names,
    )
    platforms = _tally_rows(
        _mention_counts(index, month, ("platform", "sentiment")),
        _mention_counts(index, previous, ("platform", "sentiment")),
        {},
    )
    per_day = _mention_counts(index, month, ("day", "sentiment"))
    daily: list[tuple[str, dict[str, int]]] = [
        (
            day.strftime("%d %b"),
            {s: per_day.get((day.isoformat(), s), 0) for s in SENTIMENTS},
        )
        for day in month.days()
    ]
    concerns = index.search_posts(
        PostQuery(sentiment="concern", since=month.start, until=month.end, limit=THEME_SAMPLE)
    )
    ignore = [settings.organisation.name, *(a.handle for a in settings.accounts)]
    themes = top_themes(
        (p.post.text for p in concerns if p.post.kind in MENTION_KINDS),
        ignore=[word for phrase in ignore for word in phrase.split()],
    )
    alerts = index.alerts_between(month.start, month.end)
    alerts_before = index.alerts_between(previous.start, previous.end)
    kinds = sorted({a.kind for a in alerts} | {a.kind for a in alerts_before})
    abuse = _mention_counts(index, month, ("abusive", "platform", "account"))
    abuse_before = _mention_counts(index, previous, ("abusive",))
    weeks = sorted({(day - timedelta(days=day.weekday())).isoformat() for day in month.days()})
    requests, requests_error = _account_requests(index, month)
    notes = []
    if len(concerns) >= THEME_SAMPLE:
        notes.append(f"Themes were found in the newest {THEME_SAMPLE} concerns only.")
    return MonthlyReport(
        organisation=settings.organisation.name,
        month=month,
        generated_at=now or utcnow(),
        sentiment={
            s: Change(sentiments.get(s, 0), sentiments_before.get(s, 0)) for s in SENTIMENTS
        },
        departments=departments,
        platforms=platforms,
        daily=daily,
        themes=themes,
        alerts={
            kind: Change(
                sum(a.kind == kind for a in alerts), sum(a.kind == kind for a in alerts_before)
            )
            for kind in kinds
        },
        abuse=Change(
            sum(n for key, n in abuse.items() if key[0] == "true"),
            abuse_before.get(("true",), 0),
        ),
        abuse_by_account=sorted(
            (
                (platform, account, n)
                for (flag, platform, account), n in abuse.items()
                if flag == "true"
            ),
            key=lambda row: (-row[2], row[0], row[1]),
        ),
        breaches=_breaches(alerts),
        weeks=weeks,
        accounts=_account_activity(index, settings, month, weeks),
        account_requests=requests,
        account_requests_error=requests_error,
        notes=notes,
    )
