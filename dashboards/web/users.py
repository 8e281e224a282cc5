"""Local dashboard users and their sessions, kept in the index's document store.

Passwords are hashed with Argon2id (argon2-cffi, the OWASP recommendation), slow on purpose, so
a stolen index does not give the passwords away; a user is only ever looked up by name, and a
wrong name costs as much time as a wrong password, so the login page does not tell which names
exist. A session is stored by the SHA-256 of the cookie's random token (a copy of the index
logs nobody in); setting a user's password again or removing the user ends their sessions.

A user has a role: ``communications`` sees every post, ``department`` sees only the posts of
its one department (`access.Viewer` enforces it on every page). Users stored before roles
existed read as communications, as they were.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Literal, Self, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import AwareDatetime, Field, model_validator

from socmon.index.port import Collection, DocumentStore
from socmon.records import NonEmpty, Record, utcnow

MIN_PASSWORD_LENGTH = 12
MAX_NAME_LENGTH = 128
# Conservative on purpose: a name is shown on every page and written to the logs, and the proxy's
# header is a way in for anything a misconfigured proxy lets through.
_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._@+-]{{0,{MAX_NAME_LENGTH - 1}}}")
# argon2-cffi's defaults are RFC 9106's low-memory profile (Argon2id, 64 MiB, 3 passes); a hash
# records its own parameters, so raising them later still verifies the older hashes.
_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so that a miss takes as long as a wrong
    password (made on first use: hashing takes a noticeable fraction of a second)."""
    return _HASHER.hash("not a real password, only here to spend the same time")


Role = Literal["communications", "department"]
"""What a user sees: every post (``communications``), or one department's (``department``)."""
ROLES: tuple[Role, ...] = get_args(Role)


class UserError(ValueError):
    """A user cannot be created: a bad name, a short password, a name taken or a bad role."""


class DashboardUser(Record):
    """A person who may log in to the dashboard (local auth mode), and what they may see."""

    name: NonEmpty
    password_hash: NonEmpty = Field(repr=False)
    created_at: AwareDatetime = Field(
        default_factory=utcnow,
        description="when the user, or its password, was last set: older sessions are void",
    )
    role: Role = Field(
        default="communications", description="users stored before roles were communications"
    )
    department: str | None = Field(
        default=None, description="the department id a ``department`` user sees (only that one)"
    )

    @model_validator(mode="after")
    def _department_goes_with_the_role(self) -> Self:
        if (self.role == "department") != (self.department is not None):
            msg = "a department user needs a department, and only a department user has one"
            raise ValueError(msg)
        return self


class DashboardSession(Record):
    """A logged-in browser (local auth mode); its cookie holds the token whose hash is `id`."""

    id: NonEmpty
    user: NonEmpty
    created_at: AwareDatetime
    last_seen_at: AwareDatetime


USERS = Collection("users", DashboardUser)
SESSIONS = Collection("dashboard_sessions", DashboardSession)


def is_valid_name(name: str) -> bool:
    """True for 1 to 128 letters, digits, '.', '_', '@', '+' or '-', starting with one of the
    first two: what a user name may be, typed into `add-user` or sent by the login proxy."""
    return _NAME.fullmatch(name) is not None


def check_name(name: str) -> str:
    if not is_valid_name(name):
        msg = (
            f"user name {name!r} is not allowed: use 1 to {MAX_NAME_LENGTH} letters, digits, '.', "
            "'_', '@', '+' or '-', starting with a letter or digit"
        )
        raise UserError(msg)
    return name


def list_users(index: DocumentStore) -> list[DashboardUser]:
    return index.get_documents(USERS)


def find_user(index: DocumentStore, name: str) -> DashboardUser | None:
    # The collection is small (a communications team), so reading it whole is fine.
    for user in list_users(index):
        if user.name == name:
            return user
    return None


