"""The triage inbox through Starlette's test client: cases, bulk updates, views, filters, the CSV
export, the front page, department logins, corrections of every judgement, the first run."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dashboards.web.app import create_app, post_url
from dashboards.web.escalation import AlertsNotSent
from dashboards.web.feedback import all_corrections
from socmon.index.sqlite import SqliteIndex
from socmon.records import Alert, EnrichedPost
from socmon.settings import Settings
from tests.dashboards.web.conftest import csrf_of, log_in
from tests.dashboards.web.seed import (
    ESTATES_USER,
    MATERNITY_USER,
    USER,
    Seeded,
    dashboard_settings,
)
from tests.factories import make_delivery, make_post


def row_keys(html: str) -> list[str]:
    return re.findall(r'<tr data-key="([^"]+)"', html)


def flash(html: str) -> str:
    found = re.search(r'data-testid="flash">([^<]*)<', html)
    return unescape(found.group(1)) if found else ""


def problem(html: str) -> str:
    found = re.search(r'data-testid="flash-problem">([^<]*)<', html)
    return unescape(found.group(1)) if found else ""


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class RecordingOutbox:
    """Takes the alerts a correction raises, as alert delivery's topic would; `down` refuses."""

    def __init__(self, names: dict[str, str], *, down: bool = False) -> None:
        self.department_names = names
        self.down = down
        self.sent: list[Alert] = []

    def send(self, alerts: Sequence[Alert]) -> None:
        if self.down:
            msg = "the Kafka broker at 127.0.0.1:1 cannot be reached (Connection refused)"
            raise AlertsNotSent(msg)
        self.sent.extend(alerts)


@pytest.fixture
def outbox(settings: Settings) -> RecordingOutbox:
    return RecordingOutbox({d.id: d.name for d in settings.departments})


@pytest.fixture
def app_client(
    settings: Settings, index: SqliteIndex, seeded: Seeded, outbox: RecordingOutbox
) -> Iterator[TestClient]:
    app = create_app(settings, index, session_secret="test-secret", outbox=outbox)
    with TestClient(app, follow_redirects=False) as client:
        yield client


@pytest.fixture
def comms(app_client: TestClient) -> TestClient:
    log_in(app_client)
    return app_client


def change(client: TestClient, key: str, **fields: object) -> object:
    page = client.get(post_url(key))
    assert page.status_code == 200, page.text
    data: dict[str, object] = {"post_key": key, "csrf_token": csrf_of(page.text)}
    data.update(fields)
    return client.post("/cases", data=data)  # type: ignore[arg-type]


def bulk(client: TestClient, keys: list[str], **fields: object) -> object:
    page = client.get("/posts")
    data: dict[str, object] = {"key": keys, "csrf_token": csrf_of(page.text), "back": "/posts"}
    data.update(fields)
    return client.post("/cases/bulk", data=data)  # type: ignore[arg-type]


def labour_concern(post_id: str = "labour1", hours_ago: float = 3) -> EnrichedPost:
    return make_post(
        post_id,
        text="Left for hours on the labour ward with nobody checking on us",
        account="NorthbrookNHS",
        author="@new_mum",
        sentiment="concern",
        departments=("maternity",),
        created_at=now() - timedelta(hours=hours_ago),
    )


# -- a case on the item page --------------------------------------------------------------------


