"""On the real broker: a signed Page comment and a signed X mention reach socmon.posts.raw keyed
``platform:post_id``; a wrongly signed push produces nothing."""

from __future__ import annotations

import json

from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient

from ingest.webhooks.app import META_PATH, X_PATH, create_app
from ingest.webhooks.signatures import meta_signature, x_signature
from ingest.webhooks.sink import KafkaSink, make_webhook_producer
from socmon.kafka import ensure_topics
from socmon.metrics import Metrics, WebhookMetrics
from socmon.records import Post, parse_record
from tests.broker import read_topic
from tests.ingest.webhooks import APP_SECRET, CONSUMER_SECRET, raw_fixture, receiver_settings


def test_signed_pushes_reach_posts_raw_and_a_wrongly_signed_one_produces_nothing(kafka_settings):
    ensure_topics(kafka_settings)
    settings = receiver_settings(kafka_settings)
    topics = kafka_settings.topics
    sink = KafkaSink(make_webhook_producer(kafka_settings.bootstrap_servers, 10.0), topics, 10.0)
    registry = CollectorRegistry()
    app = create_app(settings, sink, Metrics.create(registry), WebhookMetrics.create(registry))
    feed = json.loads(raw_fixture("meta_page_feed.json"))
    feed["entry"][0]["changes"] = feed["entry"][0]["changes"][:1]  # Karen's comment only
    comment = json.dumps(feed).encode()
    mention = raw_fixture("x_mention.json")
    reply = raw_fixture("x_reply.json")
    try:
        with TestClient(app) as client:
            forged = client.post(
                X_PATH,
                content=reply,
                headers={"x-twitter-webhooks-signature": x_signature("guessed", reply)},
            )
            signed_comment = client.post(
                META_PATH,
                content=comment,
                headers={"X-Hub-Signature-256": meta_signature(APP_SECRET, comment)},
            )
            signed_mention = client.post(
                X_PATH,
                content=mention,
                headers={"x-twitter-webhooks-signature": x_signature(CONSUMER_SECRET, mention)},
            )
    finally:
        sink.close()
    assert (forged.status_code, signed_comment.status_code, signed_mention.status_code) == (
        401,
        200,
        200,
    )
    # Answered 200 only after the broker acknowledged: both are there to be read.
    records = read_topic(kafka_settings.bootstrap_servers, topics.posts_raw, expected=2)
    assert sorted(r.key.decode() for r in records) == [
        "facebook:1001_5001",
        "twitter:1993650000000000011",
    ]
    posts = [parse_record(Post, r.value) for r in records]
    assert all(p.key == r.key.decode() for p, r in zip(posts, records, strict=True))
    # Nothing more arrives: the forged reply (refused before the good ones) was never produced.
    again = read_topic(kafka_settings.bootstrap_servers, topics.posts_raw, expected=3, timeout=3)
    assert len(again) == 2
