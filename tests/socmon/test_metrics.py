"""Serving /metrics: a port that is taken is one sentence naming it and the fix."""

from __future__ import annotations

import socket

import pytest
import typer

from socmon.cliutil import serve_stage_metrics
from socmon.metrics import MetricsUnavailable, serve_metrics
from socmon.settings import load_settings


@pytest.fixture
def taken_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_taken_port_names_the_port_and_the_setting(taken_port: int) -> None:
    with pytest.raises(MetricsUnavailable, match=rf"127\.0\.0\.1:{taken_port}: .*metrics\.port"):
        serve_metrics("127.0.0.1", taken_port)


def test_a_stage_exits_2_with_one_line_when_its_metrics_port_is_taken(
    taken_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(None, metrics={"host": "127.0.0.1", "port": taken_port})
    with pytest.raises(typer.Exit) as exit_:
        serve_stage_metrics(settings)
    assert exit_.value.exit_code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"socmon: cannot serve metrics on 127.0.0.1:{taken_port}")
