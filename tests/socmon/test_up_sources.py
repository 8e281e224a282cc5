"""What `socmon up` ingests: the bundled sample without credentials, the platforms with them."""

from __future__ import annotations

from pathlib import Path

from socmon.settings import load_settings
from socmon_app.supervisor import Supervisor
from tests.e2e_helpers import socmon


def ingest_argv(monkeypatch, live: bool) -> list[str]:
    if live:
        monkeypatch.setenv("SOCMON_CONNECTORS__TWITTER__ENABLED", "true")
        monkeypatch.setenv("SOCMON_CONNECTORS__TWITTER__BEARER_TOKEN", "t0ken")
    settings = load_settings()
    supervisor = Supervisor(
        settings,
        None,
        [Path("sample.jsonl")],
        live_platforms=settings.connectors.live_platforms(),
    )
    child = supervisor._ingest_child(["socmon"], [], ["--replay", "sample.jsonl"])
    return [*child.argv, "finite" if child.finite else "runs on"]


def test_without_credentials_the_replay_is_read_from_the_start_and_ends(monkeypatch):
    argv = ingest_argv(monkeypatch, live=False)
    assert "--exit-when-exhausted" in argv
    assert "--from-start" in argv
    assert argv[-1] == "finite"


def test_with_credentials_the_connectors_poll_on(monkeypatch):
    argv = ingest_argv(monkeypatch, live=True)
    assert "--exit-when-exhausted" not in argv
    assert argv[-1] == "runs on"


def test_a_platform_enabled_without_its_token_is_not_live(monkeypatch):
    monkeypatch.setenv("SOCMON_CONNECTORS__TWITTER__ENABLED", "true")
    assert load_settings().connectors.live_platforms() == []


def test_exit_when_idle_with_live_platforms_is_refused_clearly(tmp_path):
    result = socmon(
        "up",
        "--exit-when-idle",
        "--data-dir",
        str(tmp_path),
        env={
            "SOCMON_CONNECTORS__TWITTER__ENABLED": "true",
            "SOCMON_CONNECTORS__TWITTER__BEARER_TOKEN": "t0ken",
        },
        timeout=60,
    )
    assert result.returncode == 2
    assert "--exit-when-idle needs a replay-only run" in result.stderr
    assert "twitter" in result.stderr
    assert "t0ken" not in result.stderr + result.stdout
