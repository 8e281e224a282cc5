"""The receiver through Starlette's TestClient: Meta's subscription check, X's CRC, signed
recorded pushes answered 200 once the sink has them, 401 for a bad signature (logged without
the body or a secret), 413 past 1 MB, 503 when the broker is down, Instagram mentions read
from the Graph API after the answer or dead-lettered with their ids."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest
import responses
from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient

from ingest.webhooks.app import MAX_BODY, META_PATH, X_PATH, create_app
from ingest.webhooks.mentions import MentionFetcher
from ingest.webhooks.signatures import meta_signature, x_crc_response, x_signature
from ingest.webhooks.sink import SinkUnavailable
from socmon.config.connectors import GRAPH_API_VERSION
from socmon.metrics import Metrics, WebhookMetrics
from socmon.records import DeadLetter, Post
from socmon.settings import Settings
from tests.ingest.webhooks import (
    APP_SECRET,
    CONSUMER_SECRET,
    IG_USER,
    PAGE_TOKEN,
    VERIFY_TOKEN,
    raw_fixture,
    receiver_settings,
)

GRAPH_USER = f"https://graph.facebook.com/{GRAPH_API_VERSION}/{IG_USER}"


class RecordingSink:
    """A `PostSink` that keeps what it was given, or fails like a broker that is down."""

    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.posts: list[Post] = []
        self.rejects: list[DeadLetter] = []
        self.on_event_loop: list[bool] = []

    def deliver(self, posts: Sequence[Post], rejects: Sequence[DeadLetter]) -> None:
        try:
            asyncio.get_running_loop()
            self.on_event_loop.append(True)
        except RuntimeError:
            self.on_event_loop.append(False)
        if self.down:
            raise SinkUnavailable("the broker did not acknowledge within 5s: KafkaTimeoutError")
        self.posts += posts
        self.rejects += rejects

    def close(self) -> None:
        pass


class Receiver:
    def __init__(self, settings: Settings | None = None, down: bool = False) -> None:
        self.settings = settings or receiver_settings()
        self.sink = RecordingSink(down)
        self.registry = CollectorRegistry()
        metrics = Metrics.create(self.registry)
        fetcher = MentionFetcher(self.settings.connectors.facebook, sleep=lambda _: None)
        app = create_app(
            self.settings, self.sink, metrics, WebhookMetrics.create(self.registry), fetcher
        )
        self.client = TestClient(app)

    def count(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


def meta_post(receiver: Receiver, body: bytes, signature: str | None = None):
    headers = {"Content-Type": "application/json"}
    headers["X-Hub-Signature-256"] = signature or meta_signature(APP_SECRET, body)
    return receiver.client.post(META_PATH, content=body, headers=headers)


def test_meta_subscription_check_echoes_the_challenge_only_for_our_verify_token(receiver):
    query = {
        "hub.mode": "subscribe",
        "hub.challenge": "1158201444",
        "hub.verify_token": VERIFY_TOKEN,
    }
    answer = receiver.client.get(META_PATH, params=query)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    wrong = receiver.client.get(META_PATH, params={**query, "hub.verify_token": "guess"})
    assert wrong.status_code == 403
    assert "1158201444" not in wrong.text
    assert receiver.count("socmon_webhook_requests_total", platform="meta", result="refused") == 1


def test_x_crc_answers_the_response_token(receiver):
    answer = receiver.client.get(X_PATH, params={"crc_token": "9b4507b3-9040-4669"})
    assert answer.status_code == 200
    assert answer.json() == x_crc_response(CONSUMER_SECRET, "9b4507b3-9040-4669")
    assert receiver.client.get(X_PATH).status_code == 400


def test_a_signed_page_feed_push_is_answered_after_the_sink_took_it_off_the_event_loop(receiver):
    answer = meta_post(receiver, raw_fixture("meta_page_feed.json"))
    assert (answer.status_code, answer.text) == (200, "ok")
    assert [p.key for p in receiver.sink.posts] == [
        "facebook:1001_5001",
        "facebook:1001_5002",
        "facebook:1001_5003",
        "facebook:104836251234567_1010",
    ]
    assert [r.reason for r in receiver.sink.rejects] == ["missing field: comment_id"]
    assert receiver.sink.on_event_loop == [False]
    assert receiver.count("socmon_items_out_total", stage="ingest", platform="facebook") == 4
    assert receiver.count("socmon_webhook_ignored_total", platform="meta", reason="deleted") == 1
    assert receiver.count("socmon_deadletters_total", stage="ingest", reason="missing_field") == 1


def test_a_signed_x_mention_is_produced(receiver):
    body = raw_fixture("x_mention.json")
    answer = receiver.client.post(
        X_PATH,
        content=body,
        headers={"x-twitter-webhooks-signature": x_signature(CONSUMER_SECRET, body)},
    )
    assert answer.status_code == 200
    assert [p.key for p in receiver.sink.posts] == ["twitter:1993650000000000011"]


@pytest.mark.parametrize(
    ("path", "header", "value"),
    [
        (META_PATH, "X-Hub-Signature-256", None),
        (META_PATH, "X-Hub-Signature-256", meta_signature("not-the-app-secret", b"x")),
        (X_PATH, "x-twitter-webhooks-signature", None),
        (X_PATH, "x-twitter-webhooks-signature", x_signature("not-the-secret", b"x")),
    ],
)
def test_a_missing_or_wrong_signature_is_401_and_logged_without_body_or_secret(
    receiver, caplog, path, header, value
):
    body = raw_fixture("meta_page_feed.json" if path == META_PATH else "x_mention.json")
    headers = {header: value} if value else {}
    with caplog.at_level(logging.WARNING, logger="ingest.webhooks.app"):
        answer = receiver.client.post(path, content=body, headers=headers)
    assert answer.status_code == 401
    assert receiver.sink.posts == []
    assert receiver.sink.on_event_loop == []  # nothing was parsed nor sent
    (line,) = [r.getMessage() for r in caplog.records]
    assert "refused" in line
    assert "\n" not in line
    for secret in (APP_SECRET, CONSUMER_SECRET, "Karen", "walk-in centre", value or "none!"):
        assert secret not in line


def test_a_body_over_one_megabyte_is_refused_before_it_is_read_whole(receiver):
    body = b"{" + b" " * MAX_BODY + b"}"
    answer = meta_post(receiver, body)
    assert answer.status_code == 413
    assert receiver.sink.on_event_loop == []
    assert receiver.count("socmon_webhook_requests_total", platform="meta", result="too_large") == 1


def test_the_broker_down_is_503_so_the_platform_sends_it_again():
    receiver = Receiver(down=True)
    answer = meta_post(receiver, raw_fixture("meta_page_feed.json"))
    assert answer.status_code == 503
    assert (
        receiver.count(
            "socmon_webhook_requests_total", platform="meta", result="broker_unavailable"
        )
        == 1
    )
    assert receiver.count("socmon_items_out_total", stage="ingest", platform="facebook") == 0


def test_a_signed_body_that_is_not_json_is_dead_lettered_whole_and_accepted(receiver):
    answer = meta_post(receiver, b"object=page&entry=1")
    assert answer.status_code == 200
    (reject,) = receiver.sink.rejects
    assert reject.reason.startswith("not valid JSON")
    assert reject.payload == "object=page&entry=1"


def test_a_platform_without_its_secret_has_no_route():
    receiver = Receiver(receiver_settings(x_consumer_secret=None))
    assert receiver.client.get(X_PATH, params={"crc_token": "t"}).status_code == 404
    assert receiver.client.get("/healthz").text == "ok"


@responses.activate
def test_instagram_mentions_are_read_from_the_graph_api_after_the_answer(receiver):
    responses.get(
        GRAPH_USER, json=_json("graph_mentioned_comment.json"), match=[_fields("mentioned_comment")]
    )
    # The first read of the caption fails on Meta's side and is tried again.
    responses.get(
        GRAPH_USER,
        json=_json("graph_error_500.json"),
        status=500,
        match=[_fields("mentioned_media")],
    )
    responses.get(
        GRAPH_USER, json=_json("graph_mentioned_media.json"), match=[_fields("mentioned_media")]
    )
    answer = meta_post(receiver, raw_fixture("meta_instagram_mentions.json"))
    assert answer.status_code == 200
    by_key = {p.key: p for p in receiver.sink.posts}
    comment = by_key["instagram:17900000000000888"]
    assert (comment.kind, comment.account, comment.in_reply_to) == (
        "mention",
        "northbrookhospitals",
        "17900000000000777",
    )
    assert comment.text.startswith("@northbrookhospitals the car park barrier")
    caption = by_key["instagram:17900000000000999"]
    assert (caption.author, caption.media[0].type) == ("ffion.runs", "photo")
    assert receiver.sink.rejects == []
    # Each request goes to the configured Graph API version with the page token.
    assert len(responses.calls) == 3
    for call in responses.calls:
        url = str(call.request.url)
        assert f"/{GRAPH_API_VERSION}/{IG_USER}?" in url
        assert "access_token=EAAG-page-token" in url
    assert receiver.count("socmon_webhook_mention_fetches_total", result="ok") == 2


@responses.activate
def test_a_mention_that_cannot_be_read_is_dead_lettered_with_its_ids(receiver):
    responses.get(GRAPH_USER, json=_json("graph_error_500.json"), status=500)
    answer = meta_post(receiver, raw_fixture("meta_instagram_mentions.json"))
    assert answer.status_code == 200
    assert receiver.sink.posts == []
    assert len(receiver.sink.rejects) == 2
    first = receiver.sink.rejects[0]
    assert first.reason.startswith("mention could not be read: Graph API mentioned_comment")
    assert '"comment_id": "17900000000000888"' in first.payload
    assert '"media_id": "17900000000000777"' in first.payload
    assert PAGE_TOKEN not in first.model_dump_json()
    assert len(responses.calls) == 2 * 3  # bounded: max_retries 2, so three tries each


def _json(name: str):
    import json

    return json.loads(raw_fixture(name))


def _fields(edge: str):
    def match(request) -> tuple[bool, str]:
        from urllib.parse import parse_qs, urlparse

        fields = parse_qs(urlparse(request.url).query).get("fields", [""])[0]
        return (fields.startswith(f"{edge}."), f"fields={fields}")

    return match
