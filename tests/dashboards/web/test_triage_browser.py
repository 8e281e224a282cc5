"""The triage inbox in real headless Chromium: the front page's counts, filters, sorting, taking
and handling a case, notes, a bulk update, the CSV download, a department user's isolation,
correcting an urgent flag, and the list and item pages on a 390 px wide phone."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from socmon.index.sqlite import SqliteIndex
from tests.dashboards.web.seed import (
    MATERNITY_USER,
    PASSWORD,
    USER,
    Seeded,
)
from tests.dashboards.web.test_browser import TIMEOUT_MS, DashboardServer, row_keys
from tests.dashboards.web.test_browser import browser as browser  # Debian's headless chromium
from tests.dashboards.web.test_browser import data_dir as data_dir  # a seeded SQLite index
from tests.dashboards.web.test_browser import local_server as local_server  # socmon dashboard
from tests.dashboards.web.test_browser import page as page  # a fresh context, logged out

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}


def sign_in(page: Any, url: str, user: str = USER) -> None:
    page.goto(f"{url}/")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.get_by_test_id("user").inner_text() == user


def submit(page: Any, button: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()


def follow(locator: Any) -> None:
    with locator.page.expect_navigation():
        locator.click()


def download_csv(page: Any) -> list[dict[str, str]]:
    with page.expect_download() as info:
        page.get_by_test_id("export").click()
    download = info.value
    assert download.suggested_filename.startswith("socmon-posts-")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def stored_case(folder: Path, key: str) -> Any:
    index = SqliteIndex(folder / "socmon.db")
    try:
        post = index.get_post(key)
    finally:
        index.close()
    assert post is not None
    return post.case


def test_a_comms_officer_filters_takes_handles_bulk_updates_and_exports(
    page: Any, local_server: DashboardServer, data_dir: tuple[Path, Seeded], tmp_path: Path
) -> None:
    folder, keys = data_dir
    url = local_server.url
    sign_in(page, url)

    # The front page: what is open, by department and age; a count opens the list it counts.
    assert page.get_by_role("heading", level=1).inner_text() == "Overview"
    assert page.get_by_test_id("new-count").inner_text().startswith("3")
    page.screenshot(path=str(tmp_path / "front.png"), full_page=True)
    follow(page.locator('tr[data-department="wards"] td[data-band="older"] a'))
    assert row_keys(page) == [keys.old]

    # Filters: open items of two departments; then by author; columns sort.
    page.goto(f"{url}/posts")
    page.locator("#status").select_option("open")
    page.locator("#department").select_option(["estates", "wards"])
    submit(page, "Apply filters")
    assert set(row_keys(page)) == {keys.breach, keys.parking, keys.old}
    page.locator("#author").fill("driver_dan")
    submit(page, "Apply filters")
    assert row_keys(page) == [keys.parking]
    page.goto(f"{url}/posts")
    follow(page.locator("th a.sort", has_text="When"))
    assert row_keys(page)[0] == keys.old  # oldest first now
    follow(page.locator("th a.sort", has_text="Post"))
    authors = page.locator("td.text .author").all_inner_texts()
    assert authors == sorted(authors, key=str.casefold)
    assert page.locator("th[aria-sort] a", has_text="Post").count() == 1

    # Take the parking concern, handle it, note what was done.
    page.goto(f"{url}/posts/{keys.parking}")
    assert page.get_by_test_id("case-status").inner_text() == "new"
    submit(page, "Take it (assign to me, in progress)")
    taken = f"Case saved: in progress, assigned to {USER}."
    assert page.get_by_test_id("flash").inner_text() == taken
    page.get_by_role("link", name="My items").click()
    page.wait_for_url("**/posts?status=open&assignee=*")
    assert row_keys(page) == [keys.parking]
    page.goto(f"{url}/posts/{keys.parking}")
    page.locator("#case-status-handled").check()
    submit(page, "Save handling")
    assert page.get_by_test_id("case-status").inner_text() == "handled"
    assert page.get_by_test_id("first-handled").is_visible()
    page.get_by_label("Add a note").fill("Apologised and refunded the £12 <b>parking</b>")
    submit(page, "Add note")
    assert page.get_by_test_id("flash").inner_text() == "Note added."
    history = page.get_by_test_id("case-history").inner_text()
    assert "Apologised and refunded the £12 <b>parking</b>" in history  # shown, not run
    assert "status in progress → handled" in history
    assert "status new → in progress" in history
    assert f"assigned to {USER}" in history
    page.screenshot(path=str(tmp_path / "item.png"), full_page=True)
    case = stored_case(folder, keys.parking)
    assert (case.status, case.assignee, len(case.notes)) == ("handled", USER, 1)

    # Bulk: every open unassigned row gets "no action needed" and an assignee.
    page.get_by_role("link", name="Unassigned").click()
    page.wait_for_url("**/posts?status=open&assignee=-")
    assert set(row_keys(page)) == {keys.breach, keys.old}
    page.locator("#select-all").check()  # shown by socmon.js
    assert page.locator('input[name="key"]:checked').count() == 2
    page.locator("#bulk-status").select_option("no_action")
    page.locator("#bulk-assignee").select_option(USER)
    submit(page, "Apply to selected")
    assert page.get_by_test_id("flash").inner_text() == "Updated 2 posts."
    assert row_keys(page) == []  # back on the same view: nothing unassigned is open
    for key in (keys.breach, keys.old):
        case = stored_case(folder, key)
        assert (case.status, case.assignee) == ("no_action", USER)

    # The export of a filtered list: every matching row, whatever the page shows.
    page.goto(f"{url}/posts?sentiment=concern&limit=1")
    assert len(row_keys(page)) == 1
    rows = download_csv(page)
    assert {r["key"]: (r["status"], r["assignee"]) for r in rows} == {
        keys.parking: ("handled", USER),
        keys.old: ("no action", USER),
    }
    page.goto(f"{url}/posts")
    every = download_csv(page)
    assert len(every) == 16
    [driver] = [r for r in every if r["key"] == keys.parking]
    assert driver["author"] == "'@driver_dan"  # a cell starting with @ is not a formula


def test_a_department_user_sees_and_exports_only_its_department(
    page: Any, local_server: DashboardServer, data_dir: tuple[Path, Seeded]
) -> None:
    _, keys = data_dir
    url = local_server.url
    sign_in(page, url, MATERNITY_USER)
    assert page.get_by_test_id("scope").inner_text() == "(Maternity)"
    page.goto(f"{url}/posts")
    assert row_keys(page) == [keys.midwife]
    assert page.locator("#department").count() == 0
    response = page.goto(f"{url}/posts/{keys.parking}")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Not found"
    assert "car park" not in page.content()
    page.goto(f"{url}/posts?department=estates")
    assert row_keys(page) == [keys.midwife]
    assert [r["key"] for r in download_csv(page)] == [keys.midwife]
    page.goto(f"{url}/")
    assert page.get_by_test_id("new-count").inner_text().startswith("0")


def test_correcting_an_urgent_flag_says_what_happened_to_the_alert(
    page: Any, local_server: DashboardServer, data_dir: tuple[Path, Seeded]
) -> None:
    folder, keys = data_dir
    url = local_server.url
    sign_in(page, url)
    page.goto(f"{url}/posts/{keys.parking}")
    assert page.locator("#urgent-no").is_checked()
    page.locator("#urgent-yes").check()
    submit(page, "Save correction")
    assert "Escalated as urgent." in page.get_by_test_id("flash").inner_text()
    # No broker in this test: the person is told the alert did not go out.
    assert "cannot be reached" in page.get_by_test_id("flash-problem").inner_text()
    assert "urgent" in page.get_by_test_id("classification").inner_text()
    assert page.locator("#urgent-yes").is_checked()
    assert "escalated as urgent" in page.get_by_test_id("corrected").inner_text()
    index = SqliteIndex(folder / "socmon.db")
    try:
        post = index.get_post(keys.parking)
    finally:
        index.close()
    assert post is not None
    assert post.classification.urgent


@pytest.fixture
def phone(browser: Any, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, locale="en-GB", is_mobile=True, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    page.screenshot(path=str(tmp_path / "last-phone-page.png"), full_page=True)
    context.close()


def overflow(page: Any) -> list[str]:
    """What sticks out to the right: of the viewport (the page must not scroll sideways), or of
    a box that would scroll or clip it (a table cut off inside its card)."""
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const wide = [];
          const root = document.documentElement;
          if (root.scrollWidth > width) wide.push('document ' + root.scrollWidth);
          const hidden = (el) => {  // visually hidden for screen readers: clipped to nothing
            for (let at = el; at; at = at.parentElement) {
              const style = getComputedStyle(at);
              if (style.position === 'absolute' && style.clip !== 'auto') return true;
            }
            return false;
          };
          for (const el of document.querySelectorAll('body *')) {
            if (el.closest('details:not([open]), svg, select') || hidden(el)) continue;
            const style = getComputedStyle(el);
            const box = el.getBoundingClientRect();
            if (box.width && box.right > width + 1) {
              wide.push(`${el.tagName.toLowerCase()}.${el.className} right ${box.right}`);
            }
            if (style.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1
                && !['INPUT', 'TEXTAREA'].includes(el.tagName)) {
              wide.push(`${el.tagName.toLowerCase()}.${el.className} scrolls ${el.scrollWidth}`);
            }
          }
          return wide.slice(0, 10);
        }"""
    )


