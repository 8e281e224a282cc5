"""The governance flow on the real embedded broker (Tansu) and a real SQLite index, with a clock
the test controls: the Faust timer in a real worker app, `socmon accounts ...` as a user runs it,
and the route agent raising ``unregistered_account``."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import faust
import pytest
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from socmon.index.sqlite import SqliteIndex
from socmon.kafka import ensure_topics, make_producer
from socmon.metrics import Metrics
from socmon.records import Alert, parse_record
from socmon.settings import KafkaSettings, Settings, load_settings
from socmon_app.cli import app as socmon_app
from stream_processors.app import create_app
from stream_processors.governance.job import sweep_runs
from stream_processors.governance.requests import account_requests
from stream_processors.governance.sweep import ESCALATED_SUFFIX
from stream_processors.governance.timer import install_sweep_timer
from tests.broker import read_topic
from tests.stream_processors.governance.helpers import (
    SWEEP_AT,
    Clock,
    mention,
    official_post,
)

pytestmark = pytest.mark.slow

ACCOUNTS = """\
accounts:
  - platform: twitter
    handle: NorthbrookNHS
    team: Communications
    owner: Priya Shah
    line_manager: Director of Communications
    last_review: 2026-09-15
  - platform: twitter
    handle: NorthbrookMaternity
    team: Maternity
    owner: Grace Okafor
    line_manager: Head of Midwifery
    last_review: 2026-09-15
"""


def write_config(tmp_path: Path, kafka: KafkaSettings, extra: str = "") -> Path:
    config = tmp_path / "socmon.yaml"
    config.write_text(
        f"data_dir: {tmp_path}\n"
        f"kafka:\n  bootstrap_servers: {kafka.bootstrap_servers}\n"
        f"  topic_prefix: {kafka.topic_prefix}\n  partitions: {kafka.partitions}\n"
        f"  session_timeout_ms: {kafka.session_timeout_ms}\n"
        "organisation:\n  name: Northbrook Hospitals NHS Foundation Trust\n"
        "governance:\n  name_patterns: [Northbrook NHS]\n" + ACCOUNTS + extra
    )
    return config


def index_posts(tmp_path: Path, *posts) -> None:
    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    try:
        index.upsert_posts(list(posts))
    finally:
        index.close()


def alerts_on_topic(kafka: KafkaSettings, at_least: int = 1, timeout: float = 4) -> list[Alert]:
    """Everything on the alerts topic; waits up to `timeout` for more than `at_least` so a
    duplicate arriving late would be seen."""
    records = read_topic(kafka.bootstrap_servers, kafka.topics.alerts, at_least + 1, timeout)
    return [parse_record(Alert, r.value) for r in records]


def socmon(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(socmon_app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


async def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def worker_app(settings: Settings) -> faust.App:
    """A Faust app configured as the stream worker's, with a group of its own."""
    return faust.App(
        f"socmon-governance-{uuid.uuid4().hex[:8]}",
        broker=f"kafka://{settings.kafka.bootstrap_servers}",
        processing_guarantee="at_least_once",
        store="memory://",
        web_enabled=False,
        topic_partitions=settings.kafka.partitions,
        broker_session_timeout=settings.kafka.session_timeout_ms / 1000,
        broker_heartbeat_interval=1.0,
        consumer_auto_offset_reset="earliest",
    )


