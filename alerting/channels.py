"""Delivery channels: what they share (the contract and its errors), the JSON Lines outbox file
and the console. E-mail is in `alerting.email`, Teams, Slack and the signed webhook in
`alerting.webhooks`; `alerting.channel_set.build_channels` makes the ones the routing table uses.
This module imports no other channel: the implementations import it, never the other way round.

A channel sends one rendered `Message` to one group of recipients. Errors are data for the
dispatcher: `DeliveryFailed` is retried, `RetryLater` carries the server's ``Retry-After``, and
`DeliveryRefused` (a bad address, a 4xx answer) is not retried at all.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Protocol, TextIO

from alerting.render import Message
from socmon.config.alerting import ChannelName
from socmon.records import Delivery, utcnow


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
        self._lock = threading.Lock()

    def send(self, message: Message, recipients: Sequence[str]) -> None:
        sent_at = utcnow().isoformat()
        lines = []
        for recipient in recipients:
            row = {
                "alert_id": message.ref,
                "kind": message.kind,
                "recipient": recipient,
                "subject": message.subject,
                "summary": message.subject,
                "alert_ids": list(message.alert_ids),
                "dashboard_url": message.links[0][1] if message.links else None,
                "text": message.text,
                "sent_at": sent_at,
            }
            lines.append(json.dumps(row, ensure_ascii=False) + "\n")
        data = "".join(lines).encode("utf-8")
        try:
            # One write() on an O_APPEND descriptor: a killed process leaves whole lines only.
            with self._lock:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
        except OSError as exc:
            msg = f"cannot write outbox {self.path}: {exc.strerror}"
            raise DeliveryFailed(msg) from exc

    def confirm(self, delivery_keys: Collection[str]) -> set[str] | None:
        wanted = set(delivery_keys)
        found: set[str] = set()
        try:
            with self.path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line cut short can only be the last one: it was not sent
                    for alert_id in row.get("alert_ids") or [row.get("alert_id")]:
                        key = Delivery.make_key(alert_id, row.get("recipient", ""), self.name)
                        if key in wanted:
                            found.add(key)
        except FileNotFoundError:
            return set()
        return found


class ConsoleChannel:
    """Prints one line per message for someone watching `socmon up` (not a delivery to anyone)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def show(self, message: Message, recipients: Sequence[str]) -> None:
        print(
            f"alert [{message.kind}] → {', '.join(recipients)}: {message.subject}",
            file=self.out,
            flush=True,
        )
