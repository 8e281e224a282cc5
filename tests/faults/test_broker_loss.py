"""``kill -9`` of the embedded broker during ``socmon up --exit-when-idle`` on the bundled sample.

The broker keeps everything in memory, so its death loses every record no consumer had processed
yet and every committed offset. The supervisor must say so, start a new broker on the same port
with the topics, stop and start again the children that use it, and the replay, read again from
its first line, must end with every post of the sample indexed once and nobody told twice.

The guarantee this checks is the one of a replay-only run: nothing is lost, however far the
replay's checkpoint had moved, because the runner is started again with ``--from-start`` and
every write downstream is idempotent. (Live platforms do not go back: see
`socmon_app.supervisor.Supervisor._recover_broker`.)
"""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import pytest

from socmon.index.sqlite import SqliteIndex
from socmon.sample import SAMPLE_PATH
from tests.e2e_helpers import expected_from_replay, outbox_counts, socmon
from tests.faults.running import Up
from tests.test_e2e import indexed_keys

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def indexed(data_dir: Path) -> int:
    db = data_dir / "socmon.db"
    if not db.exists():
        return 0
    index = SqliteIndex(db)
    try:
        return index.stats().indexed
    finally:
        index.close()


def test_killing_the_broker_mid_replay_restarts_it_and_loses_nothing(tmp_path: Path) -> None:
    keys, letters = expected_from_replay(SAMPLE_PATH)
    with SAMPLE_PATH.open(encoding="utf-8") as fh:
        lines = sum(1 for _ in fh)
    up = Up("--replay", str(SAMPLE_PATH), "--data-dir", str(tmp_path), "--exit-when-idle")
    try:
        started = up.wait_for(r"Tansu\) on (\S+) \(pid (\d+)\)")
        bootstrap, broker_pid = started.group(1), int(started.group(2))
        # The runner has produced the whole file and checkpointed its last line; the worker,
        # still starting, has processed little or nothing: those posts are only in the broker.
        up.wait_for(r"connectors runner \(replay\) finished")
        checkpoint = json.loads((tmp_path / "checkpoints.json").read_text(encoding="utf-8"))
        at_kill = indexed(tmp_path)
        os.kill(broker_pid, signal.SIGKILL)
        code = up.finish(timeout=240)
    finally:
        up.kill()
    text = up.text
    print(f"indexed when the broker was killed: {at_kill} of {len(keys)}")
    assert code == 0, text[-4000:]
    assert checkpoint == {f"replay:{SAMPLE_PATH.name}": str(lines)}
    assert at_kill < len(keys)

    assert "socmon: the broker (Tansu) died (signal 9); restarting it on the same port" in text
    back = re.search(r"the broker is back on (\S+) \(pid (\d+)\)", text)
    assert back is not None, text[-4000:]
    assert back.group(1) == bootstrap
    assert int(back.group(2)) != broker_pid
    for child in ("stream worker", "alert delivery", "connectors runner (replay)"):
        assert re.search(rf"started {re.escape(child)}.* again \(pid \d+\)", text), child
    assert "the replay is read again from its first line" in text
    assert "idle: the replay is drained, indexed and alerted" in text

    result = socmon("stats", "--data-dir", str(tmp_path), "--json", timeout=60)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    print(f"after the run: {stats}")
    assert sorted(indexed_keys(tmp_path)) == sorted(keys)  # every post, once
    assert stats["indexed"] == len(keys)
    assert stats["deadletter"] == len(letters)
    assert stats["deliveries_failed"] == 0
    outbox = outbox_counts(tmp_path / "outbox.jsonl")
    assert max(outbox.values()) == 1  # nobody told twice, though every alert was raised again
    assert sum(outbox.values()) == stats["deliveries_sent"]
