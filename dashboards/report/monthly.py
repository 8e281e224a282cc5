"""The figures of the monthly social media activity report, gathered through the index port.

Everything here is numbers and names, no HTML: `dashboards.report.render` turns a
`MonthlyReport` into a page. Months are UTC calendar months, as the index counts days in UTC.

Everything is counted by the post's time, not by when the pipeline saw it: a month replayed or
back-filled later lands in its own month. An alert about a post counts in the month of its post;
an alert about no post (the weekly sweep's) in the month it was raised.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dashboards.report.handling import (
    BreachRow,
    Notified,
    ResponseRow,
    UrgentIncident,
    breaches_by_account,
    notified,
    response_times,
    urgent_incidents,
)
from dashboards.report.themes import ThemeSummary, load_themes, named_themes
from socmon.index.port import NO_VALUE, AlertStore, DocumentStore, Index, PostQuery, PostStore
from socmon.records import SENTIMENTS, Alert, EnrichedPost, RecordError, utcnow
from socmon.register import ACCOUNT_REQUESTS, AccountRequest, load_register
from socmon.settings import Settings

SEARCH_WINDOW = 10_000
"""The most results one search returns (Elasticsearch's result window): posts are read a day at
a time and alerts a month at a time, and a window that comes back full is reported in the notes,
since it may have held more."""
TREND_MONTHS = 12
ALERT_LEEWAY = timedelta(days=1)  # a platform's clock may put a post a little after its alert
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
class TrendPoint:
    """One month of the twelve-month trend: the public's posts, and our own."""

    month: Month
    mentions: int
    concerns: int
    compliments: int
    official: int


@dataclass(frozen=True)
class AccountActivity:
    """An official account's posts per week of the month, whether it went quiet, and what the
    governance sweep did about it (its ``inactive_account`` alerts raised in the month)."""

    platform: str
    handle: str
    registered: bool
    team: str = ""
    owner: str = ""
    line_manager: str = ""
    weekly: tuple[int, ...] = ()
    last_post: date | None = None
    quiet_days: int | None = None  # days without an official post at the month's end
    expected_interval_days: int = 7
    reminders: int = 0  # the sweep's inactive_account alerts about it in the month
    reminded_at: datetime | None = None  # the first of them
    escalated_at: datetime | None = None  # the first escalated one (the line manager told)
    escalated_to: tuple[Notified, ...] = ()

    @property
    def quiet(self) -> bool:
        return self.registered and (
            self.quiet_days is None or self.quiet_days > self.expected_interval_days
        )

    @property
    def escalation(self) -> str:
        """Where the sweep's escalation stands, in words."""
        if self.escalated_at is not None:
            told = ", ".join(n.recipient for n in self.escalated_to if n.sent)
            whom = f" ({told})" if told else ""
            return f"Escalated to the line manager{whom} on {self.escalated_at:%d %b %Y}"
        if self.reminded_at is not None:
            if not self.quiet:
                return f"Owner reminded on {self.reminded_at:%d %b %Y}; posting again since"
            return f"Owner reminded on {self.reminded_at:%d %b %Y}; not escalated yet"
        return "No reminder from the weekly sweep this month"


@dataclass(frozen=True)
class MonthlyReport:
    """Everything the monthly social media activity report shows."""

    organisation: str
    month: Month
    generated_at: datetime
    posts: Change  # every post of the month, the public's and our own
    posts_by_sentiment: dict[str, int]  # every post of the month (what `socmon stats` counts)
    sentiment: dict[str, Change]  # the public's posts
    departments: list[TallyRow]
    platforms: list[TallyRow]
    daily: list[tuple[str, dict[str, int]]]
    trend: list[TrendPoint]
    themes: ThemeSummary
    alerts: dict[str, Change]
    urgent: list[UrgentIncident]
    urgent_before: int
    abuse: Change
    abuse_by_account: list[tuple[str, str, int]]
    breaches: list[BreachRow]
    response: list[ResponseRow]
    response_all: ResponseRow
    weeks: list[str]
    accounts: list[AccountActivity]
    account_requests: list[AccountRequest]
    department_names: dict[str, str] = field(default_factory=dict)
    account_requests_error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def mentions(self) -> Change:
        return Change(
            sum(c.now for c in self.sentiment.values()),
            sum(c.before for c in self.sentiment.values()),
        )

    @property
    def official_posts(self) -> Change:
        return Change(self.posts.now - self.mentions.now, self.posts.before - self.mentions.before)

    @property
    def breach_posts(self) -> int:
        return sum(row.posts for row in self.breaches)

    @property
    def urgent_open(self) -> list[UrgentIncident]:
        return [incident for incident in self.urgent if incident.open]

    @property
    def quiet_accounts(self) -> list[AccountActivity]:
        """Registered accounts quiet at the month's end, or reminded by the sweep in it."""
        return [account for account in self.accounts if account.quiet or account.reminders]

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
    counts: dict[tuple[str, ...], int] = defaultdict(int)
    for key, count in _counts(index, month, ("kind", *by)).items():
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
    index: Index,
    settings: Settings,
    month: Month,
    weeks: list[str],
    sweep_alerts: Sequence[Alert],
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
    reminders: dict[tuple[str, str], list[Alert]] = defaultdict(list)
    for alert in sweep_alerts:
        if alert.kind == "inactive_account" and alert.account and alert.platform:
            reminders[(alert.platform, _normalised(alert.account))].append(alert)
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
        sent = sorted(reminders.get(key, ()), key=lambda a: a.created_at)
        escalated = [alert for alert in sent if alert.escalated]
        activity.append(
            AccountActivity(
                platform=entry.platform,
                handle=entry.handle,
                registered=True,
                team=entry.team,
                owner=entry.owner or "",
                line_manager=entry.line_manager or "",
                weekly=tuple(weekly.get(key, {}).get(week, 0) for week in weeks),
                last_post=last,
                quiet_days=(month_end - last).days if last else None,
                expected_interval_days=entry.expected_interval_days,
                reminders=len(sent),
                reminded_at=sent[0].created_at if sent else None,
                escalated_at=escalated[0].created_at if escalated else None,
                escalated_to=notified(index.deliveries_for(escalated[0].alert_id))
                if escalated
                else (),
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


def posts_of(index: PostStore, month: Month, notes: list[str]) -> list[EnrichedPost]:
    """Every post written in the month, oldest day first, read a day at a time (one search
    returns at most `SEARCH_WINDOW`); a full day is reported in `notes`."""
    posts: list[EnrichedPost] = []
    for day in month.days():
        start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        found = index.search_posts(
            PostQuery(since=start, until=start + timedelta(days=1), limit=SEARCH_WINDOW)
        )
        if len(found) >= SEARCH_WINDOW:
            notes.append(
                f"{day:%d %b %Y} had {SEARCH_WINDOW} posts or more: the lists and response "
                f"times read the newest {SEARCH_WINDOW} of that day only."
            )
        posts.extend(found)
    return posts


def post_month(alert: Alert) -> Month:
    """The month an alert counts in: its post's, or when it was raised if it has no post."""
    moment = (alert.post.created_at if alert.post else alert.created_at).astimezone(UTC)
    return Month(moment.year, moment.month)


def alerts_by_post_month(
    index: AlertStore, months: Iterable[Month], until: datetime, notes: list[str]
) -> dict[Month, list[Alert]]:
    """The alerts of each month in `months`, by `post_month`, raised up to `until`.

    An alert is raised after its post, so the alerts raised from the first month's start (less
    a day of leeway) to `until` hold every alert of those months; they are read a month at a
    time, since a replay can raise a year's alerts in one afternoon.
    """
    wanted = set(months)
    found: dict[Month, list[Alert]] = {month: [] for month in wanted}
    start = min(wanted).start - ALERT_LEEWAY
    while start < until:
        end = min(Month(start.year, start.month).end, until)
        window = index.alerts_between(start, end)
        if len(window) >= SEARCH_WINDOW:
            notes.append(
                f"{SEARCH_WINDOW} alerts or more were raised between {start:%d %b %Y} and "
                f"{end:%d %b %Y}: the alert counts may leave some out."
            )
        for alert in window:
            month = post_month(alert)
            if month in found:
                found[month].append(alert)
        start = end
    return found


def _counts(index: PostStore, month: Month, by: Sequence[Any]) -> dict[tuple[str, ...], int]:
    return index.count_posts(PostQuery(since=month.start, until=month.end), by=by)


def twelve_months(index: PostStore, month: Month) -> list[TrendPoint]:
    """The public's posts, concerns and compliments, and our own posts, per month for the
    twelve months ending with `month` (one count by the index's ``month`` dimension)."""
    months = [month]
    while len(months) < TREND_MONTHS:
        months.insert(0, months[0].previous)
    counts = index.count_posts(
        PostQuery(since=months[0].start, until=month.end), by=("kind", "sentiment", "month")
    )
    totals: dict[tuple[str, str, str], int] = defaultdict(int)
    for (kind, sentiment, label), count in counts.items():
        public = "public" if kind in MENTION_KINDS else "official"
        totals[(label, public, sentiment)] += count
    points = []
    for each in months:
        label = str(each)
        points.append(
            TrendPoint(
                month=each,
                mentions=sum(totals.get((label, "public", s), 0) for s in SENTIMENTS),
                concerns=totals.get((label, "public", "concern"), 0),
                compliments=totals.get((label, "public", "compliment"), 0),
                official=sum(totals.get((label, "official", s), 0) for s in SENTIMENTS),
            )
        )
    return points


def build_report(
    index: Index, settings: Settings, month: Month, now: datetime | None = None
) -> MonthlyReport:
    """Gather the month's figures (and the previous month's, for the change) from the index."""
    generated = now or utcnow()
    previous = month.previous
    notes: list[str] = []
    names = {department.id: department.name for department in settings.departments}
    names[NO_VALUE] = "No department identified"
    keep_handles = [account.handle for account in settings.accounts]

    every_now = {key[0]: n for key, n in _counts(index, month, ("sentiment",)).items()}
    every_before = {key[0]: n for key, n in _counts(index, previous, ("sentiment",)).items()}
    sentiments = {key[0]: n for key, n in _mention_counts(index, month, ("sentiment",)).items()}
    sentiments_before = {
        key[0]: n for key, n in _mention_counts(index, previous, ("sentiment",)).items()
    }
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

    posts = posts_of(index, month, notes)
    alerts = alerts_by_post_month(
        index, (previous, month), max(generated, utcnow(), month.end) + ALERT_LEEWAY, notes
    )
    by_post: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts[month]:
        if alert.post is not None:
            by_post[alert.post.key].append(alert)
    kinds = sorted({a.kind for a in alerts[month]} | {a.kind for a in alerts[previous]})

    concerns = [p for p in posts if p.classification.sentiment == "concern"]
    concerns_before = index.search_posts(
        PostQuery(
            sentiment="concern", since=previous.start, until=previous.end, limit=SEARCH_WINDOW
        )
    )
    if len(concerns_before) >= SEARCH_WINDOW:
        notes.append(f"Last month's themes were found in its newest {SEARCH_WINDOW} concerns only.")
    themes = named_themes(
        [p for p in concerns if p.post.kind in MENTION_KINDS],
        (p for p in concerns_before if p.post.kind in MENTION_KINDS),
        load_themes(),
        names,
        keep_handles,
    )
    response, response_all = response_times(posts, names)
    abuse = _mention_counts(index, month, ("abusive", "platform", "account"))
    abuse_before = _mention_counts(index, previous, ("abusive",))
    weeks = sorted({(day - timedelta(days=day.weekday())).isoformat() for day in month.days()})
    requests, requests_error = _account_requests(index, month)
    return MonthlyReport(
        organisation=settings.organisation.name,
        month=month,
        generated_at=generated,
        posts=Change(sum(every_now.values()), sum(every_before.values())),
        posts_by_sentiment={s: every_now.get(s, 0) for s in SENTIMENTS},
        sentiment={
            s: Change(sentiments.get(s, 0), sentiments_before.get(s, 0)) for s in SENTIMENTS
        },
        departments=departments,
        platforms=platforms,
        daily=daily,
        trend=twelve_months(index, month),
        themes=themes,
        alerts={
            kind: Change(
                sum(a.kind == kind for a in alerts[month]),
                sum(a.kind == kind for a in alerts[previous]),
            )
            for kind in kinds
        },
        urgent=urgent_incidents(posts, by_post, index.deliveries_for, names, keep_handles),
        urgent_before=_counts(index, previous, ("urgent",)).get(("true",), 0),
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
        breaches=breaches_by_account(posts),
        response=response,
        response_all=response_all,
        weeks=weeks,
        accounts=_account_activity(
            index, settings, month, weeks, [a for a in alerts[month] if a.post is None]
        ),
        account_requests=requests,
        department_names=names,
        account_requests_error=requests_error,
        notes=notes,
    )
