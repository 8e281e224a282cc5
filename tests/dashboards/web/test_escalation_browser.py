"""End to end: a person escalates a missed urgent post in the dashboard (real Chromium), the
dashboard hands the urgent alert to the real embedded broker, and the real delivery worker
(`socmon alerting`) tells each of its recipients once, even when the same escalation is made
again; the item page then lists who was alerted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from socmon.kafka import ensure_topics
from socmon.settings import KafkaSettings
from tests.dashboards.web.seed import Seeded, write_config
from tests.dashboards.web.test_browser import DashboardServer
from tests.dashboards.web.test_browser import browser as browser  # Debian's headless chromium
from tests.dashboards.web.test_browser import data_dir as data_dir  # a seeded SQLite index
from tests.dashboards.web.test_browser import page as page  # a fresh context, logged out
from tests.dashboards.web.test_triage_browser import sign_in, submit

pytestmark = pytest.mark.slow


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def delivered(outbox: Path) -> Counter[tuple[str, str]]:
    """(alert id, recipient) -> how many times the file channel delivered it."""
    if not outbox.exists():
        return Counter()
    rows = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    return Counter((row["alert_id"], row["recipient"]) for row in rows)


@pytest.fixture
def one_partition(broker: str) -> KafkaSettings:
    """Topics of this test only, with one partition: the worker reads the alerts in order."""
    kafka = KafkaSettings(
        bootstrap_servers=broker,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}",
        partitions=1,
        session_timeout_ms=6000,
    )
    ensure_topics(kafka)
    return kafka


@pytest.fixture
def pipeline_env(one_partition: KafkaSettings, data_dir: tuple[Path, Seeded]) -> dict[str, str]:
    return {
        "SOCMON_KAFKA__BOOTSTRAP_SERVERS": one_partition.bootstrap_servers,
        "SOCMON_KAFKA__TOPIC_PREFIX": one_partition.topic_prefix,
        "SOCMON_KAFKA__PARTITIONS": "1",
        "SOCMON_KAFKA__SESSION_TIMEOUT_MS": "6000",
        "SOCMON_METRICS__PORT": "0",
        "SOCMON_ALERTING__CONSOLE": "false",
    }


@pytest.fixture
def delivery_worker(
    data_dir: tuple[Path, Seeded], pipeline_env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    folder, _ = data_dir
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(pipeline_env)
    log = (folder / "alerting.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "socmon_app.cli", "alerting", "--config", str(write_config(folder))],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
    text = (folder / "alerting.log").read_text(errors="replace")
    assert "Traceback" not in text, text


@pytest.fixture
def server(
    data_dir: tuple[Path, Seeded], pipeline_env: dict[str, str]
) -> Iterator[DashboardServer]:
    server = DashboardServer(write_config(data_dir[0]), env=pipeline_env)
    yield server
    server.stop()
    assert "Traceback" not in "".join(server.output), "".join(server.output)


def test_an_escalation_in_the_dashboard_is_delivered_once_to_each_urgent_contact(
    page: Any,
    server: DashboardServer,
    delivery_worker: subprocess.Popen[bytes],
    data_dir: tuple[Path, Seeded],
) -> None:
    folder, keys = data_dir
    outbox = folder / "outbox.jsonl"
    urgent_id = f"urgent:{keys.parking}"
    sign_in(page, server.url)

    page.goto(f"{server.url}/posts/{keys.parking}")
    escalate(page, True)
    flash = page.get_by_test_id("flash").inner_text()
    assert "Escalated as urgent." in flash
    assert "The urgent alert was raised" in flash
    assert page.get_by_test_id("flash-problem").count() == 0
    # Cleared by mistake and escalated again at once, most likely before the worker delivered
    # the first: then the same alert is on the topic twice, and delivery tells nobody twice.
    escalate(page, False)
    escalate(page, True)
    assert "Escalated as urgent." in page.get_by_test_id("flash").inner_text()

    wait_until(lambda: any(a == urgent_id for a, _ in delivered(outbox)), 90, "the urgent alert")
    # A later escalation on the same (single) partition: once it is delivered, the worker has
    # read everything before it.
    page.goto(f"{server.url}/posts/{keys.old}")
    escalate(page, True)
    sentinel = f"urgent:{keys.old}"
    wait_until(lambda: any(a == sentinel for a, _ in delivered(outbox)), 90, "a later alert")
    first = {pair: n for pair, n in delivered(outbox).items() if pair[0] == urgent_id}
    recipients = {recipient for _, recipient in first}
    assert {"communications", "on-call", "patient-services"} <= recipients
    assert set(first.values()) == {1}

    # Once delivered, escalating again hands nothing over: the page says the alert went out.
    page.goto(f"{server.url}/posts/{keys.parking}")
    escalate(page, False)
    escalate(page, True)
    flash = page.get_by_test_id("flash").inner_text()
    assert "Its urgent alert went out before: nobody is told twice." in flash
    time.sleep(2.0)  # room for a repeated delivery to show up
    again = {pair: n for pair, n in delivered(outbox).items() if pair[0] == urgent_id}
    assert again == first  # nobody told twice

    alerted = page.get_by_test_id("alerted").inner_text()
    for recipient in recipients:
        assert recipient in alerted
    assert "urgent" in alerted


def escalate(page: Any, urgent: bool) -> None:
    page.locator("#urgent-yes" if urgent else "#urgent-no").check()
    submit(page, "Save correction")
