"""Settings of the built-in dashboard and of Kibana (`dashboard:` in the config file).

Who may see the dashboard matters: it shows members of the public's posts and possibly patient
details. ``auth: local`` keeps users (with hashed passwords) and their sessions in the index, with
a signed cookie naming the session; failed logins are throttled (`LoginLimits`). ``auth: proxy``
trusts a header set by a reverse proxy that did the login, only when the proxy proves itself with
a shared secret and/or comes from a listed address. Secrets come from the environment only
(``SOCMON_DASHBOARD__SESSION_SECRET``, ``SOCMON_DASHBOARD__PROXY_SECRET``,
``SOCMON_DASHBOARD__ADMIN_PASSWORD``, ``SOCMON_DASHBOARD__ERASURE_KEY``).
"""

from __future__ import annotations

import ipaddress
from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from socmon.config import Section, TimeZoneName

MIN_PROXY_SECRET = 16


class LoginLimits(Section):
    """How the local login resists guessing and floods (`dashboard.login`).

    After `max_failures_per_account` failures for one user name, or `max_failures_per_address`
    from one client address, within `failure_window_minutes` of the last one, logins are refused
    (429) for `lockout_seconds`, doubling with each further failure up to `max_lockout_seconds`.
    Behind a reverse proxy every login comes from the proxy's address, so the per-address limit
    is set well above the per-account one.
    """

    max_failures_per_account: int = Field(default=5, ge=1, le=1000)
    max_failures_per_address: int = Field(default=20, ge=1, le=100_000)
    failure_window_minutes: float = Field(
        default=60, gt=0, description="failures are forgotten this long after the last one"
    )
    lockout_seconds: float = Field(default=30, gt=0, description="the first lockout")
    max_lockout_seconds: float = Field(
        default=900, gt=0, description="the doubling lockout stops growing here"
    )
    hash_concurrency: int = Field(
        default=2,
        ge=1,
        le=64,
        description="password checks run at once; each takes Argon2's memory (64 MiB by default)",
    )
    hash_queue: int = Field(
        default=8,
        ge=0,
        le=1000,
        description="password checks that may wait for a turn; more are refused at once (503)",
    )

    @model_validator(mode="after")
    def _lockout_grows(self) -> Self:
        if self.max_lockout_seconds < self.lockout_seconds:
            msg = "max_lockout_seconds must be at least lockout_seconds"
            raise ValueError(msg)
        return self


class DashboardSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=0, le=65535, description="0 picks a free port")
    auth: Literal["local", "proxy"] = "local"
    session_secret: SecretStr | None = Field(
        default=None,
        description="signs the session cookie; when unset an ephemeral one is made (with a "
        "warning), so every restart logs everyone out",
    )
    session_hours: float = Field(
        default=8.0, gt=0, le=24 * 30, description="a login lasts this long at most"
    )
    session_idle_minutes: float = Field(
        default=60, gt=0, le=24 * 60 * 30, description="a login unused this long ends"
    )
    secure_cookies: bool | None = Field(
        default=None,
        description="send cookies with the Secure flag (over HTTPS only); unset: on when "
        "organisation.dashboard_url or the request is https. Set true behind a TLS proxy; false "
        "only to test over plain http with an https dashboard_url",
    )
    hsts_seconds: int = Field(
        default=365 * 24 * 3600,
        ge=0,
        description="Strict-Transport-Security max-age, sent only when the dashboard is served "
        "over https (the request is https, or organisation.dashboard_url is); 0 sends none",
    )
    login: LoginLimits = Field(default_factory=LoginLimits)
    proxy_user_header: str = Field(default="X-Forwarded-User", min_length=1)
    proxy_secret: SecretStr | None = Field(
        default=None,
        description=f"auth: proxy: a secret (at least {MIN_PROXY_SECRET} characters) the reverse "
        "proxy sends in proxy_secret_header with every request; without it the user header is "
        "not believed",
    )
    proxy_secret_header: str = Field(default="X-Socmon-Proxy-Secret", min_length=1)
    trusted_proxies: list[str] = Field(
        default=[],
        description="auth: proxy: addresses or networks (CIDR) of the reverse proxy; when set, "
        "the user header is believed from these only (and with proxy_secret, when that is set "
        "too). No default: a loopback address would let any local program log in as anyone",
    )
    admin_password: SecretStr | None = Field(
        default=None,
        description="embedded demo only: `socmon up` creates the user `admin` with this password "
        "when no user exists yet",
    )
    timezone: TimeZoneName = Field(
        default="Europe/London", description="how times and days are shown"
    )
    erasure_key: SecretStr | None = Field(
        default=None,
        description="key of the keyed hash in the erasure log; when unset a random one is made "
        "once and kept in <data_dir>/erasure.key (mode 600)",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                msg = f"{entry!r} is not an IP address or network"
                raise ValueError(msg) from exc
        return value

    @field_validator("proxy_secret")
    @classmethod
    def _long_proxy_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None  # an empty variable (compose's ${VAR:-}) is no secret, not a short one
        if value is not None and len(value.get_secret_value()) < MIN_PROXY_SECRET:
            msg = (
                f"dashboard.proxy_secret must have at least {MIN_PROXY_SECRET} characters: "
                "make one with `openssl rand -hex 32`"
            )
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _proxy_is_authenticated(self) -> Self:
        if self.auth == "proxy" and self.proxy_secret is None and not self.trusted_proxies:
            msg = (
                "dashboard.auth is 'proxy' but nothing proves a request came from the proxy: set "
                "SOCMON_DASHBOARD__PROXY_SECRET (which the proxy sends in the "
                f"{self.proxy_secret_header} header) or list the proxy's addresses in "
                "dashboard.trusted_proxies"
            )
            raise ValueError(msg)
        return self
