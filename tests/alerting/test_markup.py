"""Alert content is data, never markup: a post's words, author and URL, whoever wrote them, make
no mention, link, button or terminal escape in Slack, Teams, the console or an e-mail."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from alerting.channels import ConsoleChannel
from alerting.render import Message, Renderer
from alerting.webhooks import adaptive_card, slack_blocks
from socmon.records import Alert, Classification, EnrichedPost, Post
from stream_processors.alert_rules import alerts_for
from tests.alerting.helpers import SmtpServer, make_harness, make_settings
from tests.alerting.test_email import email_settings
from tests.alerting.test_email import smtp as smtp  # the real SMTP server, per test
from tests.dashboards.web.test_browser import browser as browser  # Debian's headless chromium
from tests.factories import make_post_alert

HOSTILE_TEXT = (
    "<!channel> <https://evil.example|Open in the dashboard> [click](https://evil.example)"
)
HOSTILE_AUTHOR = "<!here> [me](https://evil.example)"
DASHBOARD = "https://socmon.northbrook.nhs.example"
RECIPIENTS = ["maternity@northbrook.nhs.example"]


def hostile_alert(url: str | None = "javascript:alert(1)", **post: Any) -> Alert:
    alert = make_post_alert(text=HOSTILE_TEXT)
    assert alert.post is not None
    changes = {"url": url, "author": HOSTILE_AUTHOR} | post
    return alert.model_copy(update={"post": alert.post.model_copy(update=changes)})


def renderer(tmp_path) -> Renderer:
    settings = make_settings(tmp_path)
    organisation = settings.organisation.model_copy(update={"dashboard_url": DASHBOARD})
    return Renderer(settings.model_copy(update={"organisation": organisation}))


def button_urls(payload: Any) -> list[str]:
    """Every ``url`` anywhere in a Slack or Teams payload (buttons, actions, anything)."""
    if isinstance(payload, dict):
        found = [v for k, v in payload.items() if k == "url" and isinstance(v, str)]
        return found + [u for v in payload.values() for u in button_urls(v)]
    if isinstance(payload, list):
        return [u for v in payload for u in button_urls(v)]
    return []


def slack_mrkdwn(payload: dict[str, Any]) -> list[str]:
    """The texts Slack formats: the fallback and every mrkdwn text object."""
    texts = [payload["text"]]
    for block in payload["blocks"]:
        for obj in [block.get("text"), *block.get("fields", [])]:
            if obj and obj["type"] == "mrkdwn":
                texts.append(obj["text"])
    return texts


def teams_markdown(payload: dict[str, Any]) -> list[str]:
    """The texts Teams reads as markdown: TextBlocks, and the titles and values of facts."""
    card = payload["attachments"][0]["content"]
    texts = []
    for element in card["body"]:
        if element["type"] == "TextBlock":
            texts.append(element["text"])
        for fact in element.get("facts", []):
            texts += [fact["title"], fact["value"]]
    return texts


def test_slack_shows_the_hostile_post_as_text_with_no_mention_link_or_bad_button(tmp_path):
    message = renderer(tmp_path).alert(hostile_alert())
    payload = slack_blocks(message, RECIPIENTS)
    texts = slack_mrkdwn(payload)
    assert any("&lt;!channel&gt;" in t for t in texts)  # the post is there, as text
    assert any("&lt;!here&gt;" in t for t in texts)  # and so is the author
    for text in texts:
        assert "<!channel>" not in text
        assert "<!here>" not in text
        assert "<https://evil" not in text
        assert "<" not in text, text  # we put no Slack markup of our own in these either
    assert button_urls(payload) == [f"{DASHBOARD}/posts/twitter:42"]


def test_teams_shows_the_hostile_post_as_text_with_no_markdown_link_or_bad_action(tmp_path):
    message = renderer(tmp_path).alert(hostile_alert())
    payload = adaptive_card(message, RECIPIENTS)
    texts = teams_markdown(payload)
    assert any("\\[click\\]\\(https://evil\\.example\\)" in t for t in texts)
    assert any("\\[me\\]\\(https://evil\\.example\\)" in t for t in texts)  # the author
    for text in texts:
        assert not re.search(r"(?<!\\)\]\s*\(", text), text  # an unescaped ]( makes a link
        assert "[click](" not in text
    assert button_urls(payload) == [f"{DASHBOARD}/posts/twitter:42"]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "https://x.com.evil.example/sam/status/42",
        "https://user@x.com/sam/status/42",
    ],
)
def test_a_url_that_is_not_the_platforms_own_https_link_is_nowhere_in_any_message(tmp_path, url):
    alert = hostile_alert(url)
    message = renderer(tmp_path).alert(alert)
    assert message.links == (("Open in the dashboard", f"{DASHBOARD}/posts/twitter:42"),)
    for payload in (slack_blocks(message, RECIPIENTS), adaptive_card(message, RECIPIENTS)):
        assert all(u.startswith("https://") for u in button_urls(payload))
    assert url.strip() not in message.text
    assert "Link:" not in message.text
    assert url.strip().replace("<", "&lt;") not in message.html
    assert "href" not in message.html.replace(f'href="{DASHBOARD}/posts/twitter:42"', "")


def test_the_platforms_own_link_is_still_a_button_and_an_e_mail_link(tmp_path):
    url = "https://x.com/sam/status/42"
    message = renderer(tmp_path).alert(hostile_alert(url))
    assert ("Open the post", url) in message.links
    assert f"Link:     {url}" in message.text
    assert f'<a href="{url}">' in message.html
    assert url in button_urls(slack_blocks(message, RECIPIENTS))
    assert url in button_urls(adaptive_card(message, RECIPIENTS))


def test_an_organisations_own_template_gets_only_the_checked_link(tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "alert.txt.j2").write_text("Original: {{ post.url }}\n")
    settings = make_settings(tmp_path, templates_dir=str(folder))
    message = Renderer(settings).alert(hostile_alert("javascript:alert(1)"))
    assert message.text == "Original: None\n"


def test_a_long_body_is_clipped_without_cutting_an_escape_in_half(tmp_path):
    message = Message(ref="r", kind="concern", subject="s", text="", html="", body="<" * 5000)
    slack = slack_blocks(message, RECIPIENTS)["blocks"][1]["text"]["text"]
    assert len(slack) <= 3000
    assert slack.endswith("&lt;…")
    teams = teams_markdown(adaptive_card(message, RECIPIENTS))[1]
    assert len(teams) <= 2000
    assert teams.endswith("\\<…")


def test_the_console_prints_a_hostile_author_without_terminal_escapes(tmp_path):
    enriched = EnrichedPost(
        post=Post(
            platform="twitter",
            post_id="77",
            kind="mention",
            account="NorthbrookNHS",
            author="\x1b]0;owned\x07\x1b[2Jbob",
            text="Waited \x1b[8mhidden\x1b[0m six hours\r\x1b[1Afake line \u202eevil",
            created_at=make_post_alert().created_at,
            source="replay",
        ),
        classification=Classification(sentiment="concern", confidence=0.9),
    )
    [alert] = alerts_for(enriched)  # the summary quotes the author, as routing writes it
    assert "\x1b" in alert.summary
    out = io.StringIO()
    ConsoleChannel(out).show(renderer(tmp_path).alert(alert), RECIPIENTS)
    printed = out.getvalue()
    assert printed.count("\n") == 1  # one line, and only its own newline
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", printed)
    assert "]0;owned" not in printed
    assert "@bob" in printed
    assert "Waited hidden six hours fake line evil" in printed


# -- a real e-mail in a real browser --------------------------------------------------------

XSS_URL = "javascript:alert(document.title='xss')"
BAD_SCHEME = re.compile(r"^\s*(javascript|data|vbscript):", re.IGNORECASE)


@pytest.mark.slow
def test_an_e_mail_about_a_post_with_a_script_link_runs_no_script_in_chromium(
    tmp_path, smtp: SmtpServer, browser: Any
):
    smtp.start()
    harness = make_harness(email_settings(tmp_path, smtp))
    alert = hostile_alert(XSS_URL, text=HOSTILE_TEXT + " <img src=x onerror=alert(2)>")
    deliveries = harness.delivery.handle([alert])
    assert {d.result for d in deliveries} == {"sent"}
    [mail] = smtp.received
    assert "javascript:" not in mail.body("plain")
    html = mail.body("html")

    context = browser.new_context()
    context.route("**/*", lambda route: route.abort())  # a link goes nowhere, on or off the box
    page = context.new_page()
    dialogs: list[str] = []

    def dismiss(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    try:
        page.set_content(html)
        hrefs = page.locator("a[href]").evaluate_all("links => links.map(a => a.href)")
        assert hrefs == [f"http://127.0.0.1:8050/posts/{alert.post.key}"]  # type: ignore[union-attr]
        assert not [h for h in hrefs if BAD_SCHEME.match(h)]
        assert "<!channel>" in page.locator("blockquote").inner_text()  # shown, not run
        for i in range(page.locator("a").count()):
            page.set_content(html)
            page.locator("a").nth(i).click()
            page.wait_for_timeout(200)
            assert dialogs == []
            if page.url == "about:blank":  # still the message: nothing rewrote its title
                assert page.title() != "xss"
        page.set_content(html)
        page.wait_for_timeout(200)
        assert dialogs == []  # the <img onerror> in the post text did not run either
    finally:
        context.close()
