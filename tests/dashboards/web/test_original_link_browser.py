"""The dashboard's "Original" link in real headless Chromium: a post's URL is the public's, and
only a platform's own https link is ever offered (see `socmon.urls.original_link`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from socmon.index.sqlite import SqliteIndex
from socmon.records import EnrichedPost
from tests.dashboards.web.seed import seed, write_config
from tests.dashboards.web.test_browser import DashboardServer, log_in
from tests.dashboards.web.test_browser import browser as browser  # Debian's headless chromium
from tests.dashboards.web.test_browser import page as page  # a fresh context, logged out
from tests.factories import make_post

pytestmark = pytest.mark.slow

BAD_SCHEME = re.compile(r"^\s*(javascript|data|vbscript):", re.IGNORECASE)
HOSTILE_URLS = {
    "twitter:xss1": "javascript:alert(document.title='xss')",
    "twitter:xss2": " JAVASCRIPT:alert(document.title='xss')",
    "facebook:data1": "data:text/html,<script>alert(document.title='xss')</script>",
    "instagram:vb1": "vbscript:msgbox(1)",
    "facebook:elsewhere1": "https://evil.example/free-parking",
}
GOOD = ("mastodon:good1", "https://toot.wales/@northbrook/113000000000000001")


def with_url(key: str, url: str) -> EnrichedPost:
    platform, post_id = key.split(":")
    post = make_post(post_id, platform=platform, text=f"Post {post_id} about the car park")
    return post.model_copy(update={"post": post.post.model_copy(update={"url": url})})


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DashboardServer]:
    index = SqliteIndex(tmp_path / "socmon.db")
    try:
        index.setup()
        seed(index)
        index.upsert_posts([with_url(k, u) for k, u in [*HOSTILE_URLS.items(), GOOD]])
    finally:
        index.close()
    server = DashboardServer(write_config(tmp_path))
    yield server
    server.stop()
    assert "Traceback" not in "".join(server.output), "".join(server.output)


def test_a_post_whose_url_is_a_script_or_another_site_has_no_link_to_it(
    page: Any, server: DashboardServer
) -> None:
    dialogs: list[str] = []

    def dismiss(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    log_in(page, server.url)
    for key, url in HOSTILE_URLS.items():
        response = page.goto(f"{server.url}/posts/{key}")
        assert response.status == 200, key
        assert (
            page.get_by_test_id("post-text").inner_text()
            == f"Post {key.split(':')[1]} about the car park"
        )
        hrefs = page.locator("a[href]").evaluate_all("links => links.map(a => a.href)")
        assert [h for h in hrefs if BAD_SCHEME.match(h)] == [], key
        assert [h for h in hrefs if "evil.example" in h] == [], key
        assert page.locator("dt", has_text="Original").count() == 0, key
        assert url.strip() not in page.content(), key
    assert dialogs == []
    assert page.title() != "xss"


def test_a_platforms_own_https_link_is_still_offered(page: Any, server: DashboardServer) -> None:
    key, url = GOOD
    log_in(page, server.url)
    page.goto(f"{server.url}/posts/{key}")
    link = page.locator("a", has_text="toot.wales")
    assert link.count() == 1
    assert link.get_attribute("href") == url
    assert link.get_attribute("rel") == "noopener noreferrer external"
