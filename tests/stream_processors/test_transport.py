"""The Faust transport socmon runs on: Faust's own, with a shorter fetch wait (see
`stream_processors.transport`; `make bench` measures what it does to post-to-alert latency)."""

from __future__ import annotations

import asyncio

from stream_processors.transport import FETCH_MAX_WAIT_MS, SocmonApp, Transport


def test_the_app_creates_its_kafka_consumer_with_the_short_fetch_wait(tmp_path):
    async def consumer_wait() -> int:
        app = SocmonApp("t-transport", broker="kafka://127.0.0.1:1", datadir=str(tmp_path))
        assert isinstance(app.transport, Transport)
        thread = app.consumer._thread  # type: ignore[attr-defined]
        consumer = thread._create_worker_consumer(app.transport)
        try:
            return int(consumer._fetch_max_wait_ms)
        finally:
            await consumer.stop()

    assert asyncio.run(consumer_wait()) == FETCH_MAX_WAIT_MS == 100
