"""The stream worker's process: the model runs off the event loop, and the root logger keeps the
level asked for (Faust's spinner would set it to DEBUG)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import faust
import pytest
from prometheus_client import CollectorRegistry

from socmon.index.sqlite import SqliteIndex
from socmon.kafka import ensure_topics, make_producer
from socmon.metrics import Metrics
from socmon.records import Classification
from socmon.settings import load_settings
from stream_processors.app import create_app
from stream_processors.classify.classifier import PostClassifier, PostText
from stream_processors.worker import QuietWorker
from tests.e2e_helpers import sweep_weekday_away
from tests.factories import make_post

POSTS = 30
MODEL_SECONDS = 0.4


class SlowClassifier(PostClassifier):
    """The fast design, plus a pause per batch as long as a model's, and where each batch ran."""

    def __init__(self, departments) -> None:  # type: ignore[no-untyped-def]
        super().__init__(departments, fast=True)
        self.threads: list[threading.Thread] = []
        self.on_loop: list[bool] = []

    def classify_many(self, items: Sequence[PostText]) -> list[Classification]:
        self.threads.append(threading.current_thread())
        try:
            asyncio.get_running_loop()
            self.on_loop.append(True)
        except RuntimeError:
            self.on_loop.append(False)
        time.sleep(MODEL_SECONDS)  # as ONNX Runtime does, without holding the GIL
        return super().classify_many(items)


@pytest.mark.slow
def test_the_model_runs_in_a_thread_of_its_own_and_the_loop_goes_on_meanwhile(
    kafka_settings, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("SOCMON_GOVERNANCE__SWEEP_WEEKDAY", sweep_weekday_away())
    settings = load_settings(None, data_dir=tmp_path, kafka=kafka_settings)
    ensure_topics(kafka_settings)
    producer = make_producer(kafka_settings.bootstrap_servers)
    for i in range(POSTS):
        post = make_post(str(i)).post
        producer.send(kafka_settings.topics.posts_raw, key=post.key.encode(), value=post.to_bytes())
    producer.flush()
    producer.close()
    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    classifier = SlowClassifier(settings.departments)
    ticks: list[float] = []

    async def run() -> None:
        app = create_app(settings, index, Metrics.create(CollectorRegistry()), classifier)
        await app.start()
        try:
            deadline = time.monotonic() + 90
            while index.stats().indexed < POSTS:
                assert time.monotonic() < deadline, "timed out waiting for every post indexed"
                before = time.monotonic()
                await asyncio.sleep(0.05)
                ticks.append(time.monotonic() - before)
        finally:
            await app.stop()

    try:
        asyncio.run(run())
    finally:
        index.close()
    assert classifier.threads, "the classifier ran"
    assert {thread.name for thread in classifier.threads} == {"socmon-classify_0"}
    assert classifier.on_loop == [False] * len(classifier.threads)
    # On the loop, a batch would hold every other task for MODEL_SECONDS.
    assert max(ticks) < MODEL_SECONDS, f"the event loop stalled for {max(ticks):.2f} s"
    # The app shut its model thread down when it stopped.
    for thread in set(classifier.threads):
        thread.join(timeout=5)
        assert not thread.is_alive(), f"{thread.name} still runs after the app stopped"


def test_the_worker_keeps_the_root_logger_at_the_level_asked_for():
    before = (logging.root.level, list(logging.root.handlers))
    app = faust.App("socmon-test-quiet", broker="kafka://127.0.0.1:1", web_enabled=False)
    try:
        worker = QuietWorker(app, loglevel="warning", quiet=True)
        worker._setup_logging()
        assert logging.root.level == logging.WARNING
        assert not logging.getLogger("faust.topics").isEnabledFor(logging.DEBUG)
        # what Faust's own worker does, which QuietWorker exists to avoid
        plain = faust.Worker(app, loglevel="warning", quiet=True)
        plain._setup_logging()
        assert logging.root.level == logging.DEBUG
    finally:
        logging.root.setLevel(before[0])
        logging.root.handlers[:] = before[1]
