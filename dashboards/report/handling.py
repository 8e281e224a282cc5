"""How the month's posts that needed action were handled: the urgent incidents with who was
told and when, the policy breaches of our own accounts, and the response times by department.

Pure functions over the month's posts and the alerts about them (deliveries are looked up
through a callable), so they are tested without an index. Response times run from the post's
time to `Case.first_handled_at`, the first time a person closed the case.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dashboards.report.themes import quote
from socmon.index.port import NO_VALUE
from socmon.records import OPEN_STATUSES, Alert, CaseStatus, Delivery, EnrichedPost, Severity

# The classifier writes the category of an urgent post into its reason, as "urgent (category,
# 98%)" or "urgent (category)"; a post escalated by a person has none.
_URGENT_CATEGORY = re.compile(r"\burgent \(([a-z_]+)")
CATEGORY_NAMES: dict[str, str] = {
    "self_harm": "Self-harm",
    "safeguarding": "Safeguarding",
    "violence": "Violence or threat",
    "clinical_emergency": "Clinical emergency",
    "data_breach": "Data breach",
}
STATUS_NAMES: dict[str, str] = {
    "new": "Not yet picked up",
    "in_progress": "In progress",
    "handled": "Handled",
    "no_action": "Closed, no action needed",
}
SEVERITY_ORDER: dict[Severity, int] = {"high": 0, "medium": 1, "low": 2}
EXCERPT_LENGTH = 140  # characters of an urgent post quoted in its row


@dataclass(frozen=True)
class Notified:
    """A person (or channel) told about a post: the first successful delivery to them, or the
    last failed one when none succeeded."""

    recipient: str
    channel: str
    at: datetime
    sent: bool


@dataclass(frozen=True)
class UrgentIncident:
    """An urgent post of the month and its handling."""

    key: str
    created_at: datetime
    platform: str
    account: str
    official: bool
    category: str | None
    departments: tuple[str, ...]
    excerpt: str
    alerted: tuple[Notified, ...]
    status: CaseStatus | None
    assignee: str | None
    first_handled_at: datetime | None

    @property
    def category_name(self) -> str:
        if self.category is None:
            return "Not recorded"
        return CATEGORY_NAMES.get(self.category, self.category.replace("_", " ").capitalize())

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status or "new", str(self.status))

    @property
    def first_alerted(self) -> datetime | None:
        sent = [n.at for n in self.alerted if n.sent]
        return min(sent) if sent else None

    @property
    def alerted_together(self) -> list[tuple[datetime, str, tuple[str, ...]]]:
        """The people told, grouped by the minute and the channel they were told on: (when,
        channel, recipients). Failed deliveries are not in it (see `alerted`)."""
        groups: dict[tuple[datetime, str], list[str]] = defaultdict(list)
        for person in self.alerted:
            if person.sent:
                minute = person.at.replace(second=0, microsecond=0)
                groups[(minute, person.channel)].append(person.recipient)
        return [(at, channel, tuple(people)) for (at, channel), people in sorted(groups.items())]

    @property
    def response(self) -> timedelta | None:
        """Post to first handled; None while it has not been."""
        return _elapsed(self.created_at, self.first_handled_at)

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES or self.status is None


@dataclass(frozen=True)
class RuleCount:
    """One policy rule broken on an account: in how many posts, at its highest severity."""

    rule: str
    severity: Severity
    posts: int


@dataclass(frozen=True)
class BreachRow:
    """The posts of one official account that breached the policy in the month (a person's
    dismissal of a breach already taken out)."""

    platform: str
    account: str
    posts: int
    rules: tuple[RuleCount, ...]
    open: int

    @property
    def highest(self) -> Severity:
        return min((r.severity for r in self.rules), key=SEVERITY_ORDER.__getitem__)


@dataclass(frozen=True)
class ResponseRow:
    """Response times of one department: post to first handled, over the posts that needed
    action, with how many of them are still open."""

    key: str
    name: str
    needing_action: int
    handled: int
    median: timedelta | None
    p90: timedelta | None
    open: int


def rule_name(rule: str) -> str:
    """A policy rule in words: ``nhs_number`` -> ``NHS number``, ``media_consent`` -> ``media
    consent``."""
    words = rule.replace("_", " ")
    return "NHS " + words[4:] if words.startswith("nhs ") else words


def urgent_category(post: EnrichedPost) -> str | None:
    """The urgent category the classifier gave (``data_breach``...), None if not recorded."""
    found = _URGENT_CATEGORY.search(post.classification.reason)
    return found.group(1) if found else None


def active_breaches(post: EnrichedPost) -> list[tuple[str, Severity]]:
    """(rule, severity) of the post's breaches, each rule once, those a person dismissed left
    out. The index stores the corrected classification; the dismissal is checked again here so
    a post stored before that correction was applied still reads right."""
    dismissed = set(post.correction.dismissed_breaches or ()) if post.correction else set()
    found: dict[str, Severity] = {}
    for breach in post.classification.breaches:
        if breach.rule in dismissed:
            continue
        known = found.get(breach.rule)
        if known is None or SEVERITY_ORDER[breach.severity] < SEVERITY_ORDER[known]:
            found[breach.rule] = breach.severity
    return sorted(found.items())


def _elapsed(start: datetime, end: datetime | None) -> timedelta | None:
    if end is None:
        return None
    # a case closed "before" its post (a platform's clock ahead of ours) took no time
    return max(end - start, timedelta(0))


def notified(deliveries: Iterable[Delivery]) -> tuple[Notified, ...]:
    """Each recipient and channel once, by its first successful delivery (else its last
    failure), in the order they were told."""
    first: dict[tuple[str, str], Notified] = {}
    for delivery in sorted(deliveries, key=lambda d: d.delivered_at):
        key = (delivery.recipient, delivery.channel)
        known = first.get(key)
        sent = delivery.result == "sent"
        if known is None or (not known.sent and (sent or delivery.delivered_at > known.at)):
            first[key] = Notified(delivery.recipient, delivery.channel, delivery.delivered_at, sent)
    return tuple(sorted(first.values(), key=lambda n: (n.at, n.recipient, n.channel)))


def urgent_incidents(
    posts: Iterable[EnrichedPost],
    alerts_by_post: Mapping[str, Sequence[Alert]],
    deliveries_for: Callable[[str], list[Delivery]],
    department_names: Mapping[str, str],
    keep_handles: Sequence[str] = (),
) -> list[UrgentIncident]:
    """The urgent posts, oldest first, each with the deliveries of every alert about it."""
    incidents = []
    for post in sorted(posts, key=lambda p: (p.post.created_at, p.key)):
        if not post.classification.urgent:
            continue
        deliveries = [
            delivery
            for alert in alerts_by_post.get(post.key, ())
            for delivery in deliveries_for(alert.alert_id)
        ]
        case = post.case
        incidents.append(
            UrgentIncident(
                key=post.key,
                created_at=post.post.created_at,
                platform=post.post.platform,
                account=post.post.account,
                official=post.post.kind == "official_post",
                category=urgent_category(post),
                departments=tuple(
                    department_names.get(d, d) for d in post.classification.departments
                ),
                excerpt=quote(post.post.text, keep_handles, EXCERPT_LENGTH),
                alerted=notified(deliveries),
                status=post.case_status,
                assignee=case.assignee if case else None,
                first_handled_at=case.first_handled_at if case else None,
            )
        )
    return incidents


def breaches_by_account(posts: Iterable[EnrichedPost]) -> list[BreachRow]:
    """Per account (most breaching posts first): the rules broken, with severity and posts."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    still_open: dict[tuple[str, str], int] = defaultdict(int)
    rules: dict[tuple[str, str], dict[str, list[Severity]]] = defaultdict(lambda: defaultdict(list))
    spelling: dict[tuple[str, str], str] = {}
    for post in posts:
        found = active_breaches(post)
        if not found:
            continue
        key = (post.post.platform, post.post.account.strip().lstrip("@").casefold())
        spelling.setdefault(key, post.post.account)
        counts[key] += 1
        still_open[key] += post.case_status in OPEN_STATUSES
        for rule, severity in found:
            rules[key][rule].append(severity)
    rows = [
        BreachRow(
            platform=key[0],
            account=spelling[key],
            posts=count,
            rules=tuple(
                sorted(
                    (
                        RuleCount(
                            rule, min(severities, key=SEVERITY_ORDER.__getitem__), len(severities)
                        )
                        for rule, severities in rules[key].items()
                    ),
                    key=lambda r: (SEVERITY_ORDER[r.severity], -r.posts, r.rule),
                )
            ),
            open=still_open[key],
        )
        for key, count in counts.items()
    ]
    return sorted(rows, key=lambda r: (-r.posts, r.platform, r.account.casefold()))


