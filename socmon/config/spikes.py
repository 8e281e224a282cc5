"""Settings of spike detection (`spikes:` in the config file): how often the leader worker looks
for content going viral, and when a rise is a spike.

Two rules (`stream_processors.spikes.detect` says why each is shaped as it is): a post's shares
per hour against its account's own usual over the last days (`VelocityRule`), and the hourly
volume of mentions and of concerns, for the whole organisation and per department, against the
same hour of the week in the last weeks (`VolumeRule`).
"""

from __future__ import annotations

from pydantic import Field

from socmon.config import Section


class VelocityRule(Section):
    """A post spreads far faster than its account's posts usually do (`spikes.velocity`)."""

    enabled: bool = True
    baseline_days: int = Field(
        default=90, ge=7, le=365, description="the account's usual: its posts of this many days"
    )
    quantile: float = Field(
        default=0.95,
        gt=0.5,
        lt=1.0,
        description="the account's usual rate is this quantile of its posts' share rates",
    )
    multiplier: float = Field(
        default=2.0, ge=1.0, description="a spike spreads this many times the usual rate or more"
    )
    min_shares: int = Field(
        default=20,
        ge=1,
        description="reposts + quotes a post needs at least, whatever its account's usual",
    )
    min_baseline_posts: int = Field(
        default=20,
        ge=1,
        description="an account with fewer posts with counts in the baseline days is not judged",
    )
    max_age_hours: float = Field(
        default=48.0,
        gt=1.0,
        le=24 * 14,
        description="only posts written this recently are candidates (an early warning)",
    )


class VolumeRule(Section):
    """Mentions or concerns in an hour far above that hour of the week (`spikes.volume`)."""

    enabled: bool = True
    weeks: int = Field(
        default=8, ge=2, le=26, description="the same hour of the week in this many past weeks"
    )
    p_value: float = Field(
        default=0.0001,
        gt=0.0,
        lt=0.5,
        description="an hour is a spike when a Poisson count this high is this unlikely "
        "(judged 168 hours a week per subject, so small)",
    )
    min_count: int = Field(default=10, ge=1, description="posts in the hour, at least")
    min_ratio: float = Field(
        default=2.0, ge=1.0, description="and at least this many times the baseline"
    )
    min_baseline: float = Field(
        default=0.5,
        gt=0.0,
        description="the baseline of an hour that is usually empty (a floor on the mean)",
    )
    max_episode_hours: int = Field(
        default=24,
        ge=1,
        le=168,
        description="how far back an episode's first hour is looked for",
    )


class SpikeSettings(Section):
    enabled: bool = Field(default=True, description="run spike detection in the stream worker")
    interval_minutes: float = Field(
        default=5.0, gt=0.0, le=60.0, description="how often the leader worker looks"
    )
    velocity: VelocityRule = VelocityRule()
    volume: VolumeRule = VolumeRule()
