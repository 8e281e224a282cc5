"""The monthly report over the bundled sample, as the Director of Communications ran it:
`socmon up --exit-when-idle` fills an index from the sample (October 2026, replayed today, so
every alert is raised weeks after its post), then the October report is built and printed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboards.report import MonthlyReport, build_report, html_to_pdf, render_html
from dashboards.report.render import find_browser
from dashboards.report.summary import executive_summary
from dashboards.report.themes import load_themes
from socmon.index.port import PostQuery
from socmon.index.sqlite import SqliteIndex
from socmon.records import EARLIEST, LATEST, EnrichedPost
from socmon.settings import load_settings
from tests.conftest import SampleRun
from tests.dashboards.test_report import GENERATED, OCTOBER, mostly_blank_pages
from tests.servers import missing

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

_EMAIL = re.compile(r"[\w.%+\-]+@(?:[\w\-]+\.)+[A-Za-z]{2,}")


@pytest.fixture(scope="module")
def sample(sample_run: SampleRun) -> Iterator[SqliteIndex]:
    """The index of the session's run of `socmon up --exit-when-idle` over the sample."""
    run = sample_run.run
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    index = SqliteIndex(sample_run.data_dir / "socmon.db")
    yield index
    index.close()


@pytest.fixture(scope="module")
def october(sample: SqliteIndex) -> MonthlyReport:
    return build_report(sample, load_settings(), OCTOBER, now=GENERATED)


@pytest.fixture(scope="module")
def posts(sample: SqliteIndex) -> list[EnrichedPost]:
    return sample.search_posts(PostQuery(limit=100_000))


def test_the_sample_is_october_and_its_alerts_were_raised_later(
    sample: SqliteIndex, posts: list[EnrichedPost]
) -> None:
    assert {p.post.created_at.strftime("%Y-%m") for p in posts} == {"2026-10"}
    alerts = sample.alerts_between(EARLIEST, LATEST)
    assert alerts
    # raised when replayed, not in October: counted by when raised, none would be October's
    assert all(not OCTOBER.start <= alert.created_at < OCTOBER.end for alert in alerts)


def test_the_figures_agree_with_socmon_stats(october: MonthlyReport, sample: SqliteIndex) -> None:
    stats = sample.stats()
    assert october.posts.now == stats.indexed
    assert october.posts_by_sentiment == stats.by_sentiment
    assert {kind: c.now for kind, c in october.alerts.items() if c.now} == stats.alerts
    text = " ".join(executive_summary(october))
    assert f"the public posted {october.mentions.now} times" in text


def test_breaches_and_urgent_posts_are_all_reported(
    october: MonthlyReport, posts: list[EnrichedPost]
) -> None:
    breaching = [p for p in posts if p.classification.breaches]
    assert breaching
    assert october.breach_posts == len(breaching)
    assert {(r.platform, r.account) for r in october.breaches} == {
        (p.post.platform, p.post.account) for p in breaching
    }
    urgent = sorted(p.key for p in posts if p.classification.urgent)
    assert sorted(i.key for i in october.urgent) == urgent
    # the public's report of patient records in a car park is a data breach, and it was alerted
    [found] = [i for i in october.urgent if "patient records in the car park" in i.excerpt.lower()]
    assert found.category_name == "Data breach"
    assert found.alerted
    text = " ".join(executive_summary(october))
    assert f"{len(urgent)} posts were flagged as urgent" in text
    assert f"{len(breaching)} posts from {len(october.breaches)} of our accounts" in text


def test_themes_are_named_and_quotes_hold_no_personal_data(
    october: MonthlyReport, posts: list[EnrichedPost]
) -> None:
    names = {definition.name for definition in load_themes()}
    assert october.themes.themes
    assert {theme.name for theme in october.themes.themes} <= names
    html = render_html(october)
    assert "999 158 8132" not in html  # the NHS number in one of our own posts
    for post in posts:
        for address in _EMAIL.findall(post.post.text):
            assert address not in html, address


def test_the_printed_october_report_has_no_mostly_blank_page(
    october: MonthlyReport, tmp_path: Path
) -> None:
    if find_browser() is None:
        missing("chromium", "PDF reports need Debian's chromium package (apt-get install chromium)")
    assert mostly_blank_pages(html_to_pdf(render_html(october)), tmp_path) == []
