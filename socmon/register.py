"""The register of official accounts in effect: the accounts of the configuration merged with
what the communications team recorded since with `socmon accounts` (reviews, closures, ownership
changes), which live as documents in the index so every stage and the CLI agree on who owns an
account. The sweep and the CLI read it once per use; alert routing keeps a `RegisterCache`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from socmon.config.governance import OfficialAccount, handle_key
from socmon.index.port import Collection, DocumentStore, IndexUnavailable
from socmon.records import NonEmpty, Platform, Record, utcnow

log = logging.getLogger(__name__)

REFRESH_SECONDS = 60.0
"""How old a `RegisterCache` copy may get: a change recorded with `socmon accounts` reaches alert
routing within a minute, and the index answers three small reads a minute, not three per alert."""


class UnknownAccount(LookupError):
    """No registered account matches what was asked for (or more than one does)."""


class AccountReview(Record):
    """A quarterly review of an account, recorded by `socmon accounts review`."""

    platform: Platform
    handle: NonEmpty
    reviewed_on: date
    reviewer: NonEmpty
    notes: str = ""
    recorded_at: AwareDatetime = Field(default_factory=utcnow)

    @property
    def doc_id(self) -> str:
        # One review per account and day: recording it again corrects it instead of adding one.
        return f"{self.platform}:{handle_key(self.handle)}:{self.reviewed_on.isoformat()}"


class AccountClosure(Record):
    """An account closed (deleted on the platform, or no longer run for the organisation)."""

    platform: Platform
    handle: NonEmpty
    closed_on: date
    closed_by: NonEmpty
    reason: NonEmpty
    recorded_at: AwareDatetime = Field(default_factory=utcnow)

    @property
    def doc_id(self) -> str:
        return f"{self.platform}:{handle_key(self.handle)}"


class OwnershipChange(Record):
    """A new owner or line manager, or the owner marked as having left (handover pending)."""

    platform: Platform
    handle: NonEmpty
    changed_on: date
    changed_by: NonEmpty
    owner: str | None = Field(default=None, description="the new owner; None keeps the owner")
    line_manager: str | None = Field(default=None, description="None keeps the line manager")
    owner_left: bool = False
    recorded_at: AwareDatetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _changes_something(self) -> OwnershipChange:
        if self.owner is None and self.line_manager is None and not self.owner_left:
            msg = "an ownership change needs a new owner, a new line manager, or owner_left"
            raise ValueError(msg)
        if self.owner is not None and self.owner_left:
            msg = "owner_left marks the current owner as gone; a new owner cannot have left"
            raise ValueError(msg)
        return self

    @property
    def doc_id(self) -> str:
        content = f"{self.owner}|{self.line_manager}|{self.owner_left}".encode()
        digest = hashlib.sha256(content).hexdigest()[:10]
        return f"{self.platform}:{handle_key(self.handle)}:{self.changed_on.isoformat()}:{digest}"


@dataclass(frozen=True)
class Register:
    """Every registered account, as it stands after the recorded reviews, closures and changes."""

    accounts: tuple[OfficialAccount, ...]
    reviews: tuple[AccountReview, ...] = ()
    closures: tuple[AccountClosure, ...] = ()
    ownership_changes: tuple[OwnershipChange, ...] = ()

    @classmethod
    def merge(
        cls,
        configured: Iterable[OfficialAccount],
        reviews: Sequence[AccountReview] = (),
        closures: Sequence[AccountClosure] = (),
        ownership_changes: Sequence[OwnershipChange] = (),
    ) -> Register:
        """The configured accounts with the records applied; records of accounts no longer in the
        configuration are kept (for `show`) but change nothing."""
        by_key = {acc.key: acc for acc in configured}
        for review in reviews:
            key = (review.platform, handle_key(review.handle))
            account = by_key.get(key)
            if account and (
                account.last_review is None or review.reviewed_on > account.last_review
            ):
                by_key[key] = account.model_copy(update={"last_review": review.reviewed_on})
        # Oldest first, so the latest change wins; ties keep the order they were recorded in.
        for change in sorted(ownership_changes, key=lambda c: (c.changed_on, c.recorded_at)):
            key = (change.platform, handle_key(change.handle))
            account = by_key.get(key)
            if account is None:
                continue
            update: dict[str, object] = {}
            if change.owner is not None:
                update |= {"owner": change.owner, "owner_left": False}
            if change.line_manager is not None:
                update["line_manager"] = change.line_manager
            if change.owner_left:
                update["owner_left"] = True
            by_key[key] = account.model_copy(update=update)
        for closure in closures:
            key = (closure.platform, handle_key(closure.handle))
            if key in by_key:
                by_key[key] = by_key[key].model_copy(update={"status": "closed"})
        return cls(
            accounts=tuple(by_key.values()),
            reviews=tuple(reviews),
            closures=tuple(closures),
            ownership_changes=tuple(ownership_changes),
        )

    @property
    def active(self) -> tuple[OfficialAccount, ...]:
        return tuple(acc for acc in self.accounts if acc.status == "active")

    def get(self, platform: str, handle: str) -> OfficialAccount | None:
        wanted = (platform, handle_key(handle))
        return next((acc for acc in self.accounts if acc.key == wanted), None)

    def is_registered(self, platform: str, handle: str) -> bool:
        return self.get(platform, handle) is not None

    def find(self, reference: str) -> OfficialAccount:
        """The account named ``handle`` or ``platform:handle`` (``@`` and case do not matter).

        Raises `UnknownAccount` when none matches, or when a bare handle is on two platforms.
        """
        platform, sep, handle = reference.partition(":")
        if not sep:
            platform, handle = "", reference
        matches = [
            acc
            for acc in self.accounts
            if acc.key[1] == handle_key(handle) and (not platform or acc.platform == platform)
        ]
        if not matches:
            known = ", ".join(f"{a.platform}:{a.handle}" for a in self.accounts) or "none"
            msg = f"no registered account {reference!r} (registered: {known})"
            raise UnknownAccount(msg)
        if len(matches) > 1:
            options = ", ".join(f"{a.platform}:{a.handle}" for a in matches)
            msg = f"{reference!r} is registered on several platforms; say which: {options}"
            raise UnknownAccount(msg)
        return matches[0]

    def history(self, account: OfficialAccount) -> list[tuple[date, str]]:
        """What was recorded about `account`, oldest first, one line each (for `show`)."""
        lines: list[tuple[date, str]] = []
        for review in self.reviews:
            if (review.platform, handle_key(review.handle)) == account.key:
                note = f": {review.notes}" if review.notes else ""
                lines.append((review.reviewed_on, f"reviewed by {review.reviewer}{note}"))
        for change in self.ownership_changes:
            if (change.platform, handle_key(change.handle)) == account.key:
                parts = []
                if change.owner is not None:
                    parts.append(f"owner now {change.owner}")
                if change.line_manager is not None:
                    parts.append(f"line manager now {change.line_manager}")
                if change.owner_left:
                    parts.append("owner has left")
                lines.append((change.changed_on, f"{'; '.join(parts)} (by {change.changed_by})"))
        for closure in self.closures:
            if (closure.platform, handle_key(closure.handle)) == account.key:
                text = f"closed by {closure.closed_by}: {closure.reason}"
                lines.append((closure.closed_on, text))
        return sorted(lines, key=lambda line: line[0])


Decision = Literal["pending", "approved", "rejected"]


class AccountRequest(Record):
    """A request for a new official account, and what was decided (`socmon accounts request`)."""

    team: NonEmpty
    platform: Platform
    purpose: NonEmpty
    business_case: NonEmpty
    approving_manager: NonEmpty
    requested_on: date
    decision: Decision = "pending"
    decided_on: date | None = None
    proposed_handle: str | None = None
    recorded_by: str | None = None
    recorded_at: AwareDatetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _decision_has_a_date(self) -> AccountRequest:
        if self.decision == "pending" and self.decided_on is not None:
            msg = "a pending request has no decision date; give the decision as well"
            raise ValueError(msg)
        if self.decision != "pending" and self.decided_on is None:
            msg = f"a request {self.decision} needs the date of the decision (decided_on)"
            raise ValueError(msg)
        if self.decided_on is not None and self.decided_on < self.requested_on:
            msg = (
                f"the decision ({self.decided_on}) cannot come before the request "
                f"({self.requested_on})"
            )
            raise ValueError(msg)
        return self

    @property
    def request_id(self) -> str:
        """Stable id from what identifies a request, so recording it twice keeps one entry and a
        later decision replaces the pending one."""
        subject = f"{self.team}|{self.platform}|{self.purpose}|{self.requested_on.isoformat()}"
        return "req-" + hashlib.sha256(subject.casefold().encode()).hexdigest()[:10]

    def details(self) -> dict[str, str]:
        """What a report shows beside the purpose (the business case), by field name."""
        return {"business_case": self.business_case}


REVIEWS = Collection("governance.reviews", AccountReview)
CLOSURES = Collection("governance.closures", AccountClosure)
OWNERSHIP = Collection("governance.ownership", OwnershipChange)
ACCOUNT_REQUESTS = Collection("governance.account_requests", AccountRequest)


def load_register(accounts: Iterable[OfficialAccount], store: DocumentStore) -> Register:
    """The configured `accounts` merged with the records stored in `store`."""
    return Register.merge(
        accounts,
        reviews=store.get_documents(REVIEWS),
        closures=store.get_documents(CLOSURES),
        ownership_changes=store.get_documents(OWNERSHIP),
    )


def record_review(store: DocumentStore, review: AccountReview) -> None:
    store.put_documents(REVIEWS, [(review.doc_id, review)])


def record_closure(store: DocumentStore, closure: AccountClosure) -> None:
    store.put_documents(CLOSURES, [(closure.doc_id, closure)])


def record_ownership_change(store: DocumentStore, change: OwnershipChange) -> None:
    store.put_documents(OWNERSHIP, [(change.doc_id, change)])


class RegisterCache:
    """The register in effect for a long-running stage: read from the index, and read again
    once the copy is `max_age` seconds old (alert routing asks for it on every alert).

    If the index cannot be read when the copy is due, the old copy is kept (and the failure
    logged) until the next refresh; with no copy yet, `IndexUnavailable` propagates, since the
    configuration alone could name an owner who has since been replaced.
    """

    def __init__(
        self,
        accounts: Iterable[OfficialAccount],
        index: DocumentStore,
        *,
        max_age: float = REFRESH_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.accounts = tuple(accounts)
        self.index = index
        self.max_age = max_age
        self.monotonic = monotonic
        self._register: Register | None = None
        self._read_at = 0.0  # when the copy was read
        self._tried_at = 0.0  # when it was last due, read or not

    def current(self) -> Register:
        """The register, read again from the index if the copy is `max_age` old."""
        now = self.monotonic()
        if self._register is not None and now - self._tried_at < self.max_age:
            return self._register
        self._tried_at = now
        try:
            self._register = load_register(self.accounts, self.index)
        except IndexUnavailable as exc:
            if self._register is None:
                raise
            log.warning(
                "register not refreshed, routing by the copy read %.0f s ago: %s",
                now - self._read_at,
                exc,
            )
        else:
            self._read_at = now
        return self._register