def median(values: Sequence[timedelta]) -> timedelta | None:
    """The middle value (the mean of the two middle ones for an even count); None if empty."""
    if not values:
        return None
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))


def percentile(values: Sequence[timedelta], share: float) -> timedelta | None:
    """The nearest-rank percentile: the smallest value with at least `share` of the values at
    or below it (so "90% were handled within" it is true of the data); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(share * len(ordered)), 1)
    return ordered[rank - 1]


def _response_row(key: str, name: str, posts: Sequence[EnrichedPost]) -> ResponseRow:
    times = [
        elapsed
        for post in posts
        if post.case is not None
        and (elapsed := _elapsed(post.post.created_at, post.case.first_handled_at)) is not None
    ]
    return ResponseRow(
        key=key,
        name=name,
        needing_action=len(posts),
        handled=len(times),
        median=median(times),
        p90=percentile(times, 0.9),
        open=sum(post.case_status in OPEN_STATUSES for post in posts),
    )


def response_times(
    posts: Iterable[EnrichedPost], department_names: Mapping[str, str]
) -> tuple[list[ResponseRow], ResponseRow]:
    """Per department (most needing action first, no department last), and for all of them
    (each post once). Only the posts that needed action (`EnrichedPost.needs_action`) count."""
    needing = [post for post in posts if post.needs_action]
    by_department: dict[str, list[EnrichedPost]] = defaultdict(list)
    for post in needing:
        for department in post.classification.departments or (NO_VALUE,):
            by_department[department].append(post)
    rows = [
        _response_row(key, department_names.get(key, key), group)
        for key, group in by_department.items()
    ]
    rows.sort(key=lambda r: (r.key == NO_VALUE, -r.needing_action, r.name))
    return rows, _response_row("all", "All departments", needing)
