"""The spike rules on synthetic series: known spikes fire, once per episode; quiet weeks (with a
busy Monday morning, with a slowly rising trend) stay silent; the velocity rule."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from socmon.config.spikes import VelocityRule, VolumeRule
from socmon.index.port import ShareRates
from socmon.records import Engagement, EnrichedPost
from stream_processors.spikes.detect import (
    HOUR,
    Subject,
    hourly_series,
    poisson_upper_tail,
    spike_threshold,
    velocity_spike,
    volume_spikes,
)
from tests.factories import make_post
from tests.stream_processors.spikes.synthetic import (
    JUDGED_WEEK,
    looks,
    office_rhythm,
    rising,
    seen_at,
    series,
    with_spike,
)

RULE = VolumeRule()
ALL = Subject("mentions")
MATERNITY = Subject("concerns", "maternity")
WEDNESDAY_2PM = JUDGED_WEEK + timedelta(days=2, hours=14)


def episodes(counts: dict[datetime, int], moments: list[datetime]) -> dict[str, list[datetime]]:
    """Each episode found when looking at `moments`, with the moments it was found at."""
    found: dict[str, list[datetime]] = {}
    for now in moments:
        for spike in volume_spikes({ALL: seen_at(counts, now)}, now, RULE):
            found.setdefault(spike.episode, []).append(now)
    return found


def whole_week(*closely: datetime) -> list[datetime]:
    """Every hour of the judged week on the hour, when the hour before is complete (its count
    is the most it will be, so a rule silent then is silent on every look in between), and
    every 5 minutes for 4 hours from each of `closely`."""
    moments = looks(JUDGED_WEEK, JUDGED_WEEK + timedelta(days=7), every=HOUR)
    for start in closely:
        moments += looks(start, start + 4 * HOUR)
    return sorted(set(moments))


# -- the Poisson rule ---------------------------------------------------------------------------


def test_the_poisson_tail_matches_one_minus_the_cdf() -> None:
    for count, mean in [(10, 3.0), (1, 0.5), (40, 20.0), (5, 5.0)]:
        cdf = sum(math.exp(-mean) * mean**k / math.factorial(k) for k in range(count))
        assert poisson_upper_tail(count, mean) == pytest.approx(1 - cdf, rel=1e-9)
    assert poisson_upper_tail(0, 3.0) == 1.0
    assert poisson_upper_tail(10, 10_000.0) == 1.0  # far below a huge mean: certain
    assert poisson_upper_tail(60, 3.0) < 1e-40  # the far tail, where 1 - cdf is 0


def test_the_threshold_is_the_least_count_meeting_every_condition() -> None:
    # an hour that is usually empty needs the minimum count
    assert spike_threshold(0.5, RULE) == RULE.min_count
    # a busy hour: the Poisson tail decides, and at least twice the usual
    threshold = spike_threshold(20.0, RULE)
    assert threshold >= 40
    assert poisson_upper_tail(threshold, 20.0) < RULE.p_value
    assert poisson_upper_tail(threshold - 1, 20.0) >= RULE.p_value or threshold - 1 < 40


# -- quiet weeks --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_quiet_week_with_a_busy_monday_morning_never_fires(seed: int) -> None:
    counts = series(office_rhythm(), seed)
    monday_morning = JUDGED_WEEK + timedelta(hours=9)
    assert counts[monday_morning] >= 12  # busy: it would fire against an ordinary hour
    assert episodes(counts, whole_week()) == {}


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_a_slowly_rising_trend_never_fires(seed: int) -> None:
    # 12 % more posts every week: the judged week is 2.5 times the first. Against the 8-week
    # mean alone (no level) 6 of the seeds 6 to 15 fire, seeds 6 and 7 among them.
    counts = series(rising(office_rhythm(), 0.12), seed)
    assert episodes(counts, whole_week()) == {}


# -- known spikes -------------------------------------------------------------------------------


def test_a_spike_fires_within_its_first_hour_and_once_for_the_whole_episode() -> None:
    # 40 extra posts an hour for three hours from Wednesday 14:00 (3 an hour is usual)
    counts = with_spike(series(office_rhythm(), 11), WEDNESDAY_2PM, [40, 40, 40])
    found = episodes(counts, whole_week(WEDNESDAY_2PM))
    assert list(found) == ["mentions:all:" + WEDNESDAY_2PM.strftime("%Y-%m-%dT%H")]
    [moments] = found.values()
    assert WEDNESDAY_2PM < moments[0] <= WEDNESDAY_2PM + timedelta(minutes=30)
    # found on every look while it lasts (and the hour after): the same id each time
    assert moments[-1] >= WEDNESDAY_2PM + 3 * HOUR


def test_two_separate_spikes_are_two_episodes() -> None:
    friday_night = JUDGED_WEEK + timedelta(days=4, hours=23)
    counts = series(office_rhythm(), 12)
    counts = with_spike(with_spike(counts, WEDNESDAY_2PM, [60]), friday_night, [25, 15])
    found = episodes(counts, whole_week(WEDNESDAY_2PM, friday_night))
    starts = sorted(episode.rsplit(":", 1)[1] for episode in found)
    assert starts == [WEDNESDAY_2PM.strftime("%Y-%m-%dT%H"), friday_night.strftime("%Y-%m-%dT%H")]


def test_the_episode_starts_where_the_spike_started_whenever_it_is_first_seen() -> None:
    # a restarted worker first looks in the third hour of the spike: same first hour, same id
    counts = with_spike(series(office_rhythm(), 13), WEDNESDAY_2PM, [40, 40, 40])
    now = WEDNESDAY_2PM + timedelta(hours=2, minutes=30)
    [spike] = volume_spikes({ALL: seen_at(counts, now)}, now, RULE)
    assert spike.started == WEDNESDAY_2PM
    assert spike.judged.hour == WEDNESDAY_2PM + 2 * HOUR
    assert spike.judged.count >= spike.judged.threshold > spike.judged.usual


def test_a_departments_concerns_spike_against_their_own_quiet_usual() -> None:
    quiet = series(office_rhythm(quiet=0.05, day=0.3, monday_morning=0.6), 21)
    counts = with_spike(quiet, WEDNESDAY_2PM, [14])
    busy = series(office_rhythm(), 22)  # the whole organisation hardly notices 14 more
    now = WEDNESDAY_2PM + timedelta(minutes=59)
    found = volume_spikes({MATERNITY: seen_at(counts, now), ALL: seen_at(busy, now)}, now, RULE)
    assert [spike.episode for spike in found] == [
        "concerns:maternity:" + WEDNESDAY_2PM.strftime("%Y-%m-%dT%H")
    ]
    assert found[0].judged.count == 14
    assert found[0].judged.usual < 1


def test_hourly_series_counts_the_publics_posts_and_their_concerns_per_department() -> None:
    whole: dict[tuple[str, ...], int] = {
        ("mention", "concern", "2026-10-05T09"): 3,
        ("reply", "neutral", "2026-10-05T09"): 2,
        ("official_post", "neutral", "2026-10-05T09"): 5,
    }
    per_department: dict[tuple[str, ...], int] = {
        ("maternity", "mention", "concern", "2026-10-05T09"): 2,
        ("", "reply", "neutral", "2026-10-05T09"): 2,
    }
    hour = datetime.fromisoformat("2026-10-05T09:00:00+00:00")
    assert hourly_series(whole, per_department) == {
        Subject("mentions"): {hour: 5},
        Subject("concerns"): {hour: 3},
        Subject("mentions", "maternity"): {hour: 2},
        Subject("concerns", "maternity"): {hour: 2},
    }


# -- velocity -----------------------------------------------------------------------------------

NOW = datetime.fromisoformat("2026-10-05T12:00:00+00:00")
VELOCITY = VelocityRule()
USUAL = ShareRates(posts=60, rate=4.0)  # the account's 95th percentile: 4 shares an hour


def spreading(reposts: int, *, age: timedelta = 2 * HOUR, quotes: int = 0) -> EnrichedPost:
    """A post written `age` before `NOW`, its counts read at `NOW`."""
    post = make_post("1", created_at=NOW - age)
    counts = Engagement(reposts=reposts, quotes=quotes, read_at=NOW)
    return post.model_copy(update={"post": post.post.model_copy(update={"engagement": counts})})


def test_a_post_spreading_past_twice_its_accounts_usual_is_a_spike() -> None:
    spike = velocity_spike(spreading(50, quotes=10), USUAL, NOW, VELOCITY)
    assert spike is not None
    assert (spike.shares, spike.rate, spike.usual, spike.threshold) == (60, 30.0, 4.0, 8.0)
    assert spike.episode == "post:twitter:1"


def test_velocity_is_shares_per_hour_of_age_so_an_older_post_needs_more() -> None:
    assert velocity_spike(spreading(60, age=10 * HOUR), USUAL, NOW, VELOCITY) is None  # 6 / h
    assert velocity_spike(spreading(90, age=10 * HOUR), USUAL, NOW, VELOCITY) is not None


def test_a_few_reposts_never_fire_however_quiet_the_account() -> None:
    quiet = ShareRates(posts=60, rate=0.1)
    assert velocity_spike(spreading(3, age=timedelta(minutes=10)), quiet, NOW, VELOCITY) is None
    assert velocity_spike(spreading(20, age=timedelta(minutes=10)), quiet, NOW, VELOCITY)


def test_no_verdict_without_history_counts_or_youth() -> None:
    few = ShareRates(posts=VELOCITY.min_baseline_posts - 1, rate=0.5)
    assert velocity_spike(spreading(200), few, NOW, VELOCITY) is None
    assert velocity_spike(spreading(200), ShareRates(posts=0), NOW, VELOCITY) is None
    assert velocity_spike(spreading(5000, age=72 * HOUR), USUAL, NOW, VELOCITY) is None
    assert velocity_spike(make_post("2", created_at=NOW - HOUR), USUAL, NOW, VELOCITY) is None
