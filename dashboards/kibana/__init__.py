"""The Kibana saved objects of deployments (the ``*.ndjson`` beside this file): loading them,
checking them against our index mappings, and importing them through Kibana's saved-objects API.

The NDJSON files are the source of truth: edit a dashboard in Kibana, export it, and commit the
export here; `problems` then tells what Kibana would refuse or what our mappings cannot chart.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from socmon.index.elasticsearch import MAPPINGS
from socmon.urls import without_credentials

KIBANA_DIR: Final = Path(__file__).parent
# Data views first, so a reader of the payload meets what the others refer to before them.
FILE_ORDER: Final = (
    "data_views.ndjson",
    "daily_monitoring.ndjson",
    "official_accounts.ndjson",
    "month.ndjson",
)
KNOWN_TYPES: Final = frozenset({"index-pattern", "search", "lens", "visualization", "dashboard"})
DEFAULT_PREFIX: Final = "socmon"
# Lens counts documents with this pseudo-field; it is not in any mapping.
RECORDS_FIELD: Final = "___records___"
GRID_COLUMNS: Final = 48  # a Kibana dashboard is 48 grid units wide

# Attributes that Kibana stores as JSON inside a string, by saved-object type.
JSON_STRING_ATTRIBUTES: Final[dict[str, tuple[str, ...]]] = {
    "index-pattern": (
        "fieldAttrs",
        "fieldFormatMap",
        "fields",
        "runtimeFieldMap",
        "sourceFilters",
        "typeMeta",
    ),
    "search": ("kibanaSavedObjectMeta.searchSourceJSON",),
    "visualization": ("visState", "uiStateJSON", "kibanaSavedObjectMeta.searchSourceJSON"),
    "dashboard": ("panelsJSON", "optionsJSON", "kibanaSavedObjectMeta.searchSourceJSON"),
}

_NUMERIC: Final = frozenset(
    {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float"}
)
# Which mapping types each Lens operation can work on (Kibana's own rules, narrowed to ours:
# breakdowns on keywords, time axes on dates, metrics on numbers).
OPERATION_TYPES: Final[dict[str, frozenset[str]]] = {
    "date_histogram": frozenset({"date"}),
    "terms": frozenset({"keyword", "boolean"}),
    "count": frozenset({"keyword", "boolean", "date", *_NUMERIC}),
    "unique_count": frozenset({"keyword", "boolean", "date", *_NUMERIC}),
    "min": frozenset({"date", *_NUMERIC}),
    "max": frozenset({"date", *_NUMERIC}),
    "last_value": frozenset({"keyword", "boolean", "date", *_NUMERIC}),
    "sum": _NUMERIC,
    "average": _NUMERIC,
    "median": _NUMERIC,
    "percentile": _NUMERIC,
    "standard_deviation": _NUMERIC,
}
SORTABLE_TYPES: Final = frozenset({"keyword", "boolean", "date", *_NUMERIC})
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_KQL_FIELD = re.compile(r"(?<![\w.*])([A-Za-z_@][\w.]*)\s*:")


class KibanaImportError(Exception):
    """Kibana refused the import, or could not be reached; ``failed`` names the objects."""

    def __init__(self, message: str, failed: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.failed = tuple(failed)


@dataclass(frozen=True)
class FieldUse:
    """One field a saved object reads, and what it does with it."""

    object_id: str
    data_view: str  # the data view's id
    field: str
    operation: str  # a Lens operation, or "time", "column", "sort", "query"


@dataclass(frozen=True)
class KibanaCredentials:
    """How socmon authenticates to Kibana: an API key, or a user and password (or nothing).

    Never printed: `repr` hides the secrets.
    """

    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KibanaCredentials:
        """From ``SOCMON_KIBANA_API_KEY``, or ``SOCMON_KIBANA_USERNAME`` and ``_PASSWORD``."""
        env = os.environ if environ is None else environ
        return cls(
            api_key=env.get("SOCMON_KIBANA_API_KEY") or None,
            username=env.get("SOCMON_KIBANA_USERNAME") or None,
            password=env.get("SOCMON_KIBANA_PASSWORD") or None,
        )

    def headers(self) -> dict[str, str]:
        if self.api_key:
            return {"Authorization": f"ApiKey {self.api_key}"}
        if self.username:
            pair = f"{self.username}:{self.password or ''}".encode()
            return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
        return {}

    def redact(self, text: str) -> str:
        for secret in (self.api_key, self.password):
            if secret:
                text = text.replace(secret, "***")
        return text


@dataclass(frozen=True)
class ImportResult:
    """What Kibana answered to a successful import."""

    success_count: int
    url: str


# -- loading ------------------------------------------------------------------------------------


def saved_object_files(folder: Path = KIBANA_DIR) -> list[Path]:
    """The NDJSON files, data views first, then any others in name order."""
    found = sorted(folder.glob("*.ndjson"))
    ranked = {name: n for n, name in enumerate(FILE_ORDER)}
    return sorted(found, key=lambda path: (ranked.get(path.name, len(ranked)), path.name))


def parse_ndjson(text: str, source: str = "(text)") -> list[dict[str, Any]]:
    """One saved object per non-empty line; ValueError naming the line that is not an object."""
    objects: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            msg = f"{source}:{number}: not JSON: {exc.msg}"
            raise ValueError(msg) from exc
        if not isinstance(value, dict):
            msg = f"{source}:{number}: a saved object must be a JSON object, not {value!r:.40}"
            raise ValueError(msg)
        objects.append(value)
    return objects


def load_saved_objects(paths: Sequence[Path] | None = None) -> list[dict[str, Any]]:
    """Every saved object of the files (default: all of ours), in file order."""
    objects: list[dict[str, Any]] = []
    for path in paths if paths is not None else saved_object_files():
        objects += parse_ndjson(path.read_text(encoding="utf-8"), path.name)
    return objects


def with_index_prefix(objects: Sequence[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The objects with each data view pointed at ``<prefix>-<kind>`` instead of ``socmon-``.

    Ids stay the same, so a re-import with another prefix updates the data views in place.
    """
    result = []
    for obj in objects:
        title = obj.get("attributes", {}).get("title", "")
        if obj.get("type") == "index-pattern" and title.startswith(f"{DEFAULT_PREFIX}-"):
            kind = title.removeprefix(f"{DEFAULT_PREFIX}-")
            obj = {**obj, "attributes": {**obj["attributes"], "title": f"{prefix}-{kind}"}}
        result.append(obj)
    return result


