"""Local dashboard users: names and Argon2id password hashes, kept in the index's document store.

Argon2id (argon2-cffi, the OWASP recommendation) is slow on purpose, so a stolen index does not
give the passwords away; a user is only ever looked up by name, and a wrong name costs as much
time as a wrong password, so the login page does not tell which names exist.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import AwareDatetime, Field

from socmon.index.port import Collection, DocumentStore
from socmon.records import NonEmpty, Record, utcnow

MIN_PASSWORD_LENGTH = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# argon2-cffi's defaults are RFC 9106's low-memory profile (Argon2id, 64 MiB, 3 passes); a hash
# records its own parameters, so raising them later still verifies the older hashes.
_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so that a miss takes as long as a wrong
    password (made on first use: hashing takes a noticeable fraction of a second)."""
    return _HASHER.hash("not a real password, only here to spend the same time")


class UserError(ValueError):
    """A user cannot be created: a bad name, a short password or a name already taken."""


class DashboardUser(Record):
    """A person who may log in to the dashboard (local auth mode)."""

    name: NonEmpty
    password_hash: NonEmpty = Field(repr=False)
    created_at: AwareDatetime = Field(default_factory=utcnow)


USERS = Collection("users", DashboardUser)


def list_users(index: DocumentStore) -> list[DashboardUser]:
    return index.get_documents(USERS)


def find_user(index: DocumentStore, name: str) -> DashboardUser | None:
    # The collection is small (a communications team), so reading it whole is fine.
    for user in list_users(index):
        if user.name == name:
            return user
    return None


def check_name(name: str) -> str:
    if not _NAME.match(name):
        msg = (
            f"user name {name!r} is not allowed: use 1 to 64 letters, digits, '.', '_', '-' or "
            "'@', starting with a letter or digit"
        )
        raise UserError(msg)
    return name


def add_user(
    index: DocumentStore,
    name: str,
    password: str,
    *,
    replace: bool = False,
    now: datetime | None = None,
) -> DashboardUser:
    """Create (or with `replace`, reset the password of) a user; `UserError` if not allowed."""
    check_name(name)
    if len(password) < MIN_PASSWORD_LENGTH:
        msg = f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
        raise UserError(msg)
    if not replace and find_user(index, name) is not None:
        msg = f"user {name!r} exists already (use --replace to set a new password)"
        raise UserError(msg)
    user = DashboardUser(
        name=name, password_hash=_HASHER.hash(password), created_at=now or utcnow()
    )
    index.put_documents(USERS, [(name, user)])
    return user


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
