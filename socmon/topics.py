"""Topic names. One prefix for all, so tests and several deployments can share a broker."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    """The four topics of the flow (see ARCHITECTURE.md)."""

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
