"""What the pages show, worked out from the index and the settings, apart from HTTP.

Each function takes what it needs and returns plain data for a template, so it can be tested
without a server: the filters of the mentions list (and the views "my items" and "unassigned"
they make), the front page's open items by department and age, the chart's range (the last 30
days, or the 30 up to the newest post when those hold none), whether a compliment waits for the
digest, the register of official accounts with each account's last post and status, and who
was alerted about a post.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal, get_args

from dashboards.web.cases import parse_status
from socmon.alerts import details, headline, post_alerts
from socmon.config.governance import OfficialAccount, handle_key
from socmon.index.port import (
    NO_VALUE,
    POST_SORTS,
    UNASSIGNED,
    AlertStore,
    PostQuery,
    PostSort,
    PostStore,
)
from socmon.records import (
    OPEN_STATUSES,
    SENTIMENTS,
    Alert,
    AlertKind,
    CaseStatus,
    Delivery,
    EnrichedPost,
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
    "unsure_concern",
    "compliment",
)
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_PAGE = 100_000


SORT_NAMES: dict[PostSort, str] = {
    "newest": "newest first",
    "oldest": "oldest first",
    "author": "author, A to Z",
    "platform": "platform, A to Z",
    "sentiment": "sentiment",
    "department": "department, A to Z",
    "status": "status",
}
FLAG_VALUES = {"yes": True, "no": False}
UNASSIGNED_PARAM = "-"
"""The ``assignee`` parameter of the posts nobody is assigned to (no user name starts so)."""
OPEN_PARAM = "open"
"""The ``status`` parameter that stands for the open statuses (new and in progress)."""


@dataclass(frozen=True)
class Filters:
    """The mentions list's filters as typed by the user, and the query they make."""

    text: str = ""
    sentiment: Sentiment | None = None
    departments: tuple[str, ...] = ()
    platform: Platform | None = None
    account: str | None = None
    kind: PostKind | None = None
    author: str = ""
    urgent: bool | None = None
    abusive: bool | None = None
    breach: bool | None = None
    statuses: tuple[CaseStatus, ...] = ()
    assignee: str | None = None  # a user name, or UNASSIGNED
    since: date | None = None
    until: date | None = None  # inclusive: the last day shown
    sort: PostSort = "newest"
    page: int = 1
    limit: int = DEFAULT_LIMIT
    problems: tuple[str, ...] = ()

    @property
    def department(self) -> str | None:
        """The one department filtered on, if exactly one."""
        return self.departments[0] if len(self.departments) == 1 else None

    @property
    def active(self) -> bool:
        return any(
            (
                self.text,
                self.sentiment,
                self.departments,
                self.platform,
                self.account,
                self.kind,
                self.author,
                self.urgent is not None,
                self.abusive is not None,
                self.breach is not None,
                self.statuses,
                self.assignee is not None,
                self.since,
                self.until,
            )
        )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def query(self, zone: tzinfo, *, limit: int | None = None) -> PostQuery:
        """The index query; days are local days in `zone`, `until` included."""
        return PostQuery(
            text=self.text or None,
            sentiment=self.sentiment,
            # one department goes in both: "any of them" is that one, whichever is read
            department=self.department,
            departments=self.departments,
            platform=self.platform,
            account=self.account,
            kind=self.kind,
            author=self.author or None,
            urgent=self.urgent,
            abusive=self.abusive,
            breach=self.breach,
            statuses=self.statuses,
            assignee=self.assignee,
            since=local_midnight(self.since, zone) if self.since else None,
            until=local_midnight(self.until + timedelta(days=1), zone) if self.until else None,
            sort=self.sort,
            offset=self.offset if limit is None else 0,
            limit=self.limit if limit is None else limit,
        )

    def without_dates(self) -> Filters:
        """The same filters over all time, first page (what the chart counts)."""
        return replace(self, since=None, until=None, page=1, sort="newest", problems=())

    def params(self, **changes: object) -> list[tuple[str, str]]:
        """The query string parameters of these filters, with `changes` (None removes one; a
        tuple gives the parameter once per value). A change of anything but the page goes back
        to the first page."""
        statuses: tuple[str, ...] = self.statuses
        if set(statuses) == set(OPEN_STATUSES) and len(statuses) == len(OPEN_STATUSES):
            statuses = (OPEN_PARAM,)
        values: dict[str, object] = {
            "q": self.text or None,
            "sentiment": self.sentiment,
            "department": self.departments,
            "platform": self.platform,
            "account": self.account,
            "kind": self.kind,
            "author": self.author or None,
            "urgent": _flag_param(self.urgent),
            "abusive": _flag_param(self.abusive),
            "breach": _flag_param(self.breach),
            "status": statuses,
            "assignee": (UNASSIGNED_PARAM if self.assignee == UNASSIGNED else self.assignee),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "sort": self.sort if self.sort != "newest" else None,
            "page": self.page if self.page != 1 else None,
            "limit": self.limit if self.limit != DEFAULT_LIMIT else None,
        }
        if changes and "page" not in changes:
            values["page"] = None
        values.update(changes)
        if values["page"] == 1:
            values["page"] = None
        pairs: list[tuple[str, str]] = []
        for name, value in values.items():
            for one in value if isinstance(value, tuple | list) else (value,):
                if one is not None and one != "":
                    pairs.append((name, str(one)))
        return pairs


