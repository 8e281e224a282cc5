"""The monthly social media activity report, rendered over an index filled with two months of
posts and alerts (on both adapters): its figures, its wording, its charts, and its PDF."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dashboards.report import Month, MonthlyReport, build_report, html_to_pdf, render_html
from dashboards.report.handling import active_breaches, median, percentile
from dashboards.report.monthly import Change, TrendPoint
from dashboards.report.render import PdfUnavailable, find_browser
from dashboards.report.summary import duration, executive_summary
from socmon.index.port import Index
from socmon.records import (
    Alert,
    Breach,
    Case,
    CaseStatus,
    CorrectedLabels,
    Delivery,
    EnrichedPost,
    Severity,
)
from socmon.register import ACCOUNT_REQUESTS, AccountRequest
from socmon.settings import Settings, load_settings
from socmon_app.cli import app
from tests.dashboards.backends import Backend, backend  # noqa: F401
from tests.factories import make_alert, make_post
from tests.servers import missing

OCTOBER = Month(2026, 10)
OCT = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
SEP = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
GENERATED = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def settings() -> Settings:
    """The bundled configuration: Northbrook's departments and register of accounts."""
    return load_settings()


def fill(index: Index) -> None:
    """September and October 2026 at Northbrook (the bundled configuration's Trust)."""
    n = iter(range(1000))

    def post(when: datetime, **fields: object) -> object:
        return make_post(str(next(n)), created_at=when, account="NorthbrookNHS", **fields)  # type: ignore[arg-type]

    posts = [
        # September: 2 compliments and 1 concern for maternity, 3 concerns for A&E, 1 abuse
        post(SEP, sentiment="compliment", departments=("maternity",)),
        post(SEP + DAY, sentiment="compliment", departments=("maternity",)),
        post(SEP + DAY, sentiment="concern", departments=("maternity",)),
        *(post(SEP + 2 * DAY, sentiment="concern", departments=("emergency",)) for _ in range(3)),
        post(SEP + 3 * DAY, sentiment="neutral", abusive=True),
        # October: 4 compliments for maternity, one on Facebook
        *(
            post(OCT + d * DAY, sentiment="compliment", departments=("maternity",))
            for d in range(3)
        ),
        post(OCT, sentiment="compliment", departments=("maternity",), platform="facebook"),
        post(OCT + 4 * DAY, sentiment="compliment", departments=("emergency",)),
        # concerns with shared themes; one names two departments and counts in each
        post(
            OCT + 5 * DAY,
            sentiment="concern",
            departments=("maternity", "emergency"),
            text="The car park at the maternity unit is full again @NorthbrookNHS",
        ),
        post(
            OCT + 6 * DAY,
            sentiment="concern",
            departments=("emergency",),
            text="No space in the car park, drove round for an hour",
        ),
        post(OCT + 7 * DAY, sentiment="concern", text="Car park machines broken https://t.co/x"),
        post(
            OCT + 8 * DAY,
            sentiment="concern",
            departments=("emergency",),
            text="Waiting time in A&E was six hours",
        ),
        post(
            OCT + 9 * DAY,
            sentiment="concern",
            departments=("emergency",),
            text="Waiting time for a bed is shocking",
        ),
        post(OCT + 10 * DAY, sentiment="neutral"),
        # abuse aimed at our main account: two in October
        post(OCT + 11 * DAY, sentiment="neutral", abusive=True),
        post(OCT + 12 * DAY, sentiment="concern", abusive=True, platform="facebook"),
        # official posts: the main account weekly, Hospitals last in September, Maternity never
        *(
            make_post(
                f"o{week}",
                kind="official_post",
                account="NorthbrookNHS",
                created_at=OCT + week * 7 * DAY,
            )
            for week in range(5)
        ),
        make_post(
            "h1",
            kind="official_post",
            account="NorthbrookHospitals",
            platform="facebook",
            created_at=datetime(2026, 9, 10, tzinfo=UTC),
        ),
        make_post(
            "u1", kind="official_post", account="NorthbrookPharmacy", created_at=OCT + 3 * DAY
        ),
    ]
    index.upsert_posts(posts)  # type: ignore[arg-type]
    # the main account's second weekly post broke the policy (a phone number)
    breach = with_labels(
        make_post("o1", kind="official_post", account="NorthbrookNHS", created_at=OCT + 7 * DAY),
        breaches=(Breach(rule="phone_number", severity="medium", evidence="0", start=0, end=1),),
    )
    index.upsert_posts([breach])
    index.record_alerts(
        [
            *(make_alert("concern", f"twitter:c{i}", created_at=OCT + i * DAY) for i in range(3)),
            make_alert("concern", "twitter:sep", created_at=SEP),
            make_alert(
                "policy_breach", "twitter:o1", created_at=OCT + 8 * DAY, post=breach
            ).model_copy(update={"account": "NorthbrookNHS"}),
        ]
    )
    index.put_documents(
        ACCOUNT_REQUESTS,
        [
            (
                "req-1",
                AccountRequest(
                    team="Pharmacy",
                    platform="twitter",
                    purpose="Medicines advice",
                    business_case="Fewer calls to the helpline",
                    approving_manager="Chief Pharmacist",
                    requested_on=date(2026, 10, 14),
                    proposed_handle="NorthbrookPharmacy",
                ),
            ),
            (
                "req-2",
                AccountRequest(
                    team="Estates",
                    platform="facebook",
                    purpose="Parking updates",
                    business_case="Car park works",
                    approving_manager="Director of Estates",
                    requested_on=date(2026, 8, 3),
                    decision="rejected",
                    decided_on=date(2026, 8, 20),
                ),
            ),
        ],
    )


