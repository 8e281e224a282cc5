"""Alert delivery: consume `socmon.alerts`, route, deliver each person once, record it, commit.

At-least-once from the topic, at-most-once to a person:

- every (alert, recipient, channel) that succeeded is recorded in the index before the offsets
  are committed, and is never sent again, whether the message comes back after a restart, a
  rebalance, or twice in one batch;
- a group send is written down as "in flight" before it starts and cleared once its deliveries
  are recorded. After a crash, the channel is asked which of the in-flight deliveries went out
  (the outbox file can tell); where it cannot tell (SMTP, webhooks) the delivery is recorded as in
  doubt and dead-lettered for a person to re-send with `socmon alerts retry`, never re-sent
  silently;
- what still fails after the bounded retries goes to the dead-letter topic with the reason.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Literal, Protocol

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import CommitFailedError, KafkaError
from pydantic import AwareDatetime, Field

from alerting.channels import Channel, ConsoleChannel
from alerting.digest import DigestScheduler
from alerting.dispatch import CircuitBreaker, Dispatcher, SendResult
from alerting.render import Message, Renderer, TemplateProblem
from alerting.routing import RoutingDecision, route_alert
from socmon.deadletters import dead_letter
from socmon.index.port import Collection, Index, IndexUnavailable
from socmon.metrics import AlertingMetrics, Metrics
from socmon.records import (
    Alert,
    AlertKind,
    DeadLetter,
    Delivery,
    Record,
    RecordError,
    parse_record,
    utcnow,
)
from socmon.redact import Redactor
from socmon.register import RegisterCache
from socmon.settings import Settings
from socmon.topics import ALERTING_GROUP

log = logging.getLogger(__name__)

GROUP_ID = ALERTING_GROUP
# How long a commit or a flush of the dead letters may wait for the broker:
# without a bound, a stop (SIGTERM) while the broker is away would hang.
COMMIT_TIMEOUT_MS = 5_000
# An unreachable index is retried with backoff between these bounds, the batch held meanwhile.
INDEX_RETRY_FIRST_SECONDS = 1.0
INDEX_RETRY_MAX_SECONDS = 30.0
IN_DOUBT = "in doubt: the delivery worker stopped while sending"

AlertRef = tuple[str, AlertKind]
"""What a delivery record names of its alert: (alert id, alert kind)."""


def alert_origin(alert_id: str, channel: str | None = None) -> str:
    """Where a dead letter of an alert's delivery comes from (``alert/<id>[/<channel>]``); its
    payload is the alert, which `socmon alerts retry` re-sends."""
    return f"alert/{alert_id}" + (f"/{channel}" if channel is not None else "")


def is_alert_origin(origin: str) -> bool:
    """Whether a dead letter came from `alert_origin` (not a digest, not an unparsed message).

    A test of the origin's form, not of a typed field: `socmon.records.DeadLetter` is shared by
    every stage and has none for it, so the form is written and read here only."""
    return origin.startswith("alert/")


class InFlight(Record):
    """A group send that has started; cleared once its deliveries are recorded."""

    ref: str
    channel: str
    recipients: tuple[str, ...]
    alerts: tuple[AlertRef, ...]
    origin: str
    payload: str
    started_at: AwareDatetime = Field(default_factory=utcnow)

    @property
    def doc_id(self) -> str:
        who = hashlib.sha256("\n".join(self.recipients).encode()).hexdigest()[:16]
        return f"{self.ref}|{self.channel}|{who}"


IN_FLIGHT = Collection("alerting.in_flight", InFlight)


class DeadLetterSink(Protocol):
    """Where failed deliveries go: the dead-letter topic (the worker) or the index (the CLI)."""

    def send(self, letter: DeadLetter) -> None: ...

    def flush(self) -> None: ...


class KafkaDeadLetters:
    """Produces dead letters to the dead-letter topic; `flush` before committing offsets."""

    def __init__(self, producer: KafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic

    def send(self, letter: DeadLetter) -> None:
        self.producer.send(self.topic, key=letter.key.encode(), value=letter.to_bytes())

    def flush(self) -> None:
        """KafkaTimeoutError if the broker does not take them in time (they stay buffered)."""
        self.producer.flush(timeout=COMMIT_TIMEOUT_MS / 1000)


class IndexDeadLetters:
    """Records dead letters straight into the index (what the dead-letter consumer would do)."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def send(self, letter: DeadLetter) -> None:
        self.index.record_deadletters([letter])

    def flush(self) -> None:
        pass


