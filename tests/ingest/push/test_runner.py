"""The push runner's parts that need no server: the checkpoint store its threads share, and
when a dropped connection waits before it reconnects."""

from __future__ import annotations

import json
import threading

import pytest
from prometheus_client import CollectorRegistry

from ingest.checkpoints import CheckpointStore
from ingest.connectors.replay import parse_replay_line
from ingest.push.runner import Backoff, PushRunner
from ingest.push.source import Disconnected, PushSource, Received
from socmon.metrics import Metrics
from socmon.records import DeadLetter, Post
from tests.ingest.push.helpers import LogWaiter
from tests.ingest.test_replay import GOOD


def test_the_checkpoint_store_takes_writes_from_several_threads_at_once(tmp_path):
    # A spec more than a detector: CPython's GIL makes the race the lock prevents (a stale
    # snapshot replacing a newer file) rare, so this passes without the lock on most runs.
    store = CheckpointStore(tmp_path / "cp.json")
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def write(source: str) -> None:
        start.wait()
        try:
            for n in range(60):  # new keys: the dict grows while the others write it out
                store.set(f"{source}:{n}", str(n))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"s{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    expected = {f"s{i}:{n}": str(n) for i in range(4) for n in range(60)}
    assert store.all() == expected
    assert json.loads((tmp_path / "cp.json").read_text()) == expected


class RecordingSink:
    """Stands in for `KafkaSink`: keeps each acknowledged batch."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[Post], list[DeadLetter]]] = []

    def produce(self, posts, rejects) -> None:
        self.batches.append((list(posts), list(rejects)))


class DroppingSource(PushSource):
    """Every connection delivers one post (live, or fetched to fill a gap), then drops."""

    name = "dropping"

    def __init__(self, live: bool) -> None:
        self.live = live
        self.connections = 0

    def receive(self, checkpoint, stop):
        self.connections += 1
        line = json.dumps(GOOD | {"id": f"d-{self.connections}"})
        yield Received(parse_replay_line(line, "x:1"), str(self.connections), live=self.live)
        raise Disconnected("the server went away")


@pytest.mark.parametrize(("live", "how"), [(True, "reconnecting now"), (False, "reconnecting in")])
def test_only_a_connection_that_delivered_live_frames_reconnects_without_waiting(
    tmp_path, live, how
):
    source, sink = DroppingSource(live), RecordingSink()
    checkpoints = CheckpointStore(tmp_path / "cp.json")
    backoff = Backoff(initial=0.01, maximum=0.02)
    runner = PushRunner([source], sink, checkpoints, Metrics.create(CollectorRegistry()), backoff)
    stop = threading.Event()
    with LogWaiter("ingest.push.runner", "disconnected") as drops:
        runner.start(stop)
        assert drops.wait(3)
        stop.set()
        assert runner.join(timeout=5) == []
    assert all(how in r.getMessage() for r in drops.records)
    # What arrived before each drop was produced and its checkpoint saved.
    assert [p.post_id for posts, _ in sink.batches for p in posts][:3] == ["d-1", "d-2", "d-3"]
    assert int(checkpoints.get("dropping") or 0) >= 3
