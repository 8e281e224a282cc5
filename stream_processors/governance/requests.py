"""Requests for new official accounts: the log the policy asks for (team, purpose, business case,
approving manager, decision and date), kept as documents in the index and summarised monthly.

The monthly report reads them with `account_requests(index, month)`.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from socmon.index.port import Index
from socmon.records import NonEmpty, Platform, Record, utcnow

ACCOUNT_REQUESTS = "governance.account_requests"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")

Decision = Literal["pending", "approved", "rejected"]


class AccountRequest(Record):
    """A request for a new official account, and what was decided."""

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


def parse_month(month: str) -> tuple[date, date]:
    """``YYYY-MM`` to its first day and the first day of the next month."""
    match = _MONTH.match(month.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        msg = f"a month is written YYYY-MM (for example 2026-10), not {month!r}"
        raise ValueError(msg)
    year, number = int(match.group(1)), int(match.group(2))
    first = date(year, number, 1)
    following = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return first, following


def record_account_request(index: Index, request: AccountRequest) -> str:
    """Store `request` (replacing an earlier record of the same request); returns its id."""
    index.put_documents(ACCOUNT_REQUESTS, [(request.request_id, request)])
    return request.request_id


def account_requests(index: Index, month: str) -> list[AccountRequest]:
    """The requests made or decided in `month` (``YYYY-MM``), oldest request first.

    A request made in one month and decided in the next appears in both months' reports: in the
    first as pending work, in the second with its decision.
    """
    first, following = parse_month(month)

    def in_month(day: date | None) -> bool:
        return day is not None and first <= day < following

    found = [
        r
        for r in index.get_documents(ACCOUNT_REQUESTS, AccountRequest)
        if in_month(r.requested_on) or in_month(r.decided_on)
    ]
    return sorted(found, key=lambda r: (r.requested_on, r.request_id))


def summarise(requests: Sequence[AccountRequest]) -> dict[str, int]:
    """How many requests by decision (every decision named, so a report shows zeros)."""
    counts = Counter(r.decision for r in requests)
    return {decision: counts.get(decision, 0) for decision in ("approved", "rejected", "pending")}