def check_role(
    role: str, department: str | None, departments: Sequence[str] | None = None
) -> tuple[Role, str | None]:
    """The role and department as stored, or `UserError` saying what is wrong; `departments`
    (the configured ids), when given, must hold a department user's department."""
    if role not in ROLES:
        msg = f"role {role!r} is not one of {', '.join(ROLES)}"
        raise UserError(msg)
    if role == "communications":
        if department:
            msg = "a communications user sees every department: give --department only with "
            msg += "--role department"
            raise UserError(msg)
        return "communications", None
    if not department:
        msg = "a department user needs --department (the department id it sees)"
        raise UserError(msg)
    if departments is not None and department not in departments:
        known = ", ".join(departments) or "none configured"
        msg = f"no department {department!r} in the configuration (departments: {known})"
        raise UserError(msg)
    return "department", department


def add_user(
    index: DocumentStore,
    name: str,
    password: str,
    *,
    replace: bool = False,
    role: Role | None = None,
    department: str | None = None,
    now: datetime | None = None,
) -> DashboardUser:
    """Create (or with `replace`, reset the password of) a user; `UserError` if not allowed.

    `role` None is ``communications`` for a new user and the role it had for a replaced one, so
    a password reset never widens what a department user sees. A reset ends the user's
    sessions: whoever knew the old password is logged out.
    """
    check_name(name)
    if len(password) < MIN_PASSWORD_LENGTH:
        msg = f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
        raise UserError(msg)
    existing = find_user(index, name)
    if not replace and existing is not None:
        msg = f"user {name!r} exists already (use --replace to set a new password)"
        raise UserError(msg)
    if role is None and existing is not None:
        role, department = existing.role, existing.department
    role, department = check_role(role or "communications", department)
    user = DashboardUser(
        name=name,
        password_hash=_HASHER.hash(password),
        created_at=now or utcnow(),
        role=role,
        department=department,
    )
    index.put_documents(USERS, [(name, user)])
    if replace:
        revoke_sessions(index, name)
    return user


def set_role(
    index: DocumentStore, name: str, role: Role, department: str | None = None
) -> DashboardUser:
    """Give an existing user another role (it applies from their next page: the role is read
    on every request); `UserError` if there is no such user or the role is incomplete."""
    user = find_user(index, name)
    if user is None:
        msg = f"no dashboard user {name!r}"
        raise UserError(msg)
    role, department = check_role(role, department)
    changed = user.model_copy(update={"role": role, "department": department})
    index.put_documents(USERS, [(name, changed)])
    return changed


def remove_user(index: DocumentStore, name: str) -> bool:
    """Delete a user and end their sessions; False if there was no such user."""
    removed = index.delete_documents(USERS, [name]) > 0
    revoke_sessions(index, name)
    return removed


def authenticate(index: DocumentStore, name: str, password: str) -> DashboardUser | None:
    """The user if the name and password match, else None (which of the two is not told)."""
    user = find_user(index, name)
    try:
        _HASHER.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


def ensure_first_user(index: DocumentStore, name: str, password: str) -> DashboardUser | None:
    """Create `name` when no user exists at all (the embedded demo); None if there were users."""
    if list_users(index):
        return None
    return add_user(index, name, password)


# -- sessions -----------------------------------------------------------------------------------


def session_id(token: str) -> str:
    """The stored id of the session whose cookie holds `token`."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(index: DocumentStore, user: str, now: datetime) -> str:
    """Store a new session of `user`; returns the token for the cookie (shown nowhere else)."""
    token = secrets.token_urlsafe(32)
    doc_id = session_id(token)
    session = DashboardSession(id=doc_id, user=user, created_at=now, last_seen_at=now)
    index.put_documents(SESSIONS, [(doc_id, session)])
    return token


def list_sessions(index: DocumentStore) -> list[DashboardSession]:
    # One per logged-in browser of a small team; expired ones are deleted at each login.
    return index.get_documents(SESSIONS)


def find_session(index: DocumentStore, token: str) -> DashboardSession | None:
    wanted = session_id(token)
    for session in list_sessions(index):
        if session.id == wanted:
            return session
    return None


def revoke_sessions(index: DocumentStore, user: str) -> int:
    """End every session of `user`; returns how many there were."""
    ids = [s.id for s in list_sessions(index) if s.user == user]
    return index.delete_documents(SESSIONS, ids) if ids else 0
