"""The daily digest per department, sent from the alerting process at a local time.

The digest of day D goes out at ``digest.at`` local time on D (Europe/London by default) and
tallies the alerts of [due(D-1), due(D)): 23 hours long in March, 25 in October, because the due
instants are computed in the zone, never as a fixed UTC offset. Its items are the alerts routed
to the digest for that recipient and channel that were not delivered yet, from the last two days
(so an alert that arrived a moment after the previous digest is carried, not lost). An item is
recorded as delivered like any alert, so a restart never sends it in a digest twice.

A due time in the hour skipped in March goes out an hour later in wall-clock terms (zoneinfo's
reading of a non-existent time); an ambiguous one in October goes at its first occurrence.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from alerting.render import Message, Renderer
from alerting.routing import RoutingDecision
from socmon.config.alerting import DigestSettings
from socmon.index.port import AlertStore
from socmon.metrics import AlertingMetrics
from socmon.records import Alert, Delivery, utcnow

log = logging.getLogger(__name__)


class GroupDelivery(Protocol):
    """What the digest needs of alert delivery (`alerting.worker.AlertDelivery` is one): who is
    told about an alert, which deliveries are settled already, and one message sent to a group
    with each (alert, recipient) outcome recorded."""

    def route(self, alert: Alert) -> RoutingDecision: ...

    def settled(self, alert_id: str) -> set[str]: ...

    def deliver_group(
        self,
        message: Message,
        channel: str,
        recipients: Sequence[str],
        alerts: Sequence[Alert],
        *,
        origin: str,
        payload: str,
        detail: str = "",
    ) -> list[Delivery]: ...


class DigestScheduler:
    """Reads the (injected) clock and sends each department's digest once it is due.

    `alerting.worker.AlertDelivery.digest_scheduler` makes one that sends through that delivery.
    """

    def __init__(
        self,
        delivery: GroupDelivery,
        *,
        settings: DigestSettings,
        index: AlertStore,
        renderer: Renderer,
        metrics: AlertingMetrics,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.delivery = delivery
        self.cfg = settings
        self.zone = self.cfg.zone
        self.index = index
        self.renderer = renderer
        self.metrics = metrics
        self.clock = clock
        self.done: set[date] = set()
        self._last_check: datetime | None = None

    def due_at(self, day: date) -> datetime:
        """The UTC instant of the digest of `day`."""
        return datetime.combine(day, self.cfg.at, tzinfo=self.zone).astimezone(UTC)

    def latest_due_day(self, now: datetime) -> date:
        today = now.astimezone(self.zone).date()
        return today if self.due_at(today) <= now else today - timedelta(days=1)

    def tick(self, now: datetime | None = None) -> list[Delivery]:
        """Send the digests that are due and not sent yet (cheap when nothing is due)."""
        now = now or self.clock()
        if self._last_check is not None and (
            (now - self._last_check).total_seconds() < self.cfg.check_seconds
        ):
            return []
        self._last_check = now
        latest = self.latest_due_day(now)
        sent: list[Delivery] = []
        for back in reversed(range(self.cfg.catch_up_days)):
            day = latest - timedelta(days=back)
            if day in self.done:
                continue
            sent += self.send_day(day)
            # Marked in memory only: after a restart the recorded deliveries say what went out.
            self.done.add(day)
        return sent

    def send_day(self, day: date) -> list[Delivery]:
        """Send the digests of `day` to every department that has items for someone."""
        until = self.due_at(day)
        since = self.due_at(day - timedelta(days=1))
        carried_since = self.due_at(day - timedelta(days=2))
        alerts = self.index.alerts_between(carried_since, until)
        day_alerts = [a for a in alerts if a.created_at >= since]
        # (department, channel) -> recipient -> items not yet delivered to them on that channel
        items: dict[tuple[str | None, str], dict[str, list[Alert]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for alert in alerts:
            targets = self.delivery.route(alert).digest()
            if not targets:
                continue
            settled = self.delivery.settled(alert.alert_id)
            for target in targets:
                if Delivery.make_key(alert.alert_id, target.recipient, target.channel) in settled:
                    continue
                items[(target.department, target.channel)][target.recipient].append(alert)
        deliveries: list[Delivery] = []
        for (department, channel), by_recipient in items.items():
            tallies: Counter[str] = Counter(
                str(a.kind)
                for a in day_alerts
                if (department in a.departments) or (department is None and not a.departments)
            )
            # One message per group of recipients with the same items.
            groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
            for recipient, recipient_items in by_recipient.items():
                groups[tuple(a.alert_id for a in recipient_items)].append(recipient)
            for ids, recipients in groups.items():
                group_items = [a for a in by_recipient[recipients[0]] if a.alert_id in ids]
                message = self.renderer.digest(department, day, tallies, group_items)
                log.info(
                    "digest department=%s day=%s channel=%s items=%d recipients=%d",
                    department,
                    day,
                    channel,
                    len(group_items),
                    len(recipients),
                )
                out = self.delivery.deliver_group(
                    message,
                    channel,
                    recipients,
                    group_items,
                    origin=f"digest/{department or 'none'}/{day.isoformat()}/{channel}",
                    payload=json.dumps(message.payload, sort_keys=True),
                    detail=f"in the daily digest of {day.isoformat()}",
                )
                ok = all(d.result == "sent" for d in out)
                self.metrics.digests.labels(channel, "sent" if ok else "failed").inc()
                deliveries += out
        return deliveries
