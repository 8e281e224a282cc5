"""Fixtures shared by every test package: real servers on free loopback ports, and one run of
the whole pipeline over the bundled sample that several end-to-end tests read."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from socmon.sample import SAMPLE_PATH
from tests.broker import broker, kafka_settings  # noqa: F401
from tests.e2e_helpers import pipeline_env
from tests.servers import elasticsearch_client, elasticsearch_url  # noqa: F401

USUAL_UMASK = 0o022
"""What a login shell has (files 0644, folders 0755 unless socmon sees to it): the sample run is
started with it, so what it leaves shows socmon's own file modes."""


@dataclass(frozen=True)
class SampleRun:
    """`socmon up --exit-when-idle` over the bundled sample: its data folder and its output, and
    the mode of ``broker.address`` while it ran (the file goes when it stops). Readers must not
    change the folder (copy it to write: `shutil.copytree`)."""

    data_dir: Path
    run: subprocess.CompletedProcess[str]
    broker_address_mode: int | None


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    """One run of the pipeline over the sample for the session (it takes half a minute)."""
    folder = tmp_path_factory.mktemp("sample-run") / "data"
    argv = [sys.executable, "-m", "socmon_app.cli", "up", "--replay", str(SAMPLE_PATH)]
    argv += ["--data-dir", str(folder), "--exit-when-idle", "--metrics-port", "0"]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=pipeline_env(),
        umask=USUAL_UMASK,
    )
    address, address_mode = folder / "broker.address", None
    deadline = time.monotonic() + 120
    while address_mode is None and proc.poll() is None and time.monotonic() < deadline:
        try:
            address_mode = stat.S_IMODE(address.stat().st_mode)
        except FileNotFoundError:
            time.sleep(0.05)
    try:
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    run = subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)
    return SampleRun(folder, run, address_mode)
