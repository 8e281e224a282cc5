"""Synthetic hourly series for spike detection: a weekly rhythm with Poisson noise, seeded, so
every run sees the same numbers; spikes are added where a test says."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from stream_processors.spikes.detect import HOUR, WEEK

START = datetime(2026, 8, 3, tzinfo=UTC)
"""A Monday, 00:00 UTC: week 0 of every series."""
WEEKS = 9
"""Eight weeks of baseline and the week judged (week 8)."""
JUDGED_WEEK = START + 8 * WEEK

Rhythm = Callable[[datetime], float]


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method: the means here are small)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def office_rhythm(quiet: float = 0.4, day: float = 3.0, monday_morning: float = 20.0) -> Rhythm:
    """Mentions of a hospital: few at night, more by day, a busy Monday morning (08-11 UTC)."""

    def mean(hour: datetime) -> float:
        if hour.weekday() == 0 and 8 <= hour.hour < 12:
            return monday_morning
        return day if 7 <= hour.hour < 22 else quiet

    return mean


def rising(rhythm: Rhythm, weekly_growth: float) -> Rhythm:
    """`rhythm` growing by `weekly_growth` (0.06: 6 %) a week, smoothly, from week 0."""

    def mean(hour: datetime) -> float:
        weeks = (hour - START) / WEEK
        return rhythm(hour) * (1 + weekly_growth) ** weeks

    return mean


def series(rhythm: Rhythm, seed: int, weeks: int = WEEKS) -> dict[datetime, int]:
    """Counts per hour from `START` for `weeks` weeks, drawn around `rhythm`."""
    rng = random.Random(seed)
    hours = int(weeks * WEEK / HOUR)
    return {START + n * HOUR: poisson(rng, rhythm(START + n * HOUR)) for n in range(hours)}


def with_spike(
    counts: dict[datetime, int], start: datetime, extra: list[int]
) -> dict[datetime, int]:
    """`counts` with `extra[i]` more posts in the i-th hour from `start`."""
    spiked = dict(counts)
    for n, more in enumerate(extra):
        spiked[start + n * HOUR] = spiked.get(start + n * HOUR, 0) + more
    return spiked


def seen_at(counts: dict[datetime, int], now: datetime) -> dict[datetime, int]:
    """What the index holds at `now`: the posts of each hour spread evenly over it, and only
    those written before `now` (the current hour so far)."""
    seen: dict[datetime, int] = {}
    for hour, count in counts.items():
        if hour + HOUR <= now:
            seen[hour] = count
        elif hour <= now:
            # post i of n is written at minute 60 * i / n
            seen[hour] = sum(1 for i in range(count) if hour + HOUR * i / count < now)
    return seen


def looks(
    first: datetime, last: datetime, every: timedelta = timedelta(minutes=5)
) -> list[datetime]:
    """The moments the timer looks, from `first` to `last` inclusive."""
    moments, moment = [], first
    while moment <= last:
        moments.append(moment)
        moment += every
    return moments