def with_labels(post: EnrichedPost, **labels: object) -> EnrichedPost:
    """`post` with classification fields replaced (reason, breaches...)."""
    return post.model_copy(update={"classification": post.classification.model_copy(update=labels)})


def with_case(
    post: EnrichedPost,
    status: CaseStatus,
    handled_after: timedelta | None = None,
    assignee: str = "alice",
) -> EnrichedPost:
    """`post` as the dashboard writes it with a case; `handled_after` the post, first closed."""
    handled = post.post.created_at + handled_after if handled_after is not None else None
    case = Case(
        status=status,
        assignee=assignee,
        first_handled_at=handled,
        updated_by=assignee,
        updated_at=handled or post.post.created_at + DAY,
    )
    return post.model_copy(update={"case": case})


def delivery(alert_id: str, to: str, channel: str, at: datetime, sent: bool = True) -> Delivery:
    return Delivery(
        alert_id=alert_id,
        alert_kind="urgent",
        recipient=to,
        channel=channel,
        result="sent" if sent else "failed",
        delivered_at=at,
    )


PII_TEXT = (
    "Waited 3 hours in the queue and still waiting. Ring me on 07700 900123 or write to "
    "jo.bloggs@example.com, my NHS number is 943 476 5919, @jo_bloggs99 saw it all"
)
PII_PIECES = ("07700", "900123", "943 476 5919", "jo.bloggs", "example.com", "jo_bloggs99")
URGENT_AT = OCT + 14 * DAY  # 15 Oct 09:00
RAISED_IN_NOVEMBER = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def fill_cases(index: Index, september: bool = True) -> None:
    """More of October at Northbrook: urgent posts and their handling, breaches (one dismissed),
    cases with known response times, a post full of personal data, and the weekly sweep's
    reminders; with `september`, a September post whose alert was raised in October."""

    def mention(post_id: str, when: datetime, **fields: object) -> EnrichedPost:
        return make_post(post_id, created_at=when, account="NorthbrookNHS", **fields)  # type: ignore[arg-type]

    def official(post_id: str, when: datetime, *rules: tuple[str, Severity]) -> EnrichedPost:
        post = make_post(
            post_id,
            kind="official_post",
            account="NorthbrookHospitals",
            author="NorthbrookHospitals",
            platform="facebook",
            created_at=when,
        )
        breaches = tuple(
            Breach(rule=rule, severity=severity, evidence="x", start=0, end=1)
            for rule, severity in rules
        )
        return with_labels(post, breaches=breaches)

    # a data breach reported by the public: alerted on 1 November, handled 3 hours after it
    # was posted; a self-harm post nobody has picked up and no alert reached
    reported = with_labels(
        mention(
            "u1",
            URGENT_AT,
            sentiment="concern",
            departments=("emergency",),
            urgent=True,
            text="Found a bundle of patient letters <b>blowing</b> round the car park",
        ),
        reason="concern (90%): 'letters'; urgent (data_breach, 98%): 'patient', 'letters'",
    )
    reported = with_case(reported, "handled", timedelta(hours=3), assignee="priya")
    unhandled = with_labels(
        mention(
            "u2",
            OCT + 20 * DAY,
            sentiment="concern",
            departments=("mental_health",),
            urgent=True,
            text="can't see the point anymore",
        ),
        reason="urgent (self_harm, 99%): 'point'",
    )
    # our Facebook page: an NHS number (high) and an advert (low); a second advert that a
    # person dismissed as mistaken (the stored post is the corrected one)
    nhs_number = official("h2", OCT + 15 * DAY, ("nhs_number", "high"), ("commercial", "low"))
    dismissed = official("h3", OCT + 16 * DAY, ("commercial", "low")).corrected(
        CorrectedLabels(
            dismissed_breaches=("commercial",),
            corrected_by="alice",
            corrected_at=OCT + 17 * DAY,
        )
    )
    # maternity concerns handled after 1, 2, 3 and 10 hours, one in progress; an A&E concern
    # closed with no action after 30 minutes
    maternity = [
        with_case(
            mention(
                f"m{n}",
                OCT + n * DAY + timedelta(hours=1),
                sentiment="concern",
                departments=("maternity",),
            ),
            "handled",
            timedelta(hours=hours),
        )
        for n, hours in enumerate((1, 2, 3, 10), start=1)
    ]
    maternity.append(
        with_case(
            mention("m5", OCT + 6 * DAY, sentiment="concern", departments=("maternity",)),
            "in_progress",
        )
    )
    no_action = with_case(
        mention("e1", OCT + 2 * DAY, sentiment="concern", departments=("emergency",)),
        "no_action",
        timedelta(minutes=30),
    )
    personal = mention(
        "p1", OCT + 21 * DAY, sentiment="concern", departments=("outpatients",), text=PII_TEXT
    )
    posts = [reported, unhandled, nhs_number, dismissed, *maternity, no_action, personal]
    index.upsert_posts(posts)

    urgent_alert = make_alert("urgent", reported.key, created_at=RAISED_IN_NOVEMBER, post=reported)
    # the breach alert raised before the dismissal still carries the breach
    dismissed_alert = make_alert(
        "policy_breach",
        "facebook:h3",
        created_at=OCT + 16 * DAY,
        post=official("h3", OCT + 16 * DAY, ("commercial", "low")),
    )

    def reminder(day: int, escalated: bool) -> Alert:
        suffix = ":line_manager" if escalated else ""
        return Alert(
            alert_id=f"inactive_account:twitter:northbrookmaternity:2026-10-{day:02d}{suffix}",
            kind="inactive_account",
            summary="@NorthbrookMaternity has no post on record",
            created_at=datetime(2026, 10, day, 9, 0, tzinfo=UTC),
            account="NorthbrookMaternity",
            platform="twitter",
            escalated=escalated,
        )

    alerts = [urgent_alert, dismissed_alert, reminder(5, False), reminder(12, True)]
    if september:
        sent_late = mention("sepc", SEP + 20 * DAY, sentiment="concern")
        index.upsert_posts([sent_late])
        alerts.append(
            make_alert("concern", sent_late.key, created_at=OCT + 2 * DAY, post=sent_late)
        )
    index.record_alerts(alerts)
    minute = RAISED_IN_NOVEMBER + timedelta(minutes=1)
    index.record_deliveries(
        [
            delivery(urgent_alert.alert_id, "ed-managers@northbrook.nhs.example", "email", minute),
            delivery(
                urgent_alert.alert_id, "comms-on-call@northbrook.nhs.example", "email", minute
            ),
            delivery(urgent_alert.alert_id, "on-call manager", "sms", minute, sent=False),
            delivery(
                reminder(12, True).alert_id,
                "Head of Midwifery",
                "email",
                datetime(2026, 10, 12, 9, 5, tzinfo=UTC),
            ),
        ]
    )


