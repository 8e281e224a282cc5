"""The index port and its adapters (SQLite embedded, Elasticsearch deployed)."""

from socmon.index.port import BulkResult, Index, IndexUnavailable, PostQuery, Stats

__all__ = ["BulkResult", "Index", "IndexUnavailable", "PostQuery", "Stats"]
