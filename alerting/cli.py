"""`socmon alerting` (alert delivery), and the commands about routes and alerts."""

from __future__ import annotations

import signal
import threading

import typer

from socmon.cliutil import ConfigOpt, serve_stage_metrics, settings_or_exit, setup_logging


def alerting(config: ConfigOpt = None) -> None:
    """Deliver alerts from the alerts topic to the configured channels."""
    from alerting.channels import Channel, ConsoleChannel, FileChannel
    from alerting.worker import AlertDelivery
    from socmon.index.factory import open_index
    from socmon.kafka import make_producer
    from socmon.metrics import Metrics, process_registry

    settings = settings_or_exit(config)
    setup_logging()
    serve_stage_metrics(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    channels: list[Channel] = [FileChannel(settings.outbox_path)]
    if settings.alerting.console:
        channels.append(ConsoleChannel())
    index = open_index(settings)
    index.setup()
    producer = make_producer(settings.kafka.bootstrap_servers)
    delivery = AlertDelivery(
        settings, index, channels, producer, Metrics.create(process_registry())
    )
    try:
        delivery.run(stop)
    finally:
        producer.close()
        index.close()


routes_app = typer.Typer(help="The routing table: who is told about what.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts and their deliveries.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `socmon`."""
    app.command()(alerting)
    if routes_app.registered_commands:
        app.add_typer(routes_app, name="routes")
    if alerts_app.registered_commands:
        app.add_typer(alerts_app, name="alerts")
