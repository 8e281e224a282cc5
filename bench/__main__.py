"""`make bench`: what a user waits for, measured in one run on this machine.

1. the classifier alone on one core (the default model, then the fast one);
2. the stream worker end to end (enrich, index, route: a backlog on the broker to the last post
   indexed) with one worker and with two in one consumer group, their ratio, and one worker over
   the classifier alone (the framework's share).
   This machine's speed drifts by ±15 % within minutes (the classifier alone measured 202 to 292
   posts/s in one run), so each is measured in `ROUNDS` rounds, each between two measurements of
   the classifier alone, and the ratios are medians of ratios taken round by round;
3. post-to-alert latency at a steady 50 posts/s: from a post acknowledged by the broker to its
   alert written by alert delivery (p50, p95);
4. a backfill: a replay of `SOCMON_BENCH_BACKFILL` posts (default 200,000) through
   `socmon up --exit-when-idle`, replay to indexed and alerted, projected to 1,000,000;
5. the peak memory of each process.

Writes bench/results/results.json and prints a table. Ratios are only comparable within a run.
Sizes: SOCMON_BENCH_POSTS (posts per round, default 6,000), SOCMON_BENCH_ROUNDS (default 5),
SOCMON_BENCH_BACKFILL (0 skips the backfill);
SOCMON_BENCH_ONLY=classifier,workers,latency,backfill runs only those parts (written to a file
of their own, so the full run's numbers stay together).
"""

from __future__ import annotations

import functools
import hmac
import itertools
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bench.pipeline import (
    Stages,
    peak_rss_mib,
    percentile,
    running,
    stage_env,
    wait_until,
    warm_up,
)
from socmon.broker import EmbeddedBroker, free_port
from socmon.index.sqlite import SqliteIndex
from socmon.kafka import ensure_topics, make_producer
from socmon.records import Post, utcnow
from socmon.sample import SAMPLE_PATH
from socmon.settings import KafkaSettings, load_settings

T = TypeVar("T")
N_POSTS = int(os.environ.get("SOCMON_BENCH_POSTS", "6000"))
"""Posts per round of a worker measurement (and for the classifier alone)."""
ROUNDS = int(os.environ.get("SOCMON_BENCH_ROUNDS", "5"))
"""Rounds of each worker measurement, each between two measurements of the classifier alone:
medians are reported."""
CLASSIFIER_POSTS = 3000
"""Posts of each classifier-alone measurement (before the first round and after each)."""
N_BACKFILL = int(os.environ.get("SOCMON_BENCH_BACKFILL", "200000"))
LATENCY_RATE = 50.0
LATENCY_SECONDS = float(os.environ.get("SOCMON_BENCH_LATENCY_SECONDS", "40"))
POLL_SECONDS = float(os.environ.get("SOCMON_BENCH_POLL_SECONDS", "150"))
"""The poll run spans two and a half poll intervals (60 s), so arrivals fall all through one."""
WARM_UP = 100
"""Posts in each warm-up batch, sent before a measurement until every worker took part."""
OUT = Path(__file__).parent / "results" / "results.json"


def say(line: str) -> None:
    print(f"bench: {line}", flush=True)


def sample_rows() -> list[dict[str, object]]:
    rows = []
    for line in SAMPLE_PATH.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and {"text", "created_at", "kind"} <= row.keys():
            rows.append(row)
    return rows


def make_posts(n: int, tag: str) -> list[Post]:
    """`n` posts with the sample's texts (mentions, so concerns raise alerts), unique keys."""
    rows = sample_rows()
    base = datetime(2026, 10, 1, tzinfo=UTC)
    return [
        Post(
            platform="twitter",
            post_id=f"{tag}{i}",
            kind="mention",
            account=str(rows[i % len(rows)].get("account", "NorthbrookNHS")),
            author=f"bench{i % 997}",
            text=str(rows[i % len(rows)]["text"]),
            created_at=base + timedelta(seconds=i),
            source="bench",
        )
        for i in range(n)
    ]


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


def produce(bootstrap: str, topic: str, posts: list[Post]) -> None:
    producer = make_producer(bootstrap)
    for post in posts:
        producer.send(topic, key=post.key.encode(), value=post.to_bytes())
    producer.flush()
    producer.close()


def _warm_batches(bootstrap: str, kafka: KafkaSettings, prefix: str) -> Callable[[int], int]:
    def send(batch: int) -> int:
        produce(bootstrap, kafka.topics.posts_raw, make_posts(WARM_UP, f"{prefix}warm{batch}x"))
        return WARM_UP

    return send


