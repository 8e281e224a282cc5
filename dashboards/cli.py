"""The commands of the dashboards stage (Kibana, the built-in dashboard, the monthly report)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `socmon`."""
