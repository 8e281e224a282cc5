"""Spike detection as pure functions: counts and posts in, spikes out (no index, no clock).

Two rules, each answering "is this far above its own usual?":

**Velocity** (`velocity_spike`): a post's `share_rate` (reposts + quotes per hour between its
writing and the last read of its counts, the age at least an hour) against the rate its account's
posts usually reach: the 0.95 quantile of the rates of the account's posts of the last 90 days
(the defaults of `VelocityRule`)
(those with counts, written before the candidates' window so a viral post does not raise its own
bar). A spike spreads at least `multiplier` times that, and has `min_shares` at least, so a
3-repost post of a quiet account never fires. The account's own distribution, not one threshold
for all: 50 reposts an hour is ordinary for a national account and an event for a hospital's
maternity page. The index keeps only each post's latest counts, so a candidate's rate is measured
early in its life and the baseline's rates over longer lives (which usually slow down): the bias
makes young posts look faster, which the multiplier and the minimum absorb.

**Volume** (`volume_spikes`): the posts of an hour (mentions; concerns) against the mean of the
same hour of the week over the last 8 weeks, scaled up by how much busier the last week was than
those weeks (`level`, 1 to 2), judged with the Poisson upper tail: the hour is a spike when
P(X >= count | baseline) < `p_value` (0.0001), the count is at least `min_count` and at least
`min_ratio` times the baseline. Why this rule: most hours hold few posts, where the Poisson tail
is exact and a fixed ratio is not (2 -> 6 is nothing; 0.3 -> 12 is something); the hour-of-week
mean carries the weekly rhythm (a Monday morning is compared with Monday mornings, so it is not a
spike for being busy); the level follows a slow trend, which an 8-week mean lags behind. The
p-value is 0.0001, not 0.001: every subject is judged 168 hours a week. Measured on synthetic
quiet weeks (3 posts an hour by day, 0.4 at night, 20 on Monday mornings; 40 seeds each): at
0.001 the rule fired 0.075 times per subject and week (0.125 with a 5 % weekly rise; 0.675
without the level), at 0.0001 never, flat or rising 5 % or 10 % a week. Counts of real posts
vary more than Poisson does (overdispersion), which would make large counts fire on ordinary
variation: the ratio floor stops that. An EWMA was the alternative: it needs a variance estimate
per hour of the week and a warm-up, and forgets the weekly rhythm unless run per hour of week,
which is what this mean is, without the tuning.

**Once per episode**: an episode is a run of spiking hours; its id names what spikes and the
episode's first hour (found by walking back while the hours stay above their thresholds), so the
timer looking every few minutes, or a restarted worker, raises the same alert id, which the
index and alerting keep once. An episode longer than `max_episode_hours` is marked `capped`
(its first hour would move on with each hour), and the timer then takes any alert of the same
subject as its own. A post's velocity spike is an episode of its own: its id is the post's key.
One burst is told once, by its `most_specific` subject (a department's concerns rather than its
mentions, or the organisation's).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from socmon.config.spikes import VelocityRule, VolumeRule
from socmon.index.port import ShareRates, share_rate, shares
from socmon.records import EnrichedPost

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
HOUR_FORMAT = "%Y-%m-%dT%H"
"""An hour as the index's ``hour`` dimension spells it (UTC): ``2026-10-05T14``."""
MAX_LEVEL = 2.0
"""The most a busier last week raises the baseline (see `level`): a trend, not a doubling."""
JUDGED_HOURS = 2
"""The hours judged on each look: the current one (so far) and the one before, so a spike that
only shows once its hour is complete is still caught after the hour turns."""

Measure = Literal["mentions", "concerns"]


@dataclass(frozen=True)
class Subject:
    """What a volume is counted for: mentions or concerns, of a department or (None) of the
    whole organisation."""

    measure: Measure
    department: str | None = None

    @property
    def slug(self) -> str:
        """The subject in an alert id: ``concerns:maternity``, ``mentions:all``."""
        return f"{self.measure}:{self.department or 'all'}"


HourlyCounts = Mapping[datetime, int]
"""Posts per hour, by the hour's start (UTC); an hour not in it had none."""


def hour_start(moment: datetime) -> datetime:
    """The start (UTC) of the hour `moment` is in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def parse_hour(label: str) -> datetime:
    """An hour of the index's ``hour`` dimension as its start (UTC)."""
    return datetime.strptime(label, HOUR_FORMAT).replace(tzinfo=UTC)