def indexed(index: SqliteIndex) -> int:
    """Posts in the index: one COUNT on a read-only connection of our own (WAL: it never holds
    up the worker's writes), cheaper than the index's full stats."""
    with closing(sqlite3.connect(f"file:{index.path}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0])


def _reached(index: SqliteIndex, target: int) -> bool:
    return indexed(index) >= target


@dataclass
class Rounds:
    """One worker set's measurements: per round, its posts per second; and the classifier alone
    before the first round and after each (one more figure than rounds), in the same bench
    process while the workers idle."""

    rates: list[float] = field(default_factory=list)
    classifier: list[float] = field(default_factory=list)
    peak_mib: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def over_classifier(self) -> float:
        """The median over rounds of the rate over the classifier alone around that round (the
        mean of the figures just before and just after it): this machine's speed drifts by
        ±15 % within minutes, and a ratio of two moments apart would measure the drift."""
        around = [(a + b) / 2 for a, b in itertools.pairwise(self.classifier)]
        return statistics.median(r / c for r, c in zip(self.rates, around, strict=True))


def bench_workers(bootstrap: str, count: int, root: Path, classifier_posts: list[Post]) -> Rounds:
    """Posts per second through `count` workers (enrich, index, route) in `ROUNDS` rounds of
    `N_POSTS`, each measured after the group settled, with the classifier alone measured before
    and after each round; and the workers' peak memory.

    A round's posts are sent while the workers are stopped (`Stages.paused`), and the round is
    timed from when they resume to the last post indexed: the workers drain a backlog on the
    broker, as in a backfill. Sending is the connectors' work, not the workers'; timed with them,
    the bench's own producer took about 4 % of two cores from two workers, and an idle core's
    time from one."""
    prefix = f"w{count}"
    data_dir = root / prefix
    data_dir.mkdir()
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix, partitions=4)
    ensure_topics(kafka)
    index = SqliteIndex(data_dir / "socmon.db")
    index.setup()
    rounds = Rounds()
    try:
        with running(stage_env(bootstrap, prefix, data_dir), data_dir) as stages:
            stages.workers(count)
            warm = warm_up(_warm_batches(bootstrap, kafka, prefix), stages)
            wait_until(lambda: indexed(index) >= warm, stages, 300, "the warm-up indexed")
            rounds.classifier.append(bench_classifier(classifier_posts))
            for r in range(ROUNDS):
                posts = make_posts(N_POSTS, f"{prefix}r{r}x")
                target = indexed(index) + N_POSTS
                with stages.paused():
                    produce(bootstrap, kafka.topics.posts_raw, posts)
                started = time.perf_counter()
                last = wait_until(
                    functools.partial(_reached, index, target), stages, 1800, "every post", 0.2
                )
                rounds.rates.append(N_POSTS / (last - started))
                rounds.classifier.append(bench_classifier(classifier_posts))
                say(
                    f"  round {r + 1}: {rounds.rates[-1]:.0f} posts/s "
                    f"(classifier alone before and after: {rounds.classifier[-2]:.0f}, "
                    f"{rounds.classifier[-1]:.0f})"
                )
            rounds.peak_mib = stages.peak_memory()
            return rounds
    finally:
        index.close()


Feed = Callable[[int, Post], str]
"""Sends post number i of a latency run the way its path does; returns the post's key."""


def bench_latency(
    bootstrap: str, workers: int, root: Path, path: str, seconds: float
) -> dict[str, object]:
    """A steady `LATENCY_RATE` posts/s for `seconds`, arriving by `path`: ``broker`` (produced to
    ``socmon.posts.raw`` directly: the pipeline alone), ``push`` (signed Meta comments posted to a
    running `socmon webhooks`) or ``poll`` (lines written to a file the connectors runner polls
    every `connectors.poll_interval_seconds`, 60 by default). The latency of a post is from when it
    arrived (produced, posted, written) to its alert written to the outbox by alert delivery."""
    prefix = f"lat{path}"
    data_dir = root / prefix
    data_dir.mkdir()
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix, partitions=4)
    ensure_topics(kafka)
    count = int(LATENCY_RATE * seconds)
    posts = make_posts(count, prefix)
    arrived: dict[str, float] = {}
    index = SqliteIndex(data_dir / "socmon.db")
    index.setup()
    outbox = data_dir / "outbox.jsonl"
    env = stage_env(bootstrap, prefix, data_dir) | PUSH_ENV
    try:
        with running(env, data_dir) as stages:
            stages.workers(workers)
            stages.alerting()
            warm = warm_up(_warm_batches(bootstrap, kafka, prefix), stages)
            wait_until(lambda: indexed(index) >= warm, stages, 300, "the warm-up indexed")
            with _feeder(path, bootstrap, kafka, data_dir, stages) as feed:
                started = time.perf_counter()
                for i, post in enumerate(posts):
                    time.sleep(max(0.0, started + i / LATENCY_RATE - time.perf_counter()))
                    key = feed(i, post)
                    arrived[key] = time.time()
                wait_until(
                    lambda: indexed(index) >= warm + count, stages, 600, "every post indexed"
                )
            time.sleep(5)  # the last alerts' delivery
            memory = stages.peak_memory()
            steps_ms = _stage_breakdown(index, outbox) if path == "broker" else None
    finally:
        index.close()
    latencies = []
    for row in _outbox_rows(outbox):
        if row.get("kind") not in ("concern", "urgent", "unsure_concern", "abuse"):
            continue  # compliments wait for the daily digest by design
        key = row["alert_id"].split(":", 1)[1]
        if key in arrived:
            sent_at = datetime.fromisoformat(row["sent_at"]).timestamp()
            latencies.append(sent_at - arrived.pop(key))
    result: dict[str, object] = {
        "path": path,
        "rate_posts_per_second": LATENCY_RATE,
        "posts": count,
        "alerts_measured": len(latencies),
        "p50_ms": round(percentile(latencies, 0.50) * 1000),
        "p95_ms": round(percentile(latencies, 0.95) * 1000),
        "max_ms": round(max(latencies, default=float("nan")) * 1000),
        "peak_rss_mib": memory,
    }
    if steps_ms:
        result["median_ms_by_step"] = steps_ms
    return result


