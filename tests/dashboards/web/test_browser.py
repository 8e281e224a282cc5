"""The dashboard in a real headless browser: Debian's chromium driven by Playwright.

The server is the real `socmon dashboard` command on a free loopback port, over a SQLite index
filled by the test. Playwright's own browser downloads are not used (the machines are offline):
the browser is the system's ``/usr/bin/chromium`` (Debian packages ``chromium`` and its
dependencies). Without it the tests skip on a developer's machine and fail under CI=true.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dashboards.web.feedback import all_corrections
from socmon.index.sqlite import SqliteIndex
from tests.dashboards.web.seed import (
    EVIDENCE,
    LINE_MANAGER,
    PASSWORD,
    USER,
    Seeded,
    seed,
    write_config,
)

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("SOCMON_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 20_000


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (Debian: apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    problem = _missing_browser()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run: {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class DashboardServer:
    """`socmon dashboard` in a subprocess; `url` is where it listens."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")}
        full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        full_env["SOCMON_DASHBOARD__SESSION_SECRET"] = "browser-test-secret"
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "socmon_app.cli",
                "dashboard",
                "--config",
                str(config),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=full_env,
        )
        self.output: list[str] = []
        lines: queue.Queue[str] = queue.Queue()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line)
                lines.put(line)

        threading.Thread(target=read, daemon=True).start()
        self.url = ""
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while not self.url and datetime.now(UTC) < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            match = re.search(r"dashboard on (http://\S+)", line)
            if match:
                self.url = match.group(1).rstrip("/")
        if not self.url:
            self.stop()
            pytest.fail("the dashboard did not start:\n" + "".join(self.output))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def data_dir(tmp_path: Path) -> tuple[Path, Seeded]:
    index = SqliteIndex(tmp_path / "socmon.db")
    try:
        index.setup()
        keys = seed(index)
    finally:
        index.close()
    return tmp_path, keys


@pytest.fixture
def local_server(data_dir: tuple[Path, Seeded]) -> Iterator[DashboardServer]:
    server = DashboardServer(write_config(data_dir[0]))
    yield server
    server.stop()
    assert "Traceback" not in "".join(server.output), "".join(server.output)


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    page.screenshot(path=str(tmp_path / "last-page.png"), full_page=True)  # for a failure
    context.close()


def row_keys(page: Any) -> list[str]:
    return page.locator("tr[data-key]").evaluate_all("rows => rows.map(r => r.dataset.key)")


def apply_filters(page: Any, **fields: str) -> list[str]:
    page.goto(page.url.split("?")[0])
    for name, value in fields.items():
        element = page.locator(f"#{name}")
        if element.evaluate("e => e.tagName") == "SELECT":
            element.select_option(value)
        else:
            element.fill(value)
    with page.expect_navigation():
        page.get_by_role("button", name="Apply filters").click()
    return row_keys(page)


def log_in(page: Any, url: str) -> None:
    page.goto(f"{url}/posts")
    page.get_by_label("User name").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/posts"), page.url


def test_a_logged_out_visitor_is_sent_to_the_login_page(
    page: Any, local_server: DashboardServer
) -> None:
    page.goto(f"{local_server.url}/posts/twitter:parking1")
    assert "/login?next=" in page.url
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in"
    assert page.locator("tr[data-key]").count() == 0
    assert "car park" not in page.content()


