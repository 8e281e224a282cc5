"""Connector tests: the real client libraries against recorded responses replayed by `responses`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture(platform: str, name: str) -> Any:
    """A recorded response body (written in the documented shape of the platform's API)."""
    return json.loads((FIXTURES / platform / name).read_text(encoding="utf-8"))


def lacks(param: str):
    """A `responses` matcher: the request has no `param` in its query (a first page)."""

    def match(request) -> tuple[bool, str]:
        from urllib.parse import parse_qs, urlparse

        present = param in parse_qs(urlparse(request.url).query)
        return (not present, f"{param} is in the query" if present else "")

    return match