def _outbox_rows(outbox: Path) -> list[dict[str, Any]]:
    """The outbox's rows, each alert once (its first recipient's line)."""
    rows, seen = [], set()
    for line in outbox.read_text(encoding="utf-8").splitlines() if outbox.exists() else []:
        row = json.loads(line)
        if row["alert_id"] not in seen:
            seen.add(row["alert_id"])
            rows.append(row)
    return rows


PAGE = "104836251234567"
META_SECRET = "bench-meta-app-secret"
PUSH_ENV = {
    "SOCMON_CONNECTORS__WEBHOOKS__META_APP_SECRET": META_SECRET,
    "SOCMON_CONNECTORS__WEBHOOKS__META_VERIFY_TOKEN": "bench-verify-token",
    "SOCMON_ACCOUNTS": json.dumps(
        [
            {
                "platform": "facebook",
                "handle": "NorthbrookHospitals",
                "platform_id": PAGE,
                "team": "Communications",
            }
        ]
    ),
}


@contextmanager
def _feeder(
    path: str, bootstrap: str, kafka: KafkaSettings, data_dir: Path, stages: Stages
) -> Iterator[Feed]:
    if path == "broker":
        producer = make_producer(bootstrap)

        def to_broker(_: int, post: Post) -> str:
            value = post.model_copy(update={"fetched_at": utcnow()}).to_bytes()
            producer.send(kafka.topics.posts_raw, key=post.key.encode(), value=value).get(10)
            return post.key

        try:
            yield to_broker
        finally:
            producer.close()
    elif path == "push":
        port = free_port()
        stages.start("webhooks", ["webhooks", "--port", str(port)])
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(f"{url}/healthz"), stages, 60, "the webhook receiver")
        with httpx.Client(base_url=url, timeout=10) as client:

            def to_receiver(i: int, post: Post) -> str:
                body = _page_comment(i, post.text)
                signature = "sha256=" + hmac.new(META_SECRET.encode(), body, "sha256").hexdigest()
                answer = client.post(
                    "/webhooks/meta", content=body, headers={"X-Hub-Signature-256": signature}
                )
                answer.raise_for_status()
                return f"facebook:{PAGE}_{i}"

            yield to_receiver
    elif path == "poll":
        replay = data_dir / "arriving.jsonl"
        replay.touch()
        stages.start("ingest", ["ingest", "--replay", str(replay)])
        with replay.open("a", encoding="utf-8") as out:

            def to_file(i: int, post: Post) -> str:
                row = {
                    "platform": "mastodon",
                    "id": f"poll{i}",
                    "kind": "mention",
                    "account": post.account,
                    "author": post.author,
                    "text": post.text,
                    "created_at": post.created_at.isoformat(),
                }
                out.write(json.dumps(row) + "\n")
                out.flush()
                return f"mastodon:poll{i}"

            yield to_file
    else:
        msg = f"unknown latency path {path!r}: broker, push or poll"
        raise ValueError(msg)


