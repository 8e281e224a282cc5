"""Settings of alert delivery (`alerting:` in the config file): the routing table, the channels,
the daily digest, and the limits of retries and circuit breakers.

Secrets (the SMTP password, webhook URLs, the HMAC secret) are `SecretStr` and come only from the
environment, e.g. ``SOCMON_ALERTING__SMTP__PASSWORD`` or ``SOCMON_ALERTING__TEAMS__WEBHOOK_URL``.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, model_validator

from socmon.config import Section, TimeZoneName
from socmon.records import AlertKind

ChannelName = Literal["file", "email", "teams", "slack", "webhook"]
Timing = Literal["now", "digest"]

# Names in a route's `to:` that stand for someone resolved per alert; anything else is taken as
# an address (an e-mail address, or a name that `directory` maps to one).
ROLES: dict[str, str] = {
    "department": "the contact of each department the alert concerns",
    "patient_services": "alerting.patient_services",
    "communications": "alerting.communications",
    "on_call": "alerting.on_call",
    "account_owner": "the owner of the official account (the register)",
    "line_manager": "the line manager of the account owner (the register)",
}


class Route(Section):
    """One row of the routing table: an alert kind (optionally for one department), who is told,
    on which channels, and whether now or in the daily digest.

    Every row that matches applies. A row naming a department replaces, for that department, the
    rows of the same kind that name none.
    """

    kind: AlertKind
    department: str | None = None
    to: list[str] = Field(min_length=1)
    channels: list[ChannelName] | None = Field(
        default=None, description="default: alerting.default_channels"
    )
    when: Timing = "now"
    escalated_only: bool = Field(
        default=False, description="only for alerts escalated after a first reminder"
    )


def default_routes() -> list[Route]:
    """The defaults the social media policy asks for (who hears of what, and when)."""
    return [
        Route(kind="concern", to=["department", "patient_services"], when="now"),
        # A concern a person withdrew or moved in the dashboard: whoever was told of it hears.
        Route(kind="withdrawn", to=["department", "patient_services"], when="now"),
        Route(kind="unsure_concern", to=["communications"], when="now"),
        Route(kind="compliment", to=["department", "patient_services"], when="digest"),
        Route(kind="urgent", to=["department", "patient_services", "communications"], when="now"),
        Route(kind="urgent", to=["on_call"], when="now"),
        Route(kind="policy_breach", to=["account_owner", "line_manager", "communications"]),
        Route(kind="abuse", to=["communications"], when="now"),
        Route(kind="inactive_account", to=["account_owner", "communications"], when="now"),
        # Still quiet a week after the owner was told: their line manager hears of it too.
        Route(kind="inactive_account", to=["line_manager"], when="now", escalated_only=True),
        Route(kind="unregistered_account", to=["communications"], when="now"),
        Route(kind="handover", to=["line_manager", "communications"], when="now"),
        Route(kind="review_due", to=["account_owner", "communications"], when="digest"),
        Route(kind="spike", to=["communications"], when="now"),
    ]


class SmtpSettings(Section):
    """E-mail over SMTP. Off by default, so `socmon up` works without a mail server."""

    enabled: bool = False
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    ssl: bool = Field(default=False, description="implicit TLS (port 465) instead of STARTTLS")
    ca_file: Path | None = Field(
        default=None, description="CA bundle to verify the server with (default: the system's)"
    )
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "socmon@localhost"
    timeout_seconds: float = Field(default=30.0, gt=0)


class TeamsSettings(Section):
    """Microsoft Teams: an incoming webhook or a Workflows URL; the message is an Adaptive Card."""

    webhook_url: SecretStr | None = None
    timeout_seconds: float = Field(default=15.0, gt=0)


class SlackSettings(Section):
    """Slack incoming webhook; the message uses Block Kit."""

    webhook_url: SecretStr | None = None
    timeout_seconds: float = Field(default=15.0, gt=0)


class SignedWebhookSettings(Section):
    """A generic JSON webhook; the body is signed with HMAC-SHA256 over ``timestamp.body``."""

    url: SecretStr | None = None
    secret: SecretStr | None = None
    signature_header: str = "X-Socmon-Signature"
    timestamp_header: str = "X-Socmon-Timestamp"
    timeout_seconds: float = Field(default=15.0, gt=0)


class DigestSettings(Section):
    """The daily digest per department, at a local time of the organisation's time zone."""

    at: time = time(17, 0)
    timezone: TimeZoneName = "Europe/London"
    catch_up_days: int = Field(
        default=2, ge=1, le=14, description="after a stop, digests of this many days go out"
    )
    check_seconds: float = Field(default=30.0, gt=0, description="how often the clock is read")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class RetrySettings(Section):
    """Bounded retries of one delivery: exponential backoff, `Retry-After` honoured up to a cap."""

    attempts: int = Field(default=4, ge=1, le=20)
    initial_seconds: float = Field(default=0.5, ge=0)
    max_seconds: float = Field(default=30.0, ge=0)
    max_retry_after_seconds: float = Field(
        default=120.0, ge=0, description="a longer Retry-After gives up (dead letter) at once"
    )


