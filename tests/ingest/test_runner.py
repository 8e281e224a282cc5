"""The connectors runner against a real broker: keys, dead letters, checkpoints after acks."""

from __future__ import annotations

import json

from prometheus_client import CollectorRegistry

from ingest.checkpoints import CheckpointStore
from ingest.connectors.replay import ReplayConnector
from ingest.runner import IngestRunner
from socmon.kafka import ensure_topics, make_producer
from socmon.metrics import Metrics
from socmon.records import DeadLetter, Post, parse_record
from tests.broker import read_topic
from tests.ingest.test_replay import write_lines


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
