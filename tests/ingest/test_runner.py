"""The connectors runner against a real broker: keys, dead letters, checkpoints after acks, and
the per-source schedule of `run_forever` (rate limits, refused access, unavailable sources)."""

from __future__ import annotations

import json
import threading
import time

from prometheus_client import CollectorRegistry

from ingest.checkpoints import CheckpointStore
from ingest.connector import AccessDenied, Connector, Fetched, RateLimited, SourceUnavailable
from ingest.connectors.replay import ReplayConnector, parse_replay_line
from ingest.push.source import PushSource, Received
from ingest.runner import IngestRunner
from socmon.kafka import ensure_topics, make_producer
from socmon.metrics import Metrics
from socmon.records import DeadLetter, Post, parse_record
from tests.broker import read_topic
from tests.ingest.test_replay import GOOD, write_lines


def make_runner(kafka_settings, path, checkpoint_file):
    return IngestRunner(
        [ReplayConnector(path, batch_lines=7)],
        make_producer(kafka_settings.bootstrap_servers),
        kafka_settings.topics,
        CheckpointStore(checkpoint_file),
        Metrics.create(CollectorRegistry()),
    )


def test_replay_produces_posts_keyed_by_platform_id_and_rejects_to_the_deadletter_topic(
    kafka_settings, tmp_path
):
    ensure_topics(kafka_settings)
    path = tmp_path / "posts.jsonl"
    write_lines(path, 20, bad_at=(4, 11))
    runner = make_runner(kafka_settings, path, tmp_path / "cp.json")
    summary = runner.run_until_exhausted()
    runner.close()
    assert (summary.produced, summary.rejected, summary.errors) == (18, 2, {})

    topics = kafka_settings.topics
    raw = read_topic(kafka_settings.bootstrap_servers, topics.posts_raw, 18)
    posts = [parse_record(Post, r.value) for r in raw]
    assert sorted(int(p.post_id) for p in posts) == [i for i in range(20) if i not in (4, 11)]
    assert all(r.key.decode() == parse_record(Post, r.value).key for r in raw)

    dead = read_topic(kafka_settings.bootstrap_servers, topics.deadletter, 2)
    letters = sorted((parse_record(DeadLetter, r.value) for r in dead), key=lambda d: d.origin)
    assert [d.origin for d in letters] == [f"{path}:12", f"{path}:5"]
    assert all(d.reason.startswith("not valid JSON") for d in letters)


def test_a_restart_produces_exactly_the_new_lines(kafka_settings, tmp_path):
    ensure_topics(kafka_settings)
    path, checkpoint = tmp_path / "posts.jsonl", tmp_path / "cp.json"
    write_lines(path, 10)
    runner = make_runner(kafka_settings, path, checkpoint)
    assert runner.run_until_exhausted().produced == 10
    runner.close()
    assert json.loads(checkpoint.read_text()) == {"replay:posts.jsonl": "10"}

    again = make_runner(kafka_settings, path, checkpoint)
    assert again.run_until_exhausted().produced == 0
    write_lines(path, 3, start=10)
    assert again.run_until_exhausted().produced == 3
    again.close()
    raw = read_topic(kafka_settings.bootstrap_servers, kafka_settings.topics.posts_raw, 14, 8)
    assert sorted(int(parse_record(Post, r.value).post_id) for r in raw) == list(range(13))


def test_a_failing_source_is_counted_and_does_not_stop_the_others(kafka_settings, tmp_path):
    ensure_topics(kafka_settings)
    good = tmp_path / "good.jsonl"
    write_lines(good, 3)
    registry = CollectorRegistry()
    runner = IngestRunner(
        [ReplayConnector(tmp_path / "missing.jsonl"), ReplayConnector(good)],
        make_producer(kafka_settings.bootstrap_servers),
        kafka_settings.topics,
        CheckpointStore(tmp_path / "cp.json"),
        Metrics.create(registry),
    )
    summary = runner.run_until_exhausted()
    runner.close()
    assert summary.produced == 3
    assert "replay:missing.jsonl" in summary.errors
    errors = registry.get_sample_value(
        "socmon_connector_errors_total",
        {"source": "replay:missing.jsonl", "error": "FileNotFoundError"},
    )
    assert errors == 1.0


class ScriptedSource(Connector):
    """A source whose every poll answers from a script: a post, or an exception to raise."""

    def __init__(self, name: str, answer) -> None:
        self.name = name
        self.answer = answer
        self.polls = 0

    def poll(self, checkpoint: str | None) -> Fetched:
        self.polls += 1
        return self.answer(self, checkpoint)


def one_post(source: ScriptedSource, checkpoint: str | None, retry_after: float | None = None):
    post = parse_replay_line(json.dumps(GOOD | {"id": f"{source.name}-{source.polls}"}), "x:1")
    assert isinstance(post, Post)
    return Fetched([post], checkpoint=str(source.polls), retry_after=retry_after)


def raise_(exc: Exception):
    def answer(source, checkpoint):
        raise exc

    return answer


def run_for(runner: IngestRunner, seconds: float, interval: float) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=runner.run_forever, args=(stop, interval))
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()


