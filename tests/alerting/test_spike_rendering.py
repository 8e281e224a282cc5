"""A spike alert as alerting renders it: a one-line subject (the headline), the numbers and
top posts as lines of their own, the public's text escaped in HTML and never a bad link.

(Here, beside the spike tests, because this task owns them; it belongs in tests/alerting.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alerting.render import Renderer
from socmon.alerts import velocity_spike_alert, volume_spike_alert
from socmon.records import EnrichedPost
from socmon.settings import Department, Settings
from tests.factories import make_post

HOUR = datetime(2026, 10, 14, 14, 0, tzinfo=UTC)


def top_post(post_id: str, text: str, url: str | None) -> EnrichedPost:
    post = make_post(post_id, text=text, author="sam", sentiment="concern")
    return post.model_copy(update={"post": post.post.model_copy(update={"url": url})})


def renderer(tmp_path: Path) -> Renderer:
    maternity = Department(id="maternity", name="Maternity services")
    return Renderer(Settings(data_dir=tmp_path, departments=[maternity]))


def test_a_volume_spike_reads_as_a_headline_then_its_numbers_and_top_posts(
    tmp_path: Path,
) -> None:
    alert = volume_spike_alert(
        episode="concerns:maternity:2026-10-14T14",
        measure="concerns",
        department="maternity",
        department_name="Maternity services",
        hour=HOUR,
        count=18,
        usual=2.0,
        threshold=9,
        started=HOUR,
        top=[
            (top_post("1", "<b>Awful</b> wait & no help", "https://x.com/sam/status/1"), 40),
            (top_post("2", "Second post", "javascript:alert(1)"), None),
        ],
    )
    message = renderer(tmp_path).alert(alert)
    headline = (
        "Spike in concerns for Maternity services: 18 in the hour from Wed 14 Oct 14:00 UTC,"
        " where 2.0 is usual"
    )
    assert message.subject == f"[Spike] {headline}"
    lines = message.text.splitlines()
    assert lines[0] == headline
    assert lines[2].startswith("Observed 18, usual 2.0 (the same hour of the week")
    assert lines[3:6] == [
        "Top posts:",
        "- twitter @sam, 40 reposts and quotes: <b>Awful</b> wait & no help"
        " https://x.com/sam/status/1",
        "- twitter @sam: Second post",  # a link not on the platform's host is left out
    ]
    assert "javascript:" not in message.text + message.html
    assert "<b>Awful</b>" not in message.html
    assert "&lt;b&gt;Awful&lt;/b&gt; wait &amp; no help" in message.html
    assert message.body.splitlines()[0].startswith("Observed 18")
    assert ("Department", "Maternity services") in message.facts
    assert message.alert_ids == ("spike:concerns:maternity:2026-10-14T14",)


def test_a_velocity_spike_names_the_post_and_links_to_it(tmp_path: Path) -> None:
    viral = top_post("9", "Our new birth centre opens", "https://x.com/sam/status/9")
    alert = velocity_spike_alert(
        viral,
        episode="post:twitter:9",
        shares=120,
        rate=60.0,
        usual=0.5,
        threshold=1.0,
        baseline_posts=30,
        baseline_days=90,
    )
    message = renderer(tmp_path).alert(alert)
    assert message.subject.startswith("[Spike] Spike: a mention from twitter @sam is spreading")
    assert "\n" not in message.subject
    assert ("Open the post", "https://x.com/sam/status/9") in message.links
    assert "Observed 60.0 shares an hour, usual 0.5" in message.html
