"""Operator mistakes are one clear sentence, never a traceback (real processes)."""

from __future__ import annotations

from tests.e2e_helpers import socmon
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
