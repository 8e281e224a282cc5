"""The Kibana saved objects: what Kibana's import API accepts, every charted field present in our
index mappings with a suitable type, and `socmon dashboards install` against a real HTTP server
that checks the request and answers as Kibana does."""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import CliRunner

from dashboards.kibana import (
    JSON_STRING_ATTRIBUTES,
    RECORDS_FIELD,
    field_type,
    field_uses,
    kql_fields,
    load_saved_objects,
    mapping_kind,
    problems,
    saved_object_files,
    with_index_prefix,
)
from socmon.index.elasticsearch import MAPPINGS
from socmon_app.cli import app
from tests.servers import free_port

OBJECTS = load_saved_objects()
BY_ID = {obj["id"]: obj for obj in OBJECTS}
NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float"}


def dashboard_panels(dashboard_id: str) -> dict[str, str]:
    """Panel reference id -> type, of one dashboard."""
    return {ref["id"]: ref["type"] for ref in BY_ID[dashboard_id]["references"]}


# -- the files are what the import API takes ---------------------------------------------------


def test_every_line_of_every_file_is_one_saved_object() -> None:
    files = saved_object_files()
    assert files[0].name == "data_views.ndjson"
    assert len(files) >= 4
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines, path.name
        for number, line in enumerate(lines, start=1):
            obj = json.loads(line)
            assert isinstance(obj, dict), f"{path.name}:{number}"
            assert {"type", "id", "attributes", "references"} <= obj.keys(), f"{path.name}:{number}"
            assert obj["coreMigrationVersion"] == "8.8.0"
            assert obj["typeMigrationVersion"].count(".") == 2


def test_the_bundled_objects_have_no_problem() -> None:
    assert problems(OBJECTS) == []


def test_ids_are_unique() -> None:
    ids = [obj["id"] for obj in OBJECTS]
    assert len(ids) == len(set(ids))


def test_every_reference_resolves_to_an_object_in_the_files() -> None:
    present = {(obj["type"], obj["id"]) for obj in OBJECTS}
    references = [ref for obj in OBJECTS for ref in obj["references"]]
    assert references
    for ref in references:
        assert (ref["type"], ref["id"]) in present, ref


def test_json_in_string_attributes_parse() -> None:
    checked = 0
    for obj in OBJECTS:
        for dotted in JSON_STRING_ATTRIBUTES.get(obj["type"], ()):
            value: Any = obj["attributes"]
            for part in dotted.split("."):
                value = value[part]
            assert isinstance(value, str), (obj["id"], dotted)
            json.loads(value)
            checked += 1
        if obj["type"] == "lens":
            assert isinstance(obj["attributes"]["state"], dict)
            assert obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
    assert checked > 20


def test_dashboard_panels_point_at_their_references() -> None:
    dashboards = [obj for obj in OBJECTS if obj["type"] == "dashboard"]
    assert len(dashboards) == 3
    for dashboard in dashboards:
        panels = json.loads(dashboard["attributes"]["panelsJSON"])
        names = {ref["name"]: ref for ref in dashboard["references"]}
        assert len(panels) == len(names)
        for panel in panels:
            ref = names[f"{panel['panelIndex']}:{panel['panelRefName']}"]
            assert ref["type"] == panel["type"]


# -- what the dashboards show --------------------------------------------------------------------


def test_data_views_cover_posts_alerts_and_deliveries_with_their_time_fields() -> None:
    views = {o["attributes"]["title"]: o for o in OBJECTS if o["type"] == "index-pattern"}
    assert {t: v["attributes"]["timeFieldName"] for t, v in views.items()} == {
        "socmon-posts": "created_at",
        "socmon-alerts": "created_at",
        "socmon-deliveries": "delivered_at",
    }