def ndjson_payload(objects: Sequence[dict[str, Any]]) -> bytes:
    """The objects as the import API takes them: one compact JSON object per line."""
    return "".join(json.dumps(obj, separators=(",", ":")) + "\n" for obj in objects).encode()


# -- checking -----------------------------------------------------------------------------------


def _attribute(attributes: Mapping[str, Any], dotted: str) -> Any:
    value: Any = attributes
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _json_attribute(obj: Mapping[str, Any], dotted: str) -> Any:
    """A JSON-in-string attribute parsed; None when absent (ValueError when not JSON)."""
    raw = _attribute(obj.get("attributes", {}), dotted)
    if raw is None:
        return None
    if not isinstance(raw, str):
        msg = f"{dotted} must be JSON in a string, got {type(raw).__name__}"
        raise ValueError(msg)
    return json.loads(raw)


def mapping_kind(title: str) -> str | None:
    """The index kind of a data view title (``socmon-posts`` -> ``posts``), if it is ours."""
    kind = title.rsplit("-", 1)[-1]
    return kind if "-" in title and kind in MAPPINGS else None


def field_type(kind: str, dotted: str) -> str | None:
    """The mapping type of a (dotted, possibly nested) field in index `kind`, or None."""
    properties: Mapping[str, Any] = MAPPINGS[kind]["properties"]
    spec: Mapping[str, Any] | None = None
    for part in dotted.split("."):
        if properties is None or part not in properties:
            # a multi-field, e.g. reason.keyword
            fields = spec.get("fields", {}) if spec else {}
            if part in fields:
                spec, properties = fields[part], {}
                continue
            return None
        spec = properties[part]
        properties = spec.get("properties", {})
    return str(spec.get("type", "object")) if spec else None


