"""Jetstream: recorded frames replayed by a local WebSocket server, produced to the real broker."""

from __future__ import annotations

import json
import threading
import time

from prometheus_client import CollectorRegistry

from ingest.checkpoints import CheckpointStore
from ingest.push import push_sources
from ingest.push.jetstream import REWIND_US, JetstreamSource, subscribe_url
from ingest.push.runner import Backoff, PushRunner
from ingest.push.sink import KafkaSink
from ingest.registry import Notice
from socmon.config.governance import OfficialAccount
from socmon.metrics import Metrics
from socmon.records import DeadLetter, Post, parse_record
from socmon.settings import Settings
from socmon.topics import Topics
from tests.broker import read_topic
from tests.ingest.push.helpers import LogWaiter, close_runner, push_runner
from tests.ingest.push.servers import JetstreamReplay, jetstream_frames, jetstream_server

NHS = "did:plc:northbrooknhs000000000001"
MATERNITY = "did:plc:nbmaternity0000000000001"
ACCOUNTS = {NHS: "northbrooknhs.bsky.social", MATERNITY: "nbmaternity.bsky.social"}
FRAMES = jetstream_frames()
TIMES = [json.loads(f)["time_us"] for f in FRAMES if not f.endswith("feed.po")]
POST = "app.bsky.feed.post"
# (post id, kind, account, author, in reply to) of every frame that concerns an official account.
EXPECTED = [
    (f"at://{NHS}/{POST}/3m2dnhsflu01a", "official_post", "northbrooknhs.bsky.social",
     "northbrooknhs.bsky.social", None),
    (f"at://did:plc:carys00000000000000000001/{POST}/3m2dcarys01aa", "reply",
     "northbrooknhs.bsky.social", "did:plc:carys00000000000000000001",
     f"at://{NHS}/{POST}/3m2dnhsflu01a"),
    (f"at://did:plc:dafydd0000000000000000001/{POST}/3m2ddafydd1aa", "mention",
     "nbmaternity.bsky.social", "did:plc:dafydd0000000000000000001", None),
    (f"at://did:plc:zq4kdw7v2xjxnmbrhpy5t6ua/{POST}/3m2drnd0001aa", "mention",
     "northbrooknhs.bsky.social", "did:plc:zq4kdw7v2xjxnmbrhpy5t6ua", None),
    (f"at://did:plc:dafydd0000000000000000001/{POST}/3m2ddafydd2aa", "reply",
     "northbrooknhs.bsky.social", "did:plc:dafydd0000000000000000001",
     "at://did:plc:carys00000000000000000001/app.bsky.feed.post/3m2dcarys01aa"),
]  # fmt: skip


def described(post: Post) -> tuple[str, str, str, str, str | None]:
    return (post.post_id, post.kind, post.account, post.author, post.in_reply_to)


def test_each_frame_becomes_a_post_a_dead_letter_or_nothing_with_its_cursor():
    source = JetstreamSource("ws://unused/subscribe", ACCOUNTS)
    received = [source.received(frame) for frame in FRAMES]

    posts = [r.item for r in received if isinstance(r.item, Post)]
    assert [described(p) for p in posts] == EXPECTED
    first = posts[0]
    assert first.text.startswith("Flu vaccination clinics are open")
    assert first.url == "https://bsky.app/profile/northbrooknhs.bsky.social/post/3m2dnhsflu01a"
    assert [(m.type, m.alt_text) for m in first.media] == [
        ("photo", "Poster of the flu clinic opening times")
    ]
    assert (first.lang, first.source, first.engagement) == ("en", "bluesky:jetstream", None)
    assert posts[1].url == (
        "https://bsky.app/profile/did:plc:carys00000000000000000001/post/3m2dcarys01aa"
    )

    letters = [r.item for r in received if isinstance(r.item, DeadLetter)]
    assert letters[0].reason.startswith("not valid JSON")
    assert letters[0].origin == "bluesky:jetstream"
    other = f"at://did:plc:w3gk6fo5xymrgu2a7vg4hl3b/{POST}/3m2dother01aa"
    assert letters[1].origin == f"bluesky:jetstream:{other}"
    assert letters[1].reason.startswith(f"{other}: post record invalid")
    assert json.loads(letters[1].payload)["commit"]["rkey"] == "3m2dother01aa"
    # Every readable frame moves the cursor, whether it concerned anyone or not.
    assert [r.checkpoint for r in received if r.checkpoint] == [str(t) for t in TIMES]


def test_the_subscription_asks_for_posts_from_the_cursor_rewound_five_seconds():
    url = subscribe_url("wss://jetstream2.us-east.bsky.network/subscribe", "1791032461234567")
    assert url == (
        "wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post"
        "&cursor=1791032456234567"
    )
    own_only = subscribe_url("ws://h/subscribe", None, frozenset(ACCOUNTS))
    assert own_only == (
        "ws://h/subscribe?wantedCollections=app.bsky.feed.post"
        f"&wantedDids={MATERNITY.replace(':', '%3A')}&wantedDids={NHS.replace(':', '%3A')}"
    )


def run(runner):
    stop = threading.Event()
    runner.start(stop)
    return stop


def stop_and_join(runner, stop) -> float:
    started = time.monotonic()
    stop.set()
    assert runner.join(timeout=5) == []
    return time.monotonic() - started


