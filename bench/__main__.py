"""`make bench`: posts per second through enrich + index on the embedded stack, the bare consume
rate of the same topic in the same run, their ratio, and the classifier alone on one core.

Writes bench/results/results.json and prints a table. Numbers are only comparable within a run.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kafka import KafkaConsumer

from socmon.broker import EmbeddedBroker, free_port
from socmon.index.sqlite import SqliteIndex
from socmon.kafka import ensure_topics, make_producer, topic_partitions
from socmon.records import Post
from socmon.sample import SAMPLE_PATH
from socmon.settings import KafkaSettings, load_settings

N_POSTS = int(os.environ.get("SOCMON_BENCH_POSTS", "20000"))
OUT = Path(__file__).parent / "results" / "results.json"


def sample_texts() -> list[dict[str, object]]:
    rows = []
    for line in SAMPLE_PATH.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return [r for r in rows if isinstance(r, dict) and "text" in r and "created_at" in r]


def make_posts(n: int) -> list[Post]:
    rows = sample_texts()
    base = datetime(2026, 10, 1, tzinfo=UTC)
    posts = []
    for i in range(n):
        row = rows[i % len(rows)]
        posts.append(
            Post(
                platform="twitter",
                post_id=f"bench{i}",
                kind="mention",
                account=str(row.get("account", "NorthbrookNHS")),
                author="bench",
                text=str(row["text"]),
                created_at=base + timedelta(seconds=i),
                source="bench",
            )
        )
    return posts


def bench_classifier(posts: list[Post], fast: bool = False) -> float:
    """The whole classifier (model, rules, departments) on one thread: the default encoder, or
    with ``fast`` the linear models and phrase rules."""
    from stream_processors.classify.classifier import PostClassifier, PostText

    classifier = PostClassifier(load_settings().departments, fast=fast)
    items = [PostText(p.text, p.kind) for p in posts[:5000]]
    classifier.classify_many(items[:100])  # warm up
    started = time.perf_counter()
    for i in range(0, len(items), 500):
        classifier.classify_many(items[i : i + 500])
    return len(items) / (time.perf_counter() - started)


def bench_consume(bootstrap: str, topic: str, n: int) -> float:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    consumer.assign(topic_partitions(consumer, topic))
    consumer.seek_to_beginning()
    started, count = time.perf_counter(), 0
    while count < n:
        batch = consumer.poll(timeout_ms=1000, max_records=2000)
        if not batch and time.perf_counter() - started > 60:
            break
        count += sum(len(v) for v in batch.values())
    elapsed = time.perf_counter() - started
    consumer.close()
    return count / elapsed


def peak_rss_mib(pid: int) -> float:
    """The peak resident memory of a running process (Linux: VmHWM in /proc), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_pipeline(bootstrap: str, prefix: str, data_dir: Path, n: int) -> tuple[float, float]:
    env = dict(os.environ)
    env |= {
        "SOCMON_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "SOCMON_KAFKA__TOPIC_PREFIX": prefix,
        "SOCMON_DATA_DIR": str(data_dir),
        "SOCMON_METRICS__PORT": str(free_port()),
    }
    index = SqliteIndex(data_dir / "socmon.db")
    index.setup()
    worker = subprocess.Popen(
        [sys.executable, "-m", "socmon_app.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "worker.log").open("wb"),
    )
    try:
        started = None
        while True:
            done = index.stats().indexed
            if started is None and done > 0:
                started, first = time.perf_counter(), done
            if done >= n:
                break
            if worker.poll() is not None:
                msg = f"worker died; see {data_dir / 'worker.log'}"
                raise RuntimeError(msg)
            time.sleep(0.05)
        assert started is not None
        rate = (n - first) / (time.perf_counter() - started)
        return rate, peak_rss_mib(worker.pid)
    finally:
        worker.terminate()
        worker.wait(30)
        index.close()


def main() -> int:
    broker = EmbeddedBroker()
    bootstrap = broker.bootstrap
    try:
        kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix="bench", partitions=4)
        ensure_topics(kafka)
        posts = make_posts(N_POSTS)
        print(f"bench: {N_POSTS} posts; classifier alone…", flush=True)
        classify_rate = bench_classifier(posts)
        fast_rate = bench_classifier(posts, fast=True)
        producer = make_producer(bootstrap)
        for post in posts:
            producer.send(kafka.topics.posts_raw, key=post.key.encode(), value=post.to_bytes())
        producer.flush()
        producer.close()
        print("bench: bare consume of socmon.posts.raw…", flush=True)
        consume_rate = bench_consume(bootstrap, kafka.topics.posts_raw, N_POSTS)
        print("bench: enrich + index through the Faust worker into SQLite…", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            pipeline_rate, worker_mib = bench_pipeline(bootstrap, "bench", Path(tmp), N_POSTS)
    finally:
        broker.stop()
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "posts": N_POSTS,
        "classifier_posts_per_second_one_core": round(classify_rate),
        "fast_classifier_posts_per_second_one_core": round(fast_rate),
        "bare_consume_posts_per_second": round(consume_rate),
        "enrich_index_posts_per_second": round(pipeline_rate),
        "pipeline_over_bare_consume": round(pipeline_rate / consume_rate, 3),
        "worker_peak_rss_mib": round(worker_mib, 1),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    print(f"written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
