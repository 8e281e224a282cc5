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


class ConnectorError(Exception):
    """A source failed this poll; the runner logs it, counts it and goes on with the others."""


class AccessDenied(ConnectorError):
    """Credentials missing, expired or below the access level an endpoint needs.

    The message names the endpoint and what to change (401, 403, X's 453, Graph error 190). The
    runner stops polling that source until it is restarted; the other sources keep running.
    """


class RateLimited(ConnectorError):
    """The platform asked us to wait; `retry_after` is in seconds (from its headers)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SourceUnavailable(ConnectorError):
    """Server errors or time-outs that outlasted the bounded retries; try again next poll."""


@dataclass(frozen=True)
class CheckResult:
    """What `socmon connectors check` prints for one source."""

    source: str
    ok: bool
    detail: str
    endpoints: dict[str, bool] = field(default_factory=dict)  # endpoint -> allowed


class Connector(ABC):
    """A source of posts. `name` is stable: it keys the checkpoint and the metrics."""

    name: str

    @abstractmethod
    def poll(self, checkpoint: str | None) -> Fetched:
        """Fetch the next items after `checkpoint` (None: from the start)."""

    def check(self) -> CheckResult:
        """Whether the credentials work and which endpoints the access level allows."""
        return CheckResult(self.name, ok=True, detail="no credentials needed")

    def close(self) -> None:  # noqa: B027 - optional hook, most connectors hold nothing open
        """Release clients and files; called once when the runner stops."""

    @property
    def finite(self) -> bool:
        """True for sources that end (replay files): the runner may stop once exhausted."""
        return False
