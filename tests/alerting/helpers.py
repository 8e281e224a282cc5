"""Test helpers for alert delivery: settings, alerts, a delivery with its doubles, real servers.

The servers are real: an SMTP server (aiosmtpd, STARTTLS with a test CA from trustme, AUTH) and
an HTTP server (http.server in a thread) that answers from a script (500, then 200; 429 with
Retry-After) and keeps every request it was sent.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from prometheus_client import CollectorRegistry

from alerting import outbox
from alerting.channel_set import build_channels
from alerting.channels import Channel
from alerting.worker import AlertDelivery
from socmon.index.sqlite import SqliteIndex
from socmon.metrics import AlertingMetrics, Metrics
from socmon.records import DeadLetter
from socmon.settings import KafkaSettings, Settings, default_config_text, load_settings
from tests.servers import LocalHttpServer, QuietHandler, free_port

SMTP_USER = "socmon"
SMTP_PASSWORD = "correct horse battery staple"


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def make_settings(data_dir: Path, kafka: KafkaSettings | None = None, **alerting: Any) -> Settings:
    """The bundled configuration with `alerting` merged in (secrets may be given here)."""
    base = yaml.safe_load(default_config_text())["alerting"]
    # Tests never wait for the backoff of production.
    fast = {"retry": {"initial_seconds": 0.01, "max_seconds": 0.05}}
    overrides: dict[str, Any] = {
        "data_dir": data_dir,
        "alerting": deep_merge(deep_merge(base, fast), alerting),
    }
    if kafka is not None:
        overrides["kafka"] = kafka.model_dump()
    return load_settings(**overrides)


class ListDeadLetters:
    """Dead letters kept in a list (the worker's tests check them without a broker)."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    def send(self, letter: DeadLetter) -> None:
        self.letters.append(letter)

    def flush(self) -> None:
        pass


@dataclass
class Harness:
    delivery: AlertDelivery
    index: SqliteIndex
    registry: CollectorRegistry
    dead_letters: Any

    def sample(self, name: str, labels: dict[str, str]) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


def make_harness(
    settings: Settings,
    *,
    channels: dict[str, Channel] | None = None,
    dead_letters: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    busy_timeout: float = 30.0,
) -> Harness:
    index = SqliteIndex(settings.sqlite_path, busy_timeout=busy_timeout)
    index.setup()
    registry = CollectorRegistry()
    letters = dead_letters if dead_letters is not None else ListDeadLetters()
    delivery = AlertDelivery(
        settings,
        index,
        channels if channels is not None else build_channels(settings),
        letters,
        Metrics.create(registry),
        AlertingMetrics.create(registry),
        sleep=sleep,
        monotonic=monotonic,
    )
    return Harness(delivery, index, registry, letters)


def outbox_rows(settings: Settings) -> list[dict[str, Any]]:
    path = settings.outbox_path
    if not path.exists():
        return []
    # Under the outbox's lock, as its writers append: a read never sees half of an append.
    with outbox.locked(path):
        text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


# -- a real SMTP server -------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part"
        return str(part.get_content())


@dataclass
class SmtpServer:
    """aiosmtpd on a fixed loopback port; `start`/`stop` make it come and go (SMTP down, up)."""

    port: int
    ca_file: Path
    tls: ssl.SSLContext
    received: list[ReceivedMail] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(
            ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), message)
        )
        return "250 OK"

    def authenticate(
        self, server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = data.login.decode() == SMTP_USER and data.password.decode() == SMTP_PASSWORD
        if ok:
            self.logins.append(data.login.decode())
        # handled=False: the server itself answers 535 on a failure
        return AuthResult(success=ok, handled=False)

    def start(self) -> None:
        if self.controller is not None:
            return
        self.controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self.tls,
            require_starttls=True,
            authenticator=self.authenticate,
            auth_require_tls=True,
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def smtp_settings(self, **extra: Any) -> dict[str, Any]:
        return {
            "enabled": True,
            "host": "127.0.0.1",
            "port": self.port,
            "starttls": True,
            "ca_file": str(self.ca_file),
            "username": SMTP_USER,
            "password": SMTP_PASSWORD,
            "sender": "socmon@northbrook.nhs.example",
            "timeout_seconds": 5,
        } | extra


def smtp_server_on(tmp_path: Path) -> SmtpServer:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(tls)
    ca_file = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return SmtpServer(port=free_port(), ca_file=ca_file, tls=tls)


# -- a real HTTP server -------------------------------------------------------------------------


@dataclass
class Request:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0  # what the server answered

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


class WebhookServer(LocalHttpServer):
    """Answers POSTs from `script` in order, then `then`; keeps every request it was sent."""

    def __init__(self, script: list[Answer] | None = None, then: Answer | None = None) -> None:
        self.script = list(script or [])
        self.then = then or Answer()
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with outer.lock:
                    answer = outer.script.pop(0) if outer.script else outer.then
                    outer.requests.append(
                        Request(
                            time.monotonic(),
                            self.path,
                            dict(self.headers.items()),
                            body,
                            answer.status,
                        )
                    )
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"{self.base_url}/hook/s3cr3t-token"