class AlertDelivery:
    """Delivers alerts and digests through the configured channels; every outcome is recorded."""

    def __init__(
        self,
        settings: Settings,
        index: Index,
        channels: Mapping[str, Channel],
        dead_letters: DeadLetterSink,
        metrics: Metrics,
        alerting_metrics: AlertingMetrics,
        *,
        console: ConsoleChannel | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        max_records: int = 50,
        register: RegisterCache | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        # Owners change with `socmon accounts owner` while this runs: routing re-reads them.
        self.register = (
            register
            if register is not None
            else RegisterCache(settings.accounts, index, monotonic=monotonic)
        )
        self.channels = dict(channels)
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.alerting_metrics = alerting_metrics
        self.console = console
        self.renderer = Renderer(settings)
        self.max_records = max_records
        # alert id -> keys of its deliveries this process found in doubt after a crash
        self.in_doubt: dict[str, set[str]] = defaultdict(set)

        def circuit(channel: str, is_open: bool) -> None:
            alerting_metrics.circuit_open.labels(channel).set(1 if is_open else 0)

        retry = settings.alerting.retry
        # A server may echo a webhook URL or a credential in its error: the reasons of failures
        # (deliveries' details, dead letters' reasons) carry no secret of the settings.
        redactor = Redactor.from_settings(settings)
        self.dispatchers = {
            name: Dispatcher(
                channel,
                retry,
                CircuitBreaker(name, settings.alerting.circuit_breaker, monotonic, circuit),
                alerting_metrics,
                sleep,
                redactor,
            )
            for name, channel in self.channels.items()
        }

    # -- what was told already ----------------------------------------------------------------

    def settled(self, alert_id: str, resend_in_doubt: bool = False) -> set[str]:
        """Delivery keys of `alert_id` not to send again: sent, or in doubt after a crash."""
        keys = set()
        for d in self.index.deliveries_for(alert_id):
            if d.result == "sent" or (not resend_in_doubt and _in_doubt(d)):
                keys.add(d.key)
        if not resend_in_doubt:
            keys |= self.in_doubt.get(alert_id, set())
        return keys

    def digest_scheduler(self, clock: Callable[[], datetime] = utcnow) -> DigestScheduler:
        """The daily digests, sent through this delivery (`run` ticks it)."""
        return DigestScheduler(
            self,
            settings=self.settings.alerting.digest,
            index=self.index,
            renderer=self.renderer,
            metrics=self.alerting_metrics,
            clock=clock,
        )

    # -- alerts ---------------------------------------------------------------------------------

    def route(self, alert: Alert) -> RoutingDecision:
        """Who is told about `alert`, by the register in effect (recorded changes included)."""
        return route_alert(alert, self.settings, self.register.current())

    def handle(self, alerts: Sequence[Alert], resend_in_doubt: bool = False) -> list[Delivery]:
        """Deliver a batch of alerts now (digest-timed targets wait for the digest)."""
        self.index.record_alerts(alerts)
        deliveries: list[Delivery] = []
        # After a worker restart the same alert can come twice, even within one batch.
        seen: set[str] = set()
        for alert in alerts:
            decision = self.route(alert)
            settled = self.settled(alert.alert_id, resend_in_doubt)
            groups: dict[str, list[str]] = defaultdict(list)
            for target in decision.now():
                key = Delivery.make_key(alert.alert_id, target.recipient, target.channel)
                if key in seen or key in settled:
                    continue  # this person was told already on this channel
                seen.add(key)
                groups[target.channel].append(target.recipient)
            if not groups:
                continue
            if decision.unrouted:
                self.alerting_metrics.unrouted.labels(alert.kind).inc()
            try:
                message = self.renderer.alert(alert)
            except TemplateProblem as exc:
                deliveries += self._unrenderable(alert, groups, str(exc))
                continue
            for channel, recipients in groups.items():
                deliveries += self.deliver_group(
                    message,
                    channel,
                    recipients,
                    [alert],
                    origin=alert_origin(alert.alert_id, channel),
                    payload=alert.model_dump_json(),
                )
        return deliveries

    def _unrenderable(
        self, alert: Alert, groups: Mapping[str, list[str]], reason: str
    ) -> list[Delivery]:
        failed = [
            _delivery((alert.alert_id, alert.kind), recipient, channel, "failed", reason)
            for channel, recipients in groups.items()
            for recipient in recipients
        ]
        self.index.record_deliveries(failed)
        self._dead_letter(alert_origin(alert.alert_id), alert.model_dump_json(), reason)
        return failed

    # -- one group ------------------------------------------------------------------------------

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
    ) -> list[Delivery]:
        """Send one message to a group on one channel; record each (alert, recipient) outcome."""
        refs: tuple[AlertRef, ...] = tuple((a.alert_id, a.kind) for a in alerts)
        dispatcher = self.dispatchers.get(channel)
        if dispatcher is None:
            result = SendResult(
                failed={r: f"channel {channel} is not configured" for r in recipients}
            )
        else:
            in_flight = InFlight(
                ref=message.ref,
                channel=channel,
                recipients=tuple(recipients),
                alerts=refs,
                origin=origin,
                payload=payload,
            )
            self.index.put_documents(IN_FLIGHT, [(in_flight.doc_id, in_flight)])
            result = dispatcher.send(message, recipients)
        deliveries = [
            _delivery(ref, recipient, channel, "sent", detail)
            for recipient in result.sent
            for ref in refs
        ] + [
            _delivery(ref, recipient, channel, "failed", reason)
            for recipient, reason in result.failed.items()
            for ref in refs
        ]
        self.index.record_deliveries(deliveries)
        if dispatcher is not None:
            self.index.delete_documents(IN_FLIGHT, [in_flight.doc_id])
        if result.sent:
            self.metrics.deliveries.labels(channel, "sent").inc(len(result.sent))
            if self.console is not None:
                self.console.show(message, result.sent)
        if result.failed:
            self.metrics.deliveries.labels(channel, "failed").inc(len(result.failed))
            by_reason: dict[str, list[str]] = defaultdict(list)
            for recipient, reason in result.failed.items():
                by_reason[reason].append(recipient)
            for reason, who in by_reason.items():
                log.warning("channel=%s ref=%s delivery failed: %s", channel, message.ref, reason)
                self._dead_letter(
                    origin, payload, f"{channel} delivery to {', '.join(who)} failed: {reason}"
                )
        return deliveries

    def _dead_letter(self, origin: str, payload: str, reason: str) -> None:
        letter = dead_letter("alerting", origin, payload, reason)
        self.metrics.deadletters.labels("alerting", "delivery_failed").inc()
        self.dead_letters.send(letter)

    # -- after a crash --------------------------------------------------------------------------

    def recover(self) -> list[Delivery]:
        """Settle the group sends a crash interrupted (call before consuming)."""
        recorded: list[Delivery] = []
        for in_flight in self.index.get_documents(IN_FLIGHT):
            # delivery key -> (alert, recipient): each delivery the interrupted send was for
            keys: dict[str, tuple[AlertRef, str]] = {
                Delivery.make_key(alert_id, recipient, in_flight.channel): (
                    (alert_id, kind),
                    recipient,
                )
                for alert_id, kind in in_flight.alerts
                for recipient in in_flight.recipients
            }
            open_keys = {k for k in keys if not self.index.was_delivered(k)}
            channel = self.channels.get(in_flight.channel)
            confirmed = channel.confirm(open_keys) if channel is not None and open_keys else set()
            outcome: list[Delivery] = []
            if confirmed is None:
                self.alerting_metrics.in_doubt.labels(in_flight.channel).inc(len(open_keys))
                detail = f"{IN_DOUBT}; not re-sent (socmon alerts retry re-sends it)"
                outcome += [
                    _delivery(ref, recipient, in_flight.channel, "failed", detail, in_doubt=True)
                    for ref, recipient in (keys[k] for k in sorted(open_keys))
                ]
                for d in outcome:
                    self.in_doubt[d.alert_id].add(d.key)
                if outcome:
                    who = sorted({d.recipient for d in outcome})
                    self._dead_letter(
                        in_flight.origin,
                        in_flight.payload,
                        f"{in_flight.channel} delivery to {', '.join(who)} {IN_DOUBT}",
                    )
            else:
                detail = "confirmed by the channel after a restart"
                outcome += [
                    _delivery(ref, recipient, in_flight.channel, "sent", detail)
                    for ref, recipient in (keys[k] for k in sorted(confirmed))
                ]
                # The rest never went out: the redelivered message sends them.
            if outcome:
                self.index.record_deliveries(outcome)
                recorded += outcome
            self.index.delete_documents(IN_FLIGHT, [in_flight.doc_id])
            log.warning(
                "recovered an interrupted send ref=%s channel=%s: %d confirmed, %d in doubt",
                in_flight.ref,
                in_flight.channel,
                sum(1 for d in outcome if d.result == "sent"),
                sum(1 for d in outcome if d.in_doubt),
            )
        self.dead_letters.flush()
        return recorded

    # -- the consume loop -----------------------------------------------------------------------

    def run(self, stop: threading.Event, digests: DigestScheduler | None = None) -> None:
        """Consume and deliver until `stop` is set; send the digests when they are due."""
        topics = self.settings.kafka.topics
        self.recover()
        consumer = KafkaConsumer(
            topics.alerts,
            bootstrap_servers=self.settings.kafka.bootstrap_servers,
            group_id=GROUP_ID,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.settings.kafka.session_timeout_ms,
            heartbeat_interval_ms=max(1000, self.settings.kafka.session_timeout_ms // 6),
        )
        try:
            while not stop.is_set():
                if digests is not None:
                    try:
                        digests.tick()
                        self.dead_letters.flush()
                    except IndexUnavailable as exc:
                        log.warning("digests wait: the index is unavailable (%s)", exc)
                    except KafkaError as exc:
                        log.warning("the broker did not take the dead letters yet (%s)", exc)
                batch = consumer.poll(timeout_ms=500, max_records=self.max_records)
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
                            self.metrics.deadletters.labels("alerting", "invalid_alert").inc()
                            self.dead_letters.send(
                                dead_letter(
                                    "alerting",
                                    f"{tp.topic}/{tp.partition}/{rec.offset}",
                                    rec.value,
                                    exc.reason,
                                )
                            )
                if not self._handle_patiently(alerts, stop):
                    break  # stopped while the index was away: not committed, comes again
                try:
                    self.dead_letters.flush()
                    consumer.commit(timeout_ms=COMMIT_TIMEOUT_MS)
                except CommitFailedError as exc:
                    # The partitions moved to another worker, which gets these messages again;
                    # the recorded deliveries keep it from telling anyone twice.
                    log.warning("commit failed after a rebalance: %s", exc)
                except KafkaError as exc:
                    # The broker is away (a timeout, a refused connection): not committed, so
                    # the batch comes again, and the recorded deliveries keep anyone from being
                    # told twice. Bounded, so a stop (SIGTERM) never hangs here.
                    log.warning(
                        "the broker did not take the commit (%s); the batch will be read again "
                        "(nobody is told twice)",
                        exc,
                    )
                self.metrics.items_out.labels("alerting", "all").inc(len(alerts))
                self.metrics.latency.labels("alerting").observe(time.perf_counter() - started)
        finally:
            try:
                # bounded by the consumer's request timeout (30 s) even without a broker
                consumer.close()
            except KafkaError as exc:  # leaving the group of a broker that is gone
                log.warning("could not leave the consumer group cleanly: %s", exc)

    def _handle_patiently(self, alerts: Sequence[Alert], stop: threading.Event) -> bool:
        """`handle` the batch, waiting out an index that cannot be reached (a lock held by a
        backup, Elasticsearch restarting) with backoff instead of exiting. Before each retry the
        sends the failure interrupted are settled (`recover`), so nobody is told twice. False if
        `stop` came first (the batch is then not committed)."""
        delay = INDEX_RETRY_FIRST_SECONDS
        retrying = False
        while True:
            try:
                if retrying:
                    self.recover()
                self.handle(alerts)
                return True
            except IndexUnavailable as exc:
                log.warning(
                    "the index is unavailable (%s); alerts held, retrying in %.0f s", exc, delay
                )
            retrying = True
            if stop.wait(delay):
                return False
            delay = min(delay * 2, INDEX_RETRY_MAX_SECONDS)


def _delivery(
    alert: AlertRef,
    recipient: str,
    channel: str,
    result: Literal["sent", "failed"],
    detail: str = "",
    *,
    in_doubt: bool = False,
) -> Delivery:
    """The record of one outcome for one alert, recipient and channel (every one is made here)."""
    alert_id, kind = alert
    return Delivery(
        alert_id=alert_id,
        alert_kind=kind,
        recipient=recipient,
        channel=channel,
        result=result,
        detail=detail,
        in_doubt=in_doubt,
    )


def _in_doubt(delivery: Delivery) -> bool:
    """Whether `delivery` was left in doubt by a crash (not to be re-sent unless asked)."""
    if "in_doubt" in delivery.model_fields_set:
        return delivery.in_doubt
    # Recorded before `Delivery.in_doubt` existed: then only the detail said so.
    return delivery.detail.startswith(IN_DOUBT)
