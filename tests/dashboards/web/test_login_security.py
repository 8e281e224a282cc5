"""A login that holds: throttling, bounded password checks, stored sessions, HTTPS, proxy proof.

The pieces are tested alone (a fake clock, a fake password check), then the real
`socmon dashboard` server over HTTP with httpx, started by `DashboardServer` of the browser tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from dashboards.web.app import create_app
from dashboards.web.auth import (
    LoginThrottle,
    PasswordCheckGate,
    PasswordChecksBusy,
    SessionKeeper,
)
from dashboards.web.users import (
    SESSIONS,
    UserError,
    add_user,
    list_sessions,
    remove_user,
)
from socmon.config.dashboard import LoginLimits
from socmon.index.sqlite import SqliteIndex
from socmon.settings import ConfigError, Settings, load_settings
from socmon_app.cli import app as socmon_cli
from tests.dashboards.web.conftest import csrf_of, log_in
from tests.dashboards.web.seed import PASSWORD, USER, dashboard_settings, seed, write_config
from tests.dashboards.web.test_browser import DashboardServer

OTHER_USER = "bob.smith"
OTHER_PASSWORD = "another long enough password"
PROXY_SECRET = "a-proxy-secret-of-enough-length"
MARKUP_NAME = '<script>alert("x")</script>'


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the throttle -------------------------------------------------------------------------------


def test_the_sixth_attempt_for_an_account_waits_longer_after_each_failure() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(LoginLimits(), clock=clock)
    assert [throttle.begin(USER, "192.0.2.1") for _ in range(5)] == [0] * 5
    assert throttle.begin(USER, "192.0.2.1") == 30
    waits = []
    for _ in range(7):
        clock.now += throttle.begin(USER, "192.0.2.1")  # wait out the lockout
        assert throttle.begin(USER, "192.0.2.1") == 0  # one more try, counted as a failure
        waits.append(throttle.begin(USER, "192.0.2.1"))
    assert waits == [60, 120, 240, 480, 900, 900, 900]


def test_refused_attempts_do_not_make_the_lockout_longer() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(LoginLimits(), clock=clock)
    for _ in range(5):
        throttle.begin(USER, "192.0.2.1")
    for _ in range(50):
        throttle.begin(USER, "192.0.2.1")
    clock.now += 30
    assert throttle.begin(USER, "192.0.2.1") == 0


def test_a_success_clears_the_account_s_failures() -> None:
    throttle = LoginThrottle(LoginLimits(), clock=FakeClock())
    for _ in range(4):
        throttle.begin(USER, "192.0.2.1")
    throttle.begin(USER, "192.0.2.1")
    throttle.succeeded(USER, "192.0.2.1")
    assert [throttle.begin(USER, "192.0.2.1") for _ in range(5)] == [0] * 5


def test_a_locked_account_does_not_lock_other_accounts_or_addresses() -> None:
    throttle = LoginThrottle(LoginLimits(), clock=FakeClock())
    for _ in range(5):
        throttle.begin(USER, "192.0.2.1")
    assert throttle.begin(USER, "192.0.2.1") > 0
    assert throttle.begin(USER, "198.51.100.9") > 0  # the account is locked wherever from
    assert throttle.begin(OTHER_USER, "198.51.100.9") == 0
    assert throttle.begin(OTHER_USER, "192.0.2.1") == 0


def test_an_address_trying_many_accounts_is_locked_after_its_own_limit() -> None:
    throttle = LoginThrottle(LoginLimits(max_failures_per_address=20), clock=FakeClock())
    assert all(throttle.begin(f"user{i}", "192.0.2.1") == 0 for i in range(20))
    assert throttle.begin("someone.new", "192.0.2.1") == 30
    assert throttle.begin(None, "192.0.2.1") == 30  # a name that cannot exist counts the same
    assert throttle.begin("someone.new", "198.51.100.9") == 0


def test_failures_are_forgotten_after_the_window() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(LoginLimits(failure_window_minutes=10), clock=clock)
    for _ in range(4):
        throttle.begin(USER, "192.0.2.1")
    clock.now += 10 * 60 + 1
    assert [throttle.begin(USER, "192.0.2.1") for _ in range(5)] == [0] * 5
    assert throttle.begin(USER, "192.0.2.1") > 0


def test_an_attempt_that_was_never_checked_does_not_count() -> None:
    throttle = LoginThrottle(LoginLimits(), clock=FakeClock())
    for _ in range(20):
        throttle.begin(USER, "192.0.2.1")
        throttle.abandoned(USER, "192.0.2.1")
    assert throttle.begin(USER, "192.0.2.1") == 0


def test_the_throttle_remembers_a_bounded_number_of_names() -> None:
    throttle = LoginThrottle(LoginLimits(max_failures_per_address=10**5), capacity=100)
    for i in range(5000):
        throttle.begin(f"guess{i}", "192.0.2.1")
    assert len(throttle._accounts._entries) == 100


# -- bounded password checks --------------------------------------------------------------------


def test_parallel_password_checks_never_exceed_the_bound() -> None:
    gate = PasswordCheckGate(concurrency=2, queue=30)
    lock = threading.Lock()
    running = 0
    most = 0

    def check() -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return True

    results: list[bool] = []

    async def main() -> None:
        async def one() -> None:
            results.append(await gate.run(check))

        async with anyio.create_task_group() as group:
            for _ in range(24):
                group.start_soon(one)

    anyio.run(main)
    assert results == [True] * 24
    assert most == 2


def test_checks_beyond_the_queue_are_refused_at_once() -> None:
    gate = PasswordCheckGate(concurrency=2, queue=1)
    release = threading.Event()
    outcomes: list[str] = []

    def slow_check() -> str:
        release.wait(10)
        return "checked"

    async def main() -> None:
        async def one() -> None:
            try:
                outcomes.append(await gate.run(slow_check))
            except PasswordChecksBusy as busy:
                outcomes.append(f"busy {busy.retry_after}")

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(one)
            await anyio.sleep(0.2)
            refused_while_waiting = list(outcomes)
            release.set()
        assert refused_while_waiting == ["busy 1", "busy 1"]

    anyio.run(main)
    assert sorted(outcomes) == ["busy 1", "busy 1", "checked", "checked", "checked"]


# -- stored sessions ----------------------------------------------------------------------------


class FakeNow:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def keeper(index: SqliteIndex, clock: FakeNow) -> SessionKeeper:
    return SessionKeeper(index, timedelta(hours=8), timedelta(minutes=60), clock=clock)


def test_an_idle_session_is_refused_and_deleted(index: SqliteIndex) -> None:
    add_user(index, USER, PASSWORD)
    clock = FakeNow()
    sessions = keeper(index, clock)
    token = sessions.open(USER)
    clock.now += timedelta(minutes=59)
    assert sessions.user_of(token) == USER  # seen: the idle time starts again
    clock.now += timedelta(minutes=59)
    assert sessions.user_of(token) == USER
    clock.now += timedelta(minutes=61)
    assert sessions.user_of(token) is None
    assert list_sessions(index) == []


def test_a_session_ends_after_its_lifetime_however_busy(index: SqliteIndex) -> None:
    add_user(index, USER, PASSWORD)
    clock = FakeNow()
    sessions = keeper(index, clock)
    token = sessions.open(USER)
    for _ in range(16):
        clock.now += timedelta(minutes=30)
        assert sessions.user_of(token) == USER
    clock.now += timedelta(minutes=1)
    assert sessions.user_of(token) is None
    assert list_sessions(index) == []


def test_a_login_deletes_the_expired_sessions(index: SqliteIndex) -> None:
    add_user(index, USER, PASSWORD)
    clock = FakeNow()
    sessions = keeper(index, clock)
    sessions.open(USER)
    sessions.open(USER)
    clock.now += timedelta(hours=2)
    sessions.open(USER)
    assert len(list_sessions(index)) == 1


def test_a_new_password_or_removal_ends_the_user_s_sessions(index: SqliteIndex) -> None:
    add_user(index, USER, PASSWORD)
    add_user(index, OTHER_USER, OTHER_PASSWORD)
    sessions = SessionKeeper(index, timedelta(hours=8), timedelta(minutes=60))
    mine, theirs = sessions.open(USER), sessions.open(OTHER_USER)
    add_user(index, USER, "a brand new password", replace=True)
    assert sessions.user_of(mine) is None
    assert sessions.user_of(theirs) == OTHER_USER
    assert remove_user(index, OTHER_USER)
    assert sessions.user_of(theirs) is None
    assert list_sessions(index) == []


def test_the_index_holds_a_hash_of_the_cookie_s_token_not_the_token(index: SqliteIndex) -> None:
    add_user(index, USER, PASSWORD)
    token = SessionKeeper(index, timedelta(hours=8), timedelta(minutes=60)).open(USER)
    [stored] = list_sessions(index)
    assert stored.user == USER
    assert token not in stored.model_dump_json()


# -- user names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [MARKUP_NAME, "alice\n", "a b", "-rf", "x" * 129, ""])
def test_add_user_refuses_names_outside_the_pattern(index: SqliteIndex, name: str) -> None:
    with pytest.raises(UserError, match="is not allowed"):
        add_user(index, name, PASSWORD)


def test_add_user_accepts_e_mail_like_names(index: SqliteIndex) -> None:
    assert add_user(index, "jo.bloggs+comms@nhs.example", PASSWORD).name


def test_the_commands_refuse_markup_names_and_remove_users_with_their_sessions(
    tmp_path: Path,
) -> None:
    config = str(write_config(tmp_path))
    runner = CliRunner()
    refused = runner.invoke(
        socmon_cli, ["dashboard", "add-user", MARKUP_NAME, "--config", config], input=PASSWORD
    )
    assert refused.exit_code == 2
    assert "is not allowed" in refused.output
    added = runner.invoke(
        socmon_cli, ["dashboard", "add-user", USER, "--config", config], input=PASSWORD
    )
    assert added.exit_code == 0, added.output
    index = SqliteIndex(tmp_path / "socmon.db")
    try:
        SessionKeeper(index, timedelta(hours=8), timedelta(minutes=60)).open(USER)
        removed = runner.invoke(socmon_cli, ["dashboard", "remove-user", USER, "--config", config])
        assert removed.exit_code == 0, removed.output
        assert "removed; their sessions are ended" in removed.output
        assert list_sessions(index) == []
        again = runner.invoke(socmon_cli, ["dashboard", "remove-user", USER, "--config", config])
        assert again.exit_code == 1
    finally:
        index.close()


# -- HTTPS --------------------------------------------------------------------------------------


def https_settings(tmp_path: Path, dashboard_url: str, **dashboard: object) -> Settings:
    settings = dashboard_settings(tmp_path, **dashboard)
    organisation = settings.organisation.model_copy(update={"dashboard_url": dashboard_url})
    return settings.model_copy(update={"organisation": organisation})


def login_response(
    settings: Settings, index: SqliteIndex, base_url: str
) -> tuple[httpx.Response, httpx.Response]:
    app = create_app(settings, index, session_secret="s")
    with TestClient(app, base_url=base_url, follow_redirects=False) as client:
        page = client.get("/login")
        response = client.post(
            "/login",
            data={"username": USER, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        )
    assert response.status_code == 303
    return page, response


def test_over_https_cookies_are_secure_and_hsts_is_sent(tmp_path: Path, index: SqliteIndex) -> None:
    seed(index)
    settings = dashboard_settings(tmp_path)
    page, response = login_response(settings, index, "https://dashboard.example")
    assert "; secure" in response.headers["set-cookie"].lower()
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    assert response.headers["strict-transport-security"] == "max-age=31536000"


def test_over_plain_http_there_is_no_secure_flag_and_no_hsts(
    tmp_path: Path, index: SqliteIndex
) -> None:
    seed(index)
    page, response = login_response(dashboard_settings(tmp_path), index, "http://testserver")
    assert "secure" not in response.headers["set-cookie"].lower()
    assert "strict-transport-security" not in page.headers
    assert "strict-transport-security" not in response.headers


def test_an_https_public_address_means_tls_at_the_proxy(tmp_path: Path, index: SqliteIndex) -> None:
    seed(index)
    settings = https_settings(tmp_path, "https://socmon.trust.nhs.example")
    app = create_app(settings, index, session_secret="s")
    with TestClient(app, follow_redirects=False) as client:  # plain http from the proxy
        page = client.get("/login")
    assert "; secure" in page.headers["set-cookie"].lower()
    assert page.headers["strict-transport-security"] == "max-age=31536000"


def test_secure_cookies_false_overrides_and_hsts_can_be_turned_off(
    tmp_path: Path, index: SqliteIndex
) -> None:
    seed(index)
    settings = dashboard_settings(tmp_path, secure_cookies=False, hsts_seconds=0)
    page, response = login_response(settings, index, "https://dashboard.example")
    assert "secure" not in response.headers["set-cookie"].lower()
    assert "strict-transport-security" not in page.headers


# -- proxy mode settings ------------------------------------------------------------------------


def test_proxy_mode_without_a_secret_or_proxies_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write_config(tmp_path, auth="proxy"))
    message = str(error.value)
    assert "SOCMON_DASHBOARD__PROXY_SECRET" in message
    assert "dashboard.trusted_proxies" in message


def test_a_short_proxy_secret_is_a_settings_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCMON_DASHBOARD__PROXY_SECRET", "short")
    with pytest.raises(ConfigError, match="proxy_secret must have at least 16 characters"):
        load_settings(write_config(tmp_path, auth="proxy"))


def test_an_empty_proxy_secret_counts_as_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCMON_DASHBOARD__PROXY_SECRET", "")
    assert load_settings(write_config(tmp_path)).dashboard.proxy_secret is None
    with pytest.raises(ConfigError, match=r"dashboard\.trusted_proxies"):
        load_settings(write_config(tmp_path, auth="proxy"))


def test_proxy_mode_has_no_default_trusted_address(tmp_path: Path, index: SqliteIndex) -> None:
    seed(index)
    settings = dashboard_settings(tmp_path, auth="proxy", trusted_proxies=["10.0.0.0/8"])
    app = create_app(settings, index, session_secret="s")
    with TestClient(app, follow_redirects=False, client=("127.0.0.1", 40000)) as client:
        response = client.get("/posts", headers={"X-Forwarded-User": "mallory"})
    assert response.status_code == 403


def test_with_a_secret_and_proxies_both_must_hold(
    tmp_path: Path, index: SqliteIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(index)
    monkeypatch.setenv("SOCMON_DASHBOARD__PROXY_SECRET", PROXY_SECRET)
    settings = dashboard_settings(tmp_path, auth="proxy", trusted_proxies=["10.0.0.0/8"])
    app = create_app(settings, index, session_secret="s")
    user = {"X-Forwarded-User": "carol"}
    with TestClient(app, follow_redirects=False, client=("10.1.2.3", 40000)) as proxy:
        assert proxy.get("/posts", headers=user).status_code == 403
        proof = {"X-Socmon-Proxy-Secret": PROXY_SECRET}
        assert proxy.get("/posts", headers=user | proof).status_code == 200
    with TestClient(app, follow_redirects=False, client=("192.0.2.7", 40000)) as stranger:
        assert stranger.get("/posts", headers=user | proof).status_code == 403


# -- the real server ----------------------------------------------------------------------------


@pytest.fixture
def server_folder(tmp_path: Path) -> Path:
    index = SqliteIndex(tmp_path / "socmon.db")
    try:
        index.setup()
        seed(index)
        add_user(index, OTHER_USER, OTHER_PASSWORD)
    finally:
        index.close()
    return tmp_path


@pytest.fixture
def local_server(server_folder: Path) -> Iterator[DashboardServer]:
    server = DashboardServer(write_config(server_folder))
    yield server
    server.stop()
    assert "Traceback" not in "".join(server.output), "".join(server.output)


def http_log_in(client: httpx.Client, user: str, password: str) -> httpx.Response:
    page = client.get("/login")
    return client.post(
        "/login", data={"username": user, "password": password, "csrf_token": csrf_of(page.text)}
    )


def test_the_server_refuses_the_sixth_attempt_and_then_the_right_password(
    local_server: DashboardServer,
) -> None:
    with httpx.Client(base_url=local_server.url, timeout=30) as client:
        for _ in range(5):
            assert http_log_in(client, USER, "wrong password guess").status_code == 401
        sixth = http_log_in(client, USER, "wrong password guess")
        assert sixth.status_code == 429
        assert 1 <= int(sixth.headers["retry-after"]) <= 30
        assert "Too many failed sign-ins" in sixth.text
        right = http_log_in(client, USER, PASSWORD)
        assert right.status_code == 429
        assert client.get("/posts").status_code == 303
    # Another account, from another address, is not affected.
    elsewhere = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=local_server.url, transport=elsewhere, timeout=30) as other:
        assert http_log_in(other, OTHER_USER, OTHER_PASSWORD).status_code == 303
        assert other.get("/posts").status_code == 200


def test_a_copied_cookie_stops_working_at_logout(
    local_server: DashboardServer, server_folder: Path
) -> None:
    with httpx.Client(base_url=local_server.url, timeout=30) as owner:
        assert http_log_in(owner, USER, PASSWORD).status_code == 303
        with httpx.Client(base_url=local_server.url, timeout=30) as thief:
            thief.cookies.update(owner.cookies)
            assert thief.get("/posts").status_code == 200
            page = owner.get("/posts")
            assert owner.post("/logout", data={"csrf_token": csrf_of(page.text)}).status_code == 303
            stolen = thief.get("/posts")
            assert stolen.status_code == 303
            assert stolen.headers["location"].startswith("/login")
    index = SqliteIndex(server_folder / "socmon.db")
    try:
        assert index.get_documents(SESSIONS) == []
    finally:
        index.close()


@pytest.fixture
def proxy_server(server_folder: Path) -> Iterator[DashboardServer]:
    server = DashboardServer(
        write_config(server_folder, auth="proxy"),
        env={"SOCMON_DASHBOARD__PROXY_SECRET": PROXY_SECRET},
    )
    yield server
    server.stop()


def test_the_server_believes_the_proxy_only_with_its_secret(proxy_server: DashboardServer) -> None:
    proof = {"X-Socmon-Proxy-Secret": PROXY_SECRET}
    with httpx.Client(base_url=proxy_server.url, timeout=30) as local_process:
        forged = local_process.get("/posts", headers={"X-Forwarded-User": USER})
        assert forged.status_code == 403
        guessed = {"X-Socmon-Proxy-Secret": "not-the-secret-at-all", "X-Forwarded-User": USER}
        assert local_process.get("/posts", headers=guessed).status_code == 403
        proxied = local_process.get("/posts", headers=proof | {"X-Forwarded-User": USER})
        assert proxied.status_code == 200
        assert f'data-testid="user">{USER}<' in proxied.text
        markup = local_process.get("/posts", headers=proof | {"X-Forwarded-User": MARKUP_NAME})
        assert markup.status_code == 403
        assert "<script>" not in markup.text
    proxy_server.stop()
    output = "".join(proxy_server.output)
    assert "not an allowed name" in output
    assert "<script>" not in output
    assert "Traceback" not in output


def test_the_server_does_not_start_in_proxy_mode_without_proof(tmp_path: Path) -> None:
    config = write_config(tmp_path, auth="proxy")
    result = subprocess.run(
        [sys.executable, "-m", "socmon_app.cli", "dashboard", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")},
    )
    assert result.returncode != 0
    assert "SOCMON_DASHBOARD__PROXY_SECRET" in result.stderr
    assert "dashboard.trusted_proxies" in result.stderr
    assert "dashboard on" not in result.stdout


def test_the_login_form_sets_no_session_until_the_password_is_right(
    client: TestClient, index: SqliteIndex
) -> None:
    page = client.get("/login")
    client.post(
        "/login",
        data={"username": USER, "password": "nope", "csrf_token": csrf_of(page.text)},
    )
    assert list_sessions(index) == []
    log_in(client)
    assert [s.user for s in list_sessions(index)] == [USER]
