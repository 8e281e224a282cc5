"""Settings of the official accounts' governance (`governance:` in the config file): the register
of official accounts (in the config file or a register file it points to), when the weekly sweep
runs, and when an account is escalated, due for review, or looks like ours but is not registered.
"""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import Field, ValidationError, field_validator

from socmon.config import SAFE_LOADER, Section, TimeZoneName
from socmon.records import Platform

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)


def handle_key(handle: str) -> str:
    """How handles compare: without a leading ``@``, case-insensitive (as the platforms do)."""
    return handle.strip().lstrip("@").casefold()


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

    @property
    def key(self) -> tuple[str, str]:
        """(platform, handle without ``@`` in lower case): the account's identity."""
        return (self.platform, handle_key(self.handle))

    @property
    def label(self) -> str:
        return f"{self.platform} @{self.handle.lstrip('@')}"


class GovernanceSettings(Section):
    register_file: Path | None = Field(
        default=None,
        description=(
            "a YAML list of accounts, added to `accounts:` in this file; a relative path is "
            "relative to the folder of the config file"
        ),
    )
    sweep_weekday: Weekday = Field(default="monday", description="day of the weekly sweep")
    sweep_time: time = Field(default=time(9, 0), description="local time of the weekly sweep")
    timezone: TimeZoneName = Field(
        default="Europe/London", description="IANA zone of the sweep time"
    )
    sweep_catch_up_hours: float = Field(
        default=6.0,
        ge=0,
        description="a worker (re)started this long after the sweep time still runs that sweep",
    )
    review_interval_months: int = Field(default=3, ge=1, le=24)
    escalation_after_days: int = Field(
        default=7, ge=1, description="still quiet this long after the first alert: line manager"
    )
    name_patterns: list[str] = Field(
        default=[],
        description=(
            "names that make an account look like the organisation's, besides the organisation's "
            "own name; compared ignoring case, spaces and punctuation"
        ),
    )

    @field_validator("name_patterns")
    @classmethod
    def _patterns_have_letters(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not name_fragment(pattern):
                msg = f"name pattern {pattern!r} has no letters or digits, so it would match all"
                raise ValueError(msg)
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_NOT_ALNUM = re.compile(r"[\W_]+")


def name_fragment(text: str) -> str:
    """A name as compared with handles: letters and digits only, case-folded."""
    return _NOT_ALNUM.sub("", text.casefold())


class RegisterFileError(ValueError):
    """The register file is unreadable or invalid; the message names the file, entry and field."""


def read_register_file(path: Path) -> list[OfficialAccount]:
    """The accounts of a register file: a YAML list of `OfficialAccount` entries.

    Raises `RegisterFileError` naming the file, the entry (1-based, with its handle when known)
    and the field, so a communications officer can fix the file without reading code.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"{path}: cannot read the register file: {exc.strerror}"
        raise RegisterFileError(msg) from exc
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        msg = f"{path}{pos}: the register file is not valid YAML: {problem}"
        raise RegisterFileError(msg) from exc
    if data is None:
        return []
    if not isinstance(data, list):
        msg = f"{path}: the register file must be a YAML list of accounts, not {_kind(data)}"
        raise RegisterFileError(msg)
    accounts: list[OfficialAccount] = []
    problems: list[str] = []
    for number, entry in enumerate(data, start=1):
        where = _entry_label(number, entry)
        if not isinstance(entry, dict):
            problems.append(f"  {where}: must be a mapping of fields, not {_kind(entry)}")
            continue
        try:
            accounts.append(OfficialAccount.model_validate(entry))
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                field = ".".join(str(p) for p in err["loc"]) or "(entry)"
                problems.append(f"  {where}: field {field}: {err['msg']}")
    if problems:
        msg = f"{path}: invalid register of accounts:\n" + "\n".join(problems)
        raise RegisterFileError(msg)
    return accounts


def merge_accounts(
    configured: list[OfficialAccount],
    from_file: list[OfficialAccount],
    file: Path | None,
    config_label: str = "the config file",
) -> list[OfficialAccount]:
    """The config file's accounts followed by the register file's; an account listed twice is an
    error (two owners or intervals for one account would be ambiguous)."""
    seen: dict[tuple[str, str], str] = {}
    merged: list[OfficialAccount] = []
    sources = [(f"{config_label} (accounts)", acc) for acc in configured]
    sources += [(str(file), acc) for acc in from_file]
    for source, account in sources:
        if account.key in seen:
            msg = f"{source}: {account.label} is already registered in {seen[account.key]}"
            raise RegisterFileError(msg)
        seen[account.key] = source
        merged.append(account)
    return merged


def _kind(value: Any) -> str:
    names: dict[type, str] = {list: "a list", dict: "a mapping", str: "a string"}
    return names.get(type(value), type(value).__name__)


def _entry_label(number: int, entry: Any) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("handle"), str):
        return f"entry {number} ({entry.get('platform', '?')} @{entry['handle'].lstrip('@')})"
    return f"entry {number}"