def test_daily_monitoring_dashboard_has_what_the_team_checks_each_day() -> None:
    panels = dashboard_panels("socmon-daily-monitoring")
    assert panels == {
        "socmon-mentions-by-sentiment": "lens",
        "socmon-mentions-by-platform": "lens",
        "socmon-mentions-by-department": "lens",
        "socmon-latest-concerns": "search",
        "socmon-abuse-over-time": "lens",
        "socmon-abuse": "search",
    }
    concerns = BY_ID["socmon-latest-concerns"]["attributes"]
    assert "url" in concerns["columns"]  # the link to the post
    assert concerns["sort"] == [["created_at", "desc"]]
    source = json.loads(concerns["kibanaSavedObjectMeta"]["searchSourceJSON"])
    assert 'sentiment : "concern"' in source["query"]["query"]


def test_official_accounts_and_month_dashboards() -> None:
    assert set(dashboard_panels("socmon-official-accounts")) == {
        "socmon-official-posts-per-week",
        "socmon-last-official-post",
        "socmon-breaches-by-account",
        "socmon-breaches",
        "socmon-quiet-accounts",
    }
    weekly = BY_ID["socmon-official-posts-per-week"]["attributes"]["state"]
    columns = weekly["datasourceStates"]["formBased"]["layers"]["official"]["columns"]
    assert columns["week"]["params"]["interval"] == "1w"
    assert weekly["query"]["query"] == 'kind : "official_post"'
    month = dashboard_panels("socmon-month")
    assert "socmon-month-by-department" in month
    tally = BY_ID["socmon-month-by-department"]["attributes"]["state"]
    fields = {
        c.get("sourceField")
        for c in tally["datasourceStates"]["formBased"]["layers"]["tally"]["columns"].values()
    }
    assert fields == {"departments", "sentiment", RECORDS_FIELD}


# -- every field exists in the mapping with a suitable type -----------------------------------


def test_every_field_a_visualization_or_search_uses_is_mapped_with_a_suitable_type() -> None:
    titles = {o["id"]: o["attributes"]["title"] for o in OBJECTS if o["type"] == "index-pattern"}
    uses = field_uses(OBJECTS)
    operations = {use.operation for use in uses}
    # the check is not vacuous: time axes, breakdowns, metrics, columns, sorts and queries
    assert {"time", "date_histogram", "terms", "max", "column", "sort", "query"} <= operations
    for use in uses:
        kind = mapping_kind(titles[use.data_view])
        assert kind in MAPPINGS, use
        mapped = field_type(kind, use.field)
        assert mapped is not None, f"{use.object_id}: {kind} has no field {use.field}"
        assert use.field != "record", use  # kept in _source only, never searchable
        if use.operation in ("time", "date_histogram"):
            assert mapped == "date", use
        elif use.operation == "terms":
            assert mapped in ("keyword", "boolean"), use
        elif use.operation in ("sum", "average", "median"):
            assert mapped in NUMERIC, use
        elif use.operation in ("max", "min"):
            assert mapped == "date" or mapped in NUMERIC, use
        elif use.operation == "sort":
            assert mapped in {"date", "keyword"} | NUMERIC, use


def test_field_type_reads_nested_and_multi_fields() -> None:
    assert field_type("posts", "created_at") == "date"
    assert field_type("posts", "breaches.rule") == "keyword"
    assert field_type("deadletters", "reason.keyword") == "keyword"
    assert field_type("posts", "nonexistent") is None
    assert mapping_kind("socmon-posts") == "posts"
    assert mapping_kind("logs-*") is None


def test_kql_fields_ignore_quoted_values() -> None:
    assert kql_fields('sentiment : "concern" and not kind : "a: b"') == ["sentiment", "kind"]
    assert kql_fields("abusive:true or urgent : true") == ["abusive", "urgent"]


def _mutated(object_id: str, change: Any) -> list[dict[str, Any]]:
    objects = copy.deepcopy(OBJECTS)
    for obj in objects:
        if obj["id"] == object_id:
            change(obj)
    return objects


def _column(obj: dict[str, Any], column: str) -> dict[str, Any]:
    layers = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
    return next(iter(layers.values()))["columns"][column]


