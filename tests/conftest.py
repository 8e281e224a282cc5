"""Fixtures shared by every test package: real servers on free loopback ports, and one run of
the whole pipeline over the bundled sample that several end-to-end tests read."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from socmon.sample import SAMPLE_PATH
from tests.broker import broker, kafka_settings  # noqa: F401
from tests.e2e_helpers import socmon
from tests.servers import elasticsearch_client, elasticsearch_url  # noqa: F401


@dataclass(frozen=True)
class SampleRun:
    """`socmon up --exit-when-idle` over the bundled sample: its data folder and its output.
    Readers must not change the folder (copy it to write: `shutil.copytree`)."""

    data_dir: Path
    run: subprocess.CompletedProcess[str]


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    """One run of the pipeline over the sample for the session (it takes half a minute)."""
    folder = tmp_path_factory.mktemp("sample-run")
    run = socmon(
        "up",
        "--replay",
        str(SAMPLE_PATH),
        "--data-dir",
        str(folder),
        "--exit-when-idle",
        "--metrics-port",
        "0",
        timeout=300,
    )
    return SampleRun(folder, run)
