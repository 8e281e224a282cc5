"""Alert delivery: consume `socmon.alerts`, deliver to each recipient once, record it, commit.

At-least-once from the topic, at-most-once to a person: a delivery keyed by
(alert, recipient, channel) that already succeeded is skipped, and offsets are committed only
after the deliveries of a batch are recorded in the index. A delivery that still fails after the
retries goes to the dead-letter topic with the reason.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from kafka import KafkaConsumer, KafkaProducer
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from alerting.channels import Channel, DeliveryFailed
from alerting.routing import recipients_for
from socmon.index.port import Index
from socmon.metrics import Metrics
from socmon.records import Alert, DeadLetter, Delivery, RecordError, parse_record
from socmon.settings import Settings

log = logging.getLogger(__name__)

GROUP_ID = "socmon-alerting"


class AlertDelivery:
    """Delivers alerts through `channels`; every outcome is recorded in the index."""

    def __init__(
        self,
        settings: Settings,
        index: Index,
        channels: Sequence[Channel],
        producer: KafkaProducer,
        metrics: Metrics,
        attempts: int = 3,
    ) -> None:
        self.settings = settings
        self.index = index
        self.channels = list(channels)
        self.producer = producer
        self.metrics = metrics
        self.attempts = attempts
        self.topics = settings.kafka.topics

    def handle(self, alerts: Sequence[Alert]) -> list[Delivery]:
        """Deliver a batch of alerts; return the deliveries recorded."""
        self.index.record_alerts(alerts)
        deliveries: list[Delivery] = []
        # After a worker restart the same alert can come twice, even within one batch.
        seen: set[str] = set()
        for alert in alerts:
            for recipient in recipients_for(alert, self.settings):
                for channel in self.channels:
                    key = f"{alert.alert_id}|{recipient.address}|{channel.name}"
                    if key in seen or self.index.was_delivered(key):
                        continue  # this person was told already
                    seen.add(key)
                    deliveries.append(self._deliver(alert, recipient.address, channel))
        if deliveries:
            self.index.record_deliveries(deliveries)
        return deliveries

    def _deliver(self, alert: Alert, recipient: str, channel: Channel) -> Delivery:
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self.attempts),
                wait=wait_exponential(multiplier=0.2, max=5),
                retry=retry_if_exception_type(DeliveryFailed),
            ):
                with attempt:
                    channel.deliver(alert, recipient)
        except RetryError as exc:
            reason = str(exc.last_attempt.exception())
            self.metrics.deliveries.labels(channel.name, "failed").inc()
            self._dead_letter(alert, f"{channel.name} delivery to {recipient} failed: {reason}")
            return Delivery(
                alert_id=alert.alert_id,
                alert_kind=alert.kind,
                recipient=recipient,
                channel=channel.name,
                result="failed",
                detail=reason,
            )
        self.metrics.deliveries.labels(channel.name, "sent").inc()
        return Delivery(
            alert_id=alert.alert_id,
            alert_kind=alert.kind,
            recipient=recipient,
            channel=channel.name,
            result="sent",
        )

    def _dead_letter(self, alert: Alert, reason: str) -> None:
        letter = DeadLetter(
            stage="alerting",
            reason=reason,
            origin=f"alert/{alert.alert_id}",
            payload=alert.model_dump_json(),
        )
        self.metrics.deadletters.labels("alerting", "delivery_failed").inc()
        self.producer.send(self.topics.deadletter, key=letter.key.encode(), value=letter.to_bytes())

    def run(self, stop: threading.Event) -> None:
        """Consume and deliver until `stop` is set."""
        consumer = KafkaConsumer(
            self.topics.alerts,
            bootstrap_servers=self.settings.kafka.bootstrap_servers,
            group_id=GROUP_ID,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.settings.kafka.session_timeout_ms,
            heartbeat_interval_ms=max(1000, self.settings.kafka.session_timeout_ms // 6),
        )
        try:
            while not stop.is_set():
                batch = consumer.poll(timeout_ms=500, max_records=200)
                if not batch:
                    continue
                started = time.perf_counter()
                alerts: list[Alert] = []
                for tp, records in batch.items():
                    for rec in records:
                        self.metrics.items_in.labels("alerting", "all").inc()
                        try:
                            alerts.append(parse_record(Alert, rec.value))
                        except RecordError as exc:
                            letter = DeadLetter(
                                stage="alerting",
                                reason=exc.reason,
                                origin=f"{tp.topic}/{tp.partition}/{rec.offset}",
                                payload=rec.value.decode("utf-8", "replace"),
                            )
                            self.metrics.deadletters.labels("alerting", "invalid_alert").inc()
                            self.producer.send(
                                self.topics.deadletter,
                                key=letter.key.encode(),
                                value=letter.to_bytes(),
                            )
                self.handle(alerts)
                self.producer.flush()
                consumer.commit()
                self.metrics.items_out.labels("alerting", "all").inc(len(alerts))
                self.metrics.latency.labels("alerting").observe(time.perf_counter() - started)
        finally:
            consumer.close()