def test_a_dropped_connection_resumes_from_the_saved_cursor_and_loses_nothing(
    kafka_settings, tmp_path
):
    replay = JetstreamReplay(FRAMES, drop_after={0: 8})  # dropped after the 8th frame
    checkpoints = CheckpointStore(tmp_path / "cp.json")
    registry = CollectorRegistry()
    with jetstream_server(replay) as url:
        source = JetstreamSource(url, ACCOUNTS)
        source.tick = 0.05  # batches are flushed at least this often
        runner = push_runner(kafka_settings, checkpoints, [source], registry)
        with LogWaiter("ingest.push.runner", "disconnected") as drops:
            stop = run(runner)
            bootstrap, topics = kafka_settings.bootstrap_servers, kafka_settings.topics
            raw = read_topic(bootstrap, topics.posts_raw, len(EXPECTED))
            dead = read_topic(bootstrap, topics.deadletter, 2)
            stopped_in = stop_and_join(runner, stop)
        close_runner(runner)

    posts = sorted((parse_record(Post, r.value) for r in raw), key=lambda p: p.created_at)
    assert [described(p) for p in posts] == EXPECTED
    assert sorted(r.key.decode() for r in raw) == sorted(f"bluesky:{e[0]}" for e in EXPECTED)
    assert len(dead) == 2
    # The second connection asked for the cursor of the last frame before the drop, rewound.
    assert replay.cursors() == [None, TIMES[6] - REWIND_US]
    assert checkpoints.get("bluesky:jetstream") == str(TIMES[-1])
    assert len(drops.records) == 1
    assert drops.records[0].exc_info is None  # one line, no traceback
    assert "closed the connection" in drops.records[0].getMessage()
    assert stopped_in < 1.5  # an idle connection notices the stop within a tick
    fetched = registry.get_sample_value(
        "socmon_connector_fetched_total", {"source": "bluesky:jetstream"}
    )
    assert fetched == len(EXPECTED)


def test_the_cursor_is_not_saved_when_the_broker_refuses_the_batch(kafka_settings, tmp_path):
    replay = JetstreamReplay(FRAMES)
    checkpoints = CheckpointStore(tmp_path / "cp.json")
    registry = CollectorRegistry()
    with jetstream_server(replay) as url:
        source = JetstreamSource(url, ACCOUNTS)
        source.tick = 0.05  # batches are flushed at least this often
        runner = push_runner(kafka_settings, checkpoints, [source], registry, fail_sends=1)
        stop = run(runner)
        raw = read_topic(
            kafka_settings.bootstrap_servers, kafka_settings.topics.posts_raw, len(EXPECTED)
        )
        stop_and_join(runner, stop)
        close_runner(runner)

    # Nothing was saved after the failed batch, so the reconnect replayed from the start.
    assert replay.cursors() == [None, None]
    assert sorted(parse_record(Post, r.value).post_id for r in raw) == sorted(
        e[0] for e in EXPECTED
    )
    assert checkpoints.get("bluesky:jetstream") == str(TIMES[-1])
    errors = registry.get_sample_value(
        "socmon_connector_errors_total", {"source": "bluesky:jetstream", "error": "produce"}
    )
    assert errors == 1.0


def test_an_unreachable_jetstream_is_retried_with_growing_waits_one_line_each(tmp_path):
    checkpoints = CheckpointStore(tmp_path / "cp.json")
    with jetstream_server(JetstreamReplay([])) as url:
        pass  # the port is free again: nothing listens there
    source = JetstreamSource(url, ACCOUNTS, open_timeout=1)
    sink = KafkaSink(producer=None, topics=Topics())  # never reached: nothing arrives
    backoff = Backoff(initial=0.01, maximum=0.04)
    runner = PushRunner([source], sink, checkpoints, Metrics.create(CollectorRegistry()), backoff)
    with LogWaiter("ingest.push.runner", "disconnected") as drops:
        stop = run(runner)
        assert drops.wait(4)
        stop_and_join(runner, stop)
    waits = [float(r.getMessage().rsplit(" ", 1)[1].rstrip("s")) for r in drops.records[:4]]
    assert waits == [0.01, 0.02, 0.04, 0.04]
    assert all(r.exc_info is None for r in drops.records)
    assert "cannot connect to Jetstream at 127.0.0.1" in drops.records[0].getMessage()
    assert checkpoints.get("bluesky:jetstream") is None


def test_push_sources_watches_the_official_accounts_that_have_a_did():
    settings = Settings(
        connectors={"bluesky": {"enabled": True}},
        accounts=[
            OfficialAccount(platform="bluesky", handle="@northbrooknhs.bsky.social",
                            platform_id=NHS, team="Comms"),
            OfficialAccount(platform="bluesky", handle="nbmaternity.bsky.social", team="Mat"),
        ],
    )  # fmt: skip
    notices: list[Notice] = []
    sources = push_sources(settings, notify=notices.append)
    assert [s.name for s in sources] == ["bluesky:jetstream"]
    assert isinstance(sources[0], JetstreamSource)
    assert sources[0].watched.accounts == {NHS: "northbrooknhs.bsky.social"}
    assert [n.problem for n in notices] == [True]
    assert "nbmaternity.bsky.social" in notices[0].text
    off = settings.model_copy(deep=True)
    off.connectors.bluesky.jetstream_url = None
    assert push_sources(off, notify=notices.append) == []


def test_frames_replayed_by_the_rewind_never_move_the_checkpoint_back():
    with jetstream_server(JetstreamReplay(FRAMES)) as url:
        source = JetstreamSource(url, ACCOUNTS)
        frames = source.receive(str(TIMES[6]), threading.Event())
        replayed, new = next(frames), next(frames)
        frames.close()
    assert replayed is not None
    assert new is not None
    assert (replayed.checkpoint, replayed.live) == (None, False)  # the frame at the checkpoint
    assert (new.checkpoint, new.live) == (str(TIMES[7]), True)
    assert isinstance(new.item, Post)
