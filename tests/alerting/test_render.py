"""What an alert says, from Jinja2 templates an organisation can override."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from alerting.render import Renderer, TemplateProblem
from tests.alerting.helpers import make_settings
from tests.factories import make_post_alert


def test_an_alert_says_what_happened_then_the_post_the_classification_and_the_link(tmp_path):
    message = Renderer(make_settings(tmp_path)).alert(make_post_alert("concern", ("maternity",)))
    first, *rest = message.text.splitlines()
    assert first == make_post_alert("concern").summary
    body = "\n".join(rest)
    for expected in (
        "The labour ward left us waiting for hours",  # the post
        "@sam",  # author
        "twitter",  # platform
        "https://x.com/sam/status/42",  # link
        "Thu 01 Oct 2026 10:30 BST",  # time, in the organisation's zone
        "concern (91% confident)",  # classification
        "Why: concern: 'waiting', 'hours'",  # its reason
        "Department: Maternity",  # department by name
        "http://127.0.0.1:8050/posts/twitter:42",  # the dashboard
    ):
        assert expected in body, expected
    assert message.subject.startswith("[Concern] Concern from twitter @sam")
    assert "http://127.0.0.1:8050/posts/twitter:42" in message.html
    assert ("Department", "Maternity") in message.facts


def test_the_html_body_escapes_what_the_post_says(tmp_path):
    alert = make_post_alert(text="<script>alert('x')</script> & the A&E")
    message = Renderer(make_settings(tmp_path)).alert(alert)
    assert "<script>" not in message.html
    assert "&lt;script&gt;" in message.html
    assert "<script>" in message.text  # plain text stays as written


def test_a_template_in_the_organisations_folder_shadows_the_packaged_one(tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "alert.subject.j2").write_text(
        "NORTHBROOK {{ alert.kind | upper }}: {{ alert.summary }}"
    )
    renderer = Renderer(make_settings(tmp_path, templates_dir=str(folder)))
    message = renderer.alert(make_post_alert("concern"))
    assert message.subject.startswith("NORTHBROOK CONCERN: Concern from")
    assert "Open in the dashboard" in message.text  # the others are still the packaged ones


def test_a_broken_override_fails_at_start_up_naming_the_template(tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "alert.txt.j2").write_text("{% if %}")
    with pytest.raises(TemplateProblem, match=r"alert\.txt\.j2"):
        Renderer(make_settings(tmp_path, templates_dir=str(folder))).check()


def test_a_digest_has_the_tallies_of_the_day_and_the_items(tmp_path):
    items = [make_post_alert("compliment", post_id="1"), make_post_alert("compliment", post_id="2")]
    message = Renderer(make_settings(tmp_path)).digest(
        "maternity", date(2026, 3, 29), Counter({"compliment": 2, "concern": 3}), items
    )
    assert message.subject == "Daily digest for Maternity, Sun 29 Mar 2026: 2 items"
    assert "compliment: 2" in message.text
    assert "concern: 3" in message.text
    assert message.text.count("http://127.0.0.1:8050/posts/twitter:") == 2
    assert message.alert_ids == ("compliment:twitter:1", "compliment:twitter:2")
