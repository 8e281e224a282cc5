"""What `socmon up` does for the dashboard before starting it: port, secret, first user."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from dashboards.web.users import authenticate, list_users
from socmon.index.sqlite import SqliteIndex
from socmon.settings import load_settings
from socmon_app.supervisor import Supervisor
from tests.dashboards.web.seed import write_config


def supervisor(tmp_path: Path, **dashboard: object) -> tuple[Supervisor, io.StringIO]:
    config = write_config(tmp_path, **dashboard)
    settings = load_settings(config)
    index = SqliteIndex(settings.sqlite_path)
    index.setup()
    index.close()
    out = io.StringIO()
    return Supervisor(settings, config, [], out=out), out


@pytest.fixture(autouse=True)
def no_dashboard_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SOCMON_DASHBOARD__SESSION_SECRET", "SOCMON_DASHBOARD__ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def test_with_no_user_it_says_how_to_create_one(tmp_path: Path) -> None:
    sup, out = supervisor(tmp_path, port=0)
    env: dict[str, str] = {}
    sup._prepare_dashboard(env)
    text = out.getvalue()
    assert f"dashboard on http://127.0.0.1:{sup.dashboard_port}/" in text
    assert "no dashboard user yet" in text
    assert "socmon dashboard add-user NAME" in text
    assert f"--data-dir {tmp_path.resolve()}" in text
    assert len(env["SOCMON_DASHBOARD__SESSION_SECRET"]) >= 32  # one secret for all restarts
    assert env["SOCMON_DASHBOARD__SESSION_SECRET"] not in text


def test_the_demo_admin_is_created_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCMON_DASHBOARD__ADMIN_PASSWORD", "demo password 2026")
    sup, out = supervisor(tmp_path, port=0)
    sup._prepare_dashboard({})
    assert "created the dashboard user admin" in out.getvalue()
    assert "demo password 2026" not in out.getvalue()
    index = SqliteIndex(tmp_path / "socmon.db")
    try:
        assert authenticate(index, "admin", "demo password 2026") is not None
        # a second start leaves the existing users alone
        sup._prepare_dashboard({})
        assert [u.name for u in list_users(index)] == ["admin"]
    finally:
        index.close()


def test_a_busy_port_moves_the_dashboard_and_its_links(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        config = write_config(tmp_path, port=busy)
        text = config.read_text(encoding="utf-8")
        config.write_text(
            text.replace(
                "organisation:\n",
                f"organisation:\n  dashboard_url: http://127.0.0.1:{busy}\n",
            ),
            encoding="utf-8",
        )
        settings = load_settings(config)
        index = SqliteIndex(settings.sqlite_path)
        index.setup()
        index.close()
        out = io.StringIO()
        sup = Supervisor(settings, config, [], out=out)
        env: dict[str, str] = {}
        sup._prepare_dashboard(env)
    assert sup.dashboard_port != busy
    assert f"port {busy} is in use" in out.getvalue()
    assert env["SOCMON_ORGANISATION__DASHBOARD_URL"] == f"http://127.0.0.1:{sup.dashboard_port}"


def test_the_dashboard_child_is_not_essential(tmp_path: Path) -> None:
    sup, _ = supervisor(tmp_path, port=0)
    sup._prepare_dashboard({})
    [dashboard] = [c for c in sup._children(tmp_path) if c.name == "web dashboard"]
    assert not dashboard.essential
    assert dashboard.argv[-4:] == ["--host", "127.0.0.1", "--port", str(sup.dashboard_port)]
    assert dashboard.log_path == tmp_path / "dashboard.log"
