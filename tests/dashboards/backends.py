"""An index on each adapter for the dashboards tests: SQLite in a temporary folder, and
Elasticsearch on the session's real osmem-server (a unique prefix per test, wiped afterwards).

``opener`` builds a fresh adapter on the same storage, as `socmon.index.factory.open_index` would
for a command, so command-line tests can patch the factory with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from socmon.index.elasticsearch import ElasticsearchIndex
from socmon.index.port import Index
from socmon.index.sqlite import SqliteIndex
from tests.socmon.index.test_elasticsearch import unique_prefix, wipe

BACKENDS = ("sqlite", "elasticsearch")


@dataclass
class Backend:
    name: str
    index: Index
    opener: Callable[[], Index]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "socmon.db"
        index: Index = SqliteIndex(path)
        index.setup()
        yield Backend("sqlite", index, lambda: SqliteIndex(path))
        index.close()
        return
    client: Elasticsearch = request.getfixturevalue("elasticsearch_client")
    prefix = unique_prefix()
    index = ElasticsearchIndex(client, index_prefix=prefix)
    index.setup()
    try:
        yield Backend(
            "elasticsearch", index, lambda: ElasticsearchIndex(client, index_prefix=prefix)
        )
    finally:
        wipe(client, prefix)
