"""The weekly sweep in the Faust worker: a timer that checks every minute whether the configured
weekday and local time (in the configured zone, so correct across clock changes) has come, and
runs that sweep once, on the leader worker only.

Which sweeps ran is kept in the index, not in memory: a worker restarted within the catch-up
window after the sweep time still runs it, and a second worker or a restart never runs it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import faust

from socmon.config.governance import WEEKDAYS, GovernanceSettings
from socmon.index.port import Index, IndexUnavailable
from socmon.metrics import Metrics
from socmon.records import Alert, RecordError, utcnow
from socmon.settings import Settings
from stream_processors.governance.job import SweepRun, record_sweep_run, run_sweep, sweep_runs

log = logging.getLogger(__name__)

TICK_SECONDS = 60.0

Clock = Callable[[], datetime]
SendAlert = Callable[[Alert], Awaitable[None]]


@dataclass(frozen=True)
class SweepSchedule:
    """A weekday (0 = Monday) and a local time in a zone."""

    weekday: int
    at: time
    zone: ZoneInfo

    @classmethod
    def from_settings(cls, settings: GovernanceSettings) -> SweepSchedule:
        return cls(WEEKDAYS.index(settings.sweep_weekday), settings.sweep_time, settings.zone)

    def _slot_on(self, day: date) -> datetime:
        # Built from the local wall-clock time each week, so 09:00 stays 09:00 across BST/GMT.
        return datetime.combine(day, self.at, tzinfo=self.zone)

    def latest_slot(self, now: datetime) -> datetime:
        """The most recent scheduled moment at or before `now`."""
        local = now.astimezone(self.zone)
        day = local.date() - timedelta(days=(local.weekday() - self.weekday) % 7)
        slot = self._slot_on(day)
        return slot if slot <= now else self._slot_on(day - timedelta(days=7))

    def next_slot(self, now: datetime) -> datetime:
        """The first scheduled moment after `now`."""
        return self._slot_on(self.latest_slot(now).date() + timedelta(days=7))


class ScheduledSweep:
    """Runs the sweep when a scheduled moment has come and its sweep has not run yet."""

    def __init__(self, settings: Settings, index: Index, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.index = index
        self.clock = clock
        self.schedule = SweepSchedule.from_settings(settings.governance)
        self.catch_up = timedelta(hours=settings.governance.sweep_catch_up_hours)

    def due(self, now: datetime) -> date | None:
        """The local date of the sweep due at `now`, or None (not yet, done, or too late)."""
        slot = self.schedule.latest_slot(now)
        if now - slot > self.catch_up:
            return None
        day = slot.astimezone(self.schedule.zone).date()
        done = {run.sweep_date for run in sweep_runs(self.index, "timer")}
        return None if day in done else day

    async def tick(self, send: SendAlert) -> list[Alert]:
        """Run the due sweep, if any: send its alerts, then log the run (so a crash in between
        re-runs it; the alert ids are the same, so nobody is told twice)."""
        now = self.clock()
        loop = asyncio.get_running_loop()
        # Index calls may block (SQLite locks, Elasticsearch): keep them off the event loop.
        day = await loop.run_in_executor(None, self.due, now)
        if day is None:
            return []
        alerts = await loop.run_in_executor(None, run_sweep, self.settings, self.index, now)
        for alert in alerts:
            await send(alert)
        run = SweepRun(sweep_date=day, ran_at=now, trigger="timer", alerts=len(alerts))
        await loop.run_in_executor(None, record_sweep_run, self.index, run)
        log.info("account sweep ran sweep_date=%s alerts=%d", day, len(alerts))
        return alerts


def install_sweep_timer(
    app: faust.App,
    settings: Settings,
    index: Index,
    alerts_topic: Any,
    metrics: Metrics,
    *,
    clock: Clock = utcnow,
    interval: float = TICK_SECONDS,
) -> ScheduledSweep:
    """Add the weekly account sweep to `app` as a timer on the leader worker."""
    job = ScheduledSweep(settings, index, clock)

    async def send(alert: Alert) -> None:
        await alerts_topic.send(key=alert.alert_id.encode(), value=alert.to_bytes())
        metrics.alerts.labels(alert.kind).inc()

    @app.timer(interval=interval, on_leader=True, name="governance.weekly_account_sweep")
    async def weekly_account_sweep() -> None:
        try:
            await job.tick(send)
        except IndexUnavailable as exc:
            # The sweep is not logged as run, so the next tick tries again.
            log.error("account sweep postponed: the index is unavailable: %s", exc)
        except RecordError as exc:
            # A stored review or closure no longer parses: retrying will not help, but stopping
            # the worker would stop every other agent too. Say what is wrong, every tick.
            log.error("account sweep failed: a governance record is unreadable: %s", exc)

    return job
