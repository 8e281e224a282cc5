"""Settings: one YAML file plus environment variables (secrets only ever from the environment).

Environment variables override the file: ``SOCMON_KAFKA__BOOTSTRAP_SERVERS=host:9092`` sets
``kafka.bootstrap_servers``. Secrets are `SecretStr`, so they never appear in a dump or a log.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from socmon.config import SAFE_LOADER, Section
from socmon.config.alerting import AlertingSettings
from socmon.config.classifier import ClassifierSettings
from socmon.config.connectors import ConnectorSettings
from socmon.config.dashboard import DashboardSettings
from socmon.config.governance import (
    GovernanceSettings,
    OfficialAccount,
    RegisterFileError,
    merge_accounts,
    read_register_file,
)
from socmon.config.spikes import SpikeSettings
from socmon.topics import Topics

DEFAULT_CONFIG = "default_config.yaml"


class ConfigError(Exception):
    """The configuration is broken; the message names the file, the field and what is wrong."""


class KafkaSettings(Section):
    bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = "socmon"
    partitions: int = Field(default=4, ge=1, le=256)
    replication_factor: int = Field(default=1, ge=1)
    session_timeout_ms: int = Field(default=10_000, ge=1_000)
    topic_retention_days: int = Field(
        default=7,
        ge=1,
        description="how long the topics keep messages (retention.ms, set when socmon creates "
        "them): the index is the long-term store, so a week covers a restart or a replay, and "
        "what an erasure cannot reach in the topics ages out",
    )

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)


class IndexSettings(Section):
    backend: Literal["sqlite", "elasticsearch"] = "sqlite"
    sqlite_path: Path | None = Field(default=None, description="defaults to <data_dir>/socmon.db")
    sqlite_busy_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="how long a SQLite write waits for another process's lock (a backup, an "
        "erasure) before it fails and the stage retries the batch",
    )
    elasticsearch_url: str = "http://localhost:9200"
    elasticsearch_index: str = "socmon-posts"
    elasticsearch_username: str | None = None
    elasticsearch_password: SecretStr | None = None
    elasticsearch_api_key: SecretStr | None = None
    retention_days: int = Field(default=365, ge=1)
    batch_size: int = Field(default=500, ge=1)


class MetricsSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=9464, ge=0, le=65535)


class EmbeddedSettings(Section):
    broker_port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port")
    workers: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="stream-worker processes `socmon up` runs in one consumer group; default: "
        "the cores available, at most kafka.partitions (a worker beyond that would idle)",
    )

    def worker_count(self, partitions: int) -> int:
        """How many stream workers to run: as set, else one per available core; never more
        than the topics' partitions, since each partition is read by one worker of the group."""
        wanted = self.workers or len(os.sched_getaffinity(0))
        return max(1, min(wanted, partitions))


class Department(Section):
    """One department of the taxonomy: how posts are matched to it and who it is."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    keywords: list[str] = []
    aliases: list[str] = []
    sites: list[str] = []
    contact: str | None = None


class PublishedContacts(Section):
    """The organisation's own published contact details: never personal data in its posts."""

    phone_numbers: list[str] = []
    email_domains: list[str] = Field(default=["nhs.net", "nhs.uk"], description="subdomains count")
    postcodes: list[str] = []


class OrganisationSettings(Section):
    name: str = "Example NHS Trust"
    dashboard_url: str = "http://127.0.0.1:8050"
    published_contacts: PublishedContacts = PublishedContacts()


