"""Every Prometheus metric of every stage, declared in one place.

Metrics are built on an injected registry (a fresh one per test). In the embedded mode the stages
run as separate processes that share ``PROMETHEUS_MULTIPROC_DIR``; the supervisor serves the sum
of them all on one ``/metrics`` endpoint.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Processing latency of one item or batch in seconds: classification is sub-millisecond,
# a bulk write to the index or an SMTP delivery can take seconds.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


class Metrics(NamedTuple):
    """Labels come from small fixed sets only (stage, platform, reason, kind, channel, source)."""

    items_in: Counter
    items_out: Counter
    deadletters: Counter
    alerts: Counter
    latency: Histogram
    connector_errors: Counter
    connector_fetched: Counter
    connector_last_success: Gauge
    connector_api_calls: Counter
    connector_rate_limit_waits: Counter
    deliveries: Counter
    batch_retries: Counter
    batch_waiting: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> Metrics:
        reg = registry if registry is not None else CollectorRegistry(auto_describe=True)
        return cls(
            items_in=Counter(
                "socmon_items_in", "Items a stage received", ["stage", "platform"], registry=reg
            ),
            items_out=Counter(
                "socmon_items_out", "Items a stage passed on", ["stage", "platform"], registry=reg
            ),
            deadletters=Counter(
                "socmon_deadletters",
                "Items sent to the dead-letter topic",
                ["stage", "reason"],
                registry=reg,
            ),
            alerts=Counter("socmon_alerts", "Alerts raised", ["kind"], registry=reg),
            latency=Histogram(
                "socmon_processing_seconds",
                "Time to process one item or batch",
                ["stage"],
                buckets=LATENCY_BUCKETS,
                registry=reg,
            ),
            connector_errors=Counter(
                "socmon_connector_errors", "Connector errors", ["source", "error"], registry=reg
            ),
            connector_fetched=Counter(
                "socmon_connector_fetched", "Items fetched by a connector", ["source"], registry=reg
            ),
            connector_last_success=Gauge(
                "socmon_connector_last_success_timestamp_seconds",
                "Unix time of the last successful poll of a source",
                ["source"],
                registry=reg,
                multiprocess_mode="max",
            ),
            connector_api_calls=Counter(
                "socmon_connector_api_calls",
                "Platform API calls by source and HTTP status (or timeout)",
                ["source", "status"],
                registry=reg,
            ),
            connector_rate_limit_waits=Counter(
                "socmon_connector_rate_limit_waits",
                "Times a source was paused because the platform asked it to wait",
                ["source"],
                registry=reg,
            ),
            deliveries=Counter(
                "socmon_deliveries",
                "Alert deliveries by channel and result",
                ["channel", "result"],
                registry=reg,
            ),
            batch_retries=Counter(
                "socmon_batch_retries",
                "Times a stream stage tried a batch again, still unacknowledged (reason: "
                "index_unavailable, or error for anything unexpected)",
                ["stage", "reason"],
                registry=reg,
            ),
            batch_waiting=Gauge(
                "socmon_batch_waiting_seconds",
                "How long a stream stage has been retrying its current batch (0: not waiting)",
                ["stage"],
                registry=reg,
                multiprocess_mode="livemax",
            ),
        )


def process_registry() -> CollectorRegistry:
    """The registry a stage process should use: the default one (multiprocess-aware when
    ``PROMETHEUS_MULTIPROC_DIR`` is set, so the supervisor can add up every process)."""
    from prometheus_client import REGISTRY

    return REGISTRY


def multiprocess_enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class MetricsUnavailable(RuntimeError):
    """The ``/metrics`` port cannot be bound; the message names it and the fix."""


def serve_metrics(host: str, port: int) -> int:
    """Serve ``/metrics`` of this process (or of every process, in multiprocess mode).

    Returns the port actually bound (``port=0`` picks a free one); raises `MetricsUnavailable`
    when the port is taken or not allowed.
    """
    from prometheus_client import REGISTRY, start_http_server

    registry = REGISTRY
    if multiprocess_enabled():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        msg = (
            f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}; set metrics.port "
            "(SOCMON_METRICS__PORT, or --metrics-port) to a free port, or 0 for any"
        )
        raise MetricsUnavailable(msg) from exc
    return int(server.server_port)


class AlertingMetrics(NamedTuple):
    """Alert delivery beyond the shared deliveries and dead letters: unrouted alerts, retries,
    circuit breakers, in-doubt sends and digests (labels from small fixed sets)."""

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


class WebhookMetrics(NamedTuple):
    """The webhook receiver (`socmon webhooks`): pushes answered, events ignored, Instagram
    mentions read; labels from small fixed sets (platform, result, reason)."""

    requests: Counter
    ignored: Counter
    mention_fetches: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> WebhookMetrics:
        return cls(
            requests=Counter(
                "socmon_webhook_requests",
                "Pushes and challenges the webhook receiver answered, by platform and result "
                "(accepted, bad_signature, too_large, broker_unavailable, verified, refused)",
                ["platform", "result"],
                registry=registry,
            ),
            ignored=Counter(
                "socmon_webhook_ignored",
                "Pushed events deliberately not turned into posts (deleted, reaction, field, "
                "verb, item, event_type, object)",
                ["platform", "reason"],
                registry=registry,
            ),
            mention_fetches=Counter(
                "socmon_webhook_mention_fetches",
                "Instagram mentions whose text was read after the push (ok) or dead-lettered "
                "(failed), or lost because the broker was down even for the dead letter (lost)",
                ["result"],
                registry=registry,
            ),
        )
