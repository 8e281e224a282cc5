"""Roles of dashboard users: communications sees everything, a department user one department;
set with `socmon dashboard add-user NAME --role department --department ID`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dashboards.web.access import Viewer, assignable_to, viewer_of
from dashboards.web.users import (
    USERS,
    DashboardUser,
    UserError,
    add_user,
    find_user,
    list_users,
    set_role,
)
from socmon.index.port import PostQuery
from socmon.index.sqlite import SqliteIndex
from socmon.settings import Settings
from socmon_app.cli import app
from tests.dashboards.web.seed import PASSWORD, write_config
from tests.factories import make_post


def test_a_new_user_is_communications_unless_told(index: SqliteIndex) -> None:
    user = add_user(index, "ann", PASSWORD)
    assert (user.role, user.department) == ("communications", None)
    midwife = add_user(index, "mo", PASSWORD, role="department", department="maternity")
    assert (midwife.role, midwife.department) == ("department", "maternity")


def test_a_user_stored_before_roles_reads_as_communications(
    settings: Settings, index: SqliteIndex
) -> None:
    add_user(index, "old.timer", PASSWORD)
    where = "WHERE collection = 'users' AND id = 'old.timer'"
    with sqlite3.connect(settings.sqlite_path) as conn:  # the record as before roles
        record = json.loads(conn.execute(f"SELECT record FROM documents {where}").fetchone()[0])
        del record["role"], record["department"]
        conn.execute(f"UPDATE documents SET record = ? {where}", (json.dumps(record),))
    [user] = list_users(index)
    assert user.role == "communications"
    assert viewer_of(index, "old.timer").sees_everything


@pytest.mark.parametrize(
    ("role", "department", "message"),
    [
        ("department", None, "needs --department"),
        ("communications", "maternity", "only with --role department"),
        ("admin", None, "not one of"),
    ],
)
def test_an_incomplete_role_is_refused(
    index: SqliteIndex, role: str, department: str | None, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        add_user(index, "x", PASSWORD, role=role, department=department)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a department"):
        DashboardUser(name="x", password_hash="h", role="department")


def test_a_password_reset_keeps_the_role(index: SqliteIndex) -> None:
    add_user(index, "mo", PASSWORD, role="department", department="maternity")
    reset = add_user(index, "mo", "a brand new password", replace=True)
    assert (reset.role, reset.department) == ("department", "maternity")


def test_set_role_changes_what_a_user_sees(index: SqliteIndex) -> None:
    add_user(index, "mo", PASSWORD)
    set_role(index, "mo", "department", "estates")
    assert viewer_of(index, "mo") == Viewer("mo", "department", "estates")
    with pytest.raises(UserError, match="no dashboard user"):
        set_role(index, "nobody", "communications")


def test_a_department_viewer_narrows_every_query_to_its_department() -> None:
    viewer = Viewer("mo", "department", "maternity")
    scoped = viewer.scope(PostQuery(department="estates", departments=("estates", "wards")))
    assert (scoped.department, scoped.departments) == ("maternity", ("maternity",))
    assert viewer.may_see(make_post("a", departments=("maternity", "wards")))
    assert not viewer.may_see(make_post("b", departments=("estates",)))
    assert not viewer.may_see(make_post("c"))  # no department: communications' only
    everyone = Viewer("ann")
    assert everyone.scope(PostQuery(department="estates")) == PostQuery(department="estates")
    assert everyone.may_see(make_post("c"))


def test_a_name_the_proxy_admits_without_a_stored_user_is_communications(
    index: SqliteIndex,
) -> None:
    assert viewer_of(index, "proxy.person") == Viewer("proxy.person")


def test_a_post_is_assignable_to_those_who_may_see_it(index: SqliteIndex) -> None:
    users = [
        add_user(index, "ann", PASSWORD),
        add_user(index, "mo", PASSWORD, role="department", department="maternity"),
        add_user(index, "sam", PASSWORD, role="department", department="estates"),
    ]
    post = make_post("p", departments=("estates",))
    assert assignable_to(post, users, "ann") == ["ann", "sam"]


def test_add_user_command_makes_a_department_user(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "dashboard",
            "add-user",
            "grace",
            "--role",
            "department",
            "--department",
            "maternity",
            "--config",
            str(config),
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "user grace created (department: sees only the posts of Maternity)" in result.output
    unknown = runner.invoke(
        app,
        ["dashboard", "add-user", "x", "--department", "cardiology", "--config", str(config)],
        input="a long enough password\n",
    )
    assert unknown.exit_code == 2
    assert "no department 'cardiology' in the configuration" in unknown.output
    listed = runner.invoke(app, ["dashboard", "list-users", "--config", str(config)])
    assert "grace\tdepartment: sees only the posts of Maternity" in listed.output
    moved = runner.invoke(
        app, ["dashboard", "set-role", "grace", "--role", "communications", "--config", str(config)]
    )
    assert moved.exit_code == 0, moved.output
    assert "user grace: communications: sees every post" in moved.output
    index = SqliteIndex(tmp_path / "socmon.db")
    try:
        user = find_user(index, "grace")
        assert user is not None
        assert (user.role, user.department) == ("communications", None)
        assert index.get_documents(USERS)
    finally:
        index.close()
