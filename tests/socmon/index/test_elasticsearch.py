"""The Elasticsearch adapter: the whole port contract against a real server (osmem-server), the
template it installs, and what happens to bulk items the server rejects.

The fixtures ``elasticsearch_url`` and ``elasticsearch_client`` come from `tests.servers`.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig, ObjectApiResponse
from elasticsearch import ApiError, Elasticsearch
from pydantic import SecretStr

from socmon.index.elasticsearch import (
    CONFLICT_ATTEMPTS,
    MAPPINGS,
    MAX_RESULT_WINDOW,
    RETRYABLE_STATUSES,
    ElasticsearchIndex,
    _post_document,
)
from socmon.index.port import IndexUnavailable, PostQuery
from socmon.records import Alert, EnrichedPost, Sentiment
from socmon.settings import IndexSettings
from tests.factories import (
    DAY,
    T0,
    correct,
    keys,
    make_breach,
    make_case,
    make_post,
    set_case,
)
from tests.servers import CompatibleJsonNode, free_port
from tests.socmon.index.conformance import IndexContract


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


def wipe(client: Elasticsearch, prefix: str) -> None:
    """Delete a test's indices and templates, so the shared server does not fill up."""
    client.options(ignore_status=404).indices.delete(index=f"{prefix}-*")
    client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-*")


def response_meta(status: int) -> ApiResponseMeta:
    return ApiResponseMeta(
        status=status,
        http_version="1.1",
        headers=HttpHeaders({"content-type": "application/json"}),
        duration=0.0,
        node=NodeConfig("http", "127.0.0.1", 9200),
    )


