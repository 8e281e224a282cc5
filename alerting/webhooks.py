"""Webhook channels over HTTPS (httpx): Microsoft Teams (Adaptive Card), Slack (Block Kit) and a
generic JSON webhook signed with HMAC-SHA256.

Webhook URLs carry their own credentials, so they are `SecretStr` and never appear in an error,
a log line or a dead letter: errors name the channel and the HTTP status only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import SecretStr

from alerting.channels import DeliveryFailed, DeliveryRefused, RetryLater
from alerting.render import Message
from socmon.config.alerting import ChannelName, SignedWebhookSettings
from socmon.safe_text import slack_escape, teams_markdown_escape

# Statuses worth another try: the server is busy or failing, not refusing this request.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
USER_AGENT = "socmon-alerting/1"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def post_json(
    label: str,
    url: SecretStr,
    body: bytes,
    timeout: float,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST `body`; return the 2xx response or raise the `DeliveryFailed` that fits the answer."""
    all_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT} | (headers or {})
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(url.get_secret_value(), content=body, headers=all_headers)
    except httpx.TimeoutException as exc:
        msg = f"{label} timed out after {timeout:.0f} s ({type(exc).__name__})"
        raise DeliveryFailed(msg) from exc
    except httpx.TransportError as exc:
        # The exception text can quote the URL, and the URL is the credential: class name only.
        msg = f"{label} unreachable ({type(exc).__name__})"
        raise DeliveryFailed(msg) from exc
    status = response.status_code
    if 200 <= status < 300:
        return response
    detail = response.text[:200].strip().replace("\n", " ")
    msg = f"{label} answered {status}" + (f": {detail}" if detail else "")
    if status in (429, 503):
        raise RetryLater(msg, parse_retry_after(response.headers.get("Retry-After")))
    if status in RETRYABLE_STATUSES:
        raise DeliveryFailed(msg)
    raise DeliveryRefused(msg)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clip_escaped(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """`text` escaped and at most `limit` long: clipped before escaping, so no escape is cut in
    half, to the longest length whose escaped form fits."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    fits, too_long = 0, len(text)  # escaping only lengthens: search the clip length
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if len(escape(_clip(text, middle))) <= limit:
            fits = middle
        else:
            too_long = middle
    return escape(_clip(text, fits)) if fits else ""


def adaptive_card(message: Message, recipients: Sequence[str]) -> dict[str, Any]:
    """A Teams message with one Adaptive Card (what incoming webhooks and Workflows accept).

    TextBlocks and facts read markdown, and the subject, body and facts quote the public: all
    are escaped. The actions are the message's links: the dashboard, and the post itself only
    if `socmon.urls.original_link` passed its URL.
    """
    md = teams_markdown_escape
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": md(message.subject),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        }
    ]
    if message.body:
        body.append(
            {"type": "TextBlock", "text": _clip_escaped(message.body, 2000, md), "wrap": True}
        )
    facts = [*message.facts, ("For", ", ".join(recipients))]
    body.append({"type": "FactSet", "facts": [{"title": md(t), "value": md(v)} for t, v in facts]})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [
            {"type": "Action.OpenUrl", "title": title, "url": url} for title, url in message.links
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def _slack_quote(text: str) -> str:
    return "\n".join("> " + slack_escape(line) for line in text.splitlines())


def _slack_field(title: str, value: str) -> str:
    heading = f"*{slack_escape(title)}*\n"
    return heading + _clip_escaped(value, 2000 - len(heading), slack_escape)


def slack_blocks(message: Message, recipients: Sequence[str]) -> dict[str, Any]:
    """A Slack message in Block Kit, with `text` as the notification fallback.

    Every mrkdwn text (and the fallback, which Slack formats too) is escaped, so the public's
    words make no mention, broadcast or link; ``plain_text`` is shown as written. The buttons
    are the message's links: the dashboard, and the post itself only if
    `socmon.urls.original_link` passed its URL.
    """
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(message.subject, 150)}}
    ]
    if message.body:
        quoted = _clip_escaped(message.body, 3000, _slack_quote)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": quoted}})
    facts = [*message.facts, ("For", ", ".join(recipients))][:10]  # Slack allows ten fields
    blocks.append(
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": _slack_field(t, v)} for t, v in facts],
        }
    )
    if message.links:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": t}, "url": u}
                    for t, u in message.links
                ],
            }
        )
    return {"text": slack_escape(message.subject), "blocks": blocks}


class TeamsChannel:
    """One card per recipient group into the channel of the configured webhook."""

    name: ChannelName = "teams"

    def __init__(self, url: SecretStr, timeout: float = 15.0) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, message: Message, recipients: Sequence[str]) -> None:
        body = json.dumps(adaptive_card(message, recipients), ensure_ascii=False).encode()
        post_json("teams webhook", self.url, body, self.timeout)

    def confirm(self, delivery_keys: Collection[str]) -> set[str] | None:
        return None


class SlackChannel:
    """One Block Kit message per recipient group into the channel of the configured webhook."""

    name: ChannelName = "slack"

    def __init__(self, url: SecretStr, timeout: float = 15.0) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, message: Message, recipients: Sequence[str]) -> None:
        body = json.dumps(slack_blocks(message, recipients), ensure_ascii=False).encode()
        post_json("slack webhook", self.url, body, self.timeout)

    def confirm(self, delivery_keys: Collection[str]) -> set[str] | None:
        return None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``<timestamp>.<body>`` (the timestamp stops replays)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class SignedWebhookChannel:
    """A JSON POST of the alert (or digest) signed with the shared secret.

    The receiver recomputes `sign` over the raw body and the timestamp header, compares in
    constant time and rejects old timestamps; ``X-Socmon-Delivery`` lets it drop a repeat.
    """

    name: ChannelName = "webhook"

    def __init__(
        self, settings: SignedWebhookSettings, clock: Callable[[], float] = time.time
    ) -> None:
        if settings.url is None or settings.secret is None:
            msg = "the signed webhook needs both a URL and a secret"
            raise ValueError(msg)
        self.url = settings.url
        self.secret = settings.secret
        self.settings = settings
        self.clock = clock

    def send(self, message: Message, recipients: Sequence[str]) -> None:
        payload = message.payload | {"recipients": list(recipients), "subject": message.subject}
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(self.clock()))
        headers = {
            self.settings.timestamp_header: timestamp,
            self.settings.signature_header: sign(self.secret.get_secret_value(), timestamp, body),
            "X-Socmon-Delivery": message.ref,
        }
        post_json("webhook", self.url, body, self.settings.timeout_seconds, headers)

    def confirm(self, delivery_keys: Collection[str]) -> set[str] | None:
        return None