def test_a_case_is_changed_on_the_item_page_and_its_history_shown(
    comms: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    response = change(comms, seeded.parking, status="in_progress", assignee=ESTATES_USER)
    assert response.status_code == 303  # type: ignore[attr-defined]
    stored = index.get_post(seeded.parking)
    assert stored is not None
    assert stored.case is not None
    assert (stored.case.status, stored.case.assignee) == ("in_progress", ESTATES_USER)
    assert stored.case.updated_by == USER
    assert stored.case.first_handled_at is None
    page = comms.get(post_url(seeded.parking)).text
    assert flash(page) == f"Case saved: in progress, assigned to {ESTATES_USER}."
    history = re.search(r'data-testid="case-history">(.*?)</ol>', page, re.S)
    assert history is not None
    text = " ".join(unescape(re.sub(r"<[^>]+>", "", history.group(1))).split())
    assert f"{USER}," in text
    assert "status new → in progress" in text
    assert f"assigned to {ESTATES_USER}" in text

    before = datetime.now(UTC)
    change(comms, seeded.parking, status="handled", case_seen=stored.case.updated_at.isoformat())
    handled = index.get_post(seeded.parking)
    assert handled is not None
    assert handled.case is not None
    assert handled.case.status == "handled"
    assert handled.case.first_handled_at is not None
    assert before - timedelta(seconds=2) <= handled.case.first_handled_at <= datetime.now(UTC)
    assert 'data-testid="first-handled"' in comms.get(post_url(seeded.parking)).text


def test_a_note_is_kept_and_shown_as_text(
    comms: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    change(comms, seeded.parking, note="Rang <b>estates</b>: barrier fixed")
    stored = index.get_post(seeded.parking)
    assert stored is not None
    assert stored.case is not None
    assert [(n.text, n.by) for n in stored.case.notes] == [
        ("Rang <b>estates</b>: barrier fixed", USER)
    ]
    page = comms.get(post_url(seeded.parking)).text
    assert flash(page) == "Note added."
    assert "Rang &lt;b&gt;estates&lt;/b&gt;: barrier fixed" in page
    assert "<b>estates</b>" not in page


def test_a_case_change_without_the_csrf_token_is_refused(
    comms: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    response = comms.post(
        "/cases", data={"post_key": seeded.parking, "status": "handled", "csrf_token": "forged"}
    )
    assert response.status_code == 403
    stored = index.get_post(seeded.parking)
    assert stored is not None
    assert stored.case is None


def test_a_post_that_needs_no_action_has_no_case_form(
    comms: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    page = comms.get(post_url(seeded.midwife)).text
    assert 'data-testid="case"' not in page
    change(comms, seeded.midwife, status="handled")
    stored = index.get_post(seeded.midwife)
    assert stored is not None
    assert stored.case is None
    assert "needs no action" in problem(comms.get(post_url(seeded.midwife)).text)


def test_a_post_cannot_be_assigned_to_someone_who_cannot_see_it(
    comms: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    page = comms.get(post_url(seeded.parking)).text
    options = re.search(r'<select id="case-assignee".*?</select>', page, re.S)
    assert options is not None
    assert ESTATES_USER in options.group(0)
    assert MATERNITY_USER not in options.group(0)  # sees maternity only
    change(comms, seeded.parking, assignee=MATERNITY_USER)
    stored = index.get_post(seeded.parking)
    assert stored is not None
    assert stored.case is None
    assert "cannot be assigned" in problem(comms.get(post_url(seeded.parking)).text)


def test_a_change_from_a_stale_page_does_not_undo_another_person_s(
    comms: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    stale = comms.get(post_url(seeded.parking)).text
    change(comms, seeded.parking, status="handled")
    response = comms.post(
        "/cases",
        data={
            "post_key": seeded.parking,
            "csrf_token": csrf_of(stale),
            "case_seen": "",  # the page showed no case yet
            "status": "new",
            "assignee": USER,
        },
    )
    assert response.status_code == 303
    stored = index.get_post(seeded.parking)
    assert stored is not None
    assert stored.case is not None
    assert (stored.case.status, stored.case.assignee) == ("handled", None)
    assert "changed this case while you were looking" in problem(
        comms.get(post_url(seeded.parking)).text
    )


def test_taking_a_new_case_assigns_it_to_me_in_progress(
    comms: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    page = comms.get(post_url(seeded.parking)).text
    assert "Take it (assign to me, in progress)" in page
    change(comms, seeded.parking, assignee=USER, status="in_progress", case_seen="")
    stored = index.get_post(seeded.parking)
    assert stored is not None
    assert stored.case is not None
    assert (stored.case.status, stored.case.assignee) == ("in_progress", USER)


# -- bulk ---------------------------------------------------------------------------------------


def test_bulk_update_sets_the_status_and_assignee_of_the_selected_rows(
    comms: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    response = bulk(
        comms,
        [seeded.parking, seeded.old, seeded.midwife],
        status="in_progress",
        assignee=USER,
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == "/posts"  # type: ignore[attr-defined]
    for key in (seeded.parking, seeded.old):
        stored = index.get_post(key)
        assert stored is not None
        assert stored.case is not None
        assert (stored.case.status, stored.case.assignee, stored.case.updated_by) == (
            "in_progress",
            USER,
            USER,
        )
    midwife = index.get_post(seeded.midwife)
    assert midwife is not None
    assert midwife.case is None
    page = comms.get("/posts").text
    assert flash(page).startswith("Updated 2 posts; 1 left alone (This post needs no action")


def test_bulk_update_needs_a_selection_and_a_change(comms: TestClient, seeded: Seeded) -> None:
    bulk(comms, [], status="handled")
    assert "Select posts" in problem(comms.get("/posts").text)
    bulk(comms, [seeded.parking])
    assert "Select posts" in problem(comms.get("/posts").text)


def test_bulk_update_without_the_csrf_token_is_refused(
    comms: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    response = comms.post(
        "/cases/bulk", data={"key": [seeded.parking], "status": "handled", "csrf_token": "x"}
    )
    assert response.status_code == 403
    stored = index.get_post(seeded.parking)
    assert stored is not None
    assert stored.case is None


def test_bulk_update_goes_back_to_the_list_it_came_from_only(
    comms: TestClient, seeded: Seeded
) -> None:
    page = comms.get("/posts").text
    token = csrf_of(page)
    for back, expected in (
        ("/posts?status=open&sort=oldest", "/posts?status=open&sort=oldest"),
        ("https://evil.example/", "/posts"),
        ("//evil.example/posts", "/posts"),
    ):
        response = comms.post(
            "/cases/bulk",
            data={"key": [seeded.parking], "status": "new", "csrf_token": token, "back": back},
        )
        assert response.headers["location"] == expected


# -- views, filters, sorting, pages -------------------------------------------------------------


def test_my_items_and_unassigned_are_the_open_posts_by_assignee(
    comms: TestClient, seeded: Seeded
) -> None:
    change(comms, seeded.parking, assignee=USER)
    change(comms, seeded.old, assignee=USER, status="handled")
    mine = comms.get(f"/posts?status=open&assignee={USER}").text
    assert row_keys(mine) == [seeded.parking]
    assert "<h1>My items</h1>" in mine
    unassigned = comms.get("/posts?status=open&assignee=-").text
    assert row_keys(unassigned) == [seeded.breach]
    assert "<h1>Unassigned items</h1>" in unassigned


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("breach=yes", {"twitter:breach1"}),
        ("urgent=yes", {"twitter:urgent1"}),
        ("abusive=yes", {"twitter:troll1"}),
        ("department=maternity&department=estates", {"facebook:midwife1", "twitter:parking1"}),
        ("author=driver_dan", {"twitter:parking1"}),
        ("author=%40DRIVER_DAN", {"twitter:parking1"}),
        ("status=new&department=wards", {"twitter:breach1", "twitter:old1"}),
        ("status=handled", set()),
        ("q=barrier&status=open", {"twitter:parking1"}),
    ],
)
def test_the_triage_filters(
    comms: TestClient, index: SqliteIndex, query: str, expected: set[str]
) -> None:
    index.upsert_posts(
        [
            make_post("urgent1", text="Chest pains in the car park", urgent=True),
            make_post("troll1", text="You lot are useless idiots", abusive=True),
        ]
    )
    assert set(row_keys(comms.get(f"/posts?{query}").text)) == expected


def test_unknown_triage_filters_are_ignored_and_said(comms: TestClient) -> None:
    text = unescape(comms.get("/posts?status=closed&urgent=maybe&sort=loudest").text)
    assert "Unknown status 'closed': ignored." in text
    assert "The urgent filter 'maybe' is not yes or no: ignored." in text
    assert "Unknown order 'loudest': ignored." in text


def test_a_column_header_sorts_the_list(comms: TestClient, seeded: Seeded) -> None:
    page = comms.get("/posts").text
    assert 'href="/posts?sort=author"' in page
    assert 'href="/posts?sort=oldest"' in page  # "When" toggles the order
    oldest = row_keys(comms.get("/posts?sort=oldest").text)
    assert oldest[0] == seeded.old
    by_author = comms.get("/posts?sort=author").text
    assert 'aria-sort="ascending"' in by_author
    authors = re.findall(r'<span class="author">@([^<]+)</span>', by_author)
    assert authors == sorted(authors, key=str.casefold)


def test_the_list_is_paged(comms: TestClient) -> None:
    first = comms.get("/posts?limit=5").text
    second = comms.get("/posts?limit=5&page=2").text
    assert "Page 1 of 4" in first
    assert "Page 2 of 4" in second
    assert "Posts 6–10 of 16" in unescape(second)
    assert not set(row_keys(first)) & set(row_keys(second))
    assert len(row_keys(second)) == 5
    assert 'href="/posts?page=3&amp;limit=5" rel="next"' in second
    assert 'href="/posts?limit=5" rel="prev"' in second


# -- the CSV export -----------------------------------------------------------------------------


def csv_rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_the_export_has_every_matching_post_not_just_the_page(
    comms: TestClient, seeded: Seeded
) -> None:
    response = comms.get("/posts.csv?limit=5&page=2")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.headers["cache-control"] == "no-store"
    rows = csv_rows(response.text)
    assert len(rows) == 16
    assert rows[0]["key"] == seeded.breach
    concern = csv_rows(comms.get("/posts.csv?sentiment=concern").text)
    assert {r["key"] for r in concern} == {seeded.parking, seeded.old}


def test_the_export_keeps_the_public_s_words_from_running_as_formulas(
    comms: TestClient, index: SqliteIndex
) -> None:
    index.upsert_posts(
        [make_post("f1", text='=HYPERLINK("http://evil.example","Click")', author="@plus")]
    )
    [row] = [r for r in csv_rows(comms.get("/posts.csv").text) if r["key"] == "twitter:f1"]
    assert row["text"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert row["author"] == "'@plus"


def test_the_list_links_to_the_export_of_its_filters(comms: TestClient) -> None:
    page = comms.get("/posts?sentiment=concern&page=1&limit=5").text
    assert 'href="/posts.csv?sentiment=concern"' in page


# -- the front page -----------------------------------------------------------------------------


def test_the_front_page_counts_open_items_by_department_and_age(
    comms: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    index.upsert_posts([labour_concern(hours_ago=24 * 2)])
    page = comms.get("/").text
    assert "<h1>Overview</h1>" in page
    rows = dict(re.findall(r'<tr data-department="([^"]*)">(.*?)</tr>', page, re.S))

    def counts(department: str) -> dict[str, str]:
        cells = re.findall(r'data-band="(\w+)">(.*?)</td>', rows[department], re.S)
        return {band: re.sub(r"<[^>]+>", "", html).strip() for band, html in cells}

    assert counts("wards") == {"today": "1", "recent": "0", "older": "1", "all": "2"}
    assert counts("estates") == {"today": "1", "recent": "0", "older": "0", "all": "1"}
    assert counts("maternity") == {"today": "0", "recent": "1", "older": "0", "all": "1"}
    assert counts("*") == {"today": "2", "recent": "1", "older": "1", "all": "4"}
    today = datetime.now(UTC).astimezone().date()
    assert f'href="/posts?department=wards&amp;status=open&amp;since={today}"' in page
    new = re.search(r'data-testid="new-count"><span class="number">(\d+)', page)
    assert new is not None
    assert new.group(1) == "4"
    change(comms, seeded.parking, status="in_progress", assignee=USER)
    page = comms.get("/").text
    assert re.search(r'data-testid="new-count"><span class="number">3<', page)
    assert re.search(r'data-testid="mine-count"><span class="number">1<', page)
    assert re.search(r'data-testid="unassigned-count"><span class="number">3<', page)


def test_the_counts_link_to_the_list_they_count(comms: TestClient) -> None:
    page = unescape(comms.get("/").text)
    wards = r'<tr data-department="wards">.*?data-band="older"><a href="([^"]+)"'
    link = re.search(wards, page, re.S)
    assert link is not None
    assert row_keys(comms.get(link.group(1)).text) == ["twitter:old1"]


def test_the_first_run_shows_the_30_days_up_to_the_newest_post(
    tmp_path: Path, outbox: RecordingOutbox
) -> None:
    settings = dashboard_settings(tmp_path)
    index = SqliteIndex(settings.sqlite_path)
    index.setup()
    newest = datetime(2026, 10, 31, 15, 0, tzinfo=UTC)
    index.upsert_posts(
        [
            make_post(f"s{i}", sentiment="concern", created_at=newest - timedelta(days=i))
            for i in range(10)
        ]
    )
    from dashboards.web.users import add_user
    from tests.dashboards.web.seed import PASSWORD

    add_user(index, USER, PASSWORD)
    app = create_app(settings, index, session_secret="s", outbox=outbox)
    try:
        with TestClient(app, follow_redirects=False) as client:
            log_in(client)
            for url in ("/", "/posts"):
                page = client.get(url).text
                if datetime.now(UTC) - newest > timedelta(days=30):
                    assert "showing the 30 days up to the newest post, 31 Oct 2026" in page
                    assert "The 30 days up to the newest post" in page
                    assert "02 Oct to 31 Oct 2026" in page
                assert page.count('class="bar concern"') == 10
    finally:
        index.close()


# -- department logins --------------------------------------------------------------------------


@pytest.fixture
def maternity(app_client: TestClient, index: SqliteIndex) -> TestClient:
    index.upsert_posts([labour_concern()])
    log_in(app_client, MATERNITY_USER)
    return app_client


def test_a_department_user_sees_only_its_department_s_posts(
    maternity: TestClient, seeded: Seeded
) -> None:
    page = maternity.get("/posts").text
    assert set(row_keys(page)) == {seeded.midwife, "twitter:labour1"}
    assert "You see the posts of Maternity only." in page
    assert 'id="department"' not in page  # no department filter to choose
    # asking for another department's posts gives its own, never the others
    assert set(row_keys(maternity.get("/posts?department=estates").text)) == {
        seeded.midwife,
        "twitter:labour1",
    }
    assert row_keys(maternity.get("/posts?q=barrier").text) == []


def test_a_department_user_cannot_open_another_department_s_post_by_url(
    maternity: TestClient, seeded: Seeded
) -> None:
    for key in (seeded.parking, seeded.breach, seeded.old):
        response = maternity.get(post_url(key))
        assert response.status_code == 404
        assert "car park" not in response.text
    assert maternity.get(post_url("twitter:labour1")).status_code == 200


def test_a_department_user_cannot_change_another_department_s_post(
    maternity: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    token = csrf_of(maternity.get("/posts").text)
    case = maternity.post(
        "/cases", data={"post_key": seeded.parking, "status": "handled", "csrf_token": token}
    )
    assert case.status_code == 404
    correction = maternity.post(
        "/corrections",
        data={"post_key": seeded.parking, "sentiment": "compliment", "csrf_token": token},
    )
    assert correction.status_code == 404
    maternity.post(
        "/cases/bulk",
        data={
            "key": [seeded.parking, "twitter:labour1"],
            "status": "handled",
            "csrf_token": token,
        },
    )
    parking = index.get_post(seeded.parking)
    assert parking is not None
    assert parking.case is None
    assert all_corrections(index) == []
    labour = index.get_post("twitter:labour1")
    assert labour is not None
    assert labour.case is not None
    assert labour.case.status == "handled"
    assert "1 left alone (not found)" in flash(maternity.get("/posts").text)


def test_a_department_user_s_export_and_counts_hold_its_department_only(
    maternity: TestClient, seeded: Seeded
) -> None:
    rows = csv_rows(maternity.get("/posts.csv").text)
    assert {r["key"] for r in rows} == {seeded.midwife, "twitter:labour1"}
    assert {r["key"] for r in csv_rows(maternity.get("/posts.csv?department=wards").text)} == {
        seeded.midwife,
        "twitter:labour1",
    }
    page = maternity.get("/").text
    assert re.findall(r'<tr data-department="([^"]*)">', page) == ["maternity", "*"]
    assert re.search(r'data-testid="new-count"><span class="number">1<', page)
    assert page.count('class="bar ') == 2  # the chart: the two maternity posts only


def test_a_department_user_assigns_within_its_department(
    maternity: TestClient, index: SqliteIndex
) -> None:
    page = maternity.get(post_url("twitter:labour1")).text
    options = re.search(r'<select id="case-assignee".*?</select>', page, re.S)
    assert options is not None
    assert MATERNITY_USER in options.group(0)
    assert USER in options.group(0)
    assert ESTATES_USER not in options.group(0)
    change(maternity, "twitter:labour1", assignee=MATERNITY_USER, status="in_progress")
    stored = index.get_post("twitter:labour1")
    assert stored is not None
    assert stored.case is not None
    assert stored.case.assignee == MATERNITY_USER


def test_a_department_user_who_moves_a_post_away_loses_sight_of_it(
    maternity: TestClient, index: SqliteIndex
) -> None:
    page = maternity.get(post_url("twitter:labour1")).text
    response = maternity.post(
        "/corrections",
        data={
            "post_key": "twitter:labour1",
            "csrf_token": csrf_of(page),
            "departments_judged": "1",
            "department": ["wards"],
        },
    )
    assert response.headers["location"] == "/posts"
    assert "no longer in your department's view" in flash(maternity.get("/posts").text)
    assert maternity.get(post_url("twitter:labour1")).status_code == 404


# -- corrections of every judgement ---------------------------------------------------------------


def correct(client: TestClient, key: str, **fields: object) -> object:
    page = client.get(post_url(key))
    data: dict[str, object] = {"post_key": key, "csrf_token": csrf_of(page.text)}
    data.update(fields)
    return client.post("/corrections", data=data)  # type: ignore[arg-type]


def test_escalating_a_missed_urgent_post_raises_the_urgent_alert(
    comms: TestClient, index: SqliteIndex, seeded: Seeded, outbox: RecordingOutbox
) -> None:
    correct(comms, seeded.parking, urgent="yes", abusive="no")
    stored = index.get_post(seeded.parking)
    assert stored is not None
    assert stored.classification.urgent
    assert [a.alert_id for a in outbox.sent] == [f"urgent:{seeded.parking}"]
    page = comms.get(post_url(seeded.parking)).text
    assert "Escalated as urgent." in flash(page)
    assert "The urgent alert was raised" in flash(page)
    assert 'data-testid="corrected">by alice.jones' in page
    assert "escalated as urgent" in page
    # saved again while the alert is out there: not raised again
    comms.post(
        "/corrections",
        data={
            "post_key": seeded.parking,
            "csrf_token": csrf_of(page),
            "urgent": "yes",
            "sentiment": "concern",
        },
    )
    index.record_deliveries([make_delivery(f"urgent:{seeded.parking}", "on-call", "file")])
    correct(comms, seeded.parking, urgent="yes", sentiment="concern")
    assert len(outbox.sent) <= 2
    assert "Nothing changed" in flash(comms.get(post_url(seeded.parking)).text)


def test_an_alert_that_could_not_be_sent_is_said(
    settings: Settings, index: SqliteIndex, seeded: Seeded
) -> None:
    down = RecordingOutbox({}, down=True)
    app = create_app(settings, index, session_secret="s", outbox=down)
    with TestClient(app, follow_redirects=False) as client:
        log_in(client)
        correct(client, seeded.parking, urgent="yes")
        page = client.get(post_url(seeded.parking)).text
    assert "Escalated as urgent." in flash(page)
    assert problem(page)  # the sender's sentence: the alert did not go out


def test_clearing_urgent_and_abusive_and_dismissing_a_breach(
    comms: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    index.upsert_posts(
        [make_post("u1", text="ambulance needed now", urgent=True, abusive=True, created_at=now())]
    )
    correct(comms, "twitter:u1", urgent="no", abusive="no")
    stored = index.get_post("twitter:u1")
    assert stored is not None
    assert not stored.classification.urgent
    assert not stored.classification.abusive
    message = flash(comms.get(post_url("twitter:u1")).text)
    assert "No longer urgent." in message
    assert "Marked not abusive." in message

    page = comms.get(post_url(seeded.breach)).text
    assert 'name="dismiss" value="nhs_number"' in page
    correct(comms, seeded.breach, breaches_judged="1", dismiss=["nhs_number"])
    stored = index.get_post(seeded.breach)
    assert stored is not None
    assert stored.correction is not None
    assert stored.correction.dismissed_breaches == ("nhs_number",)
    page = comms.get(post_url(seeded.breach)).text
    assert "Dismissed: nhs number." in flash(page)
    assert "dismissed: nhs number" in page


def test_a_compliment_waiting_for_the_digest_says_so(comms: TestClient, seeded: Seeded) -> None:
    page = comms.get(post_url(seeded.midwife)).text
    assert "No one has been alerted about this post" not in page
    assert "waits for the next digest" in page
    assert "17:00 (Europe/London)" in page
    # a neutral post raises no alert at all
    assert "No one has been alerted about this post" in comms.get(post_url("twitter:filler1")).text
