"""The same dashboard over the Elasticsearch adapter (osmem-server standing in for it)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from starlette.testclient import TestClient

from dashboards.web.app import create_app, post_url
from dashboards.web.feedback import all_corrections
from socmon.index.elasticsearch import ElasticsearchIndex
from tests.dashboards.web.conftest import csrf_of, log_in
from tests.dashboards.web.seed import (
    EVIDENCE,
    LINE_MANAGER,
    MATERNITY_USER,
    USER,
    Seeded,
    dashboard_settings,
    seed,
)
from tests.socmon.index.test_elasticsearch import unique_prefix, wipe


@pytest.fixture
def es_index(elasticsearch_client: Elasticsearch) -> Iterator[ElasticsearchIndex]:
    prefix = unique_prefix()
    index = ElasticsearchIndex(elasticsearch_client, index_prefix=prefix)
    index.setup()
    yield index
    wipe(elasticsearch_client, prefix)


@pytest.fixture
def es_client(tmp_path: Path, es_index: ElasticsearchIndex) -> Iterator[tuple[TestClient, Seeded]]:
    keys = seed(es_index)
    app = create_app(dashboard_settings(tmp_path), es_index, session_secret="es-test")
    with TestClient(app, follow_redirects=False) as client:
        log_in(client)
        yield client, keys


def test_list_filters_item_and_correction_work_on_elasticsearch(
    es_client: tuple[TestClient, Seeded], es_index: ElasticsearchIndex
) -> None:
    client, keys = es_client
    listing = client.get("/posts").text
    assert re.findall(r'<tr data-key="([^"]+)"', listing)[:2] == [keys.breach, keys.parking]
    assert '<svg class="chart"' in listing
    concern = client.get("/posts?sentiment=concern&q=barrier").text
    assert re.findall(r'<tr data-key="([^"]+)"', concern) == [keys.parking]

    item = client.get(post_url(keys.breach)).text
    assert f">{EVIDENCE}</mark>" in item
    assert LINE_MANAGER in item

    page = client.get(post_url(keys.parking)).text
    response = client.post(
        "/corrections",
        data={
            "post_key": keys.parking,
            "sentiment": "compliment",
            "departments_judged": "1",
            "department": ["estates"],
            "csrf_token": csrf_of(page),
        },
    )
    assert response.status_code == 303
    [stored] = all_corrections(es_index)
    assert (stored.post_key, stored.corrected_by, stored.sentiment) == (
        keys.parking,
        USER,
        "compliment",
    )
    accounts = client.get("/accounts").text
    assert "Active" in accounts


def test_triage_works_on_elasticsearch(
    tmp_path: Path, es_client: tuple[TestClient, Seeded], es_index: ElasticsearchIndex
) -> None:
    client, keys = es_client
    page = client.get(post_url(keys.parking)).text
    client.post(
        "/cases",
        data={
            "post_key": keys.parking,
            "status": "in_progress",
            "assignee": USER,
            "csrf_token": csrf_of(page),
        },
    )
    stored = es_index.get_post(keys.parking)
    assert stored is not None
    assert stored.case is not None
    assert (stored.case.status, stored.case.assignee) == ("in_progress", USER)
    es_index.upsert_posts([stored.model_copy(update={"case": None})])  # the pipeline again
    kept = es_index.get_post(keys.parking)
    assert kept is not None
    assert kept.case == stored.case

    def keys_of(url: str) -> list[str]:
        return re.findall(r'<tr data-key="([^"]+)"', client.get(url).text)

    assert keys_of(f"/posts?status=open&assignee={USER}") == [keys.parking]
    assert set(keys_of("/posts?status=open&assignee=-")) == {keys.breach, keys.old}
    assert keys_of("/posts?breach=yes") == [keys.breach]
    assert keys_of("/posts?sort=oldest")[0] == keys.old
    assert len(keys_of("/posts?limit=5&page=4")) == 1
    token = csrf_of(client.get("/posts").text)
    client.post(
        "/cases/bulk",
        data={"key": [keys.breach, keys.old], "status": "handled", "csrf_token": token},
    )
    assert keys_of("/posts?status=handled") == [keys.breach, keys.old]
    export = client.get("/posts.csv?status=handled").text.removeprefix("\ufeff")
    assert [line.split(",")[0] for line in export.splitlines()[1:]] == [keys.breach, keys.old]
    front = client.get("/").text
    assert re.search(r'data-testid="new-count"><span class="number">0<', front)

    department = create_app(dashboard_settings(tmp_path), es_index, session_secret="es-test")
    with TestClient(department, follow_redirects=False) as maternity:
        log_in(maternity, MATERNITY_USER)
        assert re.findall(r'<tr data-key="([^"]+)"', maternity.get("/posts").text) == [keys.midwife]
        assert maternity.get(post_url(keys.parking)).status_code == 404
