"""What every command shares: an index that is not there is said in one line, never created."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from socmon_app.cli import app


def test_stats_without_an_index_says_where_it_looked_and_creates_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "nothing-here"
    result = CliRunner().invoke(app, ["stats", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert f"no index at {data_dir / 'socmon.db'}" in result.output
    assert "--data-dir" in result.output
    assert not data_dir.exists()
