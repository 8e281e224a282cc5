"""What every command shares: an index that is not there is said in one line, never created."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from socmon.broker import write_address
from socmon.cliutil import settings_or_exit
from socmon_app.cli import app


def test_stats_without_an_index_says_where_it_looked_and_creates_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "nothing-here"
    result = CliRunner().invoke(app, ["stats", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert f"no index at {data_dir / 'socmon.db'}" in result.output
    assert "--data-dir" in result.output
    assert not data_dir.exists()


def test_commands_on_the_data_folder_of_a_running_up_use_its_broker(tmp_path, monkeypatch):
    monkeypatch.delenv("SOCMON_KAFKA__BOOTSTRAP_SERVERS", raising=False)
    assert settings_or_exit(None, tmp_path).kafka.bootstrap_servers == "127.0.0.1:9092"
    write_address(tmp_path, "127.0.0.1:40123")
    assert settings_or_exit(None, tmp_path).kafka.bootstrap_servers == "127.0.0.1:40123"
    monkeypatch.setenv("SOCMON_KAFKA__BOOTSTRAP_SERVERS", "kafka.trust:9092")
    assert settings_or_exit(None, tmp_path).kafka.bootstrap_servers == "kafka.trust:9092"