class CircuitBreakerSettings(Section):
    """Per channel: after `failures` deliveries in a row fail, fail fast for `reset_seconds`."""

    failures: int = Field(default=5, ge=1)
    reset_seconds: float = Field(default=60.0, gt=0)


class AlertingSettings(Section):
    outbox: Path | None = Field(
        default=None, description="file channel: JSON Lines of deliveries (<data_dir>/outbox.jsonl)"
    )
    console: bool = Field(default=True, description="also print each alert for someone watching")
    patient_services: str = "patient-services"
    communications: str = "communications"
    on_call: str = "on-call"
    directory: dict[str, str] = Field(
        default={}, description="e-mail address of a person or team named in the register"
    )
    default_channels: list[ChannelName] = Field(default=["file"], min_length=1)
    routes: list[Route] = Field(default_factory=default_routes)
    templates_dir: Path | None = Field(
        default=None, description="templates here shadow the packaged ones of the same name"
    )
    smtp: SmtpSettings = SmtpSettings()
    teams: TeamsSettings = TeamsSettings()
    slack: SlackSettings = SlackSettings()
    webhook: SignedWebhookSettings = SignedWebhookSettings()
    digest: DigestSettings = DigestSettings()
    retry: RetrySettings = RetrySettings()
    circuit_breaker: CircuitBreakerSettings = CircuitBreakerSettings()

    @model_validator(mode="after")
    def _routed_channels_are_configured(self) -> AlertingSettings:
        # A route to a channel that cannot send would dead-letter every alert: refuse at start-up.
        wanted = set(self.default_channels)
        for route in self.routes:
            wanted.update(route.channels or ())
        problems = []
        if "email" in wanted and not self.smtp.enabled:
            problems.append("e-mail is routed to but alerting.smtp.enabled is false")
        if "teams" in wanted and self.teams.webhook_url is None:
            problems.append("teams is routed to but SOCMON_ALERTING__TEAMS__WEBHOOK_URL is unset")
        if "slack" in wanted and self.slack.webhook_url is None:
            problems.append("slack is routed to but SOCMON_ALERTING__SLACK__WEBHOOK_URL is unset")
        if "webhook" in wanted and (self.webhook.url is None or self.webhook.secret is None):
            problems.append(
                "webhook is routed to but SOCMON_ALERTING__WEBHOOK__URL or "
                "SOCMON_ALERTING__WEBHOOK__SECRET is unset"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def channels_in_use(self) -> list[ChannelName]:
        """Every channel a route (or the default) sends on, in a stable order."""
        wanted: list[ChannelName] = list(self.default_channels)
        for route in self.routes:
            for name in route.channels or ():
                if name not in wanted:
                    wanted.append(name)
        return wanted
