"""The monthly social media activity report, rendered over an index filled with two months of
posts and alerts (on both adapters): its figures, its wording, its charts, and its PDF."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from dashboards.report import Month, MonthlyReport, build_report, html_to_pdf, render_html
from dashboards.report.monthly import Change
from dashboards.report.render import PdfUnavailable, find_browser
from dashboards.report.themes import Theme, top_themes, words
from socmon.index.port import Index
from socmon.records import Breach, Classification
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
    breach = make_post("o1", kind="official_post", account="NorthbrookNHS")
    breach = breach.model_copy(
        update={
            "classification": Classification(
                sentiment="neutral",
                confidence=0.9,
                breaches=(
                    Breach(rule="phone_number", severity="medium", evidence="0", start=0, end=1),
                ),
            )
        }
    )
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


@pytest.fixture
def report(backend: Backend, settings: Settings) -> MonthlyReport:  # noqa: F811
    fill(backend.index)
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


def test_top_themes_of_the_concerns(report: MonthlyReport) -> None:
    assert report.themes[:2] == [Theme("car park", 3), Theme("waiting time", 2)]
    assert all("northbrooknhs" not in theme.term for theme in report.themes)


def test_alerts_breaches_and_abuse_by_account(report: MonthlyReport) -> None:
    assert report.alerts == {"concern": Change(3, 1), "policy_breach": Change(1, 0)}
    [breach] = report.breaches
    assert (breach.platform, breach.account, breach.alerts, breach.rules) == (
        "twitter",
        "NorthbrookNHS",
        1,
        ("phone_number",),
    )
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
    assert re.search(r'data-theme="car park"><td>car park</td><td class="n">3</td>', html)
    assert 'data-quiet="NorthbrookHospitals"' in html
    assert 'data-quiet="NorthbrookNHS"' not in html
    assert "(not in the register)" in html
    assert 'data-breach-account="NorthbrookNHS"' in html
    assert "phone number" in html
    assert "Medicines advice" in html
    assert "Parking updates" not in html

    charts = _svgs(html)
    assert set(charts) == {"trend", "daily", "departments"}
    svg = "{http://www.w3.org/2000/svg}"
    for name, chart in charts.items():
        assert chart.find(f"{svg}title") is not None, name
        assert len(chart.findall(f".//{svg}rect[@class='bar']")) >= 2, name
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


def test_theme_words_drop_links_handles_numbers_and_stop_words() -> None:
    assert words("@NorthbrookNHS the CAR park is full https://t.co/abc #NHS 24/7") == [
        "car",
        "park",
        "full",
    ]


def test_themes_prefer_pairs_and_count_each_post_once() -> None:
    themes = top_themes(
        [
            "car park car park car park",
            "the car park is full",
            "car park again, and parking fees",
            "parking fees are too high",
        ]
    )
    assert themes[:2] == [Theme("car park", 3), Theme("parking fees", 2)]
    assert Theme("car", 3) not in themes  # adds nothing beyond "car park"
    assert top_themes(["only once"]) == []


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
