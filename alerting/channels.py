"""Delivery channels (first version): a JSON Lines outbox file and the console."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Protocol, TextIO

from socmon.records import Alert


class DeliveryFailed(Exception):
    """A channel could not deliver; the message says why (retried, then dead-lettered)."""


class Channel(Protocol):
    name: str

    def deliver(self, alert: Alert, recipient: str) -> None:
        """Deliver one alert to one recipient, or raise DeliveryFailed."""


class FileChannel:
    """Appends one JSON line per delivery to the outbox (what an e-mail would have said)."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def deliver(self, alert: Alert, recipient: str) -> None:
        line = json.dumps(
            {
                "alert_id": alert.alert_id,
                "kind": alert.kind,
                "recipient": recipient,
                "summary": alert.summary,
                "departments": list(alert.departments),
                "post_url": alert.post.url if alert.post else None,
            },
            ensure_ascii=False,
        )
        try:
            with self._lock, self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            msg = f"cannot write outbox {self.path}: {exc.strerror}"
            raise DeliveryFailed(msg) from exc


class ConsoleChannel:
    """Prints one line per alert (not per recipient), for someone watching `socmon up`."""

    name = "console"

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def deliver(self, alert: Alert, recipient: str) -> None:
        print(f"alert [{alert.kind}] → {recipient}: {alert.summary}", file=self.out, flush=True)
