"""The commands of the built-in web dashboard."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the dashboard's commands to `socmon`."""