def _flag_param(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


def local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _choice(value: str | None, allowed: tuple[str, ...], what: str, problems: list[str]) -> str:
    if not value:
        return ""
    if value in allowed:
        return value
    problems.append(f"Unknown {what} {value!r}: ignored.")
    return ""


def _flag(value: str | None, what: str, problems: list[str]) -> bool | None:
    if not value:
        return None
    if value in FLAG_VALUES:
        return FLAG_VALUES[value]
    problems.append(f"The {what} filter {value!r} is not yes or no: ignored.")
    return None


def _day(value: str | None, what: str, problems: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(f"The {what} date {value!r} is not a date (YYYY-MM-DD): ignored.")
        return None


def _whole(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


def _statuses(values: Sequence[str], problems: list[str]) -> tuple[CaseStatus, ...]:
    chosen: list[CaseStatus] = []
    for value in values:
        if not value:
            continue
        wanted = OPEN_STATUSES if value == OPEN_PARAM else (parse_status(value),)
        if wanted == (None,):
            problems.append(f"Unknown status {value!r}: ignored.")
        chosen += [s for s in wanted if s is not None and s not in chosen]
    return tuple(chosen)


def _all(params: Mapping[str, str], name: str) -> list[str]:
    """Every value of a repeated parameter (Starlette's `QueryParams` keeps them all; a plain
    mapping has one)."""
    getlist = getattr(params, "getlist", None)
    if callable(getlist):
        return [str(v) for v in getlist(name)]
    value = params.get(name)
    return [value] if value else []


def parse_filters(params: Mapping[str, str], department_ids: tuple[str, ...]) -> Filters:
    """Filters from the query string; anything unusable is dropped and said in ``problems``."""
    problems: list[str] = []
    sentiment = _choice(params.get("sentiment"), SENTIMENTS, "sentiment", problems)
    platform = _choice(params.get("platform"), PLATFORMS, "platform", problems)
    kind = _choice(params.get("kind"), POST_KINDS, "kind of post", problems)
    departments: list[str] = []
    for value in _all(params, "department"):
        department = _choice(value, department_ids, "department", problems)
        if department and department not in departments:
            departments.append(department)
    sort = _choice(params.get("sort"), POST_SORTS, "order", problems) or "newest"
    since = _day(params.get("since"), "from", problems)
    until = _day(params.get("until"), "to", problems)
    if since and until and since > until:
        problems.append("The 'from' date is after the 'to' date: the dates were swapped.")
        since, until = until, since
    assignee = (params.get("assignee") or "").strip() or None
    if assignee == UNASSIGNED_PARAM:
        assignee = UNASSIGNED
    return Filters(
        text=(params.get("q") or "").strip()[:500],
        sentiment=sentiment or None,  # type: ignore[arg-type]  # checked against SENTIMENTS
        departments=tuple(departments),
        platform=platform or None,  # type: ignore[arg-type]  # checked against PLATFORMS
        account=(params.get("account") or "").strip() or None,
        kind=kind or None,  # type: ignore[arg-type]  # checked against POST_KINDS
        author=(params.get("author") or "").strip()[:200],
        urgent=_flag(params.get("urgent"), "urgent", problems),
        abusive=_flag(params.get("abusive"), "abusive", problems),
        breach=_flag(params.get("breach"), "breach", problems),
        statuses=_statuses(_all(params, "status"), problems),
        assignee=assignee,
        since=since,
        until=until,
        sort=sort,  # type: ignore[arg-type]  # checked against POST_SORTS
        page=min(max(_whole(params.get("page"), 1), 1), MAX_PAGE),
        limit=min(max(_whole(params.get("limit"), DEFAULT_LIMIT), 1), MAX_LIMIT),
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


def alert_ids_for(post_key: str, departments_judged: Iterable[Sequence[str]] = ()) -> list[str]:
    """The ids of the alerts a post may have raised: its own kinds, and the ``withdrawn``
    notices of its concern (withdrawn, or moved to each set of departments a person gave it:
    see `socmon.alerts.concern_notice`)."""
    ids = [Alert.make_id(kind, post_key) for kind in POST_ALERT_KINDS]
    ids.append(Alert.make_id("withdrawn", post_key))
    for departments in departments_judged:
        ids.append(Alert.make_id("withdrawn", f"{post_key}>{','.join(sorted(departments))}"))
    return list(dict.fromkeys(ids))


def alerted_people(deliveries: list[Delivery]) -> list[AlertedPerson]:
    return [
        AlertedPerson(d.alert_kind, d.recipient, d.channel, d.result, d.delivered_at, d.detail)
        for d in sorted(deliveries, key=lambda d: (d.delivered_at, d.recipient))
    ]


# -- the front page -----------------------------------------------------------------------------

AgeBand = Literal["today", "recent", "older"]
AGE_BANDS: dict[AgeBand, str] = {
    "today": "Today",
    "recent": "1–3 days",
    "older": "Older than 3 days",
}


def age_band_days(band: AgeBand, today: date) -> tuple[date | None, date | None]:
    """The local days (first, last, both included; None: open) of an age band of open items."""
    if band == "today":
        return today, None
    if band == "recent":
        return today - timedelta(days=3), today - timedelta(days=1)
    return None, today - timedelta(days=4)


@dataclass(frozen=True)
class OpenItems:
    """The open items (new or in progress) in view: per department and age band, the totals,
    and how many nobody has looked at yet (new)."""

    by_department: dict[str, dict[AgeBand, int]]  # department id (NO_VALUE: none) -> band -> n
    totals: dict[AgeBand, int]
    new: int
    mine: int
    unassigned: int

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def open_items(
    posts: PostStore,
    scope: Callable[[PostQuery], PostQuery],
    today: date,
    zone: tzinfo,
    me: str,
) -> OpenItems:
    """Count the open items in view (`scope` narrows every query to what the user may see)."""
    by_department: dict[str, dict[AgeBand, int]] = {}
    totals: dict[AgeBand, int] = {}
    for band in AGE_BANDS:
        first, last = age_band_days(band, today)
        query = scope(
            PostQuery(
                statuses=OPEN_STATUSES,
                since=local_midnight(first, zone) if first else None,
                until=local_midnight(last + timedelta(days=1), zone) if last else None,
                limit=0,
            )
        )
        totals[band] = sum(posts.count_posts(query, by=()).values())
        for (department,), count in posts.count_posts(query, by=("department",)).items():
            by_department.setdefault(department or NO_VALUE, {})[band] = count
    new = sum(posts.count_posts(scope(PostQuery(statuses=("new",), limit=0)), by=()).values())
    mine_query = scope(PostQuery(statuses=OPEN_STATUSES, assignee=me, limit=0))
    mine = sum(posts.count_posts(mine_query, by=()).values())
    nobody_query = scope(PostQuery(statuses=OPEN_STATUSES, assignee=UNASSIGNED, limit=0))
    unassigned = sum(posts.count_posts(nobody_query, by=()).values())
    return OpenItems(by_department, totals, new, mine, unassigned)


@dataclass(frozen=True)
class ChartRange:
    """The days the chart shows: the last 30, or (`fallback`) the 30 up to the newest post when
    the last 30 hold none, so a new user of old sample data sees a full chart."""

    first_day: date
    last_day: date
    fallback: bool = False


def chart_range(
    posts: PostStore, query: PostQuery, today: date, zone: tzinfo, days: int
) -> ChartRange:
    """The chart's days for the posts of `query` (its dates are ignored)."""
    first_day = today - timedelta(days=days - 1)
    undated = replace(query, since=None, until=None, offset=0, sort="newest")
    recent = replace(undated, since=local_midnight(first_day, zone), limit=0)
    if posts.count_posts(recent, by=()):
        return ChartRange(first_day, today)
    newest = posts.search_posts(replace(undated, limit=1))
    if not newest:
        return ChartRange(first_day, today)
    last_day = newest[0].post.created_at.astimezone(zone).date()
    if last_day >= today:  # only posts dated in the future: nothing older to show
        return ChartRange(first_day, today)
    return ChartRange(last_day - timedelta(days=days - 1), last_day, fallback=True)


def digest_timing(settings: Settings, post: EnrichedPost) -> str | None:
    """When the compliment alert of a post is delivered, if by the daily digest (e.g. ``17:00
    (Europe/London)``): None if the post raises no compliment alert or a route sends it now."""
    if not any(alert.kind == "compliment" for alert in post_alerts(post)):
        return None
    departments = post.classification.departments
    routes = [r for r in settings.alerting.routes if r.kind == "compliment"]
    # A route naming a department replaces the general ones for that department.
    own = [r for r in routes if r.department is not None and r.department in departments]
    chosen = own or [r for r in routes if r.department is None]
    if not chosen or any(r.when == "now" for r in chosen):
        return None
    digest = settings.alerting.digest
    return f"{digest.at:%H:%M} ({digest.timezone})"


SPIKE_DAYS = 7
"""How far back the front page lists spike alerts."""


@dataclass(frozen=True)
class SpikeNotice:
    """A spike alert as the front page lists it: when, what (the headline), the numbers and
    top posts (the summary's further lines), and the key of its top post to open here."""

    alert_id: str
    raised_at: datetime
    headline: str
    details: tuple[str, ...]
    post_key: str | None


def recent_spikes(
    alerts: AlertStore, now: datetime, department: str | None, everything: bool
) -> list[SpikeNotice]:
    """The spike alerts of the last `SPIKE_DAYS` days, newest first: all of them for a user
    who sees everything, else only those of the user's `department` (whose top posts are
    that department's)."""
    found = [
        alert
        for alert in alerts.alerts_between(
            now - timedelta(days=SPIKE_DAYS), now + timedelta(hours=1), kind="spike"
        )
        if everything or department in alert.departments
    ]
    found.sort(key=lambda alert: (alert.created_at, alert.alert_id), reverse=True)
    return [
        SpikeNotice(
            alert_id=alert.alert_id,
            raised_at=alert.created_at,
            headline=headline(alert),
            details=tuple(details(alert)),
            post_key=alert.post.key if alert.post is not None else None,
        )
        for alert in found
    ]
