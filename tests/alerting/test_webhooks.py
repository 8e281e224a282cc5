"""Teams, Slack and the signed webhook against a real local HTTP server that can fail on cue;
and the circuit breaker that keeps one dead webhook from holding the other channels up."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from pydantic import SecretStr

from alerting.channels import FileChannel
from alerting.dispatch import CircuitBreaker, Dispatcher
from alerting.render import Renderer
from alerting.webhooks import SignedWebhookChannel, TeamsChannel, parse_retry_after
from socmon.config.alerting import CircuitBreakerSettings, RetrySettings, SignedWebhookSettings
from socmon.safe_text import teams_markdown_escape
from tests.alerting.helpers import (
    Answer,
    WebhookServer,
    make_harness,
    make_settings,
    outbox_rows,
)
from tests.factories import make_post_alert
from tests.servers import free_port

SECRET = "shared-hmac-secret"


def webhook_settings(tmp_path, url: str, **extra):
    return make_settings(
        tmp_path, default_channels=["webhook"], webhook={"url": url, "secret": SECRET} | extra
    )


def verify(request, secret: str = SECRET) -> bool:
    """What a receiver does: HMAC over `timestamp.body`, compared in constant time."""
    timestamp = request.headers["X-Socmon-Timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(request.headers["X-Socmon-Signature"], "sha256=" + expected)


def test_a_webhook_answering_500_then_200_delivers_the_alert_exactly_once(tmp_path):
    with WebhookServer([Answer(500, body=b"boom")]) as server:
        harness = make_harness(webhook_settings(tmp_path, server.url))
        deliveries = harness.delivery.handle([make_post_alert()])
        again = harness.delivery.handle([make_post_alert()])  # the same alert redelivered
    assert [d.result for d in deliveries] == ["sent", "sent"]
    assert again == []
    assert len(server.requests) == 2  # the 500, then the 200
    assert server.requests[0].body == server.requests[1].body
    accepted = server.requests[1].json()
    assert accepted["alert"]["alert_id"] == "concern:twitter:42"
    assert accepted["recipients"] == [
        "maternity@northbrook.nhs.example",
        "patient-services@northbrook.nhs.example",
    ]
    assert harness.sample("socmon_delivery_retries_total", {"channel": "webhook"}) == 1
    assert harness.dead_letters.letters == []


def test_the_body_is_signed_with_hmac_sha256_over_the_timestamp_and_body(tmp_path):
    with WebhookServer() as server:
        harness = make_harness(webhook_settings(tmp_path, server.url))
        harness.delivery.handle([make_post_alert()])
    request = server.requests[0]
    assert abs(int(request.headers["X-Socmon-Timestamp"]) - time.time()) < 60
    assert verify(request)
    assert request.headers["X-Socmon-Delivery"] == "concern:twitter:42"
    tampered = type(request)(request.at, request.path, request.headers, request.body + b" ")
    assert not verify(tampered)
    assert not verify(request, secret="another-secret")


def test_429_with_retry_after_is_honoured_before_the_retry(tmp_path):
    with WebhookServer([Answer(429, {"Retry-After": "1"})]) as server:
        harness = make_harness(webhook_settings(tmp_path, server.url))
        deliveries = harness.delivery.handle([make_post_alert()])
    assert [d.result for d in deliveries] == ["sent", "sent"]
    first, second = server.requests
    # The backoff of these settings is 10 ms: the one-second wait came from Retry-After.
    assert second.at - first.at >= 1.0


def test_a_retry_after_beyond_the_limit_gives_up_at_once_and_dead_letters(tmp_path):
    with WebhookServer(then=Answer(429, {"Retry-After": "3600"})) as server:
        harness = make_harness(webhook_settings(tmp_path, server.url))
        deliveries = harness.delivery.handle([make_post_alert()])
    assert len(server.requests) == 1
    assert {d.result for d in deliveries} == {"failed"}
    [letter] = harness.dead_letters.letters
    assert letter.reason.startswith("webhook delivery to maternity@northbrook.nhs.example, ")
    assert "webhook answered 429" in letter.reason
    assert json.loads(letter.payload)["alert_id"] == "concern:twitter:42"
    assert (
        harness.sample(
            "socmon_deadletters_total", {"stage": "alerting", "reason": "delivery_failed"}
        )
        == 1
    )


def test_a_refusal_is_not_retried_and_the_url_never_appears_in_errors_or_logs(tmp_path, caplog):
    with WebhookServer(then=Answer(404, body=b"no such hook")) as server:
        harness = make_harness(webhook_settings(tmp_path, server.url))
        deliveries = harness.delivery.handle([make_post_alert()])
    assert len(server.requests) == 1
    assert deliveries[0].detail == "webhook answered 404: no such hook"
    assert "s3cr3t-token" not in caplog.text
    assert all("s3cr3t-token" not in d.reason for d in harness.dead_letters.letters)


def test_an_unreachable_webhook_error_names_no_url(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/hook/s3cr3t-token"
    harness = make_harness(webhook_settings(tmp_path, url), sleep=lambda _s: None)
    [first, _] = harness.delivery.handle([make_post_alert()])
    assert first.detail == "webhook unreachable (ConnectError)"


def test_teams_gets_an_adaptive_card_with_the_facts_and_the_dashboard_link(tmp_path):
    settings = make_settings(tmp_path)
    message = Renderer(settings).alert(make_post_alert())
    with WebhookServer(then=Answer(202)) as server:  # Workflows answer 202 Accepted
        TeamsChannel(SecretStr(server.url)).send(message, ["maternity@northbrook.nhs.example"])
    payload = server.requests[0].json()
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    # the headline quotes the post, so it is escaped for the card's markdown
    assert card["body"][0]["text"] == teams_markdown_escape(message.subject)
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert facts["Department"] == "Maternity"
    assert facts["For"] == teams_markdown_escape("maternity@northbrook.nhs.example")
    assert card["actions"][0]["url"] == "http://127.0.0.1:8050/posts/twitter:42"


def test_slack_gets_block_kit_with_a_fallback_text(tmp_path):
    with WebhookServer() as server:
        settings = make_settings(
            tmp_path, default_channels=["slack"], slack={"webhook_url": server.url}
        )
        harness = make_harness(settings)
        harness.delivery.handle([make_post_alert()])
    payload = server.requests[0].json()
    assert payload["text"].startswith("[Concern] Concern from twitter @sam")
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "section", "actions"]
    assert payload["blocks"][1]["text"]["text"] == "> The labour ward left us waiting for hours"
    fields = [f["text"] for f in payload["blocks"][2]["fields"]]
    assert "*Department*\nMaternity" in fields


def test_one_dead_webhook_does_not_hold_up_the_outbox(tmp_path):
    with WebhookServer(then=Answer(500)) as server:
        settings = make_settings(
            tmp_path,
            default_channels=["webhook", "file"],
            webhook={"url": server.url, "secret": SECRET},
            retry={"attempts": 3, "initial_seconds": 0.2, "max_seconds": 0.2},
            circuit_breaker={"failures": 3, "reset_seconds": 600},
        )
        harness = make_harness(settings)
        alerts = [make_post_alert(post_id=str(i)) for i in range(20)]
        started = time.monotonic()
        deliveries = harness.delivery.handle(alerts)
        elapsed = time.monotonic() - started
    by_channel = {
        channel: sorted({d.result for d in deliveries if d.channel == channel})
        for channel in ("webhook", "file")
    }
    assert by_channel == {"webhook": ["failed"], "file": ["sent"]}
    assert len(outbox_rows(settings)) == 40  # every alert to both recipients, on time
    assert len(server.requests) == 3  # then the breaker opened: no more waiting on it
    assert elapsed < 6.0  # 20 alerts × 3 attempts × 0.2 s backoff would take 8 s or more
    assert harness.sample("socmon_delivery_circuit_open", {"channel": "webhook"}) == 1
    assert len(harness.dead_letters.letters) == 20  # each failure dead-lettered with its reason


def test_the_breaker_lets_one_trial_through_after_the_pause_and_closes_on_success(tmp_path):
    clock = [0.0]
    with WebhookServer([Answer(500), Answer(500)]) as server:
        channel = SignedWebhookChannel(
            SignedWebhookSettings(url=SecretStr(server.url), secret=SecretStr(SECRET))
        )
        breaker = CircuitBreaker(
            "webhook", CircuitBreakerSettings(failures=2, reset_seconds=30), lambda: clock[0]
        )
        dispatcher = Dispatcher(channel, RetrySettings(attempts=1), breaker)
        message = Renderer(make_settings(tmp_path)).alert(make_post_alert())
        assert dispatcher.send(message, ["a"]).failed
        assert dispatcher.send(message, ["a"]).failed
        assert breaker.state == "open"
        clock[0] = 29.0
        assert "circuit open" in dispatcher.send(message, ["a"]).failed["a"]
        assert len(server.requests) == 2  # failing fast: not even tried
        clock[0] = 30.0
        assert dispatcher.send(message, ["a"]).sent == ["a"]
        assert breaker.state == "closed"
        assert len(server.requests) == 3


def test_retry_after_may_be_an_http_date():
    from datetime import UTC, datetime

    now = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
    assert parse_retry_after("Sun, 29 Mar 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None


def test_the_file_channel_can_confirm_what_it_wrote(tmp_path):
    channel = FileChannel(tmp_path / "outbox.jsonl")
    message = Renderer(make_settings(tmp_path)).alert(make_post_alert())
    channel.send(message, ["a@x", "b@x"])
    keys = {"concern:twitter:42|a@x|file", "concern:twitter:42|c@x|file"}
    assert channel.confirm(keys) == {"concern:twitter:42|a@x|file"}
