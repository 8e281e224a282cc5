"""The weekly sweep of the official accounts, as a pure function: the register, each account's
last post and the week's breaches in, the alerts out. The Faust timer and `socmon accounts sweep`
both call `sweep`; neither keeps state, so "a new post clears it" needs no bookkeeping.

Alert ids are ``kind:platform:handle:sweep-date`` (the sweep date in the configured zone), so
running the same sweep twice raises the same ids and delivery tells nobody twice.
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from socmon.config.governance import GovernanceSettings, OfficialAccount, handle_key
from socmon.records import Alert, AlertKind, EnrichedPost
from socmon.register import Register

# An escalated inactive_account alert (`Alert.escalated`, which routing uses to add the line
# manager) gets an id of its own, so the owner's first alert does not stop it being delivered.
ESCALATED_SUFFIX = ":line_manager"
BREACH_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class SweepPolicy:
    """When an account is escalated or due for review, and in which zone a sweep date is read."""

    escalation_after: timedelta = timedelta(days=7)
    review_interval_months: int = 3
    zone: tzinfo = field(default_factory=lambda: ZoneInfo("Europe/London"))

    @classmethod
    def from_settings(cls, settings: GovernanceSettings) -> SweepPolicy:
        return cls(
            escalation_after=timedelta(days=settings.escalation_after_days),
            review_interval_months=settings.review_interval_months,
            zone=settings.zone,
        )


@dataclass(frozen=True)
class InactiveAccount:
    """An account with no post within its expected interval (``last_post`` None: none on record)."""

    account: OfficialAccount
    last_post: datetime | None
    quiet_for: timedelta | None
    escalated: bool


def add_months(day: date, months: int) -> date:
    """`day` plus calendar months, clamped to the month's end (30 Nov + 3 months = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def sweep_date(now: datetime, policy: SweepPolicy) -> date:
    """The local date a sweep at `now` belongs to (the date in its alert ids)."""
    if now.tzinfo is None or now.utcoffset() is None:
        msg = f"the sweep needs a timezone-aware time, got the naive {now.isoformat()}"
        raise ValueError(msg)
    return now.astimezone(policy.zone).date()


def find_inactive(
    account: OfficialAccount, last_post: datetime | None, now: datetime, policy: SweepPolicy
) -> InactiveAccount | None:
    """Whether `account` is quiet at `now`, and whether it is quiet long enough to escalate."""
    interval = timedelta(days=account.expected_interval_days)
    if last_post is None:
        # We cannot tell how long it has been quiet (the index may be new, or the posts expired),
        # so the owner is asked, and nobody is escalated on missing evidence. A newly approved
        # account gets one interval to start posting.
        if account.approved_on is not None:
            today = now.astimezone(policy.zone).date()
            if today - account.approved_on <= interval:
                return None
        return InactiveAccount(account, None, None, escalated=False)
    quiet_for = now - last_post
    if quiet_for <= interval:
        return None
    escalated = quiet_for > interval + policy.escalation_after
    return InactiveAccount(account, last_post, quiet_for, escalated)


