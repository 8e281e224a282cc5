"""Running the receiver: the settings it cannot start without, the producer, uvicorn."""

from __future__ import annotations

from socmon.config.connectors import WebhookSettings
from socmon.settings import Settings

ENV = "SOCMON_CONNECTORS__WEBHOOKS__"


class ReceiverError(Exception):
    """The receiver cannot start; the message names what is missing and the fix."""


def missing_setting(hooks: WebhookSettings) -> str | None:
    """One sentence naming the setting the receiver cannot start without, or None."""
    if hooks.meta_app_secret is None and hooks.x_consumer_secret is None:
        return (
            "no platform secret is set, so no push could be verified: set "
            f"{ENV}META_APP_SECRET (Meta's app secret) or {ENV}X_CONSUMER_SECRET (X's consumer "
            "secret)"
        )
    if hooks.meta_app_secret is not None and hooks.meta_verify_token is None:
        return (
            f"{ENV}META_APP_SECRET is set but {ENV}META_VERIFY_TOKEN is not, so Meta could not "
            "verify the callback URL: set it to the verify token entered in the App Dashboard"
        )
    return None


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve the receiver on ``connectors.webhooks.host:port`` until SIGINT or SIGTERM."""
    import uvicorn

    from ingest.webhooks.app import create_app
    from ingest.webhooks.sink import KafkaSink, make_webhook_producer
    from socmon.kafka import BrokerUnavailable, ensure_topics, wait_for_broker
    from socmon.metrics import Metrics, WebhookMetrics, process_registry

    hooks = settings.connectors.webhooks
    problem = missing_setting(hooks)
    if problem is not None:
        raise ReceiverError(problem)
    kafka = settings.kafka
    try:
        wait_for_broker(kafka.bootstrap_servers)
        ensure_topics(kafka)
    except BrokerUnavailable as exc:
        msg = f"{exc}; start the broker (or set SOCMON_KAFKA__BOOTSTRAP_SERVERS) and try again"
        raise ReceiverError(msg) from exc
    registry = process_registry()
    sink = KafkaSink(
        make_webhook_producer(kafka.bootstrap_servers, hooks.send_timeout_seconds),
        kafka.topics,
        hooks.send_timeout_seconds,
    )
    sink.warm_up()
    app = create_app(settings, sink, Metrics.create(registry), WebhookMetrics.create(registry))
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host or hooks.host,
            port=hooks.port if port is None else port,
            # The proxy in front terminates TLS; the client address is never trusted for anything.
            proxy_headers=False,
            server_header=False,
            # The access log would hold Meta's hub.verify_token (a query parameter).
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
    )
    try:
        server.run()
    finally:
        sink.close()
