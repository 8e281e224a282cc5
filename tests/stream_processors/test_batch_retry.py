"""`BatchRetry`: a batch the stream worker could not finish is waited out and tried again, never
dropped; the wait is bounded, logged once and then once a minute, and counted."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import CollectorRegistry

from socmon.index.port import IndexUnavailable
from socmon.metrics import Metrics
from stream_processors.app import BatchRetry


class FakeTime:
    """A clock that only moves when the retry sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Failing:
    """Work that fails `times` times with `error`, then returns "done"."""

    def __init__(self, times: int, error: Exception) -> None:
        self.times = times
        self.error = error
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.times:
            raise self.error
        return "done"


def retry(metrics: Metrics, fake: FakeTime, stage: str = "index") -> BatchRetry:
    return BatchRetry(stage, "posts", metrics, sleep=fake.sleep, clock=fake.clock)


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_an_unavailable_index_is_waited_out_with_a_bounded_doubling_wait(caplog) -> None:
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    fake = FakeTime()
    work = Failing(10, IndexUnavailable("SQLite index: write failed: database is locked"))
    caplog.set_level(logging.WARNING, logger="stream_processors.app")

    assert asyncio.run(retry(metrics, fake).run(work, 500)) == "done"

    assert work.calls == 11
    assert fake.sleeps == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30]
    assert (
        sample(registry, "socmon_batch_retries_total", stage="index", reason="index_unavailable")
        == 10
    )
    assert sample(registry, "socmon_batch_waiting_seconds", stage="index") == 0
    # Logged when the wait starts and then once a minute (failures at 0, 0.5, 1.5, … 31.5,
    # 61.5, 91.5 and 121.5 s: logged at 0, 61.5 and 121.5), and once when it is over.
    waiting = [r for r in caplog.records if "waiting for the index since" in r.getMessage()]
    assert len(waiting) == 3
    assert all(r.levelno == logging.WARNING for r in waiting)
    first = waiting[0].getMessage()
    assert "a batch of 500 posts" in first
    assert "database is locked" in first
    assert "nothing is dropped" in first
    over = [r for r in caplog.records if "went through" in r.getMessage()]
    assert len(over) == 1
    assert "failed attempts: 10" in over[0].getMessage()


def test_the_gauge_says_how_long_the_current_batch_has_waited() -> None:
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    fake = FakeTime()
    seen: list[float | None] = []

    async def work() -> None:
        seen.append(sample(registry, "socmon_batch_waiting_seconds", stage="deadletters"))
        if len(seen) < 4:
            raise IndexUnavailable("the index is away")

    asyncio.run(retry(metrics, fake, "deadletters").run(work, 3))
    # Measured when each attempt failed, from the start of the first: 0, then 0.5 and 1.5 s.
    assert seen == [None, 0.0, 0.5, 1.5]
    assert sample(registry, "socmon_batch_waiting_seconds", stage="deadletters") == 0


def test_an_unexpected_error_is_retried_too_and_logged_with_its_traceback(caplog) -> None:
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    fake = FakeTime()
    work = Failing(2, RuntimeError("a bug"))
    caplog.set_level(logging.WARNING, logger="stream_processors.app")

    assert asyncio.run(retry(metrics, fake, "enrich").run(work, 7)) == "done"

    assert sample(registry, "socmon_batch_retries_total", stage="enrich", reason="error") == 2
    [failed] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "a batch of 7 posts has failed since" in failed.getMessage()
    assert failed.exc_info is not None
    assert "RuntimeError('a bug')" in failed.getMessage()


def test_cancelling_ends_the_wait_and_does_not_succeed(caplog) -> None:
    """Cancelling the agent (a crash of the app) ends the wait at once; nothing 'succeeds'."""
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    work = Failing(1_000_000, IndexUnavailable("locked"))
    caplog.set_level(logging.WARNING, logger="stream_processors.app")

    async def stop_while_waiting() -> None:
        task = asyncio.ensure_future(BatchRetry("index", "posts", metrics).run(work, 1))
        await asyncio.sleep(0.1)  # the first attempt failed; waiting 0.5 s for the second
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(stop_while_waiting())
    assert work.calls == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any("cancelled; the batch stays unacknowledged" in m for m in messages)
    assert sample(registry, "socmon_batch_waiting_seconds", stage="index") == 0
