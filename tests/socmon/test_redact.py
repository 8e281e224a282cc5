"""Secrets never shown: the redactor, the log lines of a process, and the connectors against a
real server that echoes what it was sent."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
import yaml
from mastodon import MastodonUnauthorizedError
from pydantic import BaseModel, SecretStr

from socmon.cliutil import settings_or_exit
from socmon.redact import (
    MIN_SECRET_LENGTH,
    REDACTED,
    RedactingFilter,
    Redactor,
    install_log_redaction,
    secret_values,
)
from socmon.settings import Settings, load_settings
from tests.servers import LocalHttpServer, QuietHandler

MASTODON_TOKEN = "mstdn-Zq8xWv2K1pLr9TbY4nHc"
BLUESKY_PASSWORD = "abcd-efgh-ijkl-mnop"
TEAMS_URL = (
    "https://northbrook.webhook.office.com/webhookb2/3f2a9c1e-77d4-4a5b-9e0f-1b2c3d4e5f60"
    "@6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d/IncomingWebhook/9a8b7c6d5e4f3a2b1c0d"
    "/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
)
TEAMS_PATH = TEAMS_URL.removeprefix("https://northbrook.webhook.office.com")
ES_PASSWORD = "elastic-pw-7Hq2Lx"


@pytest.fixture
def record_factory() -> Iterator[None]:
    """Each test starts from the plain log record factory (a command run in this process earlier,
    under the same pytest worker, may have installed a redactor), and whatever it installs is
    undone after it."""
    before = logging.getLogRecordFactory()
    install_log_redaction(Redactor())  # removes any redactor: the plain factory
    yield
    logging.setLogRecordFactory(before)


def configured(**sections: Any) -> Settings:
    return load_settings(data_dir=Path("unused"), **sections)


def test_a_mastodon_token_echoed_in_an_exception_message_is_redacted():
    settings = configured(connectors={"mastodon": {"access_token": MASTODON_TOKEN}})
    error = MastodonUnauthorizedError(
        "Mastodon API returned error", 401, "Unauthorized", f"bad header: Bearer {MASTODON_TOKEN}"
    )
    text = Redactor.from_settings(settings).redact(str(error))
    assert MASTODON_TOKEN not in text
    assert f"Bearer {REDACTED}" in text


def test_a_teams_url_in_an_httpx_error_and_its_path_alone_are_redacted():
    settings = configured(alerting={"teams": {"webhook_url": TEAMS_URL}})
    redactor = Redactor.from_settings(settings)
    request = httpx.Request("POST", TEAMS_URL)
    with pytest.raises(httpx.HTTPStatusError) as raised:
        httpx.Response(404, request=request).raise_for_status()
    assert TEAMS_URL in str(raised.value)  # what httpx says: the whole URL

    whole = redactor.redact(str(raised.value))
    path_only = redactor.redact(f"400 Bad Request: no webhook at {TEAMS_PATH} (tenant moved)")
    encoded = redactor.redact(f"see {httpx.URL(TEAMS_URL)}")  # httpx writes "@" as %40

    for text in (whole, path_only, encoded):
        assert "webhookb2/3f2a9c1e" not in text
        assert REDACTED in text
    assert path_only == f"400 Bad Request: no webhook at {REDACTED} (tenant moved)"


def test_a_teams_path_cut_short_at_the_end_of_a_clipped_answer_is_redacted():
    redactor = Redactor([TEAMS_URL])
    answer = f"teams webhook answered 400: unknown hook POST {TEAMS_PATH}"
    clipped = answer[: answer.index("IncomingWebhook") + 10]  # the server's text cut at a length
    for text in (clipped, clipped + "…"):
        redacted = redactor.redact(text)
        assert "IncomingWeb" not in redacted
        assert redacted.startswith(f"teams webhook answered 400: unknown hook POST {REDACTED}")


@pytest.mark.parametrize("username", ["e", "el", "elastic", "elastic-admin"])
def test_http_basic_credentials_in_base64_are_redacted_for_any_username(username):
    settings = configured(
        index={"elasticsearch_username": username, "elasticsearch_password": ES_PASSWORD}
    )
    basic = base64.b64encode(f"{username}:{ES_PASSWORD}".encode()).decode()
    text = f"sent Authorization: Basic {basic} and was refused"
    assert Redactor.from_settings(settings).redact(text) == (
        f"sent Authorization: Basic {REDACTED} and was refused"
    )


def test_a_percent_encoded_secret_is_redacted():
    redactor = Redactor(["p@ss/word with spaces"])
    text = "body: password=p%40ss%2Fword+with+spaces&user=x"
    assert redactor.redact(text) == f"body: password={REDACTED}&user=x"


def test_values_shorter_than_the_minimum_are_not_redacted():
    short = "x" * (MIN_SECRET_LENGTH - 1)
    redactor = Redactor([short, "a-long-enough-secret"])
    assert redactor.redact(f"{short} a-long-enough-secret") == f"{short} {REDACTED}"
    assert not Redactor([short])


def secret_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every `SecretStr` field of the settings, found by its type (not from a list)."""
    for name, field in model.model_fields.items():
        for candidate in (field.annotation, *get_args(field.annotation)):
            if candidate is SecretStr:
                yield (*prefix, name)
            elif isinstance(candidate, type) and issubclass(candidate, BaseModel):
                yield from secret_paths(candidate, (*prefix, name))


