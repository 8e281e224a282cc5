"""Faust's Kafka transport with a shorter fetch wait: what a post waits between two agents.

Faust creates its aiokafka consumer with ``fetch_max_wait_ms=1500``, written into the call
(`faust.transport.drivers.aiokafka.AIOKafkaConsumerThread._create_worker_consumer`), with no
setting to change it. aiokafka keeps one fetch in flight for the partitions that have no records
waiting to be consumed; a partition whose records were just handed out is left out of it. When a
post then arrives on that partition it waits until the fetch in flight comes back, up to the full
1.5 s if the other partitions stay quiet. Measured with `make bench` at 50 posts/s: post to alert
p50 1.4 s and p95 1.7 s with 1500 ms, p50 0.3 s and p95 0.44 s with 100 ms. Under load every
fetch returns at once with records, so the shorter wait costs nothing there; on a quiet pipeline
it is ten fetches a second per worker, each an empty answer from the broker.

`SocmonApp` is `faust.App` whose transport creates that consumer, and which shuts down the
agents' thread pools when it stops; everything else is Faust's.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TransportT

FETCH_MAX_WAIT_MS = 100
"""How long the broker may hold a fetch that finds no records (aiokafka's ``fetch_max_wait_ms``)."""


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads it when the consumer starts (its Fetcher is created in start()).
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """Faust's aiokafka transport, with `FETCH_MAX_WAIT_MS`."""

    Consumer = _Consumer


class SocmonApp(faust.App):
    """`faust.App` on `Transport` (the broker URLs must be ``kafka://``), which shuts down the
    thread pools in `executors` when it stops (after Faust stopped the consumer and flushed
    the producer): a batch still in a thread finishes, and its thread ends."""

    executors: list[Executor]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.executors = []

    def _new_transport(self) -> TransportT:
        return Transport(self.conf.broker_consumer, self)

    async def on_stop(self) -> None:
        await super().on_stop()
        for executor in self.executors:
            executor.shutdown(wait=False, cancel_futures=True)
