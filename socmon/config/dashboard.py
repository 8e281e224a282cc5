"""Settings of the built-in dashboard and of Kibana (`dashboard:` in the config file).

Who may see the dashboard matters: it shows members of the public's posts and possibly patient
details. ``auth: local`` keeps users (with hashed passwords) in the index and a signed session
cookie; ``auth: proxy`` trusts a header set by a reverse proxy that did the login, and only from
the proxy's own addresses. Secrets come from the environment only
(``SOCMON_DASHBOARD__SESSION_SECRET``, ``SOCMON_DASHBOARD__ADMIN_PASSWORD``,
``SOCMON_DASHBOARD__ERASURE_KEY``).
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from socmon.config import Section, TimeZoneName


class DashboardSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=0, le=65535, description="0 picks a free port")
    auth: Literal["local", "proxy"] = "local"
    session_secret: SecretStr | None = Field(
        default=None,
        description="signs the session cookie; when unset an ephemeral one is made (with a "
        "warning), so every restart logs everyone out",
    )
    session_hours: float = Field(default=8.0, gt=0, le=24 * 30)
    secure_cookies: bool = Field(
        default=False, description="send the session cookie over HTTPS only (behind TLS)"
    )
    proxy_user_header: str = Field(default="X-Forwarded-User", min_length=1)
    trusted_proxies: list[str] = Field(
        default=["127.0.0.1", "::1"],
        description="addresses or networks (CIDR) of the reverse proxy; the user header is "
        "believed from these only",
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
