"""Builds the configured index adapter (the one place where adapters are chosen)."""

from __future__ import annotations

from socmon.index.port import Index
from socmon.settings import Settings


def open_index(settings: Settings) -> Index:
    """The SQLite index in the data directory, or Elasticsearch when configured."""
    if settings.index.backend == "elasticsearch":
        from socmon.index.elasticsearch import ElasticsearchIndex

        return ElasticsearchIndex.from_settings(settings.index)
    from socmon.index.sqlite import SqliteIndex

    return SqliteIndex(settings.sqlite_path, settings.index.sqlite_busy_timeout_seconds)