class Settings(BaseSettings):
    """Everything socmon reads at start-up."""

    # An empty variable is not set (compose passes ${TOKEN:-} as ""): the default applies.
    model_config = SettingsConfigDict(
        env_prefix="SOCMON_", env_nested_delimiter="__", extra="forbid", env_ignore_empty=True
    )

    data_dir: Path = Path(".socmon")
    organisation: OrganisationSettings = OrganisationSettings()
    kafka: KafkaSettings = KafkaSettings()
    index: IndexSettings = IndexSettings()
    metrics: MetricsSettings = MetricsSettings()
    embedded: EmbeddedSettings = EmbeddedSettings()
    connectors: ConnectorSettings = ConnectorSettings()
    alerting: AlertingSettings = AlertingSettings()
    governance: GovernanceSettings = GovernanceSettings()
    dashboard: DashboardSettings = DashboardSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    spikes: SpikeSettings = SpikeSettings()
    departments: list[Department] = []
    accounts: list[OfficialAccount] = []

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the YAML file (passed as init values).
        return (env_settings, init_settings)

    @field_validator("data_dir")
    @classmethod
    def _a_folder(cls, value: Path) -> Path:
        try:
            is_file = value.exists() and not value.is_dir()
        except OSError as exc:  # a folder on the way this user may not enter
            msg = f"cannot reach {value} ({exc.strerror}): give data_dir (or --data-dir) a folder "
            msg += "this user can write"
            raise ValueError(msg) from exc
        if is_file:
            msg = f"{value} is a file, not a folder: give data_dir (or --data-dir) a folder"
            raise ValueError(msg)
        return value

    @field_validator("departments")
    @classmethod
    def _unique_departments(cls, value: list[Department]) -> list[Department]:
        seen: set[str] = set()
        for dept in value:
            if dept.id in seen:
                msg = f"department id {dept.id!r} appears twice"
                raise ValueError(msg)
            seen.add(dept.id)
        return value

    @property
    def sqlite_path(self) -> Path:
        return self.index.sqlite_path or self.data_dir / "socmon.db"

    @property
    def outbox_path(self) -> Path:
        return self.alerting.outbox or self.data_dir / "outbox.jsonl"

    def account(self, platform: str, handle: str) -> OfficialAccount | None:
        wanted = handle.lstrip("@").lower()
        for acc in self.accounts:
            if acc.platform == platform and acc.handle.lstrip("@").lower() == wanted:
                return acc
        return None


def _secrets_in_file(model: type[BaseModel], data: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths of `SecretStr` fields that `data` (the parsed YAML) sets."""
    if not isinstance(data, dict):
        return
    for name, field in model.model_fields.items():
        if name not in data or data[name] is None:
            continue
        path = f"{prefix}{name}"
        for candidate in (field.annotation, *get_args(field.annotation)):
            if candidate is SecretStr:
                yield path
            elif isinstance(candidate, type) and issubclass(candidate, BaseModel):
                yield from _secrets_in_file(candidate, data[name], f"{path}.")


def default_config_text() -> str:
    return resources.files("socmon").joinpath(DEFAULT_CONFIG).read_text(encoding="utf-8")


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read the YAML file (the bundled default when `path` is None) and the environment.

    Raises `ConfigError` naming the file, the field and the problem.
    """
    where = str(path) if path else f"(bundled {DEFAULT_CONFIG})"
    try:
        text = path.read_text(encoding="utf-8") if path else default_config_text()
    except OSError as exc:
        msg = f"{where}: cannot read the config file: {exc.strerror}"
        raise ConfigError(msg) from exc
    try:
        data = yaml.load(text, Loader=SAFE_LOADER) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        msg = f"{where}{pos}: not valid YAML: {problem}"
        raise ConfigError(msg) from exc
    if not isinstance(data, dict):
        msg = f"{where}: the top level must be a mapping of sections, not {type(data).__name__}"
        raise ConfigError(msg)
    leaked = sorted(_secrets_in_file(Settings, data))
    if leaked:
        env = ", ".join("SOCMON_" + "__".join(p.split(".")).upper() for p in leaked)
        msg = (
            f"{where}: secrets must not be written in the config file: {', '.join(leaked)}; "
            f"set them in the environment instead ({env})"
        )
        raise ConfigError(msg)
    data.update(overrides)
    try:
        return with_register_file(Settings(**data), path)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            field = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {field}: {err['msg']}")
        raise ConfigError(f"{where}: invalid configuration:\n" + "\n".join(lines)) from exc


def with_register_file(settings: Settings, config_path: Path | None) -> Settings:
    """`settings` with the register file's accounts added to `accounts` (unchanged without one).

    Raises `ConfigError` naming the file, the entry and the field.
    """
    register_file = settings.governance.register_file
    if register_file is not None and not register_file.is_absolute() and config_path is not None:
        register_file = config_path.parent / register_file
    where = str(config_path) if config_path else "(bundled default_config.yaml)"
    try:
        from_file = read_register_file(register_file) if register_file else []
        accounts = merge_accounts(settings.accounts, from_file, register_file, where)
    except RegisterFileError as exc:
        raise ConfigError(str(exc)) from exc
    return settings.model_copy(update={"accounts": accounts})
