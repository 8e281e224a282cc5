"""Settings of alert delivery (`alerting:` in the config file): recipients, channels, routing."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from socmon.config import Section


class AlertingSettings(Section):
    outbox: Path | None = Field(
        default=None, description="file channel: JSON Lines of deliveries (<data_dir>/outbox.jsonl)"
    )
    console: bool = True
    patient_services: str = "patient-services"
    communications: str = "communications"
