"""Delivery channels: what they share (the contract and its errors), the JSON Lines outbox file
and the console. E-mail is in `alerting.email`, Teams, Slack and the signed webhook in
`alerting.webhooks`; `alerting.channel_set.build_channels` makes the ones the routing table uses.
This module imports no other channel: the implementations import it, never the other way round.

A channel sends one rendered `Message` to one group of recipients. Errors are data for the
dispatcher: `DeliveryFailed` is retried, `RetryLater` carries the server's ``Retry-After``, and
`DeliveryRefused` (a bad address, a 4xx answer) is not retried at all.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol, TextIO

from alerting import outbox
from alerting.render import Message
from socmon.config.alerting import ChannelName
from socmon.records import Delivery, utcnow
from socmon.safe_text import terminal_safe


class DeliveryFailed(Exception):
    """A channel could not deliver; the message says why (retried, then dead-lettered)."""


class RetryLater(DeliveryFailed):
    """The server asked to wait (HTTP 429 or 503): ``retry_after`` seconds, if it said."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DeliveryRefused(DeliveryFailed):
    """Retrying cannot help (no address for a person, the server refused): dead-letter at once."""


class UnknownRecipient(DeliveryRefused):
    """The channel has no address for this recipient: a gap in the configuration, not an outage."""


class PartlyDelivered(DeliveryRefused):
    """Some recipients of the group were refused (``refused``: recipient -> reason); the others
    were told, so only the refused ones are failures."""

    def __init__(self, message: str, refused: dict[str, str]) -> None:
        super().__init__(message)
        self.refused = refused


class Channel(Protocol):
    """Sends a message to a group of recipients, all or nothing."""

    name: ChannelName

    def send(self, message: Message, recipients: Sequence[str]) -> None:
        """Deliver `message` to every recipient, or raise a `DeliveryFailed`."""

    def confirm(self, delivery_keys: Collection[str]) -> set[str] | None:
        """After a crash: which of these deliveries did go out (None: this channel cannot tell)."""


class FileChannel:
    """Appends one JSON line per recipient to the outbox: what an e-mail would have said."""

    name: ChannelName = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def send(self, message: Message, recipients: Sequence[str]) -> None:
        sent_at = utcnow().isoformat()
        posted_at = _earliest_post(message)
        rows = [
            {
                "alert_id": message.ref,
                "kind": message.kind,
                "recipient": recipient,
                "subject": message.subject,
                "summary": message.subject,
                "alert_ids": list(message.alert_ids),
                "dashboard_url": message.links[0][1] if message.links else None,
                "text": message.text,
                "sent_at": sent_at,
                "posted_at": posted_at,
            }
            for recipient in recipients
        ]
        try:
            outbox.append(self.path, rows)
        except OSError as exc:
            msg = f"cannot write outbox {self.path}: {exc.strerror}"
            raise DeliveryFailed(msg) from exc

    def confirm(self, delivery_keys: Collection[str]) -> set[str] | None:
        wanted = set(delivery_keys)
        found: set[str] = set()
        for row in outbox.read(self.path):
            for alert_id in outbox.alert_ids_of(row):
                key = Delivery.make_key(alert_id, row.get("recipient", ""), self.name)
                if key in wanted:
                    found.add(key)
        return found


def _earliest_post(message: Message) -> str | None:
    """The time of the earliest post the message is about (from its webhook payload), by
    which retention ages the outbox line; None for a message about no post."""
    alerts = message.payload.get("alerts") or [message.payload.get("alert")]
    times = [
        alert["post"]["created_at"]
        for alert in alerts
        if isinstance(alert, dict) and isinstance(alert.get("post"), dict)
    ]
    return min(times, key=datetime.fromisoformat) if times else None


class ConsoleChannel:
    """Prints one line per message for someone watching `socmon up` (not a delivery to anyone).

    The line quotes the public (an author, a post's words): escape sequences and control
    characters are removed, so it cannot retitle, clear or rewrite the terminal.
    """

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def show(self, message: Message, recipients: Sequence[str]) -> None:
        line = f"alert [{message.kind}] → {', '.join(recipients)}: {message.subject}"
        print(" ".join(terminal_safe(line).split()), file=self.out, flush=True)
