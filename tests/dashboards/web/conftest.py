"""Fixtures of the dashboard tests: a seeded SQLite index and an app over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dashboards.web.app import create_app
from socmon.index.sqlite import SqliteIndex
from socmon.settings import Settings
from tests.dashboards.web.seed import PASSWORD, USER, Seeded, dashboard_settings, seed


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dashboard_settings(tmp_path)


@pytest.fixture
def index(settings: Settings) -> Iterator[SqliteIndex]:
    index = SqliteIndex(settings.sqlite_path)
    index.setup()
    yield index
    index.close()


@pytest.fixture
def seeded(index: SqliteIndex) -> Seeded:
    return seed(index)


@pytest.fixture
def client(settings: Settings, index: SqliteIndex, seeded: Seeded) -> Iterator[TestClient]:
    app = create_app(settings, index, session_secret="test-secret-not-for-production")
    with TestClient(app, follow_redirects=False) as client:
        yield client


def csrf_of(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def log_in(client: TestClient, user: str = USER, password: str = PASSWORD) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": user, "password": password, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def logged_in(client: TestClient) -> TestClient:
    log_in(client)
    return client


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real parameters cost about half a second a hash on these machines; the tests only
    # need Argon2id itself. Hashes carry their parameters, so verification follows suit.
    from argon2 import PasswordHasher

    import dashboards.web.users as users

    monkeypatch.setattr(
        users, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    users._dummy_hash.cache_clear()