@pytest.fixture
def report(backend: Backend, settings: Settings) -> MonthlyReport:  # noqa: F811
    fill(backend.index)
    return build_report(backend.index, settings, OCTOBER, now=GENERATED)


@pytest.fixture
def full(backend: Backend, settings: Settings) -> MonthlyReport:  # noqa: F811
    """The report over both: urgent posts, cases, breaches, reminders and personal data."""
    fill(backend.index)
    fill_cases(backend.index)
    return build_report(backend.index, settings, OCTOBER, now=GENERATED)


# -- the figures ---------------------------------------------------------------------------------


def test_tallies_of_compliments_and_concerns_with_the_trend(report: MonthlyReport) -> None:
    assert report.sentiment["compliment"] == Change(now=5, before=2)
    assert report.sentiment["concern"] == Change(now=6, before=4)
    assert report.sentiment["neutral"] == Change(now=2, before=1)
    assert report.mentions == Change(now=13, before=7)
    assert report.abuse == Change(now=2, before=1)


def test_tallies_by_department_count_a_post_in_each_of_its_departments(
    report: MonthlyReport,
) -> None:
    rows = {row.key: row for row in report.departments}
    assert rows["maternity"].name == "Maternity"
    assert rows["maternity"].compliments == Change(4, 2)
    assert rows["maternity"].concerns == Change(1, 1)
    assert rows["emergency"].name == "Emergency Department (A&E)"
    assert rows["emergency"].compliments == Change(1, 0)
    assert rows["emergency"].concerns == Change(4, 3)
    assert rows[""].name == "No department identified"
    assert report.departments[-1].key == ""  # the unassigned group comes last
    platforms = {row.key: row for row in report.platforms}
    assert platforms["facebook"].compliments.now == 1
    assert platforms["facebook"].concerns.now == 1
    assert platforms["twitter"].concerns == Change(5, 4)


def test_daily_series_covers_every_day_of_the_month(report: MonthlyReport) -> None:
    assert len(report.daily) == 31
    assert report.daily[0] == ("01 Oct", {"compliment": 2, "concern": 0, "neutral": 0})
    assert sum(sum(day.values()) for _, day in report.daily) == 13