def sweep(
    register: Register,
    last_posts: Mapping[tuple[str, str], datetime],
    breaches_of_the_week: Sequence[EnrichedPost],
    now: datetime,
    policy: SweepPolicy | None = None,
) -> list[Alert]:
    """The alerts of one sweep at `now`, at most one of each kind per account, in register order.

    `last_posts` maps (platform, account handle) to its newest official post, as
    `Index.last_post_per_account` returns it; `breaches_of_the_week` are official posts with
    breaches (others are ignored), of which those in the seven days before `now` are summarised.
    Closed accounts raise nothing.
    """
    policy = policy or SweepPolicy()
    day = sweep_date(now, policy)
    newest: dict[tuple[str, str], datetime] = {}
    for (platform, handle), moment in last_posts.items():
        key = (platform, handle_key(handle))
        newest[key] = max(moment, newest.get(key, moment))
    breaches = _breaches_by_account(breaches_of_the_week, now)

    alerts: list[Alert] = []
    for account in register.active:
        subject = f"{account.platform}:{account.key[1]}:{day.isoformat()}"
        inactive = find_inactive(account, newest.get(account.key), now, policy)
        if inactive is not None:
            suffix = ESCALATED_SUFFIX if inactive.escalated else ""
            summary = _inactive_summary(inactive, policy)
            alerts.append(
                _alert(
                    "inactive_account",
                    subject + suffix,
                    summary,
                    account,
                    now,
                    escalated=inactive.escalated,
                )
            )
        handover = _handover_reason(account)
        if handover:
            summary = f"{_name(account)} needs a new owner: {handover}"
            alerts.append(_alert("handover", subject, summary, account, now))
        review = _review_due_on(account, policy)
        if review <= day:
            last = account.last_review.isoformat() if account.last_review else "never"
            summary = (
                f"{_name(account)} is due its quarterly review (last reviewed: {last}); "
                f"record it with `socmon accounts review {account.platform}:{account.handle}`"
            )
            alerts.append(_alert("review_due", subject, summary, account, now))
        posts = breaches.get(account.key)
        if posts:
            summary = _breach_summary(account, posts)
            alerts.append(_alert("policy_breach", "week:" + subject, summary, account, now))
    return alerts


def _alert(
    kind: AlertKind,
    subject: str,
    summary: str,
    account: OfficialAccount,
    now: datetime,
    escalated: bool = False,
) -> Alert:
    return Alert(
        alert_id=Alert.make_id(kind, subject),
        kind=kind,
        summary=summary,
        created_at=now,
        account=account.handle,
        platform=account.platform,
        escalated=escalated,
    )


def _name(account: OfficialAccount) -> str:
    return f"@{account.handle.lstrip('@')} ({account.platform}, {account.team})"


def _inactive_summary(found: InactiveAccount, policy: SweepPolicy) -> str:
    account = found.account
    expected = f"expected every {account.expected_interval_days} days"
    owner = account.owner or "no owner"
    if found.last_post is None or found.quiet_for is None:
        return f"{_name(account)} has no post on record ({expected}); owner: {owner}"
    last = found.last_post.astimezone(policy.zone).date().isoformat()
    text = (
        f"{_name(account)} has not posted for {found.quiet_for.days} days "
        f"(last post {last}, {expected}); owner: {owner}"
    )
    if found.escalated:
        manager = account.line_manager or "no line manager registered"
        text += f"; still quiet a week after the first reminder: escalated to {manager}"
    return text


def _handover_reason(account: OfficialAccount) -> str | None:
    if not (account.owner or "").strip():
        return "it has no owner; reassign it, change the passwords and revoke old access"
    if account.owner_left:
        return (
            f"its owner {account.owner} has left; reassign it, change the passwords and "
            "revoke their access"
        )
    return None


def _review_due_on(account: OfficialAccount, policy: SweepPolicy) -> date:
    """The date the next review is due; a never-reviewed account is due at once (date.min)."""
    if account.last_review is None:
        return date.min
    return add_months(account.last_review, policy.review_interval_months)


def _breaches_by_account(
    posts: Sequence[EnrichedPost], now: datetime
) -> dict[tuple[str, str], list[EnrichedPost]]:
    grouped: dict[tuple[str, str], list[EnrichedPost]] = defaultdict(list)
    seen: set[str] = set()
    for enriched in posts:
        post = enriched.post
        in_week = now - BREACH_WINDOW <= post.created_at < now
        if post.kind != "official_post" or not enriched.classification.breaches or not in_week:
            continue
        if enriched.key in seen:  # the caller may pass a post twice (two spellings of a handle)
            continue
        seen.add(enriched.key)
        grouped[(post.platform, handle_key(post.account))].append(enriched)
    return grouped


def _breach_summary(account: OfficialAccount, posts: list[EnrichedPost]) -> str:
    rules = Counter(b.rule for p in posts for b in p.classification.breaches)
    listed = ", ".join(f"{rule} ×{n}" for rule, n in sorted(rules.items()))
    plural = "post" if len(posts) == 1 else "posts"
    return (
        f"{_name(account)}: {len(posts)} {plural} with possible policy breaches in the last "
        f"7 days ({listed}); owner: {account.owner or 'no owner'}"
    )
