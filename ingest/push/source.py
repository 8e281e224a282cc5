"""What a push source is: one connection at a time, turned into `Received` frames.

A push source knows its platform's wire format and nothing of Kafka: the runner
(`ingest.push.runner`) batches what it yields, produces it, and saves the checkpoint only after
the broker acknowledged the batch, the same contract as the polled connectors.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Generator
from dataclasses import dataclass

from socmon.records import DeadLetter, Post


@dataclass(frozen=True)
class Received:
    """One frame's outcome: a post, a dead letter, or None for a frame that concerns no official
    account (another user's post, an identity event). `checkpoint` is where a reconnect resumes
    once this frame and every frame before it are in Kafka; None leaves it where it was (an item
    in the middle of a gap-filling poll, a frame with no cursor). `live` is False for what a
    source fetched itself to fill a gap: only live frames show that the connection works."""

    item: Post | DeadLetter | None
    checkpoint: str | None = None
    live: bool = True


class Disconnected(Exception):
    """The connection could not be made or was lost; the runner reconnects after a back-off.

    The message is one line for the log (where, and why), never a traceback.
    """


class StopSource(Exception):
    """The source cannot work until the configuration changes (credentials refused, an account
    not in the register): the runner stops it and the other sources go on."""


class PushSource(ABC):
    """A platform that pushes: `receive` holds one connection; `name` keys its checkpoint."""

    name: str

    tick: float = 0.5
    """Longest time `receive` may go without yielding: the runner flushes what it holds and the
    source notices `stop` at least this often."""

    @abstractmethod
    def receive(
        self, checkpoint: str | None, stop: threading.Event
    ) -> Generator[Received | None, None, None]:
        """Connect, resuming after `checkpoint` (None: from now), and yield what arrives.

        Yields None when nothing arrived for `tick` seconds. Returns when `stop` is set; raises
        `Disconnected` when the connection fails or drops, `StopSource` when retrying is useless.
        Closing the generator closes the connection.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients; called once when the runner stops."""