def _page_comment(i: int, text: str) -> bytes:
    """Meta's push of a new comment on the Page (the `feed` field), as the receiver takes it."""
    value = {
        "from": {"id": f"7{i}", "name": f"Bench Person {i}"},
        "post_id": f"{PAGE}_1",
        "comment_id": f"{PAGE}_{i}",
        "parent_id": f"{PAGE}_1",
        "created_time": int(time.time()),
        "item": "comment",
        "verb": "add",
        "message": text,
    }
    entry = {"id": PAGE, "time": int(time.time()), "changes": [{"field": "feed", "value": value}]}
    return json.dumps({"object": "page", "entry": [entry]}).encode()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _stage_breakdown(index: SqliteIndex, outbox: Path) -> dict[str, int]:
    """Where the latency goes, medians in ms: broker to enriched (``enriched_at``), enriched to
    alert raised (``Alert.created_at``, after the index stored the post), raised to written."""
    sent_at: dict[str, float] = {}
    for line in outbox.read_text(encoding="utf-8").splitlines() if outbox.exists() else []:
        row = json.loads(line)
        sent_at.setdefault(row["alert_id"], datetime.fromisoformat(row["sent_at"]).timestamp())
    enrich, route, deliver = [], [], []
    far = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    for alert in index.alerts_between(*far):
        post = alert.post
        measured = (
            post is not None and post.post_id.startswith("lat") and "warm" not in post.post_id
        )
        if post is None or not measured or alert.alert_id not in sent_at:
            continue
        stored = index.get_post(post.key)
        if stored is None or alert.kind not in ("concern", "urgent", "abuse"):
            continue
        enrich.append((stored.enriched_at - post.fetched_at).total_seconds())
        route.append((alert.created_at - stored.enriched_at).total_seconds())
        deliver.append(sent_at[alert.alert_id] - alert.created_at.timestamp())
    return {
        "broker_to_enriched": round(percentile(enrich, 0.5) * 1000),
        "enriched_to_alert_raised": round(percentile(route, 0.5) * 1000),
        "raised_to_delivered": round(percentile(deliver, 0.5) * 1000),
    }


def write_replay(path: Path, n: int) -> None:
    rows = sample_rows()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            row = dict(rows[i % len(rows)])
            row.update(
                id=f"fill{i}",
                platform="mastodon",
                created_at=(base + timedelta(seconds=i * 60)).isoformat(),
            )
            row.pop("url", None)
            fh.write(json.dumps(row) + "\n")


def bench_backfill(root: Path, workers: int) -> dict[str, object]:
    """`socmon up --exit-when-idle` over a replay of `N_BACKFILL` posts: the wall time from the
    command to the pipeline idle (every post indexed, every alert handled)."""
    data_dir = root / "backfill"
    data_dir.mkdir()
    replay = data_dir / "backfill.jsonl"
    write_replay(replay, N_BACKFILL)
    env = stage_env("unused:0", "socmon", data_dir)
    env.pop("SOCMON_KAFKA__BOOTSTRAP_SERVERS")
    env["SOCMON_ALERTING__CONSOLE"] = "false"
    argv = [sys.executable, "-m", "socmon_app.cli", "up", "--replay", str(replay)]
    argv += ["--exit-when-idle", "--metrics-port", "0", "--workers", str(workers)]
    peaks: dict[int, float] = {}
    names: dict[int, str] = {}
    cpu: dict[int, float] = {}
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(b.decode(errors="replace") for b in proc.stdout or ()),
        daemon=True,
    )
    reader.start()
    last_note = started
    while proc.poll() is None:
        for pid in _descendants(proc.pid):
            peaks[pid] = max(peaks.get(pid, 0.0), peak_rss_mib(pid))
            used = cpu_seconds(pid)
            if used is not None:
                cpu[pid] = used
            if pid not in names:
                names[pid] = _process_name(pid)
        if time.perf_counter() - last_note > 60:
            last_note = time.perf_counter()
            progress = [line for line in lines if "indexed" in line]
            say(f"backfill: {progress[-1].strip() if progress else 'starting'}")
        time.sleep(1.0)
    seconds = time.perf_counter() - started
    reader.join(5)
    if proc.returncode != 0:
        msg = "backfill did not finish cleanly:\n" + "".join(lines[-20:])
        raise RuntimeError(msg)
    index = SqliteIndex(data_dir / "socmon.db")
    stats = index.stats(pending=False)
    index.close()
    return {
        "posts": N_BACKFILL,
        "workers": workers,
        "indexed": stats.indexed,
        "alerts": stats.alerts,
        "seconds": round(seconds, 1),
        "posts_per_second": round(N_BACKFILL / seconds),
        "projected_1m_minutes": round(1_000_000 / (N_BACKFILL / seconds) / 60, 1),
        "peak_rss_mib_by_process": {
            f"{names[pid]} ({pid})": round(mib, 1)
            for pid, mib in sorted(peaks.items(), key=lambda kv: -kv[1])
        },
        # what bounds it: each process's CPU time over the wall time (1.0 is one core's worth)
        "cpu_share_by_process": {
            f"{names[pid]} ({pid})": round(used / seconds, 2)
            for pid, used in sorted(cpu.items(), key=lambda kv: -kv[1])
            if used / seconds >= 0.01
        },
    }


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds of a running process so far (Linux /proc), None once gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process_name(pid: int) -> str:
    """What a process of the pipeline is: its `socmon` command (``worker --instance 2``), or
    the program's name (the broker)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    argv = [a for a in argv if a]
    if "socmon_app.cli" in argv:
        return " ".join(argv[argv.index("socmon_app.cli") + 1 :][:3])
    return Path(argv[0]).name if argv else "?"


def _descendants(pid: int) -> list[int]:
    """Every process under `pid` (Linux /proc), to read their peak memory while they run."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += children.get(current, [])
    return out


