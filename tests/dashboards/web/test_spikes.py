"""The front page lists the spike alerts of the last 7 days, over HTTP: what spikes, the
numbers, the top posts (as text, never markup), and only a department's own to its users."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from starlette.testclient import TestClient

from socmon.alerts import volume_spike_alert
from socmon.index.sqlite import SqliteIndex
from socmon.records import Alert
from tests.dashboards.web.conftest import log_in
from tests.dashboards.web.seed import MATERNITY_USER, Seeded
from tests.factories import make_post


def spike(department: str | None, hours_ago: float, text: str = "Waited hours") -> Alert:
    now = datetime.now(UTC)
    hour = (now - timedelta(hours=hours_ago)).replace(minute=0, second=0, microsecond=0)
    top = make_post(f"top-{department}-{hours_ago}", text=text, sentiment="concern")
    alert = volume_spike_alert(
        episode=f"concerns:{department or 'all'}:{hour:%Y-%m-%dT%H}",
        measure="concerns",
        department=department,
        department_name=None,
        hour=hour,
        count=18,
        usual=2.0,
        threshold=9,
        started=hour,
        top=[(top, 40)],
    )
    return alert.model_copy(update={"created_at": now - timedelta(hours=hours_ago)})


def spikes_section(page: str) -> str:
    match = re.search(r'<section[^>]*data-testid="spikes".*?</section>', page, re.S)
    assert match, "no spikes section on the front page"
    return match.group(0)


def shown_ids(page: str) -> list[str]:
    return re.findall(r'<li data-alert-id="([^"]+)">', spikes_section(page))


def test_the_front_page_lists_the_spikes_of_the_last_week_newest_first(
    logged_in: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    recent, older, too_old = spike("maternity", 2), spike(None, 30), spike("estates", 8 * 24)
    index.record_alerts([older, recent, too_old])
    page = logged_in.get("/").text
    assert shown_ids(page) == [recent.alert_id, older.alert_id]
    section = unescape(spikes_section(page))
    assert "Spike in concerns for maternity: 18 in the hour from" in section
    assert "Observed 18, usual 2.0" in section
    assert "- twitter @@patient_one, 40 reposts and quotes: Waited hours" in section
    assert 'href="/posts/twitter:top-maternity-2"' in section


def test_the_front_page_says_when_there_is_no_spike(logged_in: TestClient, seeded: Seeded) -> None:
    section = spikes_section(logged_in.get("/").text)
    assert "No spike" in section
    assert shown_ids(section) == []


def test_a_spikes_top_post_text_is_shown_as_text(
    logged_in: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    index.record_alerts([spike(None, 1, text="<script>alert('x')</script> & the A&E")])
    section = spikes_section(logged_in.get("/").text)
    assert "<script>" not in section
    assert "&lt;script&gt;" in section


def test_a_department_user_sees_its_own_departments_spikes_only(
    client: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    ours, theirs, everyone = spike("maternity", 1), spike("estates", 1), spike(None, 1)
    index.record_alerts([ours, theirs, everyone])
    log_in(client, MATERNITY_USER)
    assert shown_ids(client.get("/").text) == [ours.alert_id]
