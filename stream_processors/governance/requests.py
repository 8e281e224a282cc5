"""Requests for new official accounts: the log the policy asks for (team, purpose, business case,
approving manager, decision and date), kept as documents in the index and summarised monthly.

The record and its collection are in `socmon.register` (the monthly report reads them too).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import date

from socmon.index.port import DocumentStore
from socmon.register import ACCOUNT_REQUESTS, AccountRequest

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


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


def record_account_request(store: DocumentStore, request: AccountRequest) -> str:
    """Store `request` (replacing an earlier record of the same request); returns its id."""
    store.put_documents(ACCOUNT_REQUESTS, [(request.request_id, request)])
    return request.request_id


def account_requests(store: DocumentStore, month: str) -> list[AccountRequest]:
    """The requests made or decided in `month` (``YYYY-MM``), oldest request first.

    A request made in one month and decided in the next appears in both months' reports: in the
    first as pending work, in the second with its decision.
    """
    first, following = parse_month(month)

    def in_month(day: date | None) -> bool:
        return day is not None and first <= day < following

    found = [
        r
        for r in store.get_documents(ACCOUNT_REQUESTS)
        if in_month(r.requested_on) or in_month(r.decided_on)
    ]
    return sorted(found, key=lambda r: (r.requested_on, r.request_id))


def summarise(requests: Sequence[AccountRequest]) -> dict[str, int]:
    """How many requests by decision (every decision named, so a report shows zeros)."""
    counts = Counter(r.decision for r in requests)
    return {decision: counts.get(decision, 0) for decision in ("approved", "rejected", "pending")}
