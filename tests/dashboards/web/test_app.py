"""The dashboard's routes through Starlette's test client: access, pages, filters, corrections."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dashboards.web.app import create_app, post_url
from dashboards.web.feedback import all_corrections
from dashboards.web.users import USERS
from socmon.index.sqlite import SqliteIndex
from tests.dashboards.web.conftest import csrf_of
from tests.dashboards.web.seed import (
    EVIDENCE,
    LINE_MANAGER,
    USER,
    Seeded,
    dashboard_settings,
    seed,
)


def row_keys(html: str) -> list[str]:
    return re.findall(r'<tr data-key="([^"]+)"', html)


# -- access -------------------------------------------------------------------------------------


def test_a_visitor_without_a_session_is_sent_to_the_login_page(client: TestClient) -> None:
    response = client.get("/posts?sentiment=concern")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fposts%3Fsentiment%3Dconcern"


def test_the_login_page_static_files_and_health_check_need_no_login(client: TestClient) -> None:
    assert client.get("/login").status_code == 200
    assert client.get("/static/socmon.css").status_code == 200
    assert client.get("/healthz").text == "ok\n"


def test_logging_in_goes_back_to_the_page_asked_for(client: TestClient) -> None:
    page = client.get("/login?next=/accounts")
    response = client.post(
        "/login",
        data={
            "username": USER,
            "password": "correct horse battery staple",
            "next": "/accounts",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/accounts"
    assert client.get("/accounts").status_code == 200


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    client: TestClient,
) -> None:
    page = client.get("/login")
    wrong_password = client.post(
        "/login",
        data={"username": USER, "password": "nope", "csrf_token": csrf_of(page.text)},
    )
    unknown_user = client.post(
        "/login",
        data={"username": "mallory", "password": "nope", "csrf_token": csrf_of(page.text)},
    )
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert "The user name or password is not right." in wrong_password.text
    assert client.get("/posts").status_code == 303


def test_a_login_without_the_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    response = client.post(
        "/login", data={"username": USER, "password": "correct horse battery staple"}
    )
    assert response.status_code == 403
    assert client.get("/posts").status_code == 303


def test_login_never_redirects_off_the_site(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": USER,
            "password": "correct horse battery staple",
            "next": "//evil.example/",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert response.headers["location"] == "/"


def test_signing_out_ends_the_session(logged_in: TestClient) -> None:
    page = logged_in.get("/posts")
    response = logged_in.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert response.headers["location"] == "/login"
    assert logged_in.get("/posts").status_code == 303


def test_a_session_signed_with_another_secret_is_not_accepted(
    settings, index: SqliteIndex, seeded: Seeded, logged_in: TestClient
) -> None:
    other = create_app(settings, index, session_secret="another-secret")
    with TestClient(other, follow_redirects=False, cookies=logged_in.cookies) as stranger:
        assert stranger.get("/posts").status_code == 303


def test_a_deleted_user_loses_access_at_once(index: SqliteIndex, logged_in: TestClient) -> None:
    assert logged_in.get("/posts").status_code == 200
    index.delete_documents(USERS, [USER])
    assert logged_in.get("/posts").status_code == 303


def test_every_page_forbids_framing_and_caching(logged_in: TestClient) -> None:
    response = logged_in.get("/posts")
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_session_cookie_is_out_of_reach_of_scripts_and_other_sites(
    client: TestClient,
) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": USER,
            "password": "correct horse battery staple",
            "csrf_token": csrf_of(page.text),
        },
    )
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("socmon_session=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "max-age=28800" in cookie


# -- proxy mode ---------------------------------------------------------------------------------


def proxy_client(tmp_path: Path, peer: str, **dashboard: object) -> TestClient:
    # Proxy mode needs the proxy named: here by address (the secret is in test_login_security).
    dashboard.setdefault("trusted_proxies", ["127.0.0.1", "::1"])
    settings = dashboard_settings(tmp_path, auth="proxy", **dashboard)
    index = SqliteIndex(settings.sqlite_path)
    index.setup()
    seed(index)
    app = create_app(settings, index, session_secret="s")
    return TestClient(app, follow_redirects=False, client=(peer, 40000))


def test_proxy_mode_admits_the_user_the_proxy_names(tmp_path: Path) -> None:
    with proxy_client(tmp_path, "127.0.0.1") as client:
        response = client.get("/posts", headers={"X-Forwarded-User": "bob.smith"})
    assert response.status_code == 200
    assert 'data-testid="user">bob.smith<' in response.text
    assert "Sign out" not in response.text  # the proxy owns the login


def test_proxy_mode_refuses_a_request_without_the_header(tmp_path: Path) -> None:
    with proxy_client(tmp_path, "127.0.0.1") as client:
        response = client.get("/posts")
    assert response.status_code == 401


def test_proxy_mode_ignores_the_header_from_an_untrusted_address(tmp_path: Path) -> None:
    with proxy_client(tmp_path, "192.0.2.7") as client:
        response = client.get("/posts", headers={"X-Forwarded-User": "bob.smith"})
    assert response.status_code == 403


def test_proxy_mode_trusts_configured_networks_and_header_names(tmp_path: Path) -> None:
    with proxy_client(
        tmp_path, "10.1.2.3", trusted_proxies=["10.0.0.0/8"], proxy_user_header="Remote-User"
    ) as client:
        assert client.get("/posts", headers={"Remote-User": "carol"}).status_code == 200
        assert client.get("/posts", headers={"X-Forwarded-User": "carol"}).status_code == 401


# -- the list -----------------------------------------------------------------------------------


def test_the_list_shows_the_newest_posts_first_and_the_chart(
    logged_in: TestClient, seeded: Seeded
) -> None:
    page = logged_in.get("/posts")
    assert page.status_code == 200
    keys = row_keys(page.text)
    assert keys[:2] == [seeded.breach, seeded.parking]
    assert seeded.old in keys
    assert '<svg class="chart"' in page.text
    assert "16 posts" in page.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sentiment=concern", {"twitter:parking1", "twitter:old1"}),
        ("department=maternity", {"facebook:midwife1"}),
        ("platform=facebook", {"facebook:midwife1"}),
        ("account=NorthbrookMaternity", {"twitter:breach1"}),
        ("kind=official_post", {"twitter:breach1"}),
        ("q=car+park+barrier", {"twitter:parking1"}),
        ("q=midwife&sentiment=compliment", {"facebook:midwife1"}),
        ("q=midwife&sentiment=concern", set()),
    ],
)
def test_filters_and_full_text_search(logged_in: TestClient, query: str, expected: set) -> None:
    assert set(row_keys(logged_in.get(f"/posts?{query}").text)) == expected


def test_a_date_range_is_in_local_days_and_includes_the_last_day(
    logged_in: TestClient, seeded: Seeded
) -> None:
    day = (datetime.now(UTC) - timedelta(days=40)).date().isoformat()
    page = logged_in.get(f"/posts?since={day}&until={day}")
    assert row_keys(page.text) == [seeded.old]


def test_filters_that_make_no_sense_are_ignored_and_said(logged_in: TestClient) -> None:
    page = logged_in.get("/posts?sentiment=furious&since=yesterday")
    assert page.status_code == 200
    text = unescape(page.text)
    assert "Unknown sentiment 'furious': ignored." in text
    assert "The from date 'yesterday' is not a date" in text
    assert len(row_keys(page.text)) == 16


def test_the_list_grows_fifty_at_a_time(logged_in: TestClient) -> None:
    assert len(row_keys(logged_in.get("/posts?limit=5").text)) == 5
    page = logged_in.get("/posts?limit=5")
    assert "Newest 5 of 16 posts" in page.text
    assert "limit=55" in page.text


# -- the item -----------------------------------------------------------------------------------


def test_the_item_shows_reasons_marked_evidence_and_who_was_alerted(
    logged_in: TestClient, seeded: Seeded
) -> None:
    page = logged_in.get(post_url(seeded.breach))
    assert page.status_code == 200
    html = page.text
    assert f">{EVIDENCE}</mark>" in html
    assert 'data-rules="nhs_number"' in html
    assert "<li>NHS number in an official post</li>" in html
    assert "<li>a patient named with clinical detail</li>" in html
    assert LINE_MANAGER in html
    assert "policy breach" in html


def test_the_public_s_text_is_escaped_everywhere(logged_in: TestClient, seeded: Seeded) -> None:
    item = logged_in.get(post_url(seeded.breach)).text
    listing = logged_in.get("/posts").text
    for html in (item, listing):
        assert "<b>today</b>" not in html
        assert "&lt;b&gt;today&lt;/b&gt;" in html


def test_an_unknown_post_is_a_404_page(logged_in: TestClient) -> None:
    page = logged_in.get("/posts/twitter:nope")
    assert page.status_code == 404
    assert "No post &#39;twitter:nope&#39; in the index" in page.text


# -- corrections --------------------------------------------------------------------------------


def correct(client: TestClient, key: str, **fields: object) -> object:
    page = client.get(post_url(key))
    data = {"post_key": key, "departments_judged": "1", "csrf_token": csrf_of(page.text)}
    data.update(fields)  # type: ignore[arg-type]
    return client.post("/corrections", data=data)


def test_a_correction_is_stored_with_who_and_when_and_shown(
    logged_in: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    before = datetime.now(UTC)
    response = correct(
        logged_in, seeded.parking, sentiment="neutral", department=["estates", "maternity"]
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    [stored] = all_corrections(index)
    assert stored.post_key == seeded.parking
    assert stored.corrected_by == USER
    assert before <= stored.corrected_at <= datetime.now(UTC)
    assert stored.sentiment == "neutral"
    assert set(stored.departments or ()) == {"estates", "maternity"}
    assert stored.previous.sentiment == "concern"
    post = index.get_post(seeded.parking)
    assert post is not None
    assert post.classification.sentiment == "neutral"
    page = logged_in.get(post_url(seeded.parking)).text
    assert "Correction saved: sentiment neutral" in page
    assert f"<strong>{USER}</strong>" in page
    assert "sentiment concern → neutral" in page
    assert set(row_keys(logged_in.get("/posts?sentiment=concern").text)) == {seeded.old}


def test_a_replay_of_a_corrected_post_keeps_the_correction_in_lists_and_filters(
    logged_in: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    classified = index.get_post(seeded.parking)
    assert classified is not None
    correct(logged_in, seeded.parking, sentiment="neutral", department=["estates"])
    index.upsert_posts([classified])  # the pipeline indexes the post again: classifier's labels
    stored = index.get_post(seeded.parking)
    assert stored is not None
    assert stored.classification.sentiment == "neutral"
    assert seeded.parking in row_keys(logged_in.get("/posts?sentiment=neutral").text)
    assert seeded.parking not in row_keys(logged_in.get("/posts?sentiment=concern").text)


def test_a_correction_that_changes_nothing_stores_nothing(
    logged_in: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    correct(logged_in, seeded.parking, sentiment="concern", department=["estates"])
    assert all_corrections(index) == []


def test_a_correction_without_the_csrf_token_is_refused(
    logged_in: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    response = logged_in.post(
        "/corrections",
        data={"post_key": seeded.parking, "sentiment": "compliment", "csrf_token": "forged"},
    )
    assert response.status_code == 403
    assert all_corrections(index) == []


def test_unknown_departments_in_a_correction_are_dropped(
    logged_in: TestClient, index: SqliteIndex, seeded: Seeded
) -> None:
    correct(logged_in, seeded.parking, sentiment="concern", department=["estates", "<x>"])
    assert all_corrections(index) == []


# -- the register -------------------------------------------------------------------------------


def test_the_register_shows_last_post_and_status(logged_in: TestClient) -> None:
    page = logged_in.get("/accounts").text
    rows = dict(re.findall(r'<tr data-account="([^"]+)">(.*?)</tr>', page, flags=re.S))
    assert "Active" in rows["twitter:NorthbrookMaternity"]
    assert "No post seen" in rows["facebook:NorthbrookHospitals"]
    assert "Grace Okafor" in rows["twitter:NorthbrookMaternity"]


def test_the_register_shows_an_owner_change_recorded_with_socmon_accounts(
    logged_in: TestClient, index: SqliteIndex
) -> None:
    from datetime import date

    from socmon.register import OwnershipChange, record_ownership_change

    record_ownership_change(
        index,
        OwnershipChange(
            platform="twitter",
            handle="NorthbrookMaternity",
            changed_on=date(2026, 10, 1),
            changed_by="Comms",
            owner="Ada Mensah",
        ),
    )
    page = logged_in.get("/accounts").text
    rows = dict(re.findall(r'<tr data-account="([^"]+)">(.*?)</tr>', page, flags=re.S))
    assert "Ada Mensah" in rows["twitter:NorthbrookMaternity"]
    assert "Grace Okafor" not in rows["twitter:NorthbrookMaternity"]