def test_the_worker_timer_sweeps_once_at_monday_nine_and_a_new_post_clears_the_account(
    kafka_settings, tmp_path
):
    settings = load_settings(write_config(tmp_path, kafka_settings))
    ensure_topics(kafka_settings)
    index_posts(
        tmp_path,
        official_post("NorthbrookNHS", SWEEP_AT - timedelta(days=2)),
        official_post("NorthbrookMaternity", SWEEP_AT - timedelta(days=8)),
    )
    clock = Clock(SWEEP_AT - timedelta(minutes=30))  # Monday 08:30 in London
    index = SqliteIndex(tmp_path / "socmon.db")
    app = worker_app(settings)
    topic = app.topic(
        kafka_settings.topics.alerts, key_type=bytes, value_type=bytes, value_serializer="raw"
    )
    metrics = Metrics.create(CollectorRegistry())
    install_sweep_timer(app, settings, index, topic, metrics, clock=clock, interval=0.1)

    def timer_runs() -> int:
        return len(sweep_runs(index, "timer"))

    async def a_week_of_ticks() -> None:
        await app.start()
        try:
            await wait_for(app.is_leader, 30, "the worker to lead its group")
            await asyncio.sleep(1.0)  # ten ticks before nine o'clock: no sweep
            assert timer_runs() == 0
            clock.now = SWEEP_AT + timedelta(seconds=20)
            await wait_for(lambda: timer_runs() == 1, 20, "the Monday sweep")
            await asyncio.sleep(1.0)  # ten more ticks the same morning: no second sweep
            assert timer_runs() == 1
            # The quiet account posts on Wednesday; the next Monday's sweep finds nothing.
            index.upsert_posts([official_post("NorthbrookMaternity", SWEEP_AT + timedelta(days=2))])
            index.upsert_posts([official_post("NorthbrookNHS", SWEEP_AT + timedelta(days=5))])
            clock.now = SWEEP_AT + timedelta(days=7, hours=1, seconds=5)  # 09:00 GMT
            await wait_for(lambda: timer_runs() == 2, 20, "the next Monday's sweep")
        finally:
            await app.stop()

    try:
        asyncio.run(a_week_of_ticks())
        runs = sweep_runs(index, "timer")
    finally:
        index.close()
    alerts = alerts_on_topic(kafka_settings)
    assert [(a.kind, a.alert_id) for a in alerts] == [
        ("inactive_account", "inactive_account:twitter:northbrookmaternity:2026-10-19")
    ]
    assert "8 days" in alerts[0].summary
    assert [(r.sweep_date.isoformat(), r.alerts) for r in runs] == [
        ("2026-10-19", 1),
        ("2026-10-26", 0),
    ]
    assert metrics.alerts.labels("inactive_account")._value.get() == 1


def test_the_stream_worker_registers_the_sweep_timer(kafka_settings, tmp_path):
    settings = load_settings(write_config(tmp_path, kafka_settings))
    index = SqliteIndex(tmp_path / "socmon.db")
    try:
        app = create_app(settings, index, Metrics.create(CollectorRegistry()))
        names = [getattr(task, "__name__", "") for task in app._app_tasks]
    finally:
        index.close()
    assert "weekly_account_sweep" in names


def test_quiet_for_fifteen_days_the_sweep_adds_the_line_manager(kafka_settings, tmp_path):
    config = write_config(tmp_path, kafka_settings)
    index_posts(
        tmp_path,
        official_post("NorthbrookNHS", SWEEP_AT - timedelta(days=1)),
        official_post("NorthbrookMaternity", SWEEP_AT - timedelta(days=15)),
    )
    code, out, err = socmon(
        "accounts", "sweep", "--config", str(config), "--now", "2026-10-19T09:00:00+01:00"
    )
    assert code == 0, err
    assert "1 alert(s) sent" in out
    alerts = alerts_on_topic(kafka_settings)
    assert [a.alert_id for a in alerts] == [
        "inactive_account:twitter:northbrookmaternity:2026-10-19" + ESCALATED_SUFFIX
    ]
    assert "escalated to Head of Midwifery" in alerts[0].summary


def test_sweeping_again_from_the_command_line_raises_the_same_alert_ids(kafka_settings, tmp_path):
    config = write_config(tmp_path, kafka_settings)
    index_posts(tmp_path, official_post("NorthbrookMaternity", SWEEP_AT - timedelta(days=8)))
    now = "2026-10-19T09:00:00+01:00"
    for _ in range(2):
        code, _out, err = socmon("accounts", "sweep", "--config", str(config), "--now", now)
        assert code == 0, err
    alerts = alerts_on_topic(kafka_settings, at_least=4)
    ids = [a.alert_id for a in alerts]
    # NorthbrookNHS has no post on record, NorthbrookMaternity is quiet: two alerts per sweep,
    # and the second sweep repeats their ids, so what is stored (and delivered) is two alerts.
    assert len(ids) == 4
    assert sorted(set(ids)) == [
        "inactive_account:twitter:northbrookmaternity:2026-10-19",
        "inactive_account:twitter:northbrooknhs:2026-10-19",
    ]
    index = SqliteIndex(tmp_path / "socmon.db")
    try:
        index.record_alerts(alerts)
        assert index.stats().alerts == {"inactive_account": 2}
    finally:
        index.close()


