"""Metrics of alert delivery beyond the shared ones in `socmon.metrics` (deliveries, dead letters).

Built on an injected registry, like `socmon.metrics.Metrics`; labels come from small fixed sets
(alert kinds, channel names).
"""

from __future__ import annotations

from typing import NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge


class AlertingMetrics(NamedTuple):
    unrouted: Counter
    retries: Counter
    circuit_open: Gauge
    in_doubt: Counter
    digests: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> AlertingMetrics:
        return cls(
            unrouted=Counter(
                "socmon_alerts_unrouted",
                "Alerts sent to the communications team because no route named a recipient",
                ["kind"],
                registry=registry,
            ),
            retries=Counter(
                "socmon_delivery_retries",
                "Delivery attempts that failed and were tried again",
                ["channel"],
                registry=registry,
            ),
            circuit_open=Gauge(
                "socmon_delivery_circuit_open",
                "1 while a channel's circuit breaker is open (failing fast)",
                ["channel"],
                registry=registry,
                multiprocess_mode="livemax",
            ),
            in_doubt=Counter(
                "socmon_deliveries_in_doubt",
                "Deliveries interrupted by a crash whose outcome the channel cannot tell",
                ["channel"],
                registry=registry,
            ),
            digests=Counter(
                "socmon_digests",
                "Daily digests by channel and result",
                ["channel", "result"],
                registry=registry,
            ),
        )