class RejectingClient(Elasticsearch):
    """A client whose bulk requests reject chosen documents, as an overloaded cluster would.

    ``rejections`` maps a document id to the statuses its next attempts get, in order (then it
    goes through); ``request_errors`` are statuses for whole bulk requests, one per request. With
    ``forward=False`` nothing reaches a server: every other item is answered ``201`` and every
    ``mget`` finds nothing. Every bulk request's document ids are recorded in ``attempts``.
    """

    def __init__(
        self,
        *args: Any,
        rejections: dict[str, list[int]] | None = None,
        request_errors: list[int] | None = None,
        forward: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.rejections = rejections or {}
        self.request_errors = request_errors or []
        self.forward = forward
        self.attempts: list[list[str]] = []

    def options(self, **kwargs: Any) -> RejectingClient:
        # streaming_bulk works on client.options(), which builds a new instance: share our state
        clone = super().options(**kwargs)
        clone.rejections = self.rejections
        clone.request_errors = self.request_errors
        clone.forward = self.forward
        clone.attempts = self.attempts
        return clone

    def mget(self, **kwargs: Any) -> Any:
        if self.forward:
            return super().mget(**kwargs)
        docs = [{"_id": doc_id, "found": False} for doc_id in kwargs.get("ids") or ()]
        return ObjectApiResponse(body={"docs": docs}, meta=response_meta(200))

    def bulk(self, *, operations: Sequence[Any] | None = None, **kwargs: Any) -> Any:
        lines = [json.loads(op) if isinstance(op, bytes | str) else op for op in operations or ()]
        # index and create actions carry a source; {"create": {"_id": ...}} names its operation
        pairs = list(zip(lines[::2], lines[1::2], strict=True))
        ids = [next(iter(action.values()))["_id"] for action, _ in pairs]
        self.attempts.append(ids)
        if self.request_errors:
            status = self.request_errors.pop(0)
            raise ApiError(
                "injected", response_meta(status), {"error": "injected", "status": status}
            )
        injected: dict[int, dict[str, Any]] = {}
        passed: list[dict[str, Any]] = []
        for position, (action, source) in enumerate(pairs):
            [(op, meta)] = action.items()
            statuses = self.rejections.get(meta["_id"])
            if statuses:
                status = statuses.pop(0)
                error = {"type": "es_rejected_execution_exception", "reason": "injected"}
                injected[position] = {op: {"_id": meta["_id"], "status": status, "error": error}}
            else:
                passed += [action, source]
        if self.forward and passed:
            server_items = iter(super().bulk(operations=passed, **kwargs).body["items"])
        else:
            server_items = iter(
                {op: {"_id": meta["_id"], "status": 201}}
                for action in passed[::2]
                for op, meta in action.items()
            )
        items = [
            injected[position] if position in injected else next(server_items)
            for position in range(len(pairs))
        ]
        body = {"took": 1, "errors": any("error" in next(iter(i.values())) for i in items)}
        return ObjectApiResponse(body={**body, "items": items}, meta=response_meta(200))


@pytest.fixture
def prefix(elasticsearch_client: Elasticsearch) -> Iterator[str]:
    name = unique_prefix()
    yield name
    wipe(elasticsearch_client, name)


class TestElasticsearchIndexContract(IndexContract):
    @pytest.fixture
    def index(self, elasticsearch_client: Elasticsearch, prefix: str) -> ElasticsearchIndex:
        index = ElasticsearchIndex(elasticsearch_client, index_prefix=prefix)
        index.setup()
        return index


# -- the template --------------------------------------------------------------------------


def test_setup_installs_a_template_per_index_with_the_declared_mappings(
    elasticsearch_client: Elasticsearch, prefix: str
) -> None:
    ElasticsearchIndex(elasticsearch_client, index_prefix=prefix).setup()
    for kind, declared in MAPPINGS.items():
        name = f"{prefix}-{kind}"
        found = elasticsearch_client.indices.get_index_template(name=name)["index_templates"]
        assert [t["name"] for t in found] == [name]
        template = found[0]["index_template"]
        assert template["index_patterns"] == [name]
        assert template["template"]["mappings"] == declared
        # and the index was created from it
        mapping = elasticsearch_client.indices.get_mapping(index=name)[name]["mappings"]
        assert mapping == declared


def test_posts_mapping_has_the_types_dashboards_rely_on() -> None:
    fields = MAPPINGS["posts"]["properties"]
    types = {name: spec.get("type", "object") for name, spec in fields.items()}
    for keyword in ("key", "post_id", "platform", "account", "sentiment", "departments", "kind"):
        assert types[keyword] == "keyword", keyword
    assert types["author"] == "keyword"
    assert types["text"] == "text"
    # stemmed words in a multi-field: the analyzer of `text` itself cannot change in place
    assert fields["text"]["fields"] == {"english": {"type": "text", "analyzer": "english"}}
    assert types["case_status"] == types["first_department"] == "keyword"
    assert types["has_breach"] == "boolean"
    assert fields["case"]["properties"]["assignee"] == {"type": "keyword"}
    assert types["created_at"] == types["enriched_at"] == "date"
    assert types["urgent"] == types["abusive"] == "boolean"
    assert types["breaches"] == "nested"
    assert fields["record"] == {"type": "keyword", "index": False, "doc_values": False}


def test_flattened_fields_are_searchable_by_dashboards(
    elasticsearch_client: Elasticsearch, prefix: str
) -> None:
    index = ElasticsearchIndex(elasticsearch_client, index_prefix=prefix)
    index.setup()
    index.upsert_posts(
        [make_post("1", sentiment="concern", urgent=True, departments=("maternity",))]
    )
    found = elasticsearch_client.search(
        index=f"{prefix}-posts",
        query={
            "bool": {
                "filter": [
                    {"term": {"urgent": True}},
                    {"term": {"departments": "maternity"}},
                    {"term": {"sentiment": "concern"}},
                ]
            }
        },
    )
    assert [hit["_id"] for hit in found["hits"]["hits"]] == ["twitter:1"]
    source = found["hits"]["hits"][0]["_source"]
    assert source["platform"] == "twitter"
    assert source["created_at"] == "2025-03-03T09:00:00+00:00"


def test_an_alert_about_an_account_is_charted_under_its_platform(
    elasticsearch_client: Elasticsearch, prefix: str
) -> None:
    index = ElasticsearchIndex(elasticsearch_client, index_prefix=prefix)
    index.setup()
    quiet = Alert(
        alert_id="inactive_account:facebook:NorthbrookHospitals:2026-11-02",
        kind="inactive_account",
        summary="quiet for 9 days",
        account="NorthbrookHospitals",
        platform="facebook",
    )
    index.record_alerts([quiet])
    found = elasticsearch_client.search(
        index=f"{prefix}-alerts", query={"term": {"platform": "facebook"}}
    )
    assert [hit["_id"] for hit in found["hits"]["hits"]] == [quiet.alert_id]


# -- corrections against the pipeline's writes, on the real server ---------------------------


class InterleavingClient(Elasticsearch):
    """A client that runs ``meanwhile`` right after each ``mget`` has answered, so another
    writer's change lands between the adapter's read of the stored posts and its bulk write."""

    def __init__(
        self, *args: Any, meanwhile: Callable[[], None] = lambda: None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.meanwhile = meanwhile

    def options(self, **kwargs: Any) -> InterleavingClient:
        clone = super().options(**kwargs)
        clone.meanwhile = self.meanwhile
        return clone

    def mget(self, **kwargs: Any) -> Any:
        answer = super().mget(**kwargs)
        self.meanwhile()
        return answer


def test_a_correction_saved_between_the_read_and_the_write_is_kept(
    elasticsearch_url: str, elasticsearch_client: Elasticsearch, prefix: str
) -> None:
    dashboard = ElasticsearchIndex(elasticsearch_client, index_prefix=prefix)
    dashboard.setup()
    original = make_post("1", sentiment="concern")
    dashboard.upsert_posts([original])
    saved: list[str] = []

    def correct_once() -> None:
        if not saved:
            saved.append(correct(dashboard, original.key, sentiment="compliment").key)

    client = InterleavingClient(
        elasticsearch_url, node_class=CompatibleJsonNode, meanwhile=correct_once
    )
    worker = ElasticsearchIndex(client, index_prefix=prefix)
    result = worker.upsert_posts([original, make_post("2", sentiment="concern")])
    assert (result.written, result.failed) == (2, ())
    assert saved == [original.key]
    stored = dashboard.get_post(original.key)
    assert stored is not None
    assert stored.classification.sentiment == "compliment"
    assert [p.key for p in dashboard.search_posts(PostQuery(sentiment="compliment"))] == [
        original.key
    ]


def test_a_post_changed_on_every_attempt_is_returned_as_failed(
    elasticsearch_url: str, elasticsearch_client: Elasticsearch, prefix: str
) -> None:
    dashboard = ElasticsearchIndex(elasticsearch_client, index_prefix=prefix)
    dashboard.setup()
    dashboard.upsert_posts([make_post("1", sentiment="concern"), make_post("2")])
    alternating: tuple[Sentiment, ...] = ("compliment", "neutral")
    corrections = iter(alternating * CONFLICT_ATTEMPTS)

    def correct_again() -> None:
        correct(dashboard, "twitter:1", sentiment=next(corrections), at=T0 + DAY)

    client = InterleavingClient(
        elasticsearch_url, node_class=CompatibleJsonNode, meanwhile=correct_again
    )
    worker = ElasticsearchIndex(client, index_prefix=prefix)
    result = worker.upsert_posts([make_post("1", sentiment="concern"), make_post("2")])
    assert result.written == 1
    assert [doc_id for doc_id, _ in result.failed] == ["twitter:1"]
    assert result.failed[0][1].startswith("409 version_conflict_engine_exception")
    stored = dashboard.get_post("twitter:1")
    assert stored is not None
    assert stored.correction is not None  # the person's last write stands


def test_a_corrected_post_carries_who_corrected_it_for_dashboards(
    elasticsearch_client: Elasticsearch, prefix: str
) -> None:
    index = ElasticsearchIndex(elasticsearch_client, index_prefix=prefix)
    index.setup()
    index.upsert_posts([make_post("1", sentiment="concern"), make_post("2")])
    correct(index, "twitter:1", sentiment="compliment", by="alice")
    index.upsert_posts([make_post("1", sentiment="concern")])
    found = elasticsearch_client.search(
        index=f"{prefix}-posts",
        query={"term": {"correction.corrected_by": "alice"}},
    )
    assert [hit["_id"] for hit in found["hits"]["hits"]] == ["twitter:1"]
    source = found["hits"]["hits"][0]["_source"]
    assert (source["sentiment"], source["correction"]["sentiment"]) == ("compliment", "compliment")
    plain = elasticsearch_client.get(index=f"{prefix}-posts", id="twitter:2")["_source"]
    assert "correction" not in plain


# -- rejected bulk items, against the real server ------------------------------------------


def rejecting_index(
    url: str, prefix: str, max_retries: int = 1, **client_options: Any
) -> tuple[ElasticsearchIndex, RejectingClient]:
    client = RejectingClient(url, node_class=CompatibleJsonNode, **client_options)
    index = ElasticsearchIndex(
        client, index_prefix=prefix, max_retries=max_retries, initial_backoff=0.01
    )
    index.setup()
    return index, client


def test_an_item_rejected_once_with_429_is_retried_alone_and_written(
    elasticsearch_url: str, prefix: str
) -> None:
    index, client = rejecting_index(elasticsearch_url, prefix, rejections={"twitter:2": [429]})
    result = index.upsert_posts([make_post("1"), make_post("2"), make_post("3")])
    assert (result.written, result.failed) == (3, ())
    assert client.attempts == [["twitter:1", "twitter:2", "twitter:3"], ["twitter:2"]]
    assert index.get_post("twitter:2") == make_post("2")
    assert index.stats().indexed == 3


def test_an_item_rejected_on_every_attempt_is_returned_as_failed(
    elasticsearch_url: str, prefix: str
) -> None:
    index, client = rejecting_index(
        elasticsearch_url, prefix, max_retries=2, rejections={"twitter:2": [503, 429, 503]}
    )
    result = index.upsert_posts([make_post("1"), make_post("2")])
    assert result.written == 1
    assert [doc_id for doc_id, _ in result.failed] == ["twitter:2"]
    assert result.failed[0][1].startswith("503 es_rejected_execution_exception")
    assert client.attempts == [["twitter:1", "twitter:2"], ["twitter:2"], ["twitter:2"]]
    assert index.get_post("twitter:2") is None
    assert index.get_post("twitter:1") == make_post("1")


def test_a_document_the_mapping_refuses_is_returned_as_failed_without_retry(
    elasticsearch_url: str, prefix: str
) -> None:
    index, client = rejecting_index(elasticsearch_url, prefix, max_retries=3)
    # An index made by hand before socmon's setup, where post ids must be numbers: the server
    # itself rejects a post whose id is not one, with a 400 that no retry can fix.
    client.indices.delete(index=f"{prefix}-posts")
    client.indices.create(
        index=f"{prefix}-posts", mappings={"properties": {"post_id": {"type": "long"}}}
    )
    result = index.upsert_posts([make_post("12345"), make_post("not-a-number")])
    assert result.written == 1
    assert [doc_id for doc_id, _ in result.failed] == ["twitter:not-a-number"]
    assert result.failed[0][1].startswith("400 ")
    assert client.attempts == [["twitter:12345", "twitter:not-a-number"]]


# -- retry logic, with no server at all ----------------------------------------------------


@pytest.fixture
def backoffs(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses the bulk helper takes between attempts, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr("elasticsearch.helpers.actions.time.sleep", slept.append)
    return slept


def offline_index(
    max_retries: int = 3, initial_backoff: float = 0.5, max_backoff: float = 30.0, **script: Any
) -> tuple[ElasticsearchIndex, RejectingClient]:
    # port 9 (discard) on loopback: nothing must ever connect, every bulk call is scripted
    client = RejectingClient("http://127.0.0.1:9", forward=False, **script)
    index = ElasticsearchIndex(
        client,
        index_prefix="unit",
        max_retries=max_retries,
        initial_backoff=initial_backoff,
        max_backoff=max_backoff,
    )
    return index, client


@pytest.mark.parametrize("status", RETRYABLE_STATUSES)
def test_each_retryable_status_is_retried(status: int, backoffs: list[float]) -> None:
    index, client = offline_index(rejections={"twitter:1": [status]})
    result = index.upsert_posts([make_post("1")])
    assert (result.written, result.failed) == (1, ())
    assert client.attempts == [["twitter:1"], ["twitter:1"]]


@pytest.mark.parametrize("status", [400, 409, 413, 500])
def test_other_statuses_fail_at_once(status: int, backoffs: list[float]) -> None:
    index, client = offline_index(rejections={"twitter:1": [status]})
    result = index.upsert_posts([make_post("1"), make_post("2")])
    assert result.written == 1
    assert [doc_id for doc_id, _ in result.failed] == ["twitter:1"]
    assert client.attempts == [["twitter:1", "twitter:2"]]
    assert backoffs == []


def test_backoff_doubles_from_the_initial_pause_up_to_the_cap(backoffs: list[float]) -> None:
    index, client = offline_index(
        max_retries=4,
        initial_backoff=2.0,
        max_backoff=5.0,
        rejections={"twitter:1": [429] * 10},
    )
    result = index.upsert_posts([make_post("1")])
    assert backoffs == [2.0, 4.0, 5.0, 5.0]
    assert len(client.attempts) == 5
    assert [doc_id for doc_id, _ in result.failed] == ["twitter:1"]


def test_with_no_retries_a_rejected_item_fails_after_one_attempt(backoffs: list[float]) -> None:
    index, client = offline_index(max_retries=0, rejections={"twitter:1": [429]})
    result = index.upsert_posts([make_post("1")])
    assert [doc_id for doc_id, _ in result.failed] == ["twitter:1"]
    assert len(client.attempts) == 1


def test_a_whole_request_rejected_with_503_is_sent_again(backoffs: list[float]) -> None:
    index, client = offline_index(request_errors=[503])
    result = index.upsert_posts([make_post("1"), make_post("2")])
    assert (result.written, result.failed) == (2, ())
    assert client.attempts == [["twitter:1", "twitter:2"], ["twitter:1", "twitter:2"]]


def test_a_whole_request_refused_for_good_raises_index_unavailable(
    backoffs: list[float],
) -> None:
    index, _ = offline_index(request_errors=[401])
    with pytest.raises(IndexUnavailable, match=r"refused to write 1 documents .* 401"):
        index.upsert_posts([make_post("1")])


def test_many_posts_go_in_chunks_and_all_are_counted(backoffs: list[float]) -> None:
    client = RejectingClient("http://127.0.0.1:9", forward=False)
    index = ElasticsearchIndex(client, index_prefix="unit", chunk_size=4)
    result = index.upsert_posts([make_post(str(n)) for n in range(10)])
    assert result.written == 10
    assert [len(ids) for ids in client.attempts] == [4, 4, 2]


# -- connection errors and settings --------------------------------------------------------


def test_an_unreachable_server_raises_index_unavailable_naming_the_url_not_the_password() -> None:
    port = free_port()  # nothing listens there
    settings = IndexSettings(
        backend="elasticsearch",
        elasticsearch_url=f"http://127.0.0.1:{port}",
        elasticsearch_username="socmon",
        elasticsearch_password=SecretStr("hunter2-very-secret"),
    )
    index = ElasticsearchIndex.from_settings(settings)
    try:
        with pytest.raises(IndexUnavailable) as caught:
            index.setup()
    finally:
        index.close()
    assert f"http://127.0.0.1:{port}" in str(caught.value)
    assert "hunter2-very-secret" not in str(caught.value)
    assert "hunter2-very-secret" not in repr(index)


def test_credentials_in_the_url_never_appear_in_errors() -> None:
    port = free_port()
    settings = IndexSettings(elasticsearch_url=f"http://admin:s3cr3t-pw@127.0.0.1:{port}")
    index = ElasticsearchIndex.from_settings(settings)
    try:
        with pytest.raises(IndexUnavailable, match=f"127.0.0.1:{port}") as caught:
            index.stats()
    finally:
        index.close()
    assert "s3cr3t-pw" not in str(caught.value)


def test_from_settings_takes_the_prefix_from_the_posts_index_name() -> None:
    index = ElasticsearchIndex.from_settings(IndexSettings(elasticsearch_index="nhs-trust-posts"))
    index.close()
    assert index.prefix == "nhs-trust"
    assert index.indices["deliveries"] == "nhs-trust-deliveries"


def test_an_invalid_prefix_is_refused() -> None:
    client = Elasticsearch("http://127.0.0.1:9")
    with pytest.raises(ValueError, match="lowercase"):
        ElasticsearchIndex(client, index_prefix="Socmon")


def test_pending_alerts_are_counted_across_pages_of_alert_ids(
    elasticsearch_client: Elasticsearch, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socmon.index.elasticsearch as adapter
    from tests.factories import make_alert, make_delivery

    monkeypatch.setattr(adapter, "PENDING_PAGE", 2)  # 7 alert ids: four pages
    index = ElasticsearchIndex(elasticsearch_client, index_prefix=prefix)
    index.setup()
    alerts = [make_alert("concern", f"twitter:{n}") for n in range(6)]
    index.record_alerts(alerts)
    index.record_deliveries(
        [make_delivery(alerts[n].alert_id, result="failed") for n in (0, 2, 3)]
        + [make_delivery("concern:twitter:erased")]
    )
    stats = index.stats()
    assert stats.alerts_pending == 3
    assert (stats.deliveries_sent, stats.deliveries_failed) == (1, 3)


# -- triage and stemming on the server, and indices an older socmon made ------------------------


def test_a_case_saved_between_the_read_and_the_write_is_kept(
    elasticsearch_url: str, elasticsearch_client: Elasticsearch, prefix: str
) -> None:
    dashboard = ElasticsearchIndex(elasticsearch_client, index_prefix=prefix)
    dashboard.setup()
    original = make_post("1", sentiment="concern")
    dashboard.upsert_posts([original])
    saved: list[EnrichedPost] = []

    def assign_once() -> None:
        if not saved:
            saved.append(set_case(dashboard, original.key, "in_progress", assignee="bob"))

    client = InterleavingClient(
        elasticsearch_url, node_class=CompatibleJsonNode, meanwhile=assign_once
    )
    worker = ElasticsearchIndex(client, index_prefix=prefix)
    result = worker.upsert_posts([original])
    assert (result.written, result.failed) == (1, ())
    assert len(saved) == 1
    assert dashboard.get_post(original.key) == saved[0]
    assert [p.key for p in dashboard.search_posts(PostQuery(assignee="bob"))] == [original.key]


def test_a_post_with_a_case_carries_its_state_for_dashboards(
    elasticsearch_client: Elasticsearch, prefix: str
) -> None:
    index = ElasticsearchIndex(elasticsearch_client, index_prefix=prefix)
    index.setup()
    index.upsert_posts(
        [
            make_post("1", sentiment="concern", departments=("wards", "estates")),
            make_post("2", breaches=(make_breach(),)),
            make_post("3"),
        ]
    )
    set_case(index, "twitter:1", "handled", assignee="bob", by="bob", at=T0 + DAY)
    found = elasticsearch_client.search(
        index=f"{prefix}-posts", query={"term": {"case.assignee": "bob"}}
    )
    [hit] = found["hits"]["hits"]
    case = hit["_source"]["case"]
    assert (case["status"], case["updated_by"]) == ("handled", "bob")
    assert case["first_handled_at"] == (T0 + DAY).isoformat()
    assert "notes" not in case  # in the record only, never indexed
    sources = {
        doc_id: elasticsearch_client.get(index=f"{prefix}-posts", id=doc_id)["_source"]
        for doc_id in ("twitter:1", "twitter:2", "twitter:3")
    }
    assert [sources[k].get("case_status") for k in sorted(sources)] == ["handled", "new", None]
    assert [sources[k]["has_breach"] for k in sorted(sources)] == [False, True, False]
    assert sources["twitter:1"]["first_department"] == "wards"


def test_an_offset_beyond_the_result_window_is_refused(
    elasticsearch_client: Elasticsearch, prefix: str
) -> None:
    index = ElasticsearchIndex(elasticsearch_client, index_prefix=prefix)
    index.setup()
    assert index.search_posts(PostQuery(offset=MAX_RESULT_WINDOW - 50, limit=50)) == []
    with pytest.raises(ValueError, match="at most 10,000"):
        index.search_posts(PostQuery(offset=MAX_RESULT_WINDOW - 49, limit=50))


def old_posts_mapping() -> dict[str, Any]:
    """The posts mapping of template version 1, before stemming and triage."""
    mapping = copy.deepcopy(MAPPINGS["posts"])
    fields = mapping["properties"]
    fields["text"] = {"type": "text"}
    for name in ("first_department", "has_breach", "case_status", "case", "document_version"):
        del fields[name]
    for name in ("urgent", "abusive", "dismissed_breaches"):
        del fields["correction"]["properties"][name]
    return mapping


def old_post_document(post: EnrichedPost) -> dict[str, Any]:
    """A post document as template version 1 had it: no triage fields (the record has all)."""
    document = _post_document(post)
    for name in ("first_department", "has_breach", "case_status", "case", "document_version"):
        document.pop(name, None)
    return document


def make_old_index(client: Elasticsearch, prefix: str, posts: Sequence[EnrichedPost]) -> None:
    index = f"{prefix}-posts"
    client.indices.create(index=index, mappings=old_posts_mapping())
    for post in posts:
        client.index(index=index, id=post.key, document=old_post_document(post))
    client.indices.refresh(index=index)


def test_setup_brings_an_index_of_an_older_socmon_up_to_date(
    elasticsearch_client: Elasticsearch, prefix: str
) -> None:
    posts = [
        make_post("1", text="The midwife was rude", sentiment="concern", departments=("wards",)),
        make_post("2", text="Lovely midwives", sentiment="compliment", created_at=T0 + DAY),
        make_post("3", text="Call 01234 567890", kind="official_post", breaches=(make_breach(),)),
        make_post("4", text="parking", sentiment="concern", case=make_case(assignee="bob")),
    ]
    make_old_index(elasticsearch_client, prefix, posts)
    index = ElasticsearchIndex(elasticsearch_client, index_prefix=prefix)
    index.setup()
    mapping = elasticsearch_client.indices.get_mapping(index=f"{prefix}-posts")
    text = mapping[f"{prefix}-posts"]["mappings"]["properties"]["text"]
    assert text["fields"]["english"]["analyzer"] == "english"
    assert keys(index.search_posts(PostQuery(text="midwives"))) == ["twitter:2", "twitter:1"]
    assert keys(index.search_posts(PostQuery(statuses=("new",)))) == ["twitter:1", "twitter:3"]
    assert keys(index.search_posts(PostQuery(breach=True))) == ["twitter:3"]
    assert keys(index.search_posts(PostQuery(assignee="bob"))) == ["twitter:4"]
    assert keys(index.search_posts(PostQuery(sort="department")))[0] == "twitter:1"
    assert index.count_posts(PostQuery(), by=("status",)) == {
        ("new",): 2,
        ("in_progress",): 1,
        ("",): 1,
    }
    for post in posts:
        assert index.get_post(post.key) == post
    # done once: a second setup rewrites nothing
    versions = [seq_no(elasticsearch_client, prefix, post.key) for post in posts]
    index.setup()
    assert [seq_no(elasticsearch_client, prefix, post.key) for post in posts] == versions


def seq_no(client: Elasticsearch, prefix: str, doc_id: str) -> int:
    return int(client.get(index=f"{prefix}-posts", id=doc_id)["_seq_no"])


def test_bringing_old_posts_up_to_date_pages_through_all_of_them(
    elasticsearch_client: Elasticsearch, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socmon.index.elasticsearch as adapter

    monkeypatch.setattr(adapter, "REWRITE_PAGE", 3)  # 8 posts: three pages
    make_old_index(
        elasticsearch_client,
        prefix,
        [make_post(str(n), text=f"midwives {n}", sentiment="concern") for n in range(8)],
    )
    index = ElasticsearchIndex(elasticsearch_client, index_prefix=prefix)
    index.setup()
    assert index.count_posts(PostQuery(text="midwife", statuses=("new",)), by=()) == {(): 8}


def test_a_case_saved_while_setup_rewrites_the_post_stands(
    elasticsearch_url: str, elasticsearch_client: Elasticsearch, prefix: str
) -> None:
    original = make_post("1", text="the midwife was rude", sentiment="concern")
    make_old_index(elasticsearch_client, prefix, [original, make_post("2")])
    dashboard = ElasticsearchIndex(elasticsearch_client, index_prefix=prefix)
    saved: list[EnrichedPost] = []

    def assign_once() -> None:
        # the dashboard writes with this socmon's layout, between setup's read and its write
        if not saved:
            saved.append(set_case(dashboard, original.key, "in_progress", assignee="bob"))

    client = InterleavingClient(
        elasticsearch_url, node_class=CompatibleJsonNode, meanwhile=assign_once
    )
    ElasticsearchIndex(client, index_prefix=prefix).setup()
    assert len(saved) == 1
    assert dashboard.get_post(original.key) == saved[0]
    assert keys(dashboard.search_posts(PostQuery(text="midwives", assignee="bob"))) == [
        original.key
    ]
    assert dashboard.get_post("twitter:2") == make_post("2")