def test_a_leavers_account_raises_a_handover_alert(kafka_settings, tmp_path):
    config = write_config(tmp_path, kafka_settings)
    index_posts(
        tmp_path,
        official_post("NorthbrookNHS", SWEEP_AT - timedelta(days=1)),
        official_post("NorthbrookMaternity", SWEEP_AT - timedelta(days=1)),
    )
    code, _out, err = socmon(
        "accounts", "owner", "NorthbrookMaternity", "--left", "--by", "HR", "--config", str(config)
    )
    assert code == 0, err
    code, out, err = socmon(
        "accounts", "sweep", "--config", str(config), "--now", SWEEP_AT.isoformat()
    )
    assert code == 0, err
    alerts = alerts_on_topic(kafka_settings)
    assert [(a.kind, a.account) for a in alerts] == [("handover", "NorthbrookMaternity")]
    assert "Grace Okafor has left" in alerts[0].summary
    code, out, _ = socmon("accounts", "show", "NorthbrookMaternity", "--config", str(config))
    assert "owner_left: True" in out
    assert "owner has left (by HR)" in out


def test_a_review_is_due_three_months_after_the_last_and_recording_one_clears_it(
    kafka_settings, tmp_path
):
    config = write_config(tmp_path, kafka_settings)
    index_posts(
        tmp_path,
        official_post("NorthbrookNHS", SWEEP_AT + timedelta(days=90)),
        official_post("NorthbrookMaternity", SWEEP_AT + timedelta(days=90)),
    )
    # Both were last reviewed on 2026-09-15: due on 2026-12-15.
    before, due = "2026-12-14T10:00:00+00:00", "2026-12-15T10:00:00+00:00"
    code, out, err = socmon(
        "accounts", "sweep", "--config", str(config), "--now", before, "--dry-run"
    )
    assert code == 0, err
    assert "0 alert(s)" in out
    code, _, err = socmon(
        "accounts",
        "review",
        "NorthbrookNHS",
        "--by",
        "Comms",
        "--on",
        "2026-12-01",
        "--config",
        str(config),
    )
    assert code == 0, err
    code, out, err = socmon("accounts", "sweep", "--config", str(config), "--now", due)
    assert code == 0, err
    alerts = alerts_on_topic(kafka_settings)
    assert [(a.kind, a.alert_id) for a in alerts] == [
        ("review_due", "review_due:twitter:northbrookmaternity:2026-12-15")
    ]


def test_closing_an_account_stops_the_sweep_checking_it(kafka_settings, tmp_path):
    config = write_config(tmp_path, kafka_settings)
    index_posts(tmp_path, official_post("NorthbrookNHS", SWEEP_AT - timedelta(days=1)))
    code, _, err = socmon(
        "accounts",
        "close",
        "twitter:NorthbrookMaternity",
        "--by",
        "Comms",
        "--reason",
        "merged into NorthbrookNHS",
        "--config",
        str(config),
    )
    assert code == 0, err
    code, out, err = socmon(
        "accounts",
        "sweep",
        "--config",
        str(config),
        "--now",
        SWEEP_AT.isoformat(),
        "--json",
        "--dry-run",
    )
    assert code == 0, err
    assert json.loads(out) == []
    code, out, _ = socmon("accounts", "list", "--config", str(config), "--json")
    statuses = {row["handle"]: row["status"] for row in json.loads(out)}
    assert statuses == {"NorthbrookNHS": "active", "NorthbrookMaternity": "closed"}


def test_an_unregistered_lookalike_raises_unregistered_account_from_the_route_agent(
    kafka_settings, tmp_path
):
    settings = load_settings(write_config(tmp_path, kafka_settings))
    ensure_topics(kafka_settings)
    producer = make_producer(kafka_settings.bootstrap_servers)
    now = datetime.now(UTC)
    for post in (
        mention("NorthbrookNHS_Jobs", now - timedelta(hours=2)),
        mention("NorthbrookNHS_Jobs", now - timedelta(hours=1)),
        mention("PriyaInNorthbrook", now),
    ):
        producer.send(
            kafka_settings.topics.posts_enriched, key=post.key.encode(), value=post.to_bytes()
        )
    producer.flush()
    producer.close()
    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    app = create_app(settings, index, Metrics.create(CollectorRegistry()))
    found: list[Alert] = []

    async def route_until_alerted() -> None:
        await app.start()
        try:

            def seen() -> bool:
                records = read_topic(
                    kafka_settings.bootstrap_servers, kafka_settings.topics.alerts, 1, 0.5
                )
                found[:] = [parse_record(Alert, r.value) for r in records]
                return bool(found)

            await wait_for(seen, 60, "an alert from the route agent")
        finally:
            await app.stop()

    try:
        asyncio.run(route_until_alerted())
    finally:
        index.close()
    alerts = alerts_on_topic(kafka_settings, at_least=2)
    unregistered = [a for a in alerts if a.kind == "unregistered_account"]
    assert {a.alert_id for a in unregistered} == {"unregistered_account:twitter:northbrooknhs_jobs"}
    assert all("PriyaInNorthbrook" not in a.summary for a in alerts)


