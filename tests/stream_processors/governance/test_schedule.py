"""When the timer sweeps: the configured weekday and local time, across clock changes, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from socmon.config.governance import GovernanceSettings
from socmon.index.sqlite import SqliteIndex
from socmon.settings import Settings
from stream_processors.governance.job import SweepRun, record_sweep_run, sweep_runs
from stream_processors.governance.timer import ScheduledSweep, SweepSchedule
from tests.stream_processors.governance.helpers import SWEEP_AT, Clock, account

LONDON = ZoneInfo("Europe/London")
MONDAY_9 = SweepSchedule(0, time(9, 0), LONDON)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_in_summer_time_the_sweep_is_at_eight_utc():
    assert MONDAY_9.latest_slot(utc("2026-10-19T08:00:00")) == utc("2026-10-19T08:00:00")
    assert MONDAY_9.latest_slot(utc("2026-10-19T07:59:59")) == utc("2026-10-12T08:00:00")


def test_after_the_clocks_go_back_it_is_at_nine_utc():
    # The clocks go back on Sunday 25 October 2026.
    assert MONDAY_9.next_slot(utc("2026-10-19T08:00:00")) == utc("2026-10-26T09:00:00")
    assert MONDAY_9.latest_slot(utc("2026-10-26T08:30:00")) == utc("2026-10-19T08:00:00")


def test_after_the_clocks_go_forward_it_is_at_eight_utc_again():
    # The clocks go forward on Sunday 29 March 2026.
    assert MONDAY_9.next_slot(utc("2026-03-25T12:00:00")) == utc("2026-03-30T08:00:00")


def test_the_schedule_comes_from_the_settings():
    settings = GovernanceSettings(sweep_weekday="friday", sweep_time=time(16, 30))
    schedule = SweepSchedule.from_settings(settings)
    assert schedule.next_slot(utc("2026-10-19T08:00:00")) == utc("2026-10-23T15:30:00")


@pytest.fixture
def job(tmp_path):
    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    yield ScheduledSweep(Settings(data_dir=tmp_path), index)
    index.close()


def test_a_sweep_is_due_from_its_time_until_the_catch_up_window_ends(job):
    assert job.due(utc("2026-10-19T07:59:00")) is None
    assert job.due(utc("2026-10-19T08:00:00")) == date(2026, 10, 19)
    assert job.due(utc("2026-10-19T13:59:00")) == date(2026, 10, 19)
    assert job.due(utc("2026-10-19T14:01:00")) is None  # six hours later: wait for next week


def test_a_sweep_that_ran_is_not_due_again(job):
    run = SweepRun(
        sweep_date=date(2026, 10, 19), ran_at=utc("2026-10-19T08:00:30"), trigger="timer", alerts=0
    )
    record_sweep_run(job.index, run)
    assert job.due(utc("2026-10-19T08:01:00")) is None
    assert job.due(utc("2026-10-26T09:00:00")) == date(2026, 10, 26)


def test_a_sweep_run_from_the_command_line_does_not_replace_the_scheduled_one(job):
    run = SweepRun(
        sweep_date=date(2026, 10, 19), ran_at=utc("2026-10-19T07:00:00"), trigger="cli", alerts=2
    )
    record_sweep_run(job.index, run)
    assert job.due(utc("2026-10-19T08:01:00")) == date(2026, 10, 19)


def test_a_tick_sends_the_due_sweeps_alerts_before_logging_it_and_then_waits_a_week(tmp_path):
    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    settings = Settings(data_dir=tmp_path, accounts=[account()])
    clock = Clock(SWEEP_AT + timedelta(minutes=1))
    job = ScheduledSweep(settings, index, clock)
    sent: list[tuple[str, int]] = []

    async def send(alert) -> None:
        # Nothing is logged as run until every alert has been handed to the producer.
        sent.append((alert.alert_id, len(sweep_runs(index, "timer"))))

    try:
        first = asyncio.run(job.tick(send))
        again = asyncio.run(job.tick(send))
        runs = sweep_runs(index, "timer")
    finally:
        index.close()
    assert [a.kind for a in first] == ["inactive_account"]  # no post on record
    assert again == []
    assert sent == [("inactive_account:twitter:northbrookmaternity:2026-10-19", 0)]
    assert [(r.sweep_date, r.alerts) for r in runs] == [(date(2026, 10, 19), 1)]