@pytest.mark.parametrize(
    ("object_id", "change", "expected"),
    [
        (
            "socmon-mentions-by-sentiment",
            lambda o: _column(o, "sentiment").update(sourceField="text"),
            "terms on posts.text needs boolean or keyword, the mapping has text",
        ),
        (
            "socmon-mentions-by-sentiment",
            lambda o: _column(o, "time").update(sourceField="sentiment"),
            "date_histogram on posts.sentiment needs date",
        ),
        (
            "socmon-last-official-post",
            lambda o: _column(o, "last").update(sourceField="posted_on"),
            "posts has no usable field 'posted_on'",
        ),
        (
            "socmon-latest-concerns",
            lambda o: o["attributes"]["columns"].append("record"),
            "posts has no usable field 'record'",
        ),
        (
            "socmon-posts",
            lambda o: o["attributes"].update(timeFieldName="sentiment"),
            "time on posts.sentiment needs date",
        ),
        (
            "socmon-daily-monitoring",
            lambda o: o["references"][0].update(id="socmon-gone"),
            "is not among the saved objects",
        ),
        (
            "socmon-month",
            lambda o: o["attributes"].update(panelsJSON="[{not json"),
            "panelsJSON is not valid JSON",
        ),
        (
            "socmon-abuse",
            lambda o: o.update(id="socmon-latest-concerns"),
            "the id is used twice",
        ),
        (
            "socmon-month-by-platform",
            lambda o: o["attributes"]["state"]["visualization"]["columns"].append(
                {"columnId": "ghost"}
            ),
            "shows column 'ghost'",
        ),
        (
            "socmon-breaches",
            lambda o: o.pop("typeMigrationVersion"),
            "typeMigrationVersion must be a version",
        ),
    ],
)
def test_the_checks_catch_what_kibana_or_the_mapping_would_refuse(
    object_id: str, change: Any, expected: str
) -> None:
    found = problems(_mutated(object_id, change))
    assert any(expected in problem for problem in found), found


def test_data_views_follow_the_configured_index_prefix() -> None:
    renamed = with_index_prefix(OBJECTS, "trust-a")
    titles = sorted(o["attributes"]["title"] for o in renamed if o["type"] == "index-pattern")
    assert titles == ["trust-a-alerts", "trust-a-deliveries", "trust-a-posts"]
    assert [o["id"] for o in renamed] == [o["id"] for o in OBJECTS]
    assert BY_ID["socmon-posts"]["attributes"]["title"] == "socmon-posts"  # input untouched


# -- socmon dashboards install, against a real HTTP server acting as Kibana ---------------------


@dataclass
class FakeKibana:
    """A real HTTP server on loopback answering the saved-objects import API like Kibana."""

    url: str
    answer: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def kibana() -> Iterator[FakeKibana]:
    port = free_port()
    fake = FakeKibana(url=f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            fake.requests.append(
                {
                    "method": "POST",
                    "path": self.path,
                    # header names are case-insensitive: keep them lower-case to compare
                    "headers": {name.lower(): value for name, value in self.headers.items()},
                    "body": body,
                }
            )
            if self.headers.get("kbn-xsrf") != "true":
                self._reply(400, {"statusCode": 400, "message": "Request must contain a kbn-xsrf"})
                return
            objects = _uploaded_objects(self.headers["Content-Type"], body)
            answer = fake.answer or {"success": True, "successCount": len(objects)}
            self._reply(fake.status, answer)

        def _reply(self, status: int, answer: dict[str, Any]) -> None:
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def _uploaded_objects(content_type: str, body: bytes) -> list[dict[str, Any]]:
    """The saved objects of the multipart body's ``file`` part, as Kibana would read them."""
    message = message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=HTTP
    )
    assert message.is_multipart()
    parts = [
        part
        for part in message.iter_parts()
        if part.get_param("name", header="content-disposition") == "file"
    ]
    assert len(parts) == 1
    assert str(parts[0].get_filename()).endswith(".ndjson")
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode()
    return [json.loads(line) for line in text.splitlines() if line]


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.delenv("SOCMON_KIBANA_API_KEY", raising=False)
    monkeypatch.setenv("SOCMON_KIBANA_USERNAME", "socmon_installer")
    monkeypatch.setenv("SOCMON_KIBANA_PASSWORD", "s3cret-Pa55")
    return "socmon_installer", "s3cret-Pa55"