def test_themes_are_named_topics_not_word_pairs(report: MonthlyReport) -> None:
    themes = report.themes.themes
    assert [(t.id, t.name, t.posts) for t in themes[:2]] == [
        ("parking_access", "Parking and getting around the sites", 3),
        ("waiting_times", "Waiting times and delays", 2),
    ]
    assert report.themes.concerns == 6
    assert report.themes.unmatched == 1  # the abusive concern says nothing about a theme
    parking = themes[0]
    assert parking.departments[0] == ("Emergency Department (A&E)", 2)
    assert len(parking.examples) == 2
    assert all("car park" in example.text.lower() for example in parking.examples)


def test_alerts_breaches_and_abuse_by_account(report: MonthlyReport) -> None:
    assert report.alerts == {"concern": Change(3, 1), "policy_breach": Change(1, 0)}
    [breach] = report.breaches
    assert (breach.platform, breach.account, breach.posts) == ("twitter", "NorthbrookNHS", 1)
    assert [(r.rule, r.severity, r.posts) for r in breach.rules] == [("phone_number", "medium", 1)]
    assert report.abuse_by_account == [
        ("facebook", "NorthbrookNHS", 1),
        ("twitter", "NorthbrookNHS", 1),
    ]


def test_official_accounts_posts_per_week_and_quiet_ones(report: MonthlyReport) -> None:
    assert report.weeks == ["2026-09-28", "2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26"]
    accounts = {account.handle: account for account in report.accounts}
    main = accounts["NorthbrookNHS"]
    assert main.weekly == (1, 1, 1, 1, 1)
    assert main.last_post == date(2026, 10, 29)
    assert not main.quiet
    hospitals = accounts["NorthbrookHospitals"]
    assert hospitals.last_post == date(2026, 9, 10)
    assert hospitals.quiet_days == 51
    assert [a.handle for a in report.quiet_accounts] == [
        "NorthbrookHospitals",
        "NorthbrookMaternity",
    ]
    assert accounts["NorthbrookMaternity"].last_post is None
    assert [a.handle for a in report.unregistered_accounts] == ["NorthbrookPharmacy"]


def test_new_account_requests_of_the_month(report: MonthlyReport) -> None:
    [request] = report.account_requests
    assert (request.team, request.proposed_handle, request.decision) == (
        "Pharmacy",
        "NorthbrookPharmacy",
        "pending",
    )
    assert request.details() == {"business_case": "Fewer calls to the helpline"}
    assert report.requests_by_decision == {"approved": 0, "rejected": 0, "pending": 1}


# -- counted by the post's date, as socmon stats counts -------------------------------------------


def test_alerts_count_in_the_month_of_their_post(full: MonthlyReport) -> None:
    # the urgent alert was raised on 1 November about a post of 15 October: October's; the
    # concern raised on 3 October about a September post: September's; the sweep's reminders
    # (about no post) in the month they were raised
    assert full.alerts["urgent"] == Change(1, 0)
    assert full.alerts["concern"] == Change(3, 2)
    assert full.alerts["inactive_account"] == Change(2, 0)
    assert full.alerts["policy_breach"] == Change(2, 0)
    html = render_html(full)
    assert re.search(
        r'data-alert-kind="urgent"><td>Urgent</td><td class="n">1</td><td class="n">0</td>', html
    )


def test_october_figures_agree_with_socmon_stats_over_the_same_posts(
    backend: Backend,  # noqa: F811
    settings: Settings,
) -> None:
    """An index of October's posts only, whose alerts were raised in October and November."""
    fill_cases(backend.index, september=False)
    october = build_report(backend.index, settings, OCTOBER, now=GENERATED)
    stats = backend.index.stats()
    assert october.posts.now == stats.indexed == 11
    assert october.posts_by_sentiment == stats.by_sentiment
    assert {kind: c.now for kind, c in october.alerts.items() if c.now} == stats.alerts
    assert october.mentions.now + october.official_posts.now == stats.indexed


# -- the summary ----------------------------------------------------------------------------------


def test_the_summary_states_the_real_figures(full: MonthlyReport) -> None:
    summary = executive_summary(full)
    assert len(summary) == 3
    text = " ".join(summary)
    # 13 from `fill`, 9 more mentions from `fill_cases`; September: 7, and the late one
    assert full.mentions == Change(22, 8)
    assert "the public posted 22 times" in text
    assert "8 in September 2026, up 175%" in text
    assert f"{full.sentiment['concern'].now} concerns" in text
    assert "Maternity (6)" in text
    assert "Emergency Department (A&E) (6)" in text
    assert "2 posts were flagged as urgent (1 data breach and 1 self-harm" in text
    assert "As at 02 November 2026, 1 of them is still open" in text
    assert "2 posts from 2 of our accounts breached the social media policy" in text
    assert "the high-severity rule broken was NHS number" in text
    assert "handled, in a median of" in text
    assert f"{full.response_all.open} are still open" in text
    assert "@NorthbrookMaternity (no post in a year)" in text
    assert "1 was escalated to a line manager" in text
    for word in ("worrying", "excellent", "alarming", "significant", "good", "bad"):
        assert word not in text.lower()
    html = render_html(full)
    assert "the public posted 22 times" in html