def poisson_upper_tail(count: int, mean: float) -> float:
    """P(X >= count) for X ~ Poisson(mean), summed from `count` upward (accurate in the far
    tail, where 1 - CDF would be lost to rounding)."""
    if count <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    if count <= mean:
        # the upper tail holds the peak: sum the lower one instead (its terms fall from the
        # peak too, so neither underflows into a wrong answer)
        return max(0.0, 1.0 - _lower_tail(count - 1, mean))
    term = _pmf(count, mean)
    total, j = 0.0, count
    while term > 0:
        total += term
        j += 1
        term *= mean / j
        if term < total * 1e-16:
            break
    return min(1.0, total)


def _pmf(count: int, mean: float) -> float:
    return math.exp(-mean + count * math.log(mean) - math.lgamma(count + 1))


def _lower_tail(count: int, mean: float) -> float:
    """P(X <= count), summed from `count` downward (for `count` below the mean)."""
    term, total = _pmf(count, mean), 0.0
    for j in range(count, -1, -1):
        total += term
        term *= j / mean
        if term < total * 1e-16:
            break
    return min(1.0, total)


class RunningTotals:
    """Posts in any span of hours of a series in constant time (cumulative sums), so judging
    an hour reads a few sums instead of the 1,500 hours of its weeks."""

    def __init__(self, counts: HourlyCounts) -> None:
        self.first = min(counts) if counts else datetime(2000, 1, 1, tzinfo=UTC)
        hours = _hours(max(counts) - self.first) + 1 if counts else 0
        self.totals = [0]
        for n in range(hours):
            self.totals.append(self.totals[-1] + counts.get(self.first + n * HOUR, 0))

    def between(self, start: datetime, end: datetime) -> int:
        """The posts of the hours in [start, end)."""
        last = len(self.totals) - 1
        i = min(last, max(0, _hours(start - self.first)))
        j = min(last, max(0, _hours(end - self.first)))
        return self.totals[j] - self.totals[i] if j > i else 0


