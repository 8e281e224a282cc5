"""A person's correction reaches people through the real alert delivery.

The dashboard's `KafkaAlertOutbox` produces to the alerts topic of the embedded broker; the
delivery worker (as `socmon up` runs it) routes, writes the file channel's outbox once per person
and records the deliveries, which the dashboard reads to know whom a concern reached.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from alerting.routing import route_alert
from dashboards.web.escalation import KafkaAlertOutbox
from dashboards.web.feedback import CORRECTIONS, record_correction
from socmon.index.sqlite import SqliteIndex
from socmon.kafka import ensure_topics
from socmon.records import Alert, EnrichedPost, parse_record
from socmon.settings import KafkaSettings, Settings
from stream_processors.alert_rules import alerts_for
from tests.alerting.helpers import make_harness, make_settings, outbox_rows
from tests.alerting.test_delivery import Running, produce, wait_until
from tests.broker import read_topic
from tests.factories import make_post
from tests.servers import free_port

PS = "patient-services@northbrook.nhs.example"
MATERNITY = "maternity@northbrook.nhs.example"
TEXT = "The midwife ignored my wife for three hours and now she is bleeding heavily"


@dataclass
class Pipeline:
    """The dashboard's side (an index of its own on the same file, the outbox) and the
    delivery worker's, which runs once `start` is called."""

    settings: Settings
    index: SqliteIndex
    outbox: KafkaAlertOutbox
    worker: Running | None = None

    def start(self) -> None:
        self.worker = Running(make_harness(self.settings).delivery)

    def rows(self, alert_id: str) -> list[dict]:
        return [row for row in outbox_rows(self.settings) if row["alert_id"] == alert_id]

    def on_topic(self, alert_id: str, least: int) -> list[Alert]:
        topic = self.settings.kafka.topics.alerts
        records = read_topic(self.settings.kafka.bootstrap_servers, topic, 100, timeout=3)
        alerts = [parse_record(Alert, r.value) for r in records]
        found = [a for a in alerts if a.alert_id == alert_id]
        assert len(found) >= least
        return found


@pytest.fixture
def pipeline(tmp_path: Path, kafka_settings: KafkaSettings) -> Iterator[Pipeline]:
    ensure_topics(kafka_settings)
    settings = make_settings(tmp_path, kafka_settings)  # the bundled routes; the file channel
    index = SqliteIndex(settings.sqlite_path)
    index.setup()
    running = Pipeline(settings, index, KafkaAlertOutbox(settings))
    try:
        yield running
    finally:
        if running.worker is not None:
            running.worker.close()
        running.outbox.close()
        index.close()


def concern(post_id: str) -> EnrichedPost:
    return make_post(
        post_id, text=TEXT, author="new_dad", sentiment="concern", departments=("maternity",)
    )


def wait_for_rows(pipeline: Pipeline, alert_id: str, count: int) -> list[dict]:
    wait_until(
        lambda: len(pipeline.rows(alert_id)) >= count, 60, f"{count} deliveries of {alert_id}"
    )
    time.sleep(1.5)  # room for a second delivery to show up, if there were one
    return pipeline.rows(alert_id)


def test_an_escalation_is_delivered_now_and_once_even_when_escalated_twice(
    pipeline: Pipeline,
) -> None:
    missed = concern("e1")  # the classifier did not find it urgent
    pipeline.index.upsert_posts([missed])
    first = record_correction(
        pipeline.index, missed, corrected_by="alice", urgent=True, outbox=pipeline.outbox
    )
    stored = pipeline.index.get_post(missed.key)
    assert stored is not None
    second = record_correction(
        pipeline.index, stored, corrected_by="bob", urgent=True, outbox=pipeline.outbox
    )
    assert (first.alert_error, second.alert_error) == (None, None)
    assert first.correction is not None
    assert second.correction is None  # the second changed nothing, but handed the alert over
    alert_id = f"urgent:{missed.key}"
    produced = pipeline.on_topic(alert_id, least=2)
    [routed] = [a for a in alerts_for(stored) if a.kind == "urgent"]
    for alert in produced:
        assert alert.model_dump(exclude={"created_at"}) == routed.model_dump(exclude={"created_at"})

    pipeline.start()
    expected = {t.recipient for t in route_alert(routed, pipeline.settings).now()}
    assert expected >= {MATERNITY, PS, "comms-on-call@northbrook.nhs.example"}
    rows = wait_for_rows(pipeline, alert_id, len(expected))
    assert Counter(row["recipient"] for row in rows) == Counter(expected)
    assert rows[0]["subject"].startswith("[Urgent] Urgent post from twitter @new_dad: The midwife")
    sent = [d for d in pipeline.index.deliveries_for(alert_id) if d.result == "sent"]
    assert sorted(d.recipient for d in sent) == sorted(expected)
    # delivered: a third escalation hands nothing over
    third = record_correction(
        pipeline.index, stored, corrected_by="carol", urgent=True, outbox=pipeline.outbox
    )
    assert (third.alerts, third.alert_error) == ((), None)