# -- urgent incidents, breaches, response times ----------------------------------------------------


def test_urgent_incidents_are_listed_with_who_was_told_and_the_handling(
    full: MonthlyReport,
) -> None:
    reported, unhandled = full.urgent
    assert reported.key == "twitter:u1"
    assert reported.created_at == URGENT_AT
    assert (reported.category, reported.category_name) == ("data_breach", "Data breach")
    assert reported.departments == ("Emergency Department (A&E)",)
    assert [(n.recipient, n.channel, n.sent) for n in reported.alerted] == [
        ("comms-on-call@northbrook.nhs.example", "email", True),
        ("ed-managers@northbrook.nhs.example", "email", True),
        ("on-call manager", "sms", False),
    ]
    assert reported.first_alerted == RAISED_IN_NOVEMBER + timedelta(minutes=1)
    assert (reported.status, reported.assignee) == ("handled", "priya")
    assert reported.first_handled_at == URGENT_AT + timedelta(hours=3)
    assert reported.response == timedelta(hours=3)
    assert not reported.open
    assert (unhandled.category_name, unhandled.status, unhandled.alerted) == (
        "Self-harm",
        "new",
        (),
    )
    assert unhandled.open
    html = render_html(full)
    row = re.search(r'<tr data-urgent="twitter:u1">.*?</tr>', html, re.S)
    assert row is not None
    assert "Data breach" in row.group(0)
    assert "01 Nov 08:01</span> by email: comms-on-call, ed-managers" in row.group(0)
    assert "failed: on-call manager (sms)" in row.group(0)
    assert "Handled" in row.group(0)
    assert "priya" in row.group(0)
    assert "first handled 15 Oct 12:00 (3 h after the post)" in row.group(0)
    assert "&lt;b&gt;blowing&lt;/b&gt;" in row.group(0)  # public text is data, not markup
    assert "<b>blowing" not in html
    other = re.search(r'<tr data-urgent="twitter:u2">.*?</tr>', html, re.S)
    assert other is not None
    assert "No alert delivered" in other.group(0) or "no alert delivered" in other.group(0)
    assert "Not yet picked up" in other.group(0)


def test_breaches_by_account_with_rule_and_severity_without_the_dismissed(
    full: MonthlyReport,
) -> None:
    rows = {row.account: row for row in full.breaches}
    assert set(rows) == {"NorthbrookNHS", "NorthbrookHospitals"}
    page = rows["NorthbrookHospitals"]
    # h3's advert was dismissed: only h2 is left, though h3's breach alert still says otherwise
    assert (page.platform, page.posts, page.open, page.highest) == ("facebook", 1, 1, "high")
    assert [(r.rule, r.severity, r.posts) for r in page.rules] == [
        ("nhs_number", "high", 1),
        ("commercial", "low", 1),
    ]
    html = render_html(full)
    row = re.search(r'<tr data-breach-account="NorthbrookHospitals">.*?</tr>', html, re.S)
    assert row is not None
    assert "NHS number" in row.group(0)
    assert "high" in row.group(0)


def test_a_dismissed_breach_is_left_out_even_of_a_post_stored_uncorrected() -> None:
    post = with_labels(
        make_post("x", kind="official_post"),
        breaches=(
            Breach(rule="commercial", severity="low", evidence="x", start=0, end=1),
            Breach(rule="phone_number", severity="medium", evidence="x", start=0, end=1),
            Breach(rule="phone_number", severity="high", evidence="y", start=2, end=3),
        ),
    )
    assert active_breaches(post) == [("commercial", "low"), ("phone_number", "high")]
    labels = CorrectedLabels(dismissed_breaches=("commercial",), corrected_by="a", corrected_at=OCT)
    assert active_breaches(post.model_copy(update={"correction": labels})) == [
        ("phone_number", "high")
    ]


def test_response_times_median_and_90th_percentile_by_department(full: MonthlyReport) -> None:
    rows = {row.key: row for row in full.response}
    maternity = rows["maternity"]
    # the car park concern (no case) and m1-m5: handled after 1, 2, 3 and 10 hours, m5 open
    assert (maternity.needing_action, maternity.handled, maternity.open) == (6, 4, 2)
    assert maternity.median == timedelta(hours=2, minutes=30)
    assert maternity.p90 == timedelta(hours=10)
    emergency = rows["emergency"]
    # four concerns from `fill` (no case), u1 handled after 3 h, e1 closed after 30 min
    assert (emergency.needing_action, emergency.handled, emergency.open) == (6, 2, 4)
    assert emergency.median == timedelta(hours=1, minutes=45)
    assert emergency.p90 == timedelta(hours=3)
    overall = full.response_all
    assert overall.handled == 6
    assert overall.median == timedelta(hours=2, minutes=30)
    assert overall.p90 == timedelta(hours=10)
    assert overall.needing_action == overall.handled + overall.open
    html = render_html(full)
    assert re.search(
        r'<tr data-response="maternity"><td>Maternity</td><td class="n">6</td>'
        r'<td class="n">4</td><td class="n">2 h 30 min</td><td class="n">10 h</td>'
        r'<td class="n">2</td></tr>',
        html,
    )


