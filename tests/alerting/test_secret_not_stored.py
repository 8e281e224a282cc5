"""A Teams webhook whose server echoes the request in its errors: the secret path of the URL is
in no delivery, dead letter or log line (a real local HTTP server, a real SQLite index)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from alerting.channel_set import build_channels
from alerting.worker import AlertDelivery, IndexDeadLetters
from socmon.index.sqlite import SqliteIndex
from socmon.metrics import AlertingMetrics, Metrics
from socmon.redact import REDACTED, Redactor, install_log_redaction
from tests.alerting.helpers import make_settings
from tests.factories import make_post_alert
from tests.servers import LocalHttpServer, QuietHandler

# The parts of a Teams incoming-webhook path; any one of them is enough to post into the channel.
PARTS = (
    "3f2a9c1e-77d4-4a5b-9e0f-1b2c3d4e5f60",
    "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
    "9a8b7c6d5e4f3a2b1c0d",
    "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
)
SECRET_PATH = f"/webhookb2/{PARTS[0]}@{PARTS[1]}/IncomingWebhook/{PARTS[2]}/{PARTS[3]}"
CLIP = 200  # alerting.webhooks quotes the first 200 characters of an error answer


class EchoingTeams(LocalHttpServer):
    """Answers 500 to the first POST and 400 after, each time quoting the request line, as a
    misbehaving server (or a proxy's error page) does; `filler` comes before the quote."""

    def __init__(self, filler: str = "") -> None:
        self.paths: list[str] = []
        outer = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.paths.append(self.path)
                status = 500 if len(outer.paths) == 1 else 400
                body = f"{filler}Webhook request failed: {self.requestline}".encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}{SECRET_PATH}"


@pytest.fixture
def log_output(caplog) -> Iterator[io.StringIO]:
    """What the process's real log handler writes, at every level (httpx's request lines too)."""
    before = logging.getLogRecordFactory()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    caplog.set_level(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    yield out
    logging.getLogger().removeHandler(handler)
    logging.setLogRecordFactory(before)


def leaked(text: str) -> list[str]:
    return [part[:8] for part in PARTS if part[:8] in text]


# Quoted whole, or clipped in the middle of the path (the quote ends with a piece of it).
@pytest.mark.parametrize("filler", ["", "x" * (CLIP - 70)], ids=["whole", "clipped"])
def test_a_teams_server_echoing_the_url_leaves_no_secret_in_the_index_or_the_logs(
    tmp_path, log_output, filler
):
    with EchoingTeams(filler) as server:
        settings = make_settings(
            tmp_path, default_channels=["teams"], teams={"webhook_url": server.webhook_url}
        )
        # What `socmon alerting` does at start (`settings_or_exit`): every log line redacted.
        install_log_redaction(Redactor.from_settings(settings))
        index = SqliteIndex(settings.sqlite_path)
        index.setup()
        registry = CollectorRegistry()
        delivery = AlertDelivery(
            settings,
            index,
            build_channels(settings),
            IndexDeadLetters(index),
            Metrics.create(registry),
            AlertingMetrics.create(registry),
            sleep=lambda _seconds: None,
        )
        alert = make_post_alert()
        delivery.handle([alert])
        stored_deliveries = index.deliveries_for(alert.alert_id)
        stored_letters = index.deadletters()
        index.close()

    assert server.paths == [SECRET_PATH, SECRET_PATH]  # a 500, retried, then a 400
    assert len(stored_deliveries) == 2  # one per recipient
    assert len(stored_letters) == 1
    for detail in [d.detail for d in stored_deliveries] + [stored_letters[0].reason]:
        assert "teams webhook answered 400: " in detail
        assert f"POST {REDACTED}" in detail  # the server's quote of the path
        assert leaked(detail) == []
    # Nothing of the path anywhere in the index file, whichever table or page.
    files = [settings.sqlite_path, settings.sqlite_path.with_name("socmon.db-wal")]
    stored = b"".join(f.read_bytes() for f in files if f.exists()).decode("latin-1")
    assert "teams webhook answered 400" in stored
    assert leaked(stored) == []
    logged = log_output.getvalue()
    assert "delivery failed: teams webhook answered 400" in logged
    assert "attempt=1 failed (teams webhook answered 500" in logged
    assert leaked(logged) == []
