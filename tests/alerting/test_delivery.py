"""Alert delivery on the real broker: at-least-once from the topic, at-most-once to a person.

Alerts are produced to the alerts topic and the delivery worker consumes them, with a webhook
that fails before it recovers; a crash between sending and recording is settled on restart; and a
worker process killed mid-batch (SIGKILL) and restarted neither loses nor repeats a delivery.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence

from kafka import KafkaProducer

from alerting.render import Renderer
from alerting.worker import IN_FLIGHT, AlertDelivery, InFlight, KafkaDeadLetters
from socmon.kafka import ensure_topics
from socmon.records import Alert, DeadLetter, Delivery, parse_record
from socmon.settings import KafkaSettings
from tests.alerting.helpers import (
    Answer,
    WebhookServer,
    make_harness,
    make_settings,
    outbox_rows,
)
from tests.broker import read_topic
from tests.factories import make_post_alert

SECRET = "shared-hmac-secret"


def produce(kafka: KafkaSettings, alerts: list[Alert], raw: Sequence[bytes] = ()) -> None:
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    try:
        for alert in alerts:
            producer.send(kafka.topics.alerts, key=alert.alert_id.encode(), value=alert.to_bytes())
        for value in raw:
            producer.send(kafka.topics.alerts, key=b"bad", value=value)
        producer.flush()
    finally:
        producer.close()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


class Running:
    """The delivery worker's consume loop in a thread, stopped like SIGTERM would."""

    def __init__(self, delivery: AlertDelivery) -> None:
        self.stop = threading.Event()
        self.errors: list[BaseException] = []

        def run() -> None:
            try:
                delivery.run(self.stop)
            except BaseException as exc:  # surfaced by the test, not swallowed
                self.errors.append(exc)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        assert self.errors == []


def sent_pairs(settings) -> Counter[tuple[str, str]]:
    return Counter((row["alert_id"], row["recipient"]) for row in outbox_rows(settings))


def test_each_alert_is_delivered_exactly_once_after_the_webhook_recovers(tmp_path, kafka_settings):
    ensure_topics(kafka_settings)
    alerts = [make_post_alert(post_id=str(i)) for i in range(30)]
    # Duplicates on the topic (a replayed post raises the same alert id) and one broken message.
    produce(kafka_settings, alerts + alerts[:5], raw=[b'{"kind": "concern"}'])
    with WebhookServer([Answer(500), Answer(503), Answer(500)]) as server:
        settings = make_settings(
            tmp_path,
            kafka_settings,
            default_channels=["file", "webhook"],
            webhook={"url": server.url, "secret": SECRET},
        )
        harness = make_harness(
            settings,
            dead_letters=KafkaDeadLetters(
                KafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers),
                kafka_settings.topics.deadletter,
            ),
        )
        worker = Running(harness.delivery)
        try:
            wait_until(lambda: len(sent_pairs(settings)) == 60, 60, "60 outbox deliveries")
            wait_until(
                lambda: len([r for r in server.requests if r.status == 200]) >= 30,
                30,
                "30 accepted webhook posts",
            )
        finally:
            worker.close()
        # A restarted worker: the committed offsets and the recorded deliveries hold.
        again = make_harness(settings)
        worker = Running(again.delivery)
        try:
            produce(kafka_settings, [make_post_alert(post_id="new")])
            wait_until(lambda: len(sent_pairs(settings)) == 62, 60, "the new alert")
            time.sleep(1.0)  # room for a wrong re-delivery to show up
        finally:
            worker.close()
    assert max(sent_pairs(settings).values()) == 1
    accepted = Counter(r.headers["X-Socmon-Delivery"] for r in server.requests if r.status == 200)
    assert len(accepted) == 31
    assert max(accepted.values()) == 1
    assert [r.status for r in server.requests[:3]] == [500, 503, 500]
    sent = sum(d.result == "sent" for a in alerts for d in harness.index.deliveries_for(a.alert_id))
    assert sent == 120  # 30 alerts × 2 recipients × 2 channels
    [letter] = [
        parse_record(DeadLetter, r.value)
        for r in read_topic(kafka_settings.bootstrap_servers, kafka_settings.topics.deadletter, 1)
    ]
    assert letter.stage == "alerting"
    assert letter.origin.startswith(f"{kafka_settings.topics.alerts}/")
    assert "alert_id" in letter.reason


def test_a_send_interrupted_by_a_crash_is_confirmed_from_the_outbox_not_repeated(tmp_path):
    settings = make_settings(tmp_path)
    harness = make_harness(settings)
    alert = make_post_alert()
    recipients = ("maternity@northbrook.nhs.example", "patient-services@northbrook.nhs.example")
    # The crashed process: wrote "in flight", sent to the outbox, died before recording.
    in_flight = InFlight(
        ref=alert.alert_id,
        channel="file",
        recipients=recipients,
        alerts=((alert.alert_id, alert.kind),),
        origin=f"alert/{alert.alert_id}/file",
        payload=alert.model_dump_json(),
    )
    harness.index.put_documents(IN_FLIGHT, [(in_flight.doc_id, in_flight)])
    harness.delivery.channels["file"].send(Renderer(settings).alert(alert), recipients)

    recovered = harness.delivery.recover()
    assert [(d.recipient, d.result) for d in recovered] == [(r, "sent") for r in recipients]
    assert harness.index.get_documents(IN_FLIGHT) == []
    assert harness.delivery.handle([alert]) == []  # the redelivered message tells nobody again
    assert len(outbox_rows(settings)) == 2