def test_median_and_nearest_rank_percentile() -> None:
    hours = [timedelta(hours=h) for h in (5, 1, 4, 2, 3, 6, 7, 8, 9, 10)]
    assert median(hours) == timedelta(hours=5, minutes=30)
    assert percentile(hours, 0.9) == timedelta(hours=9)
    assert percentile(hours[:1], 0.9) == timedelta(hours=5)
    assert median([]) is None
    assert percentile([], 0.9) is None
    assert duration(timedelta(minutes=45)) == "45 min"
    assert duration(timedelta(hours=5, minutes=20)) == "5 h 20 min"
    assert duration(timedelta(days=3, hours=4)) == "3 days 4 h"
    assert duration(None) == "–"


# -- twelve months, themes, quiet accounts ---------------------------------------------------------


def test_twelve_month_trend(backend: Backend, settings: Settings) -> None:  # noqa: F811
    fill(backend.index)
    backend.index.upsert_posts(
        [
            make_post("nov", sentiment="compliment", created_at=datetime(2025, 11, 1, tzinfo=UTC)),
            # a minute before the window: not in it
            make_post(
                "oct", sentiment="concern", created_at=datetime(2025, 10, 31, 23, 59, tzinfo=UTC)
            ),
            *(
                make_post(
                    f"mar{n}", sentiment="concern", created_at=datetime(2026, 3, 10, tzinfo=UTC)
                )
                for n in range(2)
            ),
            make_post("ours", kind="official_post", created_at=datetime(2026, 3, 11, tzinfo=UTC)),
        ]
    )
    report = build_report(backend.index, settings, OCTOBER, now=GENERATED)
    trend = report.trend
    assert [str(point.month) for point in trend] == [
        "2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04",
        "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10",
    ]  # fmt: skip
    assert trend[0] == TrendPoint(
        Month(2025, 11), mentions=1, concerns=0, compliments=1, official=0
    )
    assert trend[4] == TrendPoint(Month(2026, 3), mentions=2, concerns=2, compliments=0, official=1)
    assert trend[-2] == TrendPoint(
        Month(2026, 9), mentions=7, concerns=4, compliments=2, official=1
    )
    assert trend[-1] == TrendPoint(
        OCTOBER, mentions=13, concerns=6, compliments=5, official=report.official_posts.now
    )
    assert sum(point.mentions for point in trend[1:4]) == 0
    html = render_html(report)
    assert '<td class="n" data-trend="2026-03">2</td>' in html
    titles = [t.text for t in _svgs(html)["trend"].iter("{http://www.w3.org/2000/svg}title")]
    assert "Mar 26, concerns: 2" in titles


def test_themes_quote_examples_with_personal_data_masked(full: MonthlyReport) -> None:
    waiting = next(theme for theme in full.themes.themes if theme.id == "waiting_times")
    quoted = waiting.examples[0].text  # uses three of the theme's words: the best example
    assert quoted.startswith("Waited 3 hours in the queue and still waiting. Ring me on [phone]")
    assert "[e-mail]" in quoted
    assert "[NHS number]" in quoted
    assert "@[user]" in quoted
    html = render_html(full)
    assert "Ring me on [phone]" in html
    for piece in PII_PIECES:
        assert piece not in html, piece


def test_quiet_accounts_with_the_sweeps_escalation(full: MonthlyReport) -> None:
    quiet = {account.handle: account for account in full.quiet_accounts}
    maternity = quiet["NorthbrookMaternity"]
    assert maternity.reminders == 2
    assert maternity.reminded_at == datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
    assert maternity.escalated_at == datetime(2026, 10, 12, 9, 0, tzinfo=UTC)
    assert maternity.line_manager == "Head of Midwifery"
    assert maternity.escalation == (
        "Escalated to the line manager (Head of Midwifery) on 12 Oct 2026"
    )
    hospitals = quiet["NorthbrookHospitals"]  # last post 17 Oct: 14 days at the month's end
    assert (hospitals.quiet_days, hospitals.reminders) == (14, 0)
    assert hospitals.escalation == "No reminder from the weekly sweep this month"
    html = render_html(full)
    row = re.search(r'<tr data-quiet="NorthbrookMaternity">.*?</tr>', html, re.S)
    assert row is not None
    assert "Escalated to the line manager (Head of Midwifery) on 12 Oct 2026" in row.group(0)


# -- the page ------------------------------------------------------------------------------------


def _svgs(html: str) -> dict[str, ET.Element]:
    """Each inline chart, parsed as XML (so a malformed one fails), by its data-chart name."""
    charts = {}
    for markup in re.findall(r"<svg\b.*?</svg>", html, flags=re.S):
        element = ET.fromstring(markup)
        charts[element.attrib["data-chart"]] = element
    return charts


