"""Hands the alerts a person's correction raises to alert delivery, over the alerts topic.

The dashboard raises alerts when a person escalates a post the classifier did not find urgent
(the urgent alert, as routing would have raised it) and when they withdraw or move a concern a
department was told of (a ``withdrawn`` notice); `dashboards.web.feedback.record_correction`
decides which. They are produced to ``kafka.topics.alerts`` like the pipeline's, so alert
delivery routes them, tells each person once and records it. `KafkaAlertOutbox` is built once
where the dashboard app is built, and passed to `record_correction`.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError

from socmon.kafka import make_producer
from socmon.records import Alert
from socmon.settings import Settings

log = logging.getLogger(__name__)

CONNECT_SECONDS = 2.0
"""How long the broker may take to accept a connection before it counts as down: a person is
waiting on the page (the producer itself would wait 30 s to bootstrap)."""
SEND_SECONDS = 10.0
"""How long the broker may take to acknowledge the alerts."""


class AlertsNotSent(Exception):
    """The alerts could not be handed to alert delivery; the message says why, for a person."""


class AlertOutbox(Protocol):
    """Where the dashboard hands the alerts a correction raises (`KafkaAlertOutbox`)."""

    @property
    def department_names(self) -> Mapping[str, str]:
        """Department id -> name, for the words of the alerts."""

    def send(self, alerts: Sequence[Alert]) -> None:
        """Hand `alerts` to alert delivery, acknowledged; raise `AlertsNotSent` if not."""


class KafkaAlertOutbox:
    """Produces alerts to the alerts topic, keyed by alert id as routing does.

    The producer is made on the first send (the broker may start after the dashboard) and
    dropped after a failure, so the next send starts afresh. Thread-safe: the dashboard saves
    corrections from a pool of threads. A broker that does not accept a connection within
    `CONNECT_SECONDS` fails the send at once, instead of keeping a person waiting.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        producer_factory: Callable[[str], KafkaProducer] = make_producer,
        connect_seconds: float = CONNECT_SECONDS,
        send_seconds: float = SEND_SECONDS,
    ) -> None:
        self.bootstrap = settings.kafka.bootstrap_servers
        self.topic = settings.kafka.topics.alerts
        self._names = {d.id: d.name for d in settings.departments}
        self._producer_factory = producer_factory
        self._connect_seconds = connect_seconds
        self._send_seconds = send_seconds
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    @property
    def department_names(self) -> Mapping[str, str]:
        return self._names

    def send(self, alerts: Sequence[Alert]) -> None:
        if not alerts:
            return
        with self._lock:
            try:
                self._check_reachable()
                if self._producer is None:
                    self._producer = self._producer_factory(self.bootstrap)
                futures = [
                    self._producer.send(
                        self.topic, key=alert.alert_id.encode(), value=alert.to_bytes()
                    )
                    for alert in alerts
                ]
                for future in futures:
                    future.get(timeout=self._send_seconds)
            except (KafkaError, OSError) as exc:
                self._drop_producer()
                reason = _reason(exc)
                log.warning(
                    "alerts not handed to delivery topic=%s bootstrap=%s alerts=%s: %s",
                    self.topic,
                    self.bootstrap,
                    ",".join(a.alert_id for a in alerts),
                    reason,
                )
                msg = f"the Kafka broker at {self.bootstrap} {reason}"
                raise AlertsNotSent(msg) from exc
        log.info(
            "alerts handed to delivery topic=%s alerts=%s",
            self.topic,
            ",".join(a.alert_id for a in alerts),
        )

    def close(self) -> None:
        """Close the producer (at shutdown); a later send makes a new one."""
        with self._lock:
            self._drop_producer()

    def _check_reachable(self) -> None:
        """Raise OSError unless one of the bootstrap servers accepts a connection."""
        last: OSError | None = None
        for server in self.bootstrap.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                with socket.create_connection(
                    (host.strip("[]"), int(port)), timeout=self._connect_seconds
                ):
                    return
            except ValueError as exc:
                last = OSError(f"is not a host:port address ({exc})")
            except OSError as exc:
                last = exc
        raise last or OSError("has no address")

    def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=self._connect_seconds)
            except KafkaError as exc:
                log.warning("could not close the alerts producer cleanly: %s", exc)


def _reason(exc: BaseException) -> str:
    """Why the broker did not take the alerts, as the end of a sentence about it."""
    if isinstance(exc, OSError):
        detail = exc.strerror or str(exc) or type(exc).__name__
        return f"cannot be reached ({detail})"
    return f"did not take the alerts ({exc or type(exc).__name__})"
