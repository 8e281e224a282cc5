"""Topic names and consumer groups. One prefix for all topics, so tests and several deployments
can share a broker."""

from __future__ import annotations

from dataclasses import dataclass

STREAM_GROUP = "socmon-stream"
"""The stream processors' consumer group (the Faust app id)."""
ALERTING_GROUP = "socmon-alerting"
"""Alert delivery's consumer group."""


@dataclass(frozen=True)
class Topics:
    """The four topics of the flow (see docs/architecture.md)."""

    prefix: str = "socmon"

    @property
    def posts_raw(self) -> str:
        return f"{self.prefix}.posts.raw"

    @property
    def posts_enriched(self) -> str:
        return f"{self.prefix}.posts.enriched"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}.alerts"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}.deadletter"

    def all(self) -> tuple[str, ...]:
        return (self.posts_raw, self.posts_enriched, self.alerts, self.deadletter)