def test_install_posts_every_object_to_the_import_api(
    kibana: FakeKibana, credentials: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCMON_INDEX__ELASTICSEARCH_INDEX", "trust-a-posts")
    result = CliRunner().invoke(app, ["dashboards", "install", "--kibana-url", kibana.url])

    assert result.exit_code == 0, result.output
    assert f"imported {len(OBJECTS)} saved objects into Kibana at {kibana.url}" in result.stdout
    assert credentials[1] not in result.output
    [request] = kibana.requests
    assert request["method"] == "POST"
    assert request["path"] == "/api/saved_objects/_import?overwrite=true"
    assert request["headers"]["kbn-xsrf"] == "true"
    expected = base64.b64encode(":".join(credentials).encode()).decode()
    assert request["headers"]["authorization"] == f"Basic {expected}"
    assert request["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    uploaded = _uploaded_objects(request["headers"]["content-type"], request["body"])
    assert [o["id"] for o in uploaded] == [o["id"] for o in OBJECTS]
    titles = {o["attributes"]["title"] for o in uploaded if o["type"] == "index-pattern"}
    assert titles == {"trust-a-posts", "trust-a-alerts", "trust-a-deliveries"}


def test_install_into_a_space_with_an_api_key(
    kibana: FakeKibana, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCMON_KIBANA_API_KEY", "a2V5OnNlY3JldA==")
    result = CliRunner().invoke(
        app, ["dashboards", "install", "--kibana-url", kibana.url + "/", "--space", "comms"]
    )
    assert result.exit_code == 0, result.output
    assert "(space comms)" in result.stdout
    [request] = kibana.requests
    assert request["path"] == "/s/comms/api/saved_objects/_import?overwrite=true"
    assert request["headers"]["authorization"] == "ApiKey a2V5OnNlY3JldA=="
    assert "a2V5OnNlY3JldA==" not in result.output


def test_objects_kibana_refuses_are_named_and_the_command_fails(
    kibana: FakeKibana, credentials: tuple[str, str]
) -> None:
    kibana.answer = {
        "success": False,
        "successCount": len(OBJECTS) - 2,
        "errors": [
            {
                "id": "socmon-month",
                "type": "dashboard",
                "title": "socmon: the month",
                "meta": {"title": "socmon: the month", "icon": "dashboardApp"},
                "error": {
                    "type": "missing_references",
                    "references": [{"type": "lens", "id": "socmon-month-by-platform"}],
                },
            },
            {
                "id": "socmon-abuse",
                "type": "search",
                "meta": {"title": "Abusive posts"},
                "error": {"type": "unknown", "message": "something broke", "statusCode": 500},
            },
        ],
    }
    result = CliRunner().invoke(app, ["dashboards", "install", "--kibana-url", kibana.url])
    assert result.exit_code == 1
    assert f"refused 2 of {len(OBJECTS)} saved objects" in result.stderr
    assert (
        "dashboard socmon-month (socmon: the month): missing_references: "
        "lens socmon-month-by-platform" in result.stderr
    )
    assert "search socmon-abuse (Abusive posts): unknown: something broke" in result.stderr
    assert credentials[1] not in result.output


def test_an_http_error_fails_without_printing_credentials(
    kibana: FakeKibana, credentials: tuple[str, str]
) -> None:
    kibana.status = 401
    kibana.answer = {"statusCode": 401, "error": "Unauthorized", "message": "bad credentials"}
    url = f"http://{credentials[0]}:{credentials[1]}@{kibana.url.removeprefix('http://')}"
    result = CliRunner().invoke(app, ["dashboards", "install", "--kibana-url", url])
    assert result.exit_code == 1
    assert "answered 401" in result.stderr
    assert "bad credentials" in result.stderr
    assert credentials[1] not in result.output


def test_an_unreachable_kibana_fails_with_its_address(credentials: tuple[str, str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, ["dashboards", "install", "--kibana-url", url])
    assert result.exit_code == 1
    assert f"cannot reach Kibana at {url}" in result.stderr
