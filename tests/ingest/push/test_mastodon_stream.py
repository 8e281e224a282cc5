"""Mastodon's ``user:notification`` stream: Mastodon.py's streaming against a local SSE server
replaying recorded ``event: notification`` frames, the REST side (whose token, the instance, the
gap-filling notifications poll) recorded with `responses`, produced to the real broker."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from ingest.checkpoints import CheckpointStore
from ingest.connectors.mastodon import MastodonApi, RetryPolicy
from ingest.push import push_sources
from ingest.push.mastodon_stream import MastodonStreamSource
from ingest.push.source import StopSource
from ingest.registry import Notice
from socmon.config.governance import OfficialAccount
from socmon.records import DeadLetter, Post, parse_record
from socmon.settings import Settings
from tests.broker import read_topic
from tests.ingest.push.helpers import LogWaiter, close_runner, push_runner
from tests.ingest.push.servers import FIXTURES, SseReplay, sse_server

BASE = "https://mastodon.test"
TOKEN = "tok-c3RyZWFtaW5ndG9rZW4"
REST = FIXTURES / "mastodon"
STREAM = FIXTURES / "mastodon_stream"
ACCOUNTS = [
    OfficialAccount(platform="mastodon", handle="@NorthbrookNHS@mastodon.test", team="Comms"),
]
# The gap-filling polls: no checkpoint yet (the newest page), then after the drop from 206.
NOTIFICATION_PAGES = {
    None: REST / "notifications_after_200.json",
    "206": STREAM / "notifications_after_206.json",
    "207": STREAM / "notifications_after_207.json",
}


def recorded(path: Path, body: bytes | None = None):
    """A recorded body with the headers Mastodon sends (rate-limit budget, Link for lists)."""
    body = body if body is not None else path.read_bytes()
    reset = datetime.fromtimestamp(time.time() + 300, UTC).isoformat()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "299",
        "X-RateLimit-Reset": reset,
    }
    items = json.loads(body)
    if isinstance(items, list) and items:
        headers["Link"] = (
            f'<{BASE}/api/v1/notifications?max_id={items[-1]["id"]}>; rel="next", '
            f'<{BASE}/api/v1/notifications?min_id={items[0]["id"]}>; rel="prev"'
        )
    return 200, headers, body


def with_streaming_url(path: Path, streaming: str) -> bytes:
    """The instance document, its streaming URL pointed at the local server."""
    instance = json.loads(path.read_bytes())
    if "configuration" in instance:
        instance["configuration"]["urls"]["streaming"] = streaming
    else:
        instance["urls"]["streaming_api"] = streaming
    return json.dumps(instance).encode()


@pytest.fixture
def stream() -> Iterator[tuple[SseReplay, str]]:
    replay = SseReplay(
        [
            (STREAM / "first_connection.sse").read_bytes(),
            (STREAM / "second_connection.sse").read_bytes(),
        ]
    )
    with sse_server(replay) as base:
        yield replay, base


@pytest.fixture
def rest(stream) -> Iterator[responses.RequestsMock]:
    _, base = stream
    streaming = base.replace("http://", "ws://")  # what Mastodon advertises: a WebSocket URL
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(base)

        def add(path: str, reply) -> None:
            mock.add_callback(responses.GET, f"{BASE}{path}", callback=reply, content_type=None)

        add(
            "/api/v1/accounts/verify_credentials",
            lambda _: recorded(REST / "verify_credentials.json"),
        )
        v1, v2 = REST / "instance_v1.json", REST / "instance_v2.json"
        add("/api/v1/instance/", lambda _: recorded(v1, with_streaming_url(v1, streaming)))
        add("/api/v2/instance/", lambda _: recorded(v2, with_streaming_url(v2, streaming)))

        def notifications(request):
            min_id = parse_qs(urlparse(str(request.url)).query).get("min_id", [None])[0]
            return recorded(NOTIFICATION_PAGES[min_id])

        add("/api/v1/notifications", notifications)
        yield mock


def notification_polls(mock: responses.RequestsMock) -> list[dict[str, list[str]]]:
    return [
        parse_qs(urlparse(str(c.request.url)).query)
        for c in mock.calls
        if urlparse(str(c.request.url)).path == "/api/v1/notifications"
    ]


def api() -> MastodonApi:
    return MastodonApi(BASE, SecretStr(TOKEN), retry=RetryPolicy(attempts=1))


def test_a_drop_is_filled_by_one_poll_from_the_checkpoint_and_the_stream_goes_on(
    kafka_settings, tmp_path, stream, rest
):
    replay, _ = stream
    checkpoints = CheckpointStore(tmp_path / "cp.json")
    registry = CollectorRegistry()
    source = MastodonStreamSource(api(), ACCOUNTS, read_timeout=10)
    source.tick = 0.05  # batches are flushed at least this often
    runner = push_runner(kafka_settings, checkpoints, [source], registry)
    stop = threading.Event()
    with LogWaiter("ingest.push.runner", "disconnected") as drops:
        runner.start(stop)
        bootstrap, topics = kafka_settings.bootstrap_servers, kafka_settings.topics
        raw = read_topic(bootstrap, topics.posts_raw, 6)
        dead = read_topic(bootstrap, topics.deadletter, 2)
        started = time.monotonic()
        stop.set()
        assert runner.join(timeout=5) == []
        stopped_in = time.monotonic() - started
        # Mastodon.py's blocking reader is woken by the socket shutdown, not left behind.
        for reader in [t for t in threading.enumerate() if t.name == "mastodon:stream reader"]:
            reader.join(timeout=2)
            assert not reader.is_alive()
    close_runner(runner)

    posts = {p.post_id: p for p in (parse_record(Post, r.value) for r in raw)}
    # 202 and 203 from the first gap poll (201's status was deleted), 204 and 206 streamed, 207
    # from the poll after the drop, 208 streamed again; 205 (a favourite) is no post.
    assert sorted(posts) == [
        "113300000000000102",
        "113300000000000103",
        "113300000000000204",
        "113300000000000206",
        "113300000000000207",
        "113300000000000208",
    ]
    streamed = {k: posts[k] for k in ("113300000000000204", "113300000000000206")}
    assert {k: (p.kind, p.author, p.account) for k, p in streamed.items()} == {
        "113300000000000204": ("reply", "owen@toot.wales", "NorthbrookNHS"),
        "113300000000000206": ("mention", "sian", "NorthbrookNHS"),
    }
    assert posts["113300000000000206"].text == (
        "@NorthbrookNHS The car park barrier at the maternity unit has been stuck all morning"
    )
    assert posts["113300000000000207"].author == "rhys@mastodon.social"
    assert all(p.source == "mastodon:stream" for p in posts.values())

    letters = {d.origin: d for d in (parse_record(DeadLetter, r.value) for r in dead)}
    assert sorted(letters) == ["mastodon:stream", "mastodon:stream:201"]
    assert letters["mastodon:stream"].reason == "malformed stream event: Bad JSON"
    event = json.loads(letters["mastodon:stream"].payload)
    assert (event["event"], event["data"][:12]) == ("notification", '{"id":"2059"')

    # The poll after the drop started from the last notification streamed before it.
    assert [p.get("min_id") for p in notification_polls(rest)] == [None, ["206"]]
    assert replay.requests == [("/api/v1/streaming/user/notification", f"Bearer {TOKEN}")] * 2
    assert checkpoints.get("mastodon:stream") == "208"
    assert len(drops.records) == 1
    assert drops.records[0].exc_info is None
    assert "ended the stream" in drops.records[0].getMessage()
    assert stopped_in < 1.5


def test_a_token_of_an_account_not_in_the_register_stops_only_this_source(tmp_path, rest):
    others = [OfficialAccount(platform="mastodon", handle="NorthbrookMaternity", team="Mat")]
    source = MastodonStreamSource(api(), others)
    with pytest.raises(StopSource, match="not an active mastodon account in the register"):
        source.mentions()


def test_push_sources_streams_mastodon_when_enabled_with_streaming_and_credentials():
    settings = Settings(
        connectors={
            "mastodon": {
                "enabled": True,
                "api_base_url": BASE,
                "access_token": TOKEN,
                "streaming": True,
            }
        },
        accounts=ACCOUNTS,
    )
    assert [s.name for s in push_sources(settings)] == ["mastodon:stream"]
    off = settings.model_copy(deep=True)
    off.connectors.mastodon.streaming = False
    assert push_sources(off) == []
    notices: list[Notice] = []
    no_token = settings.model_copy(deep=True)
    no_token.connectors.mastodon.access_token = None
    assert push_sources(no_token, notify=notices.append) == []
    assert [n.problem for n in notices] == [True]
