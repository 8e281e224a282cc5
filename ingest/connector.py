"""The connector interface: poll a source from a checkpoint, return posts and rejects.

A connector never talks to Kafka; the runner produces what it returns and saves the new
checkpoint only after the broker has acknowledged every item, so a restart neither misses nor
repeats.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from socmon.records import DeadLetter, Post


@dataclass(frozen=True)
class Fetched:
    """One poll's result.

    `checkpoint` is what to resume from after these items are safely in Kafka; `exhausted`
    says the source has nothing more right now (a replay file at its end, an empty API page).
    """

    posts: list[Post] = field(default_factory=list)
    rejects: list[DeadLetter] = field(default_factory=list)
    checkpoint: str | None = None
    exhausted: bool = True
    retry_after: float | None = None  # the source asked us to wait (rate limit)


class Connector(ABC):
    """A source of posts. `name` is stable: it keys the checkpoint and the metrics."""

    name: str

    @abstractmethod
    def poll(self, checkpoint: str | None) -> Fetched:
        """Fetch the next items after `checkpoint` (None: from the start)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most connectors hold nothing open
        """Release clients and files; called once when the runner stops."""

    @property
    def finite(self) -> bool:
        """True for sources that end (replay files): the runner may stop once exhausted."""
        return False
