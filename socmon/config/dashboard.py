"""Settings of the built-in dashboard and of Kibana (`dashboard:` in the config file)."""

from __future__ import annotations

from pydantic import Field

from socmon.config import Section


class DashboardSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=0, le=65535)
