"""The executive summary of the monthly report: a paragraph written from its figures.

Every sentence states a figure and, where there is one, last month's; nothing is called good or
bad, high or low, since the figures alone cannot say so. A sentence about something that did
not happen says so plainly ("No post was flagged as urgent.") rather than being left out, so a
reader can tell a quiet month from a missing section.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from dashboards.report.handling import SEVERITY_ORDER, rule_name
from dashboards.report.monthly import Change, MonthlyReport
from socmon.index.port import NO_VALUE

MIN_CASES_TO_COMPARE = 3  # handled cases a department needs before its median is singled out


def duration(value: timedelta | None) -> str:
    """``45 min``, ``5 h 20 min``, ``3 days 4 h``; ``–`` for none."""
    if value is None:
        return "–"
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h" if hours else f"{days} days"


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 post``, ``2 posts``; `many` for an irregular plural."""
    return f"{count} {one if count == 1 else many or one + 's'}"


def listing(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def against(change: Change, label: str) -> str:
    """Last month's figure and the change: ``266 in September 2026, up 12%``."""
    if change.before == 0:
        return f"none in {label}"
    if change.delta == 0:
        return f"{change.before} in {label}, the same"
    return f"{change.before} in {label}, {change.direction} {abs(change.percent or 0.0):.0f}%"


def shift(change: Change) -> str:
    """The change in words: ``up 18% from 120``, ``unchanged``, ``up from none``."""
    if change.before == 0:
        return "none in either month" if change.now == 0 else "up from none"
    if change.delta == 0:
        return f"unchanged at {change.now}"
    return f"{change.direction} {abs(change.percent or 0.0):.0f}% from {change.before}"


def _volumes(report: MonthlyReport, before: str) -> list[str]:
    mentions = report.mentions
    if mentions.now == 0:
        return [
            f"No post from the public was recorded in {report.month.label} "
            f"({against(mentions, before)})."
        ]
    sentiment = report.sentiment
    compared = f" ({against(mentions, before)})" if mentions.before else ""
    first = (
        f"In {report.month.label} the public posted {plural(mentions.now, 'time')} to or about "
        f"{report.organisation}{compared}: "
        f"{plural(sentiment['concern'].now, 'concern')}, "
        f"{plural(sentiment['compliment'].now, 'compliment')} and "
        f"{sentiment['neutral'].now} neutral."
    )
    if mentions.before == 0:
        second = (
            f"No post from the public was recorded in {before}, so there is no change to "
            f"report. Our own accounts posted {plural(report.official_posts.now, 'time')}."
        )
        return [first, second]
    second = (
        f"Against {before}, concerns were {shift(sentiment['concern'])} and compliments "
        f"{shift(sentiment['compliment'])}. Our own accounts posted "
        f"{plural(report.official_posts.now, 'time')}."
    )
    return [first, second]


def _concerns(report: MonthlyReport) -> list[str]:
    sentences = []
    rows = sorted(
        (row for row in report.departments if row.key != NO_VALUE and row.concerns.now),
        key=lambda row: (-row.concerns.now, row.name),
    )[:3]
    if rows:
        named = [f"{row.name} ({row.concerns.now})" for row in rows]
        sentences.append(f"The departments with most concerns were {listing(named)}.")
    themes = report.themes.themes[:3]
    if themes:
        named = [f"{theme.name[0].lower()}{theme.name[1:]} ({theme.posts})" for theme in themes]
        sentences.append(f"The themes raised most often were {listing(named)}.")
    return sentences


def _urgent(report: MonthlyReport, before: str) -> str:
    urgent = report.urgent
    if not urgent:
        return f"No post was flagged as urgent ({before}: {report.urgent_before})."
    categories = Counter(incident.category_name for incident in urgent)
    kinds = listing(
        [f"{n} {name.lower()}" for name, n in sorted(categories.items(), key=lambda kv: -kv[1])]
    )
    still = len(report.urgent_open)
    handling = (
        "all of them have been closed"
        if still == 0
        else f"{still} of them {'is' if still == 1 else 'are'} still open"
    )
    return (
        f"{plural(len(urgent), 'post')} {'was' if len(urgent) == 1 else 'were'} flagged as "
        f"urgent ({kinds}; {before}: {report.urgent_before}). As at "
        f"{report.generated_at:%d %B %Y}, {handling}."
    )


def _breaches(report: MonthlyReport) -> str:
    rows = report.breaches
    if not rows:
        return "None of our own posts breached the social media policy."
    high = sorted(
        {rule.rule for row in rows for rule in row.rules if rule.severity == "high"},
    )
    text = (
        f"{plural(report.breach_posts, 'post')} from {len(rows)} of our accounts "
        "breached the social media policy"
    )
    if len(rows) == 1:
        text = (
            f"{plural(report.breach_posts, 'post')} from @{rows[0].account.lstrip('@')} "
            "breached the social media policy"
        )
    if high:
        names = [rule_name(rule) for rule in high]
        rules = "rule broken was" if len(names) == 1 else "rules broken were"
        text += f"; the high-severity {rules} {listing(names)}"
    worst = min((row.highest for row in rows), key=SEVERITY_ORDER.__getitem__)
    if not high:
        text += f"; none was of high severity (the highest was {worst})"
    return text + "."


def _response(report: MonthlyReport) -> list[str]:
    total = report.response_all
    if total.needing_action == 0:
        return ["No post needed action."]
    if total.handled == 0:
        return [
            f"None of the {plural(total.needing_action, 'post')} that needed action has been "
            f"recorded as handled yet, so no response time can be given; "
            f"{total.open} {'is' if total.open == 1 else 'are'} still open."
        ]
    sentences = [
        f"Of the {plural(total.needing_action, 'post')} that needed action, {total.handled} "
        f"{'was' if total.handled == 1 else 'were'} handled, in a median of "
        f"{duration(total.median)} from the post (90% within {duration(total.p90)}); "
        f"{total.open} {'is' if total.open == 1 else 'are'} still open."
    ]
    compared = [
        row
        for row in report.response
        if row.key != NO_VALUE and row.handled >= MIN_CASES_TO_COMPARE and row.median is not None
    ]
    if len(compared) >= 2:
        slowest = max(compared, key=lambda row: (row.median or timedelta(0), row.name))
        sentences.append(
            f"The longest median was {slowest.name}'s, {duration(slowest.median)} over "
            f"{plural(slowest.handled, 'handled case')}."
        )
    return sentences


def _accounts(report: MonthlyReport, before: str) -> list[str]:
    sentences = [
        f"{plural(report.abuse.now, 'abusive post')} "
        f"{'was' if report.abuse.now == 1 else 'were'} aimed at our accounts "
        f"({before}: {report.abuse.before})."
    ]
    quiet = [account for account in report.quiet_accounts if account.quiet]
    if not quiet:
        sentences.append("Every registered account posted within its expected interval.")
        return sentences
    named = [
        f"@{account.handle.lstrip('@')} ("
        + (
            f"{account.quiet_days} days without a post"
            if account.quiet_days is not None
            else "no post in a year"
        )
        + ")"
        for account in quiet
    ]
    escalated = sum(account.escalated_at is not None for account in quiet)
    reminded = sum(account.reminded_at is not None for account in quiet)
    if escalated:
        sweep = f"{escalated} {'was' if escalated == 1 else 'were'} escalated to a line manager"
    elif reminded:
        sweep = f"the weekly sweep reminded {plural(reminded, 'owner')}, and none was escalated"
    else:
        about = "it" if len(quiet) == 1 else "them"
        sweep = f"the weekly sweep raised no reminder about {about} in the month"
    sentences.append(
        f"{plural(len(quiet), 'registered account')} "
        f"{'was' if len(quiet) == 1 else 'were'} quiet at the month's end: {listing(named)}; "
        f"{sweep}."
    )
    return sentences


def executive_summary(report: MonthlyReport) -> list[str]:
    """The summary's paragraphs, in the order a board reads them: what the public said, what
    needed action and how it was handled, our own accounts."""
    before = report.month.previous.label
    paragraphs = [
        [*_volumes(report, before), *_concerns(report)],
        [_urgent(report, before), *_response(report), _breaches(report)],
        _accounts(report, before),
    ]
    return [" ".join(sentences) for sentences in paragraphs]
