"""Settings of the official accounts' governance (`governance:` in the config file)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field

from socmon.config import Section
from socmon.records import Platform


class OfficialAccount(Section):
    """An entry of the register of official accounts."""

    platform: Platform
    handle: str = Field(min_length=1)
    platform_id: str | None = None
    team: str
    owner: str | None = None
    owner_left: bool = False
    line_manager: str | None = None
    approved_on: date | None = None
    status: Literal["active", "closed"] = "active"
    expected_interval_days: int = Field(default=7, ge=1)
    last_review: date | None = None


class GovernanceSettings(Section):
    register_file: Path | None = Field(
        default=None, description="a YAML list of accounts, instead of `accounts:` in this file"
    )