def test_the_page_shows_the_figures_names_trend_and_charts(report: MonthlyReport) -> None:
    html = render_html(report)
    assert "Social media activity report" in html
    assert "October 2026" in html
    assert "September 2026" in html
    assert "Northbrook Hospitals NHS Foundation Trust" in html
    assert "Maternity" in html
    assert "Emergency Department (A&amp;E)" in html  # escaped, not raw
    # compliments 5 against 2: +3 (+150%); A&E compliments 1 against 0: new
    assert "+3 (+150%)" in html
    assert "+1 (new)" in html
    assert re.search(r'data-figure="concerns">.*?<div class="value">6</div>', html, re.S)
    assert re.search(
        r'data-theme="parking_access">\s*<div class="head">Parking and getting around the '
        r"sites: <span data-theme-posts>3</span>",
        html,
    )
    assert 'data-quiet="NorthbrookHospitals"' in html
    assert 'data-quiet="NorthbrookNHS"' not in html
    assert "(not in the register)" in html
    assert 'data-breach-account="NorthbrookNHS"' in html
    assert '<span data-rule="phone_number">Phone number</span>' in html
    assert "Medicines advice" in html
    assert "Parking updates" not in html

    charts = _svgs(html)
    assert set(charts) == {"trend", "daily", "departments"}
    svg = "{http://www.w3.org/2000/svg}"
    for name, chart in charts.items():
        assert chart.find(f"{svg}title") is not None, name
        marks = chart.findall(f".//{svg}rect[@class='bar']") + chart.findall(
            f".//{svg}circle[@class='point']"
        )
        assert len(marks) >= 2, name
    department_bars = [
        bar.find(f"{svg}title").text  # type: ignore[union-attr]
        for bar in charts["departments"].iter(f"{svg}rect")
        if bar.get("class") == "bar"
    ]
    assert "Maternity, compliment: 4" in department_bars
    assert "Emergency Department (A&E), concern: 4" in department_bars


def test_an_empty_month_renders_with_zeros(backend: Backend, settings: Settings) -> None:  # noqa: F811
    report = build_report(backend.index, settings, Month(2030, 1), now=GENERATED)
    html = render_html(report)
    assert report.mentions == Change(0, 0)
    assert "No mentions this month." in html
    assert "No policy breaches this month." in html
    assert "No post was flagged as urgent this month." in html
    assert "No post needed action this month." in html
    assert "No post from the public was recorded in January 2030" in " ".join(
        executive_summary(report)
    )
    assert len(_svgs(html)) == 3


def test_pdf_starts_with_the_pdf_signature(report: MonthlyReport) -> None:
    if find_browser() is None:
        missing("chromium", "PDF reports need Debian's chromium package (apt-get install chromium)")
    pdf = html_to_pdf(render_html(report))
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 5_000


def test_pdf_without_a_browser_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dashboards.report.render.find_browser", lambda: None)
    with pytest.raises(PdfUnavailable, match="apt-get install chromium"):
        html_to_pdf("<p>x</p>")


def test_ci_has_the_pdf_path() -> None:
    if os.environ.get("CI") == "true":
        assert find_browser() is not None, "CI must install Debian's chromium for PDF reports"
    assert find_browser() is None or os.access(find_browser() or "", os.X_OK)


# -- the printed pages ----------------------------------------------------------------------------

INK = 200  # a grey level darker than this (0 black, 255 white) is ink: text, rules, bars
MOSTLY_BLANK = 0.35
"""The most of a page's height that may be left blank in one band (the bottom margin included):
a third. The October report this replaced left 55% of its second page blank; a section kept
whole that moves to the next page leaves about 40%."""


def _pgm(path: Path) -> tuple[int, int, bytes]:
    """Width, height and 8-bit grey pixels of a binary PGM (P5), as pdftoppm -gray writes."""
    data = path.read_bytes()
    fields: list[bytes] = []
    position = 0
    while len(fields) < 4:  # magic, width, height, maximum; whitespace-separated
        while data[position : position + 1].isspace():
            position += 1
        start = position
        while not data[position : position + 1].isspace():
            position += 1
        fields.append(data[start:position])
    assert (fields[0], fields[3]) == (b"P5", b"255"), fields
    width, height = int(fields[1]), int(fields[2])
    return width, height, data[position + 1 : position + 1 + width * height]


def page_images(pdf: bytes, folder: Path) -> list[tuple[int, int, bytes]]:
    """Each page of `pdf` as grey pixels, rasterised by poppler's pdftoppm (36 dpi is enough
    to see where the ink is, and fast)."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        missing(
            "pdftoppm", "the page-layout tests need poppler-utils (apt-get install poppler-utils)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "report.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [pdftoppm, "-gray", "-r", "36", str(source), str(folder / "page")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pages = sorted(folder.glob("page-*.pgm"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return [_pgm(page) for page in pages]


def largest_blank_band(width: int, height: int, pixels: bytes) -> float:
    """The tallest run of rows without ink, as a share of the page's height (1.0: blank)."""
    longest = run = 0
    for row in range(height):
        inked = min(pixels[row * width : (row + 1) * width]) < INK
        run = 0 if inked else run + 1
        longest = max(longest, run)
    return longest / height


