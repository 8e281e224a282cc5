"""Every e-mail delivery fails (the SMTP server is unreachable): ``socmon up --exit-when-idle``
must not say all went well. It exits 1 and says how many deliveries failed and how many items
were dead-lettered, and ``socmon stats`` counts those deliveries as failed, not as sent."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
import yaml

from socmon.sample import SAMPLE_PATH
from socmon.settings import default_config_text
from tests.e2e_helpers import socmon

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def email_config(path: Path, port: int) -> Path:
    """The bundled configuration, every alert by e-mail through 127.0.0.1:`port`."""
    data = yaml.safe_load(default_config_text())
    alerting = data["alerting"]
    alerting["default_channels"] = ["email"]
    alerting["smtp"].update(
        enabled=True, host="127.0.0.1", port=port, starttls=False, username=None
    )
    alerting["retry"] = {"attempts": 2, "initial_seconds": 0.01, "max_seconds": 0.05}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_unreachable_smtp_exits_non_zero_and_counts_failed_deliveries(tmp_path: Path) -> None:
    with socket.socket() as closed:  # bound, never listening: every connection is refused
        closed.bind(("127.0.0.1", 0))
        config = email_config(tmp_path / "socmon.yaml", closed.getsockname()[1])
        args = ["--config", str(config), "--data-dir", str(tmp_path)]
        run = socmon(
            "up",
            "--replay",
            str(SAMPLE_PATH),
            *args,
            "--exit-when-idle",
            "--metrics-port",
            "0",
            timeout=240,
        )
    said = re.search(
        r"idle: the replay is drained, but (\d+) deliveries failed and (\d+) items were "
        r"dead-lettered \(alerting (\d+)\) during this run",
        run.stdout,
    )
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert said is not None, run.stdout[-3000:]
    assert "drained, indexed and alerted" not in run.stdout
    failed, dead = int(said.group(1)), int(said.group(2))
    print(f"{failed} deliveries failed, {dead} items dead-lettered by alert delivery")
    assert failed > 0
    assert dead > 0

    stats = json.loads(socmon("stats", *args, "--json", timeout=60).stdout)
    assert stats["deliveries_sent"] == 0
    assert stats["deliveries_failed"] == failed
    assert stats["deliveries"] == failed
    assert stats["deadletter"] >= dead
    shown = socmon("stats", *args, timeout=60).stdout
    assert f"deliveries: 0 sent, {failed} failed" in shown