def kql_fields(query: str) -> list[str]:
    """The field names a KQL query names (``sentiment : "concern"`` -> ``sentiment``)."""
    return _KQL_FIELD.findall(_QUOTED.sub('""', query))


def _references(obj: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {ref.get("name", ""): ref for ref in obj.get("references", []) if isinstance(ref, dict)}


def field_uses(objects: Sequence[dict[str, Any]]) -> list[FieldUse]:
    """Every field the data views, saved searches and Lens visualizations read."""
    uses: list[FieldUse] = []
    for obj in objects:
        oid, attributes, refs = obj.get("id", "?"), obj.get("attributes", {}), _references(obj)
        if obj.get("type") == "index-pattern" and attributes.get("timeFieldName"):
            uses.append(FieldUse(oid, oid, attributes["timeFieldName"], "time"))
        elif obj.get("type") == "search":
            source = _json_attribute(obj, "kibanaSavedObjectMeta.searchSourceJSON") or {}
            ref = refs.get(source.get("indexRefName", ""), {})
            view = str(ref.get("id", "?"))
            uses += [FieldUse(oid, view, column, "column") for column in attributes["columns"]]
            uses += [FieldUse(oid, view, sort[0], "sort") for sort in attributes.get("sort", [])]
            query = source.get("query", {}).get("query", "")
            uses += [FieldUse(oid, view, name, "query") for name in kql_fields(query)]
        elif obj.get("type") == "lens":
            state = attributes["state"]
            layers = state["datasourceStates"]["formBased"]["layers"]
            views = []
            for layer_id, layer in layers.items():
                ref = refs.get(f"indexpattern-datasource-layer-{layer_id}", {})
                view = str(ref.get("id", "?"))
                views.append(view)
                for column in layer["columns"].values():
                    if column.get("sourceField", RECORDS_FIELD) != RECORDS_FIELD:
                        uses.append(
                            FieldUse(oid, view, column["sourceField"], column["operationType"])
                        )
            query = state.get("query", {}).get("query", "")
            for view in views:
                uses += [FieldUse(oid, view, name, "query") for name in kql_fields(query)]
    return uses


def _structure_problems(obj: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    if obj.get("type") not in KNOWN_TYPES:
        problems.append(f"{where}: type {obj.get('type')!r} is not one we ship")
    if not isinstance(obj.get("id"), str) or not obj.get("id"):
        problems.append(f"{where}: no id")
    if not isinstance(obj.get("attributes"), dict) or not obj["attributes"].get("title"):
        problems.append(f"{where}: attributes must be an object with a title")
    references = obj.get("references")
    if not isinstance(references, list) or not all(
        isinstance(ref, dict) and all(isinstance(ref.get(k), str) for k in ("name", "type", "id"))
        for ref in references
    ):
        problems.append(f"{where}: references must be a list of {{name, type, id}}")
    for version in ("coreMigrationVersion", "typeMigrationVersion"):
        if not _SEMVER.match(str(obj.get(version, ""))):
            problems.append(f"{where}: {version} must be a version like 8.8.0")
    for dotted in JSON_STRING_ATTRIBUTES.get(str(obj.get("type")), ()):
        try:
            _json_attribute(obj, dotted)
        except ValueError as exc:
            problems.append(f"{where}: {dotted} is not valid JSON: {exc}")
    return problems


def _dashboard_problems(obj: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    refs = _references(obj)
    panels = _json_attribute(obj, "panelsJSON") or []
    indexes = [panel.get("panelIndex") for panel in panels]
    if len(set(indexes)) != len(indexes):
        problems.append(f"{where}: two panels share a panelIndex")
    for panel in panels:
        name = f"{panel.get('panelIndex')}:{panel.get('panelRefName')}"
        ref = refs.get(name)
        if ref is None:
            problems.append(f"{where}: panel {panel.get('panelIndex')} has no reference {name}")
        elif ref["type"] != panel.get("type"):
            problems.append(f"{where}: panel {name} is a {panel.get('type')}, not {ref['type']}")
        grid = panel.get("gridData", {})
        if grid.get("x", 0) + grid.get("w", 0) > GRID_COLUMNS:
            problems.append(f"{where}: panel {panel.get('panelIndex')} is wider than the grid")
    return problems


def _lens_problems(obj: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    refs = _references(obj)
    state = obj["attributes"].get("state")
    if not isinstance(state, dict):
        return [f"{where}: a Lens state must be an object"]
    layers = state.get("datasourceStates", {}).get("formBased", {}).get("layers", {})
    columns: set[str] = set()
    for layer_id, layer in layers.items():
        name = f"indexpattern-datasource-layer-{layer_id}"
        if refs.get(name, {}).get("type") != "index-pattern":
            problems.append(f"{where}: layer {layer_id} has no data view reference {name}")
        if sorted(layer.get("columnOrder", [])) != sorted(layer.get("columns", {})):
            problems.append(f"{where}: layer {layer_id}'s columnOrder does not list its columns")
        columns |= set(layer.get("columns", {}))
        for column in layer.get("columns", {}).values():
            order = column.get("params", {}).get("orderBy", {})
            if order.get("type") == "column" and order.get("columnId") not in layer["columns"]:
                problems.append(f"{where}: a column is ordered by a missing column")
    vis = state.get("visualization", {})
    wanted: list[str] = []
    for layer in vis.get("layers", []):
        wanted += [layer.get("xAccessor"), *layer.get("accessors", []), layer.get("splitAccessor")]
    wanted += [column.get("columnId") for column in vis.get("columns", [])]
    wanted.append(vis.get("sorting", {}).get("columnId"))
    for accessor in wanted:
        if accessor is not None and accessor not in columns:
            problems.append(f"{where}: the chart shows column {accessor!r}, which no layer has")
    return problems


def _field_problems(objects: Sequence[dict[str, Any]]) -> list[str]:
    titles = {
        obj["id"]: obj["attributes"].get("title", "")
        for obj in objects
        if obj.get("type") == "index-pattern"
    }
    problems = []
    for use in field_uses(objects):
        kind = mapping_kind(titles.get(use.data_view, ""))
        if kind is None:
            problems.append(f"{use.object_id}: data view {use.data_view!r} is not on our indices")
            continue
        found = field_type(kind, use.field)
        if found is None or use.field == "record":
            problems.append(f"{use.object_id}: {kind} has no usable field {use.field!r}")
            continue
        allowed = {
            "time": frozenset({"date"}),
            "sort": SORTABLE_TYPES,
        }.get(use.operation, OPERATION_TYPES.get(use.operation))
        if allowed is not None and found not in allowed:
            problems.append(
                f"{use.object_id}: {use.operation} on {kind}.{use.field} needs "
                f"{' or '.join(sorted(allowed))}, the mapping has {found}"
            )
        elif allowed is None and use.operation not in ("column", "query"):
            problems.append(f"{use.object_id}: unknown Lens operation {use.operation!r}")
    return problems


def problems(objects: Sequence[dict[str, Any]]) -> list[str]:
    """What Kibana's import would refuse, or our mappings cannot chart; empty when all is well.

    Checks: each object's shape and versions, JSON-in-string attributes, unique ids, references
    that resolve, dashboard panels and Lens layers wired to their references, and every field a
    visualization or search uses present in `MAPPINGS` with a type its operation accepts.
    """
    found: list[str] = []
    ids: dict[str, str] = {}
    for obj in objects:
        where = f"{obj.get('type')} {obj.get('id')}"
        structure = _structure_problems(obj, where)
        found += structure
        if structure:
            continue
        if obj["id"] in ids:
            found.append(f"{where}: the id is used twice (also by a {ids[obj['id']]})")
        ids[obj["id"]] = obj["type"]
        if obj["type"] == "dashboard":
            found += _dashboard_problems(obj, where)
        elif obj["type"] == "lens":
            found += _lens_problems(obj, where)
        elif obj["type"] == "search":
            source = _json_attribute(obj, "kibanaSavedObjectMeta.searchSourceJSON") or {}
            if source.get("indexRefName") not in _references(obj):
                found.append(f"{where}: searchSourceJSON.indexRefName has no reference")
    present = {(obj.get("type"), obj.get("id")) for obj in objects}
    for obj in objects:
        for ref in obj.get("references", []):
            if isinstance(ref, dict) and (ref.get("type"), ref.get("id")) not in present:
                found.append(
                    f"{obj.get('type')} {obj.get('id')}: reference {ref.get('name')} to "
                    f"{ref.get('type')} {ref.get('id')} is not among the saved objects"
                )
    if not found:
        found += _field_problems(objects)
    return found


# -- importing ----------------------------------------------------------------------------------


def import_url(kibana_url: str, space: str | None = None) -> str:
    """The import endpoint, in a space when given (``/s/<space>/api/...``)."""
    base = kibana_url.rstrip("/")
    if space and space != "default":
        base += f"/s/{urllib.parse.quote(space, safe='')}"
    return f"{base}/api/saved_objects/_import?overwrite=true"


def _multipart(payload: bytes, filename: str) -> tuple[bytes, str]:
    boundary = f"socmon-{secrets.token_hex(16)}"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/ndjson\r\n\r\n"
    ).encode()
    return head + payload + f"\r\n--{boundary}--\r\n".encode(), boundary


def _describe_errors(errors: Sequence[Mapping[str, Any]]) -> Iterator[tuple[str, str]]:
    """(object id, one line saying why) for each error of an import answer."""
    for error in errors:
        oid = str(error.get("id", "?"))
        detail = error.get("error", {})
        reason = str(detail.get("type", "error"))
        missing = detail.get("references") or []
        if missing:
            reason += ": " + ", ".join(f"{ref.get('type')} {ref.get('id')}" for ref in missing)
        elif detail.get("message"):
            reason += f": {detail['message']}"
        title = error.get("title") or error.get("meta", {}).get("title") or ""
        yield oid, f"{error.get('type', '?')} {oid}{f' ({title})' if title else ''}: {reason}"


def import_saved_objects(
    kibana_url: str,
    objects: Sequence[dict[str, Any]],
    credentials: KibanaCredentials,
    space: str | None = None,
    timeout: float = 60.0,
) -> ImportResult:
    """POST the objects to Kibana's import API, overwriting objects with the same ids.

    Credentials in the URL (``https://user:password@host``) are used when `credentials` holds
    none. Raises `KibanaImportError` when Kibana cannot be reached, answers with an HTTP error, or
    refuses some objects (``failed`` holds their ids). No message carries a credential.
    """
    parts = urllib.parse.urlsplit(kibana_url)
    if parts.username is not None and not credentials.headers():
        # user:password@ in the URL, as curl takes it; urllib would not send it by itself
        credentials = KibanaCredentials(
            username=urllib.parse.unquote(parts.username),
            password=urllib.parse.unquote(parts.password or ""),
        )
    url = without_credentials(import_url(kibana_url, space))
    shown = url
    body, boundary = _multipart(ndjson_payload(objects), "socmon.ndjson")
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("kbn-xsrf", "true")
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    for name, value in credentials.headers().items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", errors="replace")[:500]
        msg = credentials.redact(f"Kibana at {shown} answered {exc.code} {exc.reason}: {detail}")
        raise KibanaImportError(msg) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        msg = credentials.redact(f"cannot reach Kibana at {shown}: {reason}")
        raise KibanaImportError(msg) from exc
    except json.JSONDecodeError as exc:
        msg = f"Kibana at {shown} answered something that is not JSON: {exc.msg}"
        raise KibanaImportError(msg) from exc
    if not answer.get("success"):
        described = list(_describe_errors(answer.get("errors") or []))
        lines = "\n".join(f"  {line}" for _, line in described) or "  (no error detail)"
        msg = (
            f"Kibana at {shown} refused {len(described)} of {len(objects)} saved objects "
            f"({answer.get('successCount', 0)} imported):\n{lines}"
        )
        raise KibanaImportError(msg, [oid for oid, _ in described])
    return ImportResult(success_count=int(answer.get("successCount", 0)), url=shown)