def test_each_source_keeps_its_own_schedule_and_a_rate_limit_or_denial_delays_only_that_source(
    kafka_settings, tmp_path
):
    ensure_topics(kafka_settings)
    steady = ScriptedSource("steady", one_post)
    limited = ScriptedSource("limited", raise_(RateLimited("429 from the platform", 3600)))
    asks_to_wait = ScriptedSource("asks", lambda s, c: one_post(s, c, retry_after=3600))
    denied = ScriptedSource("denied", raise_(AccessDenied("GET /x needs Basic access")))
    flaky = ScriptedSource("flaky", raise_(SourceUnavailable("503 after 4 attempts")))
    registry = CollectorRegistry()
    runner = IngestRunner(
        [steady, limited, asks_to_wait, denied, flaky],
        make_producer(kafka_settings.bootstrap_servers),
        kafka_settings.topics,
        CheckpointStore(tmp_path / "cp.json"),
        Metrics.create(registry),
    )
    run_for(runner, seconds=2.0, interval=0.25)
    runner.close()

    assert steady.polls >= 4  # polled every interval while the others wait or stopped
    assert flaky.polls >= 4  # an unavailable source is tried again the next interval
    assert (limited.polls, asks_to_wait.polls, denied.polls) == (1, 1, 1)

    def sample(name, **labels):
        return registry.get_sample_value(name, labels)

    assert sample("socmon_connector_rate_limit_waits_total", source="limited") == 1.0
    assert sample("socmon_connector_rate_limit_waits_total", source="asks") == 1.0
    assert sample("socmon_connector_rate_limit_waits_total", source="steady") is None
    assert sample("socmon_connector_errors_total", source="denied", error="AccessDenied") == 1.0
    assert sample("socmon_connector_errors_total", source="limited", error="RateLimited") is None
    assert sample("socmon_connector_errors_total", source="flaky", error="SourceUnavailable") >= 4
    assert sample("socmon_connector_fetched_total", source="steady") == steady.polls
    assert CheckpointStore(tmp_path / "cp.json").get("asks") == "1"  # its items were produced

    produced = steady.polls + asks_to_wait.polls
    raw = read_topic(kafka_settings.bootstrap_servers, kafka_settings.topics.posts_raw, produced)
    assert len(raw) == produced


def test_run_forever_returns_when_every_source_was_refused_access(kafka_settings, tmp_path):
    ensure_topics(kafka_settings)
    denied = ScriptedSource("denied", raise_(AccessDenied("401: the bearer token was refused")))
    runner = IngestRunner(
        [denied],
        make_producer(kafka_settings.bootstrap_servers),
        kafka_settings.topics,
        CheckpointStore(tmp_path / "cp.json"),
        Metrics.create(CollectorRegistry()),
    )
    stop = threading.Event()
    started = time.monotonic()
    runner.run_forever(stop, interval=60.0)  # would block a minute if it kept waiting
    runner.close()
    assert time.monotonic() - started < 30
    assert denied.polls == 1


def test_a_source_with_more_to_read_is_polled_again_at_once(kafka_settings, tmp_path):
    ensure_topics(kafka_settings)
    path = tmp_path / "posts.jsonl"
    write_lines(path, 20)
    registry = CollectorRegistry()
    runner = IngestRunner(
        [ReplayConnector(path, batch_lines=5)],
        make_producer(kafka_settings.bootstrap_servers),
        kafka_settings.topics,
        CheckpointStore(tmp_path / "cp.json"),
        Metrics.create(registry),
    )
    run_for(runner, seconds=1.5, interval=3600.0)  # one interval would allow only one batch
    runner.close()
    assert (
        registry.get_sample_value(
            "socmon_connector_fetched_total", {"source": "replay:posts.jsonl"}
        )
        == 20.0
    )


class ScriptedPush(PushSource):
    """A push source that delivers `count` posts on its one connection, then stays quiet."""

    def __init__(self, name: str, count: int) -> None:
        self.name = name
        self.count = count
        self.closed_connections = 0

    def receive(self, checkpoint, stop):
        try:
            for n in range(1, self.count + 1):
                line = json.dumps(GOOD | {"id": f"{self.name}-{n}"})
                yield Received(parse_replay_line(line, "push:1"), checkpoint=str(n))
            while not stop.wait(self.tick):
                yield None
        finally:
            self.closed_connections += 1


def test_push_sources_run_beside_the_polled_ones_and_outlive_a_refused_one(
    kafka_settings, tmp_path
):
    ensure_topics(kafka_settings)
    denied = ScriptedSource("denied", raise_(AccessDenied("401: the bearer token was refused")))
    push = ScriptedPush("pushed", 3)
    registry = CollectorRegistry()
    runner = IngestRunner(
        [denied],
        make_producer(kafka_settings.bootstrap_servers),
        kafka_settings.topics,
        CheckpointStore(tmp_path / "cp.json"),
        Metrics.create(registry),
        push=[push],
    )
    stop = threading.Event()
    thread = threading.Thread(target=runner.run_forever, args=(stop, 60.0))
    thread.start()
    raw = read_topic(kafka_settings.bootstrap_servers, kafka_settings.topics.posts_raw, 3)
    # The only polled source was refused, yet the runner goes on while a push source runs.
    assert thread.is_alive()
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    runner.close()

    assert sorted(parse_record(Post, r.value).post_id for r in raw) == [
        "pushed-1",
        "pushed-2",
        "pushed-3",
    ]
    assert (denied.polls, push.closed_connections) == (1, 1)
    assert CheckpointStore(tmp_path / "cp.json").get("pushed") == "3"
    fetched = registry.get_sample_value("socmon_connector_fetched_total", {"source": "pushed"})
    assert fetched == 3.0