def test_the_list_and_item_pages_fit_a_390_px_phone(
    phone: Any, local_server: DashboardServer, data_dir: tuple[Path, Seeded], tmp_path: Path
) -> None:
    _, keys = data_dir
    url = local_server.url
    sign_in(phone, url)
    for name, path in (
        ("front", "/"),
        ("list", "/posts"),
        ("mine", f"/posts?status=open&assignee={USER}"),
        ("breach", f"/posts/{keys.breach}"),
        ("parking", f"/posts/{keys.parking}"),
    ):
        phone.goto(f"{url}{path}")
        phone.screenshot(path=str(tmp_path / f"phone-{name}.png"), full_page=True)
        assert overflow(phone) == [], name
    # The list shows the key columns stacked in each row: when, who, what, status.
    phone.goto(f"{url}/posts")
    row = phone.locator(f'tr[data-key="{keys.parking}"]')
    for cell in ("td.when", "td.text .author", "td.text a.post-link", "td.status"):
        box = row.locator(cell).bounding_box()
        assert box is not None
        assert box["width"] > 0
        assert box["x"] + box["width"] <= PHONE["width"]
    text = row.inner_text()
    assert "@driver_dan" in text
    assert "new" in text
    assert "concern" in text
    # and the rows' checkboxes and the case form are usable there
    assert row.locator('input[name="key"]').is_visible()
    phone.goto(f"{url}/posts/{keys.parking}")
    phone.locator("#case-status-in_progress").check()
    with phone.expect_navigation():
        phone.get_by_role("button", name="Save handling").click()
    assert phone.get_by_test_id("case-status").inner_text() == "in progress"
