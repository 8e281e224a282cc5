"""The embedded broker restarted on the same port after it died: empty, and answering."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from kafka import KafkaAdminClient

from socmon.broker import EmbeddedBroker
from socmon.kafka import ensure_topics
from socmon.settings import KafkaSettings


def topics(bootstrap: str) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return {t for t in admin.list_topics() if not t.startswith("__")}
    finally:
        admin.close()


def test_a_killed_broker_restarts_on_the_same_port_without_its_topics(tmp_path: Path) -> None:
    with (tmp_path / "tansu.log").open("ab") as log:
        broker = EmbeddedBroker(log=log, die_with_parent=True)
        try:
            settings = KafkaSettings(bootstrap_servers=broker.bootstrap, topic_prefix="t")
            ensure_topics(settings)
            assert topics(broker.bootstrap) == set(settings.topics.all())
            first = broker.process.pid
            os.kill(first, signal.SIGKILL)
            broker.process.wait(10)
            assert not broker.running()
            assert broker.returncode == -signal.SIGKILL
            broker.restart()
            assert broker.running()
            assert broker.process.pid != first
            assert broker.bootstrap == settings.bootstrap_servers
            assert topics(broker.bootstrap) == set()  # memory only: the topics died with it
        finally:
            broker.stop()
