"""Operator mistakes are one clear sentence, never a traceback (real processes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.e2e_helpers import pipeline_env, socmon
from tests.servers import free_port


def test_up_with_elasticsearch_unreachable_says_so_in_a_line_and_stops(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    result = socmon(
        "up",
        "--data-dir",
        str(tmp_path),
        "--metrics-port",
        "0",
        timeout=120,
        env={"SOCMON_INDEX__BACKEND": "elasticsearch", "SOCMON_INDEX__ELASTICSEARCH_URL": url},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert f"socmon: cannot reach Elasticsearch at {url}" in output
    assert "Traceback" not in output
    assert len(output.splitlines()) <= 5
    assert not (tmp_path / "broker.address").exists()  # the broker it started is stopped


def _as_another_user() -> list[str]:
    """Run as `nobody` when we are root (root may write anywhere), else as ourselves."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to drop root for this test"
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


def _run_as_another_user(command: list[str], data: Path, cwd: Path) -> tuple[int, str]:
    result = subprocess.run(
        [*_as_another_user(), sys.executable, "-m", "socmon_app.cli", *command],
        capture_output=True,
        text=True,
        timeout=120,
        env=pipeline_env() | {"SOCMON_DATA_DIR": str(data)},
        check=False,
        cwd=cwd,
    )
    return result.returncode, result.stdout + result.stderr


def test_a_data_folder_it_cannot_write_is_one_sentence_for_every_long_running_command() -> None:
    # not under pytest's tmp_path: its folders are private to root, and the other user must be
    # able to reach the data folder to find it read-only
    base = Path(tempfile.mkdtemp(prefix="socmon-readonly-"))
    try:
        base.chmod(0o755)
        data = base / "data"
        data.mkdir(mode=0o555)  # readable, not writable (for a user other than root)
        for command in (["up", "--exit-when-idle"], ["worker"], ["ingest"], ["alerting"]):
            code, output = _run_as_another_user(command, data, base)
            assert code == 2, (command, output[-2000:])
            assert f"socmon: cannot write to the data folder {data}" in output, command
            assert "Traceback" not in output, command
        # a data folder inside one this user may not enter: said as a configuration error
        private = base / "private"
        private.mkdir(mode=0o000)
        code, output = _run_as_another_user(["worker"], private / "data", base)
        assert code == 2, output[-2000:]
        assert "cannot reach" in output
        assert "Permission denied" in output
        assert "Traceback" not in output
    finally:
        for folder in (base / "private", base / "data"):
            if folder.exists():
                folder.chmod(0o700)
        shutil.rmtree(base, ignore_errors=True)