def test_a_withdrawn_concern_is_noticed_once_by_the_department_told(pipeline: Pipeline) -> None:
    post = concern("w1")
    pipeline.index.upsert_posts([post])
    produce(pipeline.settings.kafka, [a for a in alerts_for(post) if a.kind == "concern"])
    pipeline.start()
    told = wait_for_rows(pipeline, f"concern:{post.key}", 2)
    assert sorted(row["recipient"] for row in told) == [MATERNITY, PS]

    outcome = record_correction(
        pipeline.index, post, corrected_by="alice", sentiment="neutral", outbox=pipeline.outbox
    )
    assert outcome.alert_error is None
    notice_id = f"withdrawn:{post.key}"
    assert [a.alert_id for a in outcome.alerts] == [notice_id]
    rows = wait_for_rows(pipeline, notice_id, 2)
    assert sorted(row["recipient"] for row in rows) == [MATERNITY, PS]
    assert rows[0]["kind"] == "withdrawn"
    assert rows[0]["subject"] == (
        '[Withdrawn] The concern about the post from twitter @new_dad ("The midwife ignored my '
        'wife for three hours and now she is …") was withdrawn by alice'
    )
    assert "Department: Maternity" in rows[0]["text"]

    stored = pipeline.index.get_post(post.key)
    assert stored is not None
    again = record_correction(
        pipeline.index, stored, corrected_by="alice", sentiment="neutral", outbox=pipeline.outbox
    )
    assert (again.correction, again.alerts, again.alert_error) == (None, (), None)
    assert len(pipeline.on_topic(notice_id, least=1)) == 1  # produced once
    time.sleep(1.0)
    assert len(pipeline.rows(notice_id)) == 2


def test_a_moved_concern_tells_the_department_told_where_it_went(pipeline: Pipeline) -> None:
    post = concern("m1")
    pipeline.index.upsert_posts([post])
    produce(pipeline.settings.kafka, [a for a in alerts_for(post) if a.kind == "concern"])
    pipeline.start()
    wait_for_rows(pipeline, f"concern:{post.key}", 2)
    outcome = record_correction(
        pipeline.index,
        post,
        corrected_by="bob",
        departments=["outpatients"],
        outbox=pipeline.outbox,
    )
    [notice] = outcome.alerts
    assert notice.alert_id == f"withdrawn:{post.key}>outpatients"
    assert notice.departments == ("maternity",)
    rows = wait_for_rows(pipeline, notice.alert_id, 2)
    assert sorted(row["recipient"] for row in rows) == [MATERNITY, PS]
    assert rows[0]["subject"].endswith(
        "was moved from Maternity to Outpatients and appointments by bob"
    )


def test_a_broker_that_is_down_is_said_plainly_and_the_correction_is_kept(
    tmp_path: Path,
) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    settings = make_settings(tmp_path, KafkaSettings(bootstrap_servers=address))
    index = SqliteIndex(settings.sqlite_path)
    index.setup()
    outbox = KafkaAlertOutbox(settings)
    try:
        post = concern("d1")
        index.upsert_posts([post])
        started = time.monotonic()
        outcome = record_correction(index, post, corrected_by="alice", urgent=True, outbox=outbox)
        assert time.monotonic() - started < 5  # a person is waiting on the page
        assert outcome.correction is not None
        assert [c.urgent for c in index.get_documents(CORRECTIONS)] == [True]
        stored = index.get_post(post.key)
        assert stored is not None
        assert stored.classification.urgent is True
        assert outcome.alert_error is not None
        assert outcome.alert_error.startswith(
            "The correction is saved, but the urgent alert could not be sent: the Kafka broker "
            f"at {address} cannot be reached (Connection refused)."
        )
        assert "Save the same correction again" in outcome.alert_error
    finally:
        outbox.close()
        index.close()
