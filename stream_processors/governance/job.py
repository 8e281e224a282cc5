"""One sweep against the index: read the register, the last posts and the week's breaches, run the
pure `sweep`, and keep a log of sweeps run (so the timer runs each scheduled sweep once, even with
several workers or after a restart). Used by the Faust timer and by `socmon accounts sweep`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime

from socmon.config.governance import handle_key
from socmon.index.port import Collection, DocumentStore, Index, PostQuery
from socmon.records import Alert, EnrichedPost, Record
from socmon.register import Register, load_register
from socmon.settings import Settings
from stream_processors.governance.sweep import BREACH_WINDOW, SweepPolicy, sweep

# Far above a week of official posts by one account; a cap keeps one query bounded.
BREACH_QUERY_LIMIT = 10_000

SweepTrigger = Literal["timer", "cli"]


class SweepRun(Record):
    """A sweep that ran: when, for which sweep date, started by what, and how many alerts."""

    sweep_date: date
    ran_at: AwareDatetime
    trigger: SweepTrigger
    alerts: int

    @property
    def doc_id(self) -> str:
        return f"{self.trigger}:{self.sweep_date.isoformat()}"


SWEEPS = Collection("governance.sweeps", SweepRun)


def weekly_breaches(
    index: Index, register: Register, last_posts: dict[tuple[str, str], datetime], now: datetime
) -> list[EnrichedPost]:
    """The official posts of active accounts in the week before `now` that have breaches."""
    found: list[EnrichedPost] = []
    for account in register.active:
        # The index matches the account exactly, so ask for each spelling it has seen.
        spellings = {account.handle.lstrip("@")}
        spellings |= {
            handle
            for (platform, handle) in last_posts
            if platform == account.platform and handle_key(handle) == account.key[1]
        }
        for spelling in sorted(spellings):
            query = PostQuery(
                platform=account.platform,
                account=spelling,
                since=now - BREACH_WINDOW,
                until=now,
                limit=BREACH_QUERY_LIMIT,
            )
            found.extend(
                p
                for p in index.search_posts(query)
                if p.post.kind == "official_post" and p.classification.breaches
            )
    return found


def run_sweep(settings: Settings, index: Index, now: datetime) -> list[Alert]:
    """The alerts of a sweep at `now`, from the register and what the index holds."""
    register = load_register(settings.accounts, index)
    last_posts = index.last_post_per_account()
    breaches = weekly_breaches(index, register, last_posts, now)
    return sweep(
        register, last_posts, breaches, now, SweepPolicy.from_settings(settings.governance)
    )


def record_sweep_run(index: DocumentStore, run: SweepRun) -> None:
    index.put_documents(SWEEPS, [(run.doc_id, run)])


def sweep_runs(index: DocumentStore, trigger: SweepTrigger | None = None) -> list[SweepRun]:
    runs = index.get_documents(SWEEPS)
    return [r for r in runs if trigger is None or r.trigger == trigger]