def test_the_team_filters_searches_opens_an_item_and_corrects_it(
    page: Any, local_server: DashboardServer, data_dir: tuple[Path, Seeded], tmp_path: Path
) -> None:
    folder, keys = data_dir
    log_in(page, local_server.url)
    assert page.get_by_test_id("user").inner_text() == USER
    assert row_keys(page)[:2] == [keys.breach, keys.parking]
    assert page.get_by_test_id("result-count").inner_text() == "16 posts"
    assert page.locator("svg.chart g.day").count() == 30
    page.screenshot(path=str(tmp_path / "list.png"), full_page=True)

    assert set(apply_filters(page, sentiment="concern")) == {keys.parking, keys.old}
    assert apply_filters(page, department="maternity") == [keys.midwife]
    assert apply_filters(page, platform="facebook") == [keys.midwife]
    assert apply_filters(page, account="NorthbrookMaternity") == [keys.breach]
    old_day = (datetime.now(UTC) - timedelta(days=40)).date().isoformat()
    assert apply_filters(page, since=old_day, until=old_day) == [keys.old]
    assert apply_filters(page, q="barrier") == [keys.parking]
    assert apply_filters(page, q="wonderful", sentiment="concern") == []
    assert "No posts match these filters" in page.get_by_test_id("result-count").inner_text()

    # The item with a breach: reasons, the evidence marked in the text, who was alerted.
    apply_filters(page, kind="official_post")
    with page.expect_navigation():
        page.locator(f'tr[data-key="{keys.breach}"] a.post-link').click()
    assert page.locator("[data-testid=post-text] mark.evidence").inner_text() == EVIDENCE
    assert "<b>today</b>" in page.get_by_test_id("post-text").inner_text()  # shown, not run
    reasons = page.locator("[data-testid=reasons] li").all_inner_texts()
    assert reasons == ["NHS number in an official post", "a patient named with clinical detail"]
    alerted = page.get_by_test_id("alerted").inner_text()
    assert LINE_MANAGER in alerted
    assert "policy breach" in alerted
    assert "sent" in alerted
    page.screenshot(path=str(tmp_path / "item.png"), full_page=True)

    # Correct the parking concern: it is neutral, and for Maternity as well as Estates.
    page.goto(f"{local_server.url}/posts/{keys.parking}")
    assert page.get_by_test_id("sentiment").inner_text().startswith("concern")
    page.get_by_label("neutral").check()
    page.get_by_label("Maternity").check()
    before = datetime.now(UTC)
    with page.expect_navigation():
        page.get_by_role("button", name="Save correction").click()
    assert page.get_by_test_id("flash").inner_text() == (
        "Correction saved: sentiment neutral, departments Estates and parking, Maternity."
    )
    assert page.get_by_test_id("sentiment").inner_text().startswith("neutral")
    departments = page.locator("[data-testid=departments] .dept").all_inner_texts()
    assert departments == ["Estates and parking", "Maternity"]
    history = page.get_by_test_id("history").inner_text()
    assert USER in history
    assert "sentiment concern → neutral" in history
    assert page.get_by_label("neutral").is_checked()

    index = SqliteIndex(folder / "socmon.db")
    try:
        [stored] = all_corrections(index)
    finally:
        index.close()
    assert stored.post_key == keys.parking
    assert stored.corrected_by == USER
    assert before - timedelta(seconds=5) <= stored.corrected_at <= datetime.now(UTC)
    assert stored.sentiment == "neutral"
    assert set(stored.departments or ()) == {"estates", "maternity"}

    # The list now shows it as corrected, and the concern filter no longer finds it.
    page.goto(f"{local_server.url}/posts")
    row = page.locator(f'tr[data-key="{keys.parking}"]')
    assert "neutral" in row.inner_text()
    assert "corrected" in row.inner_text()
    assert apply_filters(page, sentiment="concern") == [keys.old]

    # The register of official accounts.
    page.get_by_role("link", name="Official accounts").click()
    maternity = page.locator('tr[data-account="twitter:NorthbrookMaternity"]')
    assert maternity.get_by_test_id("status").inner_text() == "Active"
    hospitals = page.locator('tr[data-account="facebook:NorthbrookHospitals"]')
    assert hospitals.get_by_test_id("status").inner_text() == "No post seen"


def test_proxy_mode_admits_the_header_and_refuses_without_it(
    browser: Any, data_dir: tuple[Path, Seeded]
) -> None:
    secret = "a-proxy-secret-for-the-browser-test"
    server = DashboardServer(
        write_config(data_dir[0], auth="proxy"), env={"SOCMON_DASHBOARD__PROXY_SECRET": secret}
    )
    proof = {"X-Socmon-Proxy-Secret": secret}
    try:
        with_header = browser.new_context(
            extra_http_headers={**proof, "X-Forwarded-User": "bob.proxy"}
        )
        page = with_header.new_page()
        response = page.goto(f"{server.url}/posts")
        assert response.status == 200
        assert page.get_by_test_id("user").inner_text() == "bob.proxy"
        assert len(row_keys(page)) == 16
        with_header.close()

        without = browser.new_context(extra_http_headers=proof)
        page = without.new_page()
        response = page.goto(f"{server.url}/posts")
        assert response.status == 401
        assert "did not name a user" in page.inner_text("body")
        assert row_keys(page) == []
        without.close()
    finally:
        server.stop()
