"""`socmon webhooks` refuses to start, in one sentence naming the setting, without a secret."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from socmon_app.cli import app

ENV = "SOCMON_CONNECTORS__WEBHOOKS__"


@pytest.fixture(autouse=True)
def no_secrets_from_the_environment(monkeypatch):
    for name in ("META_APP_SECRET", "META_VERIFY_TOKEN", "X_CONSUMER_SECRET"):
        monkeypatch.delenv(ENV + name, raising=False)


def run(*args: str):
    return CliRunner().invoke(app, ["webhooks", *args])


def test_without_any_platform_secret_it_refuses_to_start_naming_both_settings():
    result = run()
    assert result.exit_code == 2
    assert f"{ENV}META_APP_SECRET" in result.output
    assert f"{ENV}X_CONSUMER_SECRET" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_meta_without_its_verify_token_is_refused_naming_it(monkeypatch):
    monkeypatch.setenv(ENV + "META_APP_SECRET", "app-secret-value")
    result = run()
    assert result.exit_code == 2
    assert f"{ENV}META_VERIFY_TOKEN" in result.output
    assert "app-secret-value" not in result.output
