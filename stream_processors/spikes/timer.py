"""Spike detection in the Faust worker: a timer on the leader that, every few minutes, reads the
index (hourly counts, the posts that spread), runs the rules of `stream_processors.spikes.detect`
and sends a ``spike`` alert per episode.

It keeps nothing in memory: what was already raised is read back from the index (the alerts of
the last hours), and an episode's id is the same on every look, so neither the timer firing again
nor a restarted worker tells anyone twice (alerting also delivers an alert id once per person).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import faust

from socmon.alerts import TOP_POSTS, velocity_spike_alert, volume_spike_alert
from socmon.index.port import Index, IndexUnavailable, PostQuery, ShareRates, shares
from socmon.metrics import Metrics
from socmon.records import Alert, EnrichedPost, Platform, RecordError, utcnow
from socmon.settings import Settings
from stream_processors.spikes.detect import (
    HOUR,
    JUDGED_HOURS,
    WEEK,
    Subject,
    VolumeSpike,
    hour_start,
    hourly_series,
    velocity_spike,
    volume_spikes,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
SendAlert = Callable[[Alert], Awaitable[None]]

CANDIDATES = 50
"""The fastest spreading recent posts judged on each look (the rest are slower still)."""
EPISODE_POSTS = 500
"""The posts of an episode read to pick its top posts (the most shared, then the newest)."""


class SpikeWatch:
    """One look for spikes at a time: `find` (blocking, index reads) and `tick` (async)."""

    def __init__(self, settings: Settings, index: Index, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.rules = settings.spikes
        self.index = index
        self.clock = clock
        self.names = {d.id: d.name for d in settings.departments}

    def find(self, now: datetime) -> list[Alert]:
        """The spike alerts at `now` not raised before (by their id, in the index)."""
        raised = self._raised(now)
        alerts: list[Alert] = []
        if self.rules.volume.enabled:
            for spike in volume_spikes(self._series(now), now, self.rules.volume):
                if not self._told(spike, raised):
                    alerts.append(self._volume_alert(spike))
        if self.rules.velocity.enabled:
            alerts += [a for a in self._velocity_alerts(now) if a.alert_id not in raised]
        # raised at the look's time: the next look finds them by it (`_raised`)
        return [alert.model_copy(update={"created_at": now}) for alert in alerts]

    async def tick(self, send: SendAlert) -> list[Alert]:
        """Look once and send what was found; index reads run in a thread (they may block)."""
        now = self.clock()
        loop = asyncio.get_running_loop()
        alerts = await loop.run_in_executor(None, self.find, now)
        for alert in alerts:
            await send(alert)
            log.info("spike alert raised alert_id=%s", alert.alert_id)
        return alerts

    async def safe_tick(self, send: SendAlert) -> list[Alert]:
        """`tick`, for the timer: an error that would stop the worker (and every other agent
        with it) is logged instead, and the next tick looks again."""
        try:
            return await self.tick(send)
        except IndexUnavailable as exc:
            # Nothing is recorded as looked at: the next tick looks again.
            log.warning("spike detection skipped: the index is unavailable: %s", exc)
        except RecordError as exc:
            # A stored post or alert no longer parses: retrying will not help, stopping would
            # stop everything. Say what is wrong, every tick.
            log.error("spike detection failed: a stored record is unreadable: %s", exc)
        return []

    @staticmethod
    def _told(spike: VolumeSpike, raised: set[str]) -> bool:
        """True if the episode of `spike` was raised: its id, or (an episode longer than the
        walk back, whose first hour moves on each hour) any alert of the same subject."""
        if Alert.make_id("spike", spike.episode) in raised:
            return True
        subject = Alert.make_id("spike", f"{spike.subject.slug}:")
        return spike.capped and any(alert_id.startswith(subject) for alert_id in raised)

    # -- reading the index --------------------------------------------------------------------

    def _raised(self, now: datetime) -> set[str]:
        """The ids of the spike alerts raised while any episode judged now could have begun."""
        volume, velocity = self.rules.volume, self.rules.velocity
        back = max(
            timedelta(hours=velocity.max_age_hours),
            (volume.max_episode_hours + JUDGED_HOURS) * HOUR,
        )
        recent = self.index.alerts_between(now - back, now + HOUR, kind="spike")
        return {alert.alert_id for alert in recent}

    def _series(self, now: datetime) -> dict[Subject, dict[datetime, int]]:
        """Hourly counts over the weeks of the baseline and the longest episode: two grouped
        counts, a few thousand groups at most."""
        rule = self.rules.volume
        current = hour_start(now)
        # the baseline weeks, the week before each (its level), the longest episode
        lookback = (rule.weeks + 1) * WEEK + (rule.max_episode_hours + JUDGED_HOURS) * HOUR
        since = current - lookback
        query = PostQuery(since=since, until=current + HOUR, limit=0)
        whole = self.index.count_posts(query, by=("kind", "sentiment", "hour"))
        per_department = self.index.count_posts(
            query, by=("department", "kind", "sentiment", "hour")
        )
        return hourly_series(whole, per_department)

    def _top_posts(self, spike: VolumeSpike) -> list[tuple[EnrichedPost, int | None]]:
        """The posts of the episode that spread most (then the newest), with their shares."""
        subject = spike.subject
        query = PostQuery(
            since=spike.started,
            until=spike.judged.hour + HOUR,
            department=subject.department,
            sentiment="concern" if subject.measure == "concerns" else None,
            limit=EPISODE_POSTS,
        )
        posts = [p for p in self.index.search_posts(query) if p.post.kind != "official_post"]
        counted = [(post, shares(post.post)) for post in posts]
        # stable: the newest first among equal (or unknown) shares, as search_posts gave them
        counted.sort(key=lambda item: -(item[1] or 0))
        return counted[:TOP_POSTS]

    def _volume_alert(self, spike: VolumeSpike) -> Alert:
        department = spike.subject.department
        return volume_spike_alert(
            episode=spike.episode,
            measure=spike.subject.measure,
            department=department,
            department_name=self.names.get(department) if department else None,
            hour=spike.judged.hour,
            count=spike.judged.count,
            usual=spike.judged.usual,
            threshold=spike.judged.threshold,
            started=spike.started,
            top=self._top_posts(spike),
        )

    def _velocity_alerts(self, now: datetime) -> list[Alert]:
        rule = self.rules.velocity
        window = timedelta(hours=rule.max_age_hours)
        candidates = self.index.engaged_posts(now - window, rule.min_shares, CANDIDATES)
        usual: dict[tuple[Platform, str], ShareRates] = {}
        alerts: list[Alert] = []
        for enriched in candidates:
            post = enriched.post
            account = (post.platform, post.account)
            if account not in usual:
                # before the candidates' window, so a viral post does not raise its own bar
                usual[account] = self.index.share_rates(
                    post.platform,
                    post.account,
                    now - window - timedelta(days=rule.baseline_days),
                    now - window,
                    rule.quantile,
                )
            spike = velocity_spike(enriched, usual[account], now, rule)
            if spike is None:
                continue
            alerts.append(
                velocity_spike_alert(
                    enriched,
                    episode=spike.episode,
                    shares=spike.shares,
                    rate=spike.rate,
                    usual=spike.usual,
                    threshold=spike.threshold,
                    baseline_posts=spike.baseline_posts,
                    baseline_days=rule.baseline_days,
                    quantile=rule.quantile,
                )
            )
        return alerts


def install_spike_timer(
    app: faust.App,
    settings: Settings,
    index: Index,
    alerts_topic: Any,
    metrics: Metrics,
    *,
    clock: Clock = utcnow,
) -> SpikeWatch | None:
    """Add spike detection to `app` as a timer on the leader worker, every
    ``spikes.interval_minutes``; nothing when ``spikes.enabled`` is false."""
    if not settings.spikes.enabled:
        return None
    watch = SpikeWatch(settings, index, clock)

    async def send(alert: Alert) -> None:
        await alerts_topic.send(key=alert.alert_id.encode(), value=alert.to_bytes())
        metrics.alerts.labels(alert.kind).inc()

    interval = settings.spikes.interval_minutes * 60

    @app.timer(interval=interval, on_leader=True, name="spikes.detect")
    async def detect_spikes() -> None:
        await watch.safe_tick(send)

    return watch