def _hours(span: timedelta) -> int:
    return int(span // HOUR)


def level(
    counts: HourlyCounts, hour: datetime, rule: VolumeRule, totals: RunningTotals | None = None
) -> float:
    """How much busier the week before `hour` was than the same week in the baseline weeks on
    average: 1 (never below) to `MAX_LEVEL`. Only counts before `hour` are read, so the level of
    an hour is the same on every look (the episode's first hour, and so its id, stay put)."""
    sums = totals or RunningTotals(counts)
    past = [
        sums.between(hour - week * WEEK - WEEK, hour - week * WEEK)
        for week in range(1, rule.weeks + 1)
    ]
    usual = sum(past) / len(past)
    if usual <= 0:
        return 1.0
    return min(MAX_LEVEL, max(1.0, sums.between(hour - WEEK, hour) / usual))


def baseline(
    counts: HourlyCounts, hour: datetime, rule: VolumeRule, totals: RunningTotals | None = None
) -> float:
    """The usual count of `hour`: the mean of the same hour in the `rule.weeks` weeks before
    (missing hours count as 0), times the `level` of the last week (a rising trend), at least
    `rule.min_baseline`."""
    past = [counts.get(hour - week * WEEK, 0) for week in range(1, rule.weeks + 1)]
    return max(rule.min_baseline, sum(past) / len(past) * level(counts, hour, rule, totals))


def spike_threshold(usual: float, rule: VolumeRule) -> int:
    """The least count that is a spike over a baseline of `usual`: at least `min_count` and
    `min_ratio` times `usual`, and as unlikely as `p_value` under Poisson(`usual`)."""
    count = max(rule.min_count, math.ceil(rule.min_ratio * usual))
    while poisson_upper_tail(count, usual) >= rule.p_value:
        count += 1
    return count


@dataclass(frozen=True)
class HourJudged:
    """One hour of one subject: its count, its usual, and the count that would be a spike."""

    hour: datetime
    count: int
    usual: float
    threshold: int

    @property
    def spike(self) -> bool:
        return self.count >= self.threshold


def judge_hour(
    counts: HourlyCounts, hour: datetime, rule: VolumeRule, totals: RunningTotals | None = None
) -> HourJudged:
    usual = baseline(counts, hour, rule, totals)
    return HourJudged(hour, counts.get(hour, 0), usual, spike_threshold(usual, rule))


@dataclass(frozen=True)
class VolumeSpike:
    """A subject spiking: the latest spiking hour judged, and the episode's first hour."""

    subject: Subject
    judged: HourJudged
    started: datetime
    capped: bool = False
    """The walk back stopped at `VolumeRule.max_episode_hours`, not at a quiet hour: the
    episode may have begun earlier, under an alert of the same subject already raised."""

    @property
    def episode(self) -> str:
        """What spikes and since when: ``concerns:maternity:2026-10-05T09``, the alert's id."""
        return f"{self.subject.slug}:{self.started.strftime(HOUR_FORMAT)}"


def episode_start(
    counts: HourlyCounts, hour: datetime, rule: VolumeRule, totals: RunningTotals | None = None
) -> datetime:
    """The first hour of the run of spiking hours that ends at `hour` (itself a spike),
    looking back at most `rule.max_episode_hours`."""
    sums = totals or RunningTotals(counts)
    start = hour
    for _ in range(rule.max_episode_hours - 1):
        before = start - HOUR
        if not judge_hour(counts, before, rule, sums).spike:
            break
        start = before
    return start


def volume_spikes(
    series: Mapping[Subject, HourlyCounts], now: datetime, rule: VolumeRule
) -> list[VolumeSpike]:
    """The subjects spiking at `now`: for each, the latest of the `JUDGED_HOURS` hours that is
    a spike, with its episode's first hour; only the `most_specific`, sorted by subject."""
    current = hour_start(now)
    found: list[VolumeSpike] = []
    for subject in sorted(series, key=lambda s: (s.department or "", s.measure)):
        counts = series[subject]
        totals = RunningTotals(counts)
        for back in range(JUDGED_HOURS):
            judged = judge_hour(counts, current - back * HOUR, rule, totals)
            if judged.spike:
                started = episode_start(counts, judged.hour, rule, totals)
                capped = judged.hour - started >= (rule.max_episode_hours - 1) * HOUR
                found.append(VolumeSpike(subject, judged, started, capped))
                break
    return most_specific(found)


def most_specific(spikes: list[VolumeSpike]) -> list[VolumeSpike]:
    """The spikes that say most: one burst of concerns about a department also lifts its
    mentions and the organisation's concerns and mentions, and is told once, as the
    department's concerns. A mentions spike gives way to a concerns spike of the same
    department (or of the organisation), and the organisation's spike of a measure to a
    department's spike of it (comms hears of every spike: a department's stands for it)."""
    spiking = {spike.subject for spike in spikes}

    def covered(subject: Subject) -> bool:
        if subject.measure == "mentions" and Subject("concerns", subject.department) in spiking:
            return True
        return subject.department is None and any(
            other.department is not None and other.measure == subject.measure for other in spiking
        )

    return [spike for spike in spikes if not covered(spike.subject)]


@dataclass(frozen=True)
class VelocitySpike:
    """A post spreading far faster than its account's posts usually do."""

    post: EnrichedPost
    shares: int
    rate: float
    usual: float
    threshold: float
    baseline_posts: int

    @property
    def episode(self) -> str:
        """The post's key: a post goes viral once."""
        return f"post:{self.post.key}"


def velocity_spike(
    enriched: EnrichedPost, usual: ShareRates, now: datetime, rule: VelocityRule
) -> VelocitySpike | None:
    """The spike of `enriched` against its account's `usual`, or None: it must be younger than
    `max_age_hours`, have `min_shares`, its account `min_baseline_posts` posts with counts, and
    spread faster than `multiplier` times the usual rate."""
    post = enriched.post
    count, rate = shares(post), share_rate(post)
    if count is None or rate is None or count < rule.min_shares:
        return None
    if now - post.created_at > timedelta(hours=rule.max_age_hours):
        return None
    if usual.rate is None or usual.posts < rule.min_baseline_posts:
        return None
    threshold = usual.rate * rule.multiplier
    if rate <= threshold:
        return None
    return VelocitySpike(enriched, count, rate, usual.rate, threshold, usual.posts)


def hourly_series(
    by_kind_sentiment_hour: Mapping[tuple[str, ...], int],
    by_department_kind_sentiment_hour: Mapping[tuple[str, ...], int],
) -> dict[Subject, dict[datetime, int]]:
    """The series of every subject from the index's counts (``count_posts`` by kind, sentiment
    and hour; and by department, kind, sentiment and hour). Mentions are the public's posts
    (every kind but ``official_post``), concerns those of them with the sentiment concern; a
    post of two departments counts in each."""
    series: dict[Subject, dict[datetime, int]] = {}

    def add(department: str | None, kind: str, sentiment: str, hour: str, count: int) -> None:
        if kind == "official_post":
            return
        measures: tuple[Measure, ...] = (
            ("mentions", "concerns") if sentiment == "concern" else ("mentions",)
        )
        for measure in measures:
            counts = series.setdefault(Subject(measure, department), {})
            start = parse_hour(hour)
            counts[start] = counts.get(start, 0) + count

    for (kind, sentiment, hour), count in by_kind_sentiment_hour.items():
        add(None, kind, sentiment, hour, count)
    for (department, kind, sentiment, hour), count in by_department_kind_sentiment_hour.items():
        if department:
            add(department, kind, sentiment, hour, count)
    return series
