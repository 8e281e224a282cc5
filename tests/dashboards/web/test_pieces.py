"""The pure parts of the dashboard: evidence marking, the chart, filters, the register."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dashboards.web.chart import daily_counts, render_chart
from dashboards.web.highlight import highlight, merge_spans
from dashboards.web.views import account_rows, parse_filters
from socmon.records import Breach
from tests.dashboards.web.seed import dashboard_settings

LONDON = ZoneInfo("Europe/London")


def breach(rule: str, evidence: str, start: int, end: int) -> Breach:
    return Breach(rule=rule, severity="high", evidence=evidence, start=start, end=end)


def test_evidence_is_marked_and_everything_else_escaped() -> None:
    text = "<i>Call</i> 01234 567890 & ask"
    html = highlight(text, [breach("phone_number", "01234 567890", 12, 24)])
    assert str(html) == (
        "&lt;i&gt;Call&lt;/i&gt; "
        '<mark class="evidence" title="phone_number" data-rules="phone_number">'
        "01234 567890</mark> &amp; ask"
    )


def test_evidence_that_is_itself_markup_stays_escaped() -> None:
    text = 'say "<script>x</script>"'
    html = str(highlight(text, [breach("rule", "<script>", 5, 13)]))
    assert "<script>" not in html
    assert '<mark class="evidence" title="rule" data-rules="rule">&lt;script&gt;</mark>' in html


def test_overlapping_evidence_becomes_one_mark_naming_both_rules() -> None:
    text = "Jane Smith DOB 01/02/1980"
    spans = merge_spans(
        text,
        [breach("patient_name", "Jane Smith DOB", 0, 14), breach("dob", "DOB 01/02/1980", 11, 25)],
    )
    assert [(s.start, s.end, s.rules) for s in spans] == [(0, 25, ("patient_name", "dob"))]


def test_wrong_offsets_fall_back_to_finding_the_evidence() -> None:
    text = "ring 07700 900123 now"
    assert "<mark" in str(highlight(text, [breach("phone", "07700 900123", 40, 52)]))
    assert "<mark" not in str(highlight(text, [breach("phone", "nowhere", 40, 52)]))


def test_daily_counts_fill_the_quiet_days_with_zero() -> None:
    days = daily_counts(
        {("2026-11-20", "concern"): 3, ("2026-11-21", "compliment"): 1}, date(2026, 11, 21), 3
    )
    assert [d.day for d in days] == [date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21)]
    assert [d.total for d in days] == [0, 3, 1]
    assert days[1].counts == {"compliment": 0, "concern": 3, "neutral": 0}


def test_the_chart_is_svg_with_a_title_per_day() -> None:
    days = daily_counts({("2026-11-21", "concern"): 2}, date(2026, 11, 21), 30)
    svg = str(render_chart(days, "Posts <per> day"))
    assert svg.startswith('<svg class="chart"')
    assert '<title id="chart-title">Posts &lt;per&gt; day</title>' in svg
    assert svg.count('<g class="day">') == 30
    assert "Sat 21 Nov: 2 concern, 0 neutral, 0 compliment" in svg
    assert svg.count('class="bar concern"') == 1


def test_filters_make_the_index_query_in_local_days() -> None:
    filters = parse_filters(
        {"q": " parking ", "sentiment": "concern", "since": "2026-07-01", "until": "2026-07-01"},
        ("estates",),
    )
    query = filters.query(LONDON)
    assert query.text == "parking"
    assert query.sentiment == "concern"
    # midnight in London in summer is 23:00 UTC the day before
    assert query.since == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
    assert query.until == datetime(2026, 7, 1, 23, 0, tzinfo=UTC)


def test_swapped_dates_are_put_right() -> None:
    filters = parse_filters({"since": "2026-07-05", "until": "2026-07-01"}, ())
    assert (filters.since, filters.until) == (date(2026, 7, 1), date(2026, 7, 5))
    assert filters.problems


def test_register_statuses(tmp_path: Path) -> None:
    settings = dashboard_settings(tmp_path)
    maternity, hospitals = settings.accounts
    settings = settings.model_copy(
        update={
            "accounts": [
                maternity,
                hospitals.model_copy(update={"owner_left": True}),
                maternity.model_copy(
                    update={"handle": "NorthbrookOld", "status": "closed", "last_review": None}
                ),
            ]
        }
    )
    today = date(2026, 11, 21)
    last = {
        ("twitter", "@northbrookmaternity"): datetime(2026, 11, 1, tzinfo=UTC),
        ("twitter", "NorthbrookPharmacy"): datetime(2026, 11, 20, tzinfo=UTC),
    }
    rows = {row.handle: row for row in account_rows(settings, last, today)}
    assert rows["NorthbrookMaternity"].status == "Quiet for 20 days"
    assert rows["NorthbrookMaternity"].last_post == datetime(2026, 11, 1, tzinfo=UTC)
    assert rows["NorthbrookHospitals"].status.startswith("Owner has left")
    assert rows["NorthbrookOld"].status == "Closed"
    assert rows["NorthbrookOld"].notes == ("Never reviewed",)
    assert rows["NorthbrookPharmacy"].status == "Not in the register"
    assert rows["NorthbrookPharmacy"].account is None


def test_an_overdue_review_is_noted(tmp_path: Path) -> None:
    settings = dashboard_settings(tmp_path)
    today = datetime.now(UTC).date()
    account = settings.accounts[0].model_copy(update={"last_review": today - timedelta(days=100)})
    settings = settings.model_copy(update={"accounts": [account]})
    [row] = account_rows(settings, {}, today)
    assert row.notes[0].startswith("Quarterly review overdue")