def mostly_blank_pages(pdf: bytes, folder: Path) -> list[int]:
    """The pages (from 1) with more than `MOSTLY_BLANK` of their height blank in one band, the
    last one excepted (a report may end high on its last page)."""
    pages = page_images(pdf, folder)
    assert pages, "the PDF has no page"
    return [
        number
        for number, page in enumerate(pages[:-1], start=1)
        if largest_blank_band(*page) > MOSTLY_BLANK
    ]


def test_the_blank_page_measure_finds_a_half_empty_page(tmp_path: Path) -> None:
    if find_browser() is None:
        missing("chromium", "PDF reports need Debian's chromium package (apt-get install chromium)")
    filler = "<p>" + "A line of the report that fills the page. " * 12 + "</p>"
    # page 1 has one line, then a block that will not break starts a new page
    html = (
        "<html><body><p>One line, then nothing.</p>"
        f'<div style="break-before: page">{filler * 30}</div></body></html>'
    )
    assert mostly_blank_pages(html_to_pdf(html), tmp_path / "bad") == [1]
    assert (
        mostly_blank_pages(
            html_to_pdf(f"<html><body>{filler * 40}</body></html>"), tmp_path / "good"
        )
        == []
    )


def test_the_printed_report_has_no_mostly_blank_page(tmp_path: Path, settings: Settings) -> None:
    from socmon.index.sqlite import SqliteIndex

    if find_browser() is None:
        missing("chromium", "PDF reports need Debian's chromium package (apt-get install chromium)")
    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    fill(index)
    fill_cases(index)
    pdf = html_to_pdf(render_html(build_report(index, settings, OCTOBER, now=GENERATED)))
    index.close()
    assert len(page_images(pdf, tmp_path / "pages")) >= 3
    assert mostly_blank_pages(pdf, tmp_path / "check") == []


# -- the command ---------------------------------------------------------------------------------


def test_report_command_writes_html_and_pdf(tmp_path, settings: Settings) -> None:
    from socmon.index.sqlite import SqliteIndex

    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    fill(index)
    index.close()
    out = tmp_path / "october.html"
    runner = CliRunner()
    args = ["report", "monthly", "--month", "2026-10", "--data-dir", str(tmp_path)]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"report for October 2026 written to {out}" in result.stdout
    assert "Emergency Department (A&amp;E)" in out.read_text(encoding="utf-8")
    if find_browser() is None:
        missing("chromium", "PDF reports need Debian's chromium package")
    pdf = tmp_path / "october.pdf"
    result = runner.invoke(app, [*args, "--format", "pdf", "--out", str(pdf)])
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(b"%PDF")


def test_report_command_refuses_a_malformed_month(tmp_path) -> None:
    result = CliRunner().invoke(
        app, ["report", "monthly", "--month", "October", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "YYYY-MM" in result.stderr


# -- months and themes ---------------------------------------------------------------------------


def test_months_know_their_bounds_and_neighbours() -> None:
    assert Month.parse("2026-01").previous == Month(2025, 12)
    assert Month(2026, 12).next == Month(2027, 1)
    assert Month(2026, 2).end == datetime(2026, 3, 1, tzinfo=UTC)
    assert len(Month(2028, 2).days()) == 29
    assert Month.before(datetime(2026, 11, 2, tzinfo=UTC)) == OCTOBER
    assert str(OCTOBER) == "2026-10"
    for bad in ("2026-13", "26-10", "2026/10"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            Month.parse(bad)
    for far in ("0001-01", "9999-12"):
        with pytest.raises(ValueError, match="2000 to 2099"):
            Month.parse(far)


def test_the_accounts_table_uses_the_register_in_effect(
    backend: Backend,  # noqa: F811
    settings: Settings,
) -> None:
    from socmon.register import (
        AccountClosure,
        OwnershipChange,
        record_closure,
        record_ownership_change,
    )

    fill(backend.index)
    record_ownership_change(
        backend.index,
        OwnershipChange(
            platform="twitter",
            handle="NorthbrookNHS",
            changed_on=date(2026, 10, 2),
            changed_by="Comms",
            owner="Ada Mensah",
        ),
    )
    record_closure(
        backend.index,
        AccountClosure(
            platform="facebook",
            handle="NorthbrookHospitals",
            closed_on=date(2026, 10, 20),
            closed_by="Comms",
            reason="merged into the main page",
        ),
    )
    report = build_report(backend.index, settings, OCTOBER, now=GENERATED)
    registered = {a.handle: a for a in report.accounts if a.registered}
    assert registered["NorthbrookNHS"].owner == "Ada Mensah"
    assert "NorthbrookHospitals" not in registered