def test_a_crash_mid_send_that_the_channel_cannot_confirm_is_held_for_a_person(tmp_path):
    with WebhookServer() as server:
        settings = make_settings(
            tmp_path,
            default_channels=["webhook"],
            webhook={"url": server.url, "secret": SECRET},
        )
        harness = make_harness(settings)
        alert = make_post_alert()
        in_flight = InFlight(
            ref=alert.alert_id,
            channel="webhook",
            recipients=("maternity@northbrook.nhs.example",),
            alerts=((alert.alert_id, alert.kind),),
            origin=f"alert/{alert.alert_id}/webhook",
            payload=alert.model_dump_json(),
        )
        harness.index.put_documents(IN_FLIGHT, [(in_flight.doc_id, in_flight)])
        recovered = harness.delivery.recover()
        assert [(d.result, d.in_doubt) for d in recovered] == [("failed", True)]
        assert recovered[0].detail.startswith("in doubt: the delivery worker stopped")
        assert [d.in_doubt for d in harness.index.deliveries_for(alert.alert_id)] == [True]
        [letter] = harness.dead_letters.letters
        assert "in doubt" in letter.reason
        assert harness.sample("socmon_deliveries_in_doubt_total", {"channel": "webhook"}) == 1
        # The redelivered message: Patient Services is told, the person in doubt is not...
        assert [d.recipient for d in harness.delivery.handle([alert])] == [
            "patient-services@northbrook.nhs.example"
        ]
        # ...also not by a later process; `socmon alerts retry` re-sends on purpose.
        later = make_harness(settings)
        assert later.delivery.handle([alert]) == []
        retried = later.delivery.handle([alert], resend_in_doubt=True)
        assert [(d.recipient, d.result) for d in retried] == [
            ("maternity@northbrook.nhs.example", "sent")
        ]
    assert len(server.requests) == 2


def test_a_delivery_recorded_in_doubt_before_the_in_doubt_field_is_still_held(tmp_path):
    settings = make_settings(tmp_path)
    harness = make_harness(settings)
    alert = make_post_alert()
    held = "maternity@northbrook.nhs.example"
    delivery = Delivery(
        alert_id=alert.alert_id,
        alert_kind=alert.kind,
        recipient=held,
        channel="file",
        result="failed",
        detail="in doubt: the delivery worker stopped while sending; not re-sent "
        "(socmon alerts retry re-sends it)",
    )
    harness.index.record_deliveries([delivery])
    # The row as an older worker wrote it: no `in_doubt` field, only the words of the detail.
    with sqlite3.connect(settings.sqlite_path) as conn:
        conn.execute(
            "UPDATE deliveries SET record = ? WHERE key = ?",
            (delivery.model_dump_json(exclude={"in_doubt"}), delivery.key),
        )
    [stored] = harness.index.deliveries_for(alert.alert_id)
    assert stored.in_doubt is False  # the field's default: the detail is what says it
    assert [d.recipient for d in harness.delivery.handle([alert])] == [
        "patient-services@northbrook.nhs.example"
    ]
    retried = harness.delivery.handle([alert], resend_in_doubt=True)
    assert [(d.recipient, d.result) for d in retried] == [(held, "sent")]


def test_killing_the_delivery_worker_mid_batch_loses_nothing_and_repeats_nothing(
    tmp_path, kafka_settings
):
    ensure_topics(kafka_settings)
    settings = make_settings(tmp_path, kafka_settings)
    alerts = [make_post_alert(post_id=f"k{i}") for i in range(600)]
    produce(kafka_settings, alerts)
    expected = {
        (a.alert_id, r)
        for a in alerts
        for r in ("maternity@northbrook.nhs.example", "patient-services@northbrook.nhs.example")
    }
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"} | {
        "SOCMON_KAFKA__BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "SOCMON_KAFKA__TOPIC_PREFIX": kafka_settings.topic_prefix,
        "SOCMON_KAFKA__SESSION_TIMEOUT_MS": "6000",
        "SOCMON_DATA_DIR": str(tmp_path),
        "SOCMON_METRICS__PORT": "0",
        "SOCMON_ALERTING__CONSOLE": "false",
    }
    argv = [sys.executable, "-m", "socmon_app.cli", "alerting"]
    log = (tmp_path / "alerting.log").open("wb")
    first = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: len(outbox_rows(settings)) >= 150, 90, "the first deliveries")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill = len(outbox_rows(settings))
        assert at_kill < len(expected), "the worker finished before it could be killed"
        second = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(
                lambda: set(sent_pairs(settings)) >= expected, 120, "every delivery after restart"
            )
            time.sleep(1.0)  # room for a repeated delivery to show up
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0
    finally:
        if first.poll() is None:
            first.kill()
        log.close()
    counts = sent_pairs(settings)
    assert set(counts) == expected  # nothing lost
    assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1][:5]  # none twice
    text = (tmp_path / "alerting.log").read_text()
    assert "Traceback" not in text
    print(f"killed after {at_kill} of {len(expected)} deliveries")
