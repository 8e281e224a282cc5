"""The spike timer against a real (SQLite) index: a seeded episode raises exactly one alert
across several looks and a restart; a viral post raises its own; an unavailable index is
skipped with a warning."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import faust
import pytest
from prometheus_client import CollectorRegistry

from socmon.index.sqlite import SqliteIndex
from socmon.metrics import Metrics
from socmon.records import Alert, Engagement, EnrichedPost
from socmon.settings import Department, Settings
from stream_processors.spikes.timer import SpikeWatch, install_spike_timer
from tests.factories import make_post as make_any_post

# Wednesday 14 October 2026; the spike is in the hour from 14:00 UTC
SPIKE_HOUR = datetime(2026, 10, 14, 14, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    maternity = Department(id="maternity", name="Maternity services")
    return Settings(data_dir=tmp_path, departments=[maternity])


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SqliteIndex]:
    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    yield index
    index.close()


def make_post(post_id: str, **fields: Any) -> EnrichedPost:
    return make_any_post(post_id, author="patient_one", **fields)


def with_counts(post: EnrichedPost, reposts: int, read_at: datetime) -> EnrichedPost:
    counts = Engagement(reposts=reposts, quotes=0, read_at=read_at)
    return post.model_copy(update={"post": post.post.model_copy(update={"engagement": counts})})


def seed_concern_episode(index: SqliteIndex) -> None:
    """Two maternity concerns in that hour in each of the 8 weeks before; 18 in the spike
    hour (one of them shared 40 times, with a link), and 12 in the hour after."""
    usual = [
        make_post(
            f"usual-{week}-{n}",
            sentiment="concern",
            departments=("maternity",),
            created_at=SPIKE_HOUR - week * WEEK + n * 20 * timedelta(minutes=1),
        )
        for week in range(1, 10)  # the 8 weeks, and the week before them (its level)
        for n in range(2)
    ]
    spike = [
        make_post(
            f"spike-{n}",
            sentiment="concern",
            departments=("maternity",),
            text=f"Waited hours on the labour ward ({n})",
            created_at=SPIKE_HOUR + n * timedelta(minutes=3),
        )
        for n in range(18)
    ] + [
        make_post(
            f"after-{n}",
            sentiment="concern",
            departments=("maternity",),
            created_at=SPIKE_HOUR + HOUR + n * timedelta(minutes=4),
        )
        for n in range(12)
    ]
    shared = spike[5].post.model_copy(update={"url": "https://x.com/patient_one/status/5"})
    spike[5] = with_counts(spike[5].model_copy(update={"post": shared}), 40, SPIKE_HOUR + HOUR)
    index.upsert_posts(usual + spike)


class Topic:
    """The alerts topic as alerting sees it: every alert sent is recorded in the index (by
    id, as the alerting worker does), so the next look finds it there."""

    def __init__(self, index: SqliteIndex) -> None:
        self.index = index
        self.sent: list[Alert] = []

    async def send_alert(self, alert: Alert) -> None:
        self.sent.append(alert)
        self.index.record_alerts([alert])


def look(settings: Settings, index: SqliteIndex, topic: Topic, now: datetime) -> list[Alert]:
    """One timer tick at `now`, by a new watch each time (a restarted worker keeps nothing)."""
    watch = SpikeWatch(settings, index, clock=lambda: now)
    return asyncio.run(watch.safe_tick(topic.send_alert))


def test_a_seeded_episode_raises_exactly_one_alert_across_looks_and_restarts(
    settings: Settings, index: SqliteIndex
) -> None:
    seed_concern_episode(index)
    topic = Topic(index)
    first = look(settings, index, topic, SPIKE_HOUR + timedelta(minutes=58))
    again = look(settings, index, topic, SPIKE_HOUR + timedelta(minutes=63))
    later = look(settings, index, topic, SPIKE_HOUR + HOUR + timedelta(minutes=50))
    assert (len(first), again, later) == (1, [], [])
    [alert] = topic.sent
    assert alert.alert_id == "spike:concerns:maternity:2026-10-14T14"
    assert alert.kind == "spike"
    assert alert.departments == ("maternity",)
    summary = alert.summary.splitlines()
    assert summary[0] == (
        "Spike in concerns for Maternity services: 18 in the hour from Wed 14 Oct 14:00 UTC,"
        " where 2.0 is usual"
    )
    assert summary[1].startswith("Observed 18, usual 2.0")
    # the top posts: the shared one first, with its link; then the newest; three in all
    assert summary[2] == "Top posts:"
    assert summary[3] == (
        "- twitter @patient_one, 40 reposts and quotes: Waited hours on the labour ward (5)"
        " https://x.com/patient_one/status/5"
    )
    assert len(summary) == 6
    assert alert.post is not None
    assert alert.post.post_id == "spike-5"
    stored = index.alerts_between(SPIKE_HOUR - WEEK, SPIKE_HOUR + WEEK)
    assert [a.alert_id for a in stored if a.kind == "spike"] == [alert.alert_id]


def test_the_organisation_usual_hour_raises_nothing(settings: Settings, index: SqliteIndex) -> None:
    seed_concern_episode(index)
    topic = Topic(index)
    assert look(settings, index, topic, SPIKE_HOUR - HOUR + timedelta(minutes=58)) == []
    assert look(settings, index, topic, SPIKE_HOUR - WEEK + timedelta(minutes=58)) == []


def test_a_post_spreading_fast_raises_one_velocity_alert(
    settings: Settings, index: SqliteIndex
) -> None:
    now = SPIKE_HOUR + timedelta(minutes=30)
    # 30 posts of the account over the past weeks, each shared 2 to 5 times in 10 hours
    usual = [
        with_counts(
            make_post(f"old-{n}", kind="official_post", created_at=now - (5 + n) * 24 * HOUR),
            2 + n % 4,
            now - (5 + n) * 24 * HOUR + 10 * HOUR,
        )
        for n in range(30)
    ]
    viral = make_post("viral", text="Our new birth centre opens", created_at=now - 2 * HOUR)
    viral = viral.model_copy(
        update={"post": viral.post.model_copy(update={"url": "javascript:alert(1)"})}
    )
    index.upsert_posts([*usual, with_counts(viral, 120, now)])
    topic = Topic(index)
    assert [a.alert_id for a in look(settings, index, topic, now)] == ["spike:post:twitter:viral"]
    assert look(settings, index, topic, now + timedelta(minutes=5)) == []
    [alert] = topic.sent
    headline, numbers, _, top = alert.summary.splitlines()
    assert headline == (
        "Spike: a mention from twitter @patient_one is spreading fast, 120 reposts and quotes"
        " (60.0 an hour), 120 times the usual of @ExampleNHS"
    )
    assert numbers.startswith("Observed 60.0 shares an hour, usual 0.5 (the 95% quantile of 30")
    # the post's own link is not one of the platform's: it is left out
    assert top == "- twitter @patient_one, 120 reposts and quotes: Our new birth centre opens"
    assert alert.account == "@ExampleNHS"


def test_an_unavailable_index_is_skipped_with_a_warning(
    settings: Settings, index: SqliteIndex, caplog: pytest.LogCaptureFixture
) -> None:
    index.close()
    topic = Topic(index)
    with caplog.at_level(logging.WARNING, logger="stream_processors.spikes.timer"):
        assert look(settings, index, topic, SPIKE_HOUR) == []
    assert "spike detection skipped: the index is unavailable" in caplog.text


def test_the_timer_is_installed_on_the_leader_unless_disabled(
    settings: Settings, index: SqliteIndex
) -> None:
    metrics = Metrics.create(CollectorRegistry())
    app: Any = faust.App("spikes-test", broker="memory://", store="memory://", web_enabled=False)
    assert isinstance(install_spike_timer(app, settings, index, None, metrics), SpikeWatch)
    off = settings.model_copy(
        update={"spikes": settings.spikes.model_copy(update={"enabled": False})}
    )
    assert install_spike_timer(app, off, index, None, metrics) is None


def test_an_episode_longer_than_the_walk_back_is_still_told_once(
    settings: Settings, index: SqliteIndex
) -> None:
    # 12 concerns an hour for 6 hours where none is usual; the walk back stops at 3 hours, so
    # from the fourth hour on the episode's first hour moves with each look
    short = settings.spikes.model_copy(
        update={"volume": settings.spikes.volume.model_copy(update={"max_episode_hours": 3})}
    )
    settings = settings.model_copy(update={"spikes": short})
    index.upsert_posts(
        [
            make_post(
                f"long-{hour}-{n}",
                sentiment="concern",
                departments=("maternity",),
                created_at=SPIKE_HOUR + hour * HOUR + n * timedelta(minutes=5),
            )
            for hour in range(6)
            for n in range(12)
        ]
    )
    topic = Topic(index)
    for hour in range(6):
        look(settings, index, topic, SPIKE_HOUR + hour * HOUR + timedelta(minutes=58))
    assert [alert.alert_id for alert in topic.sent] == ["spike:concerns:maternity:2026-10-14T14"]