def test_the_request_log_appears_in_the_monthly_data(tmp_path, kafka_settings):
    config = write_config(tmp_path, kafka_settings)
    common = [
        "--team",
        "Physiotherapy",
        "--platform",
        "instagram",
        "--purpose",
        "Exercise videos for patients after knee surgery",
        "--business-case",
        "Fewer follow-up appointments",
        "--approving-manager",
        "Head of Therapies",
        "--requested-on",
        "2026-10-05",
        "--config",
        str(config),
    ]
    code, out, err = socmon("accounts", "request", *common)
    assert code == 0, err
    assert "(pending)" in out
    code, out, err = socmon(
        "accounts", "request", *common, "--decision", "approved", "--decided-on", "2026-10-20"
    )
    assert code == 0, err
    code, out, err = socmon(
        "accounts",
        "request",
        "--team",
        "Estates",
        "--platform",
        "facebook",
        "--purpose",
        "Car park news",
        "--business-case",
        "Complaints about parking",
        "--approving-manager",
        "Director of Estates",
        "--requested-on",
        "2026-09-28",
        "--decision",
        "rejected",
        "--decided-on",
        "2026-09-30",
        "--config",
        str(config),
    )
    assert code == 0, err

    index = SqliteIndex(tmp_path / "socmon.db")
    try:
        october = account_requests(index, "2026-10")
        september = account_requests(index, "2026-09")
    finally:
        index.close()
    assert [(r.team, r.decision, str(r.decided_on)) for r in october] == [
        ("Physiotherapy", "approved", "2026-10-20")
    ]
    assert [(r.team, r.decision) for r in september] == [("Estates", "rejected")]
    code, out, err = socmon("accounts", "requests", "--month", "2026-10", "--config", str(config))
    assert code == 0, err
    assert "2026-10: 1 request(s): approved 1, rejected 0, pending 0" in out
    assert "Head of Therapies: approved on 2026-10-20" in out


def test_a_request_without_a_decision_date_is_refused_with_the_reason(tmp_path, kafka_settings):
    config = write_config(tmp_path, kafka_settings)
    code, _, err = socmon(
        "accounts",
        "request",
        "--team",
        "Estates",
        "--platform",
        "facebook",
        "--purpose",
        "Car park news",
        "--business-case",
        "Parking",
        "--approving-manager",
        "Director of Estates",
        "--decision",
        "approved",
        "--config",
        str(config),
    )
    assert code == 2
    assert "needs the date of the decision" in err


def test_a_broken_register_file_stops_the_command_naming_the_file_and_field(
    tmp_path, kafka_settings
):
    (tmp_path / "register.yaml").write_text(
        "- {platform: twitter, handle: NorthbrookJobs, team: HR, approved_on: soon}\n"
    )
    config = write_config(tmp_path, kafka_settings, "governance_register: unused\n")
    config.write_text(
        config.read_text()
        .replace("governance_register: unused\n", "")
        .replace("governance:\n", "governance:\n  register_file: register.yaml\n")
    )
    code, _, err = socmon("accounts", "list", "--config", str(config))
    assert code == 2
    assert str(tmp_path / "register.yaml") in err
    assert "entry 1 (twitter @NorthbrookJobs): field approved_on" in err


def test_a_sweep_with_no_broker_says_so_and_sends_nothing(tmp_path):
    dead = KafkaSettings(bootstrap_servers="127.0.0.1:9", topic_prefix="nobody")
    config = write_config(tmp_path, dead)
    code, _, err = socmon(
        "accounts", "sweep", "--config", str(config), "--now", SWEEP_AT.isoformat()
    )
    assert code == 1
    assert "did not answer" in err
    assert "--dry-run" in err
    index = SqliteIndex(tmp_path / "socmon.db")
    try:
        assert sweep_runs(index) == []
    finally:
        index.close()