def test_every_secret_field_of_the_settings_is_redacted():
    overrides: dict[str, Any] = {}
    values = {}
    for path in secret_paths(Settings):
        value = f"https://hooks.example/{'-'.join(path)}/Tk93xQ" if "url" in path[-1] else None
        values[path] = value or f"secret-of-{'-'.join(path)}-Tk93xQ"
        section = overrides
        for name in path[:-1]:
            section = section.setdefault(name, {})
        section[path[-1]] = values[path]
    assert len(values) >= 12  # every platform token, the alerting and dashboard secrets
    settings = configured(**overrides)
    assert set(secret_values(settings)) == set(values.values())
    redactor = Redactor.from_settings(settings)
    for value in values.values():
        assert redactor.redact(f"echo: {value}.") == f"echo: {REDACTED}."


def test_secrets_in_lists_and_mappings_of_a_model_are_found():
    class Hook(BaseModel):
        url: SecretStr

    class Section(BaseModel):
        hooks: list[Hook]
        by_name: dict[str, SecretStr]

    section = Section(
        hooks=[Hook(url=SecretStr("https://a.example/hook-one"))],
        by_name={"b": SecretStr("token-of-b")},
    )
    assert sorted(secret_values(section)) == ["https://a.example/hook-one", "token-of-b"]


# -- log lines ----------------------------------------------------------------------------------


def test_a_warning_quoting_the_configured_token_is_logged_without_it(
    tmp_path, monkeypatch, record_factory
):
    monkeypatch.setenv("SOCMON_CONNECTORS__MASTODON__ACCESS_TOKEN", MASTODON_TOKEN)
    settings_or_exit(None, tmp_path)  # what every socmon command does first
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("tests.redact")
    logger.addHandler(handler)
    try:
        logger.warning("mastodon attempt=1 failed, retrying: %s", f"echo Bearer {MASTODON_TOKEN}")
        try:
            raise RuntimeError(f"server said: Authorization: Bearer {MASTODON_TOKEN}")
        except RuntimeError:
            logger.exception("poll failed")
        logger.warning("the token in the message itself: " + MASTODON_TOKEN)
    finally:
        logger.removeHandler(handler)
    written = out.getvalue()
    assert MASTODON_TOKEN not in written
    assert f"retrying: echo Bearer {REDACTED}" in written
    assert f"RuntimeError: server said: Authorization: Bearer {REDACTED}" in written
    assert f"the token in the message itself: {REDACTED}" in written


def test_installing_again_replaces_the_redactor_and_an_empty_one_removes_it(record_factory):
    base = logging.getLogRecordFactory()
    install_log_redaction(Redactor(["first-secret"]))
    install_log_redaction(Redactor(["second-secret"]))
    record = logging.getLogRecordFactory()(
        "x", logging.WARNING, __file__, 1, "%s %s", ("first-secret", "second-secret"), None
    )
    assert record.getMessage() == f"first-secret {REDACTED}"
    install_log_redaction(Redactor())
    assert logging.getLogRecordFactory() is base


def test_the_filter_can_guard_a_handler_of_its_own():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter(Redactor([BLUESKY_PASSWORD])))
    logger = logging.getLogger("tests.redact.filter")
    logger.addHandler(handler)
    try:
        logger.warning("login %s refused", {"password": BLUESKY_PASSWORD})
    finally:
        logger.removeHandler(handler)
    assert out.getvalue() == f"login {{'password': '{REDACTED}'}} refused\n"


# -- the connectors against a server that echoes every request ---------------------------------


class EchoServer(LocalHttpServer):
    """Answers every request with what it was sent (request line, headers, body) as the error
    of a JSON answer: 500 the first time on each path, 401 after (a server that quotes the
    request in its errors, as the tester's did)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        seen: set[str] = set()
        outer = self

        class Handler(QuietHandler):
            def _echo(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode("utf-8", "replace")
                echo = f"{self.requestline} {dict(self.headers.items())} {body}"
                outer.requests.append(echo)
                path = self.path.split("?")[0]
                status = 401 if path in seen else 500
                seen.add(path)
                answer = json.dumps({"error": f"echo: {echo}", "message": f"echo: {echo}"})
                data = answer.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _echo

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return self.base_url


def test_connectors_check_against_an_echoing_server_shows_and_logs_no_credential(tmp_path):
    with EchoServer() as server:
        config = tmp_path / "socmon.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "data_dir": str(tmp_path / "data"),
                    "connectors": {
                        "mastodon": {
                            "enabled": True,
                            "api_base_url": server.url,
                            "search_queries": ["northbrook"],
                        },
                        "bluesky": {
                            "enabled": True,
                            "service_url": server.url,
                            "handle": "northbrook.example",
                            "search_queries": ["northbrook"],
                        },
                    },
                }
            )
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")}
        env["SOCMON_CONNECTORS__MASTODON__ACCESS_TOKEN"] = MASTODON_TOKEN
        env["SOCMON_CONNECTORS__BLUESKY__APP_PASSWORD"] = BLUESKY_PASSWORD
        run = subprocess.run(
            [sys.executable, "-m", "socmon_app.cli", "connectors", "check", "--config", config],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    # The server did quote both credentials back...
    assert any(f"Bearer {MASTODON_TOKEN}" in r for r in server.requests)
    assert any(BLUESKY_PASSWORD in r for r in server.requests)
    # ...in the warnings of the retried 500s and in the failures of the 401s, where it is gone.
    assert run.returncode == 1, run.stdout + run.stderr
    assert "attempt=1 failed, retrying" in run.stderr
    for output in (run.stdout, run.stderr):
        assert MASTODON_TOKEN not in output
        assert BLUESKY_PASSWORD not in output
        assert REDACTED in output
    assert "FAIL  mastodon:search:northbrook" in run.stdout
    assert "FAIL  bluesky:search:northbrook" in run.stdout