def on_own_broker(measure: Callable[..., T], *args: Any) -> T:
    """`measure(bootstrap, *args)` on a broker of its own: no consumer group, member or offset of
    an earlier measurement can delay this one's workers."""
    broker = EmbeddedBroker()
    try:
        return measure(broker.bootstrap, *args)
    finally:
        broker.stop()


def write(out: Path, results: dict[str, object]) -> None:
    """The results so far (after each part, so a part that fails keeps the others')."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


def main() -> int:
    only = set(filter(None, os.environ.get("SOCMON_BENCH_ONLY", "").split(",")))
    wanted = lambda part: not only or part in only  # noqa: E731
    cores = len(os.sched_getaffinity(0))
    workers = max(1, min(cores, 4))
    results: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {cores} cores, {platform.processor() or 'cpu'}",
        "python": platform.python_version(),
        "posts": N_POSTS,
    }
    classify_rate = float("nan")
    if wanted("classifier"):
        posts = make_posts(N_POSTS, "c")
        say("the classifier alone on one core…")
        classify_rate = bench_classifier(posts)
        results["classifier_posts_per_second_one_core"] = round(classify_rate)
        results["fast_classifier_posts_per_second_one_core"] = round(
            bench_classifier(posts, fast=True)
        )
    out = OUT if not only else OUT.with_name(f"results-{'-'.join(sorted(only))}.json")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if wanted("workers"):
            sample = make_posts(CLASSIFIER_POSTS, "k")
            say(f"one stream worker, {ROUNDS} rounds of {N_POSTS} posts…")
            one = on_own_broker(bench_workers, 1, root, sample)
            say(f"two stream workers, {ROUNDS} rounds of {N_POSTS} posts…")
            two = on_own_broker(bench_workers, 2, root, sample)
            results |= {
                "pipeline_1_worker_posts_per_second": round(one.rate),
                "pipeline_2_workers_posts_per_second": round(two.rate),
                "two_workers_over_one": round(two.over_classifier / one.over_classifier, 2),
                "pipeline_over_classifier_alone": round(one.over_classifier, 2),
                "rounds": {
                    name: {
                        "posts_per_second": [round(x) for x in rounds.rates],
                        "classifier_alone": [round(x) for x in rounds.classifier],
                    }
                    for name, rounds in (("one", one), ("two", two))
                },
                "worker_peak_rss_mib": {"one": one.peak_mib, "two": two.peak_mib},
            }
            write(out, results)
        if wanted("latency"):
            latency: dict[str, object] = {}
            results["post_to_alert_latency"] = latency
            for path, seconds in (
                ("broker", LATENCY_SECONDS),
                ("push", LATENCY_SECONDS),
                ("poll", POLL_SECONDS),
            ):
                say(f"latency through {path} at {LATENCY_RATE:.0f} posts/s for {seconds:.0f} s…")
                latency[path] = on_own_broker(bench_latency, workers, root, path, seconds)
                write(out, results)
    if N_BACKFILL and wanted("backfill"):
        with tempfile.TemporaryDirectory() as tmp:
            say(f"backfill of {N_BACKFILL} posts through `socmon up` with {workers} workers…")
            results["backfill"] = bench_backfill(Path(tmp), workers)
    write(out, results)
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
