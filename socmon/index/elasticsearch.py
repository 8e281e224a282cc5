"""The deployed index: the `socmon.index.port.Index` port on Elasticsearch (or OpenSearch).

Four indices, ``<prefix>-posts``, ``-alerts``, ``-deliveries`` and ``-deadletters``, each created
from a composable index template with explicit, strict mappings (the Kibana dashboards rely on the
field types). A document carries the fields dashboards need at the top level, plus the whole
record as JSON in ``record`` (stored, not indexed) so reads rebuild the record exactly.

Writes are bulk ``index`` actions with ``_id`` = the record key, so a replay overwrites instead of
duplicating. Posts are the exception: a person's correction must survive a re-index, and the
server cannot apply it (not every Elasticsearch-API server runs scripted updates), so each chunk
of posts first reads the stored versions and corrections (one ``mget``), applies the corrections,
and writes conditionally (``create`` for a new post, ``index`` with ``if_seq_no`` for a stored
one); a post changed in between (409) is read and written again, a bounded number of times.
Items rejected with a retryable status (429, 502, 503, 504) are retried alone with
bounded exponential backoff; whatever still fails comes back in `BulkResult.failed` for the caller
to dead-letter. Writes use ``refresh="wait_for"``: the call returns once the documents are visible
to search, so a read right after a write sees it (the dashboard, the account sweep and the tests
rely on that), without forcing a segment refresh per request the way ``refresh=true`` would; the
price is up to one refresh interval (1 s by default) of extra latency per bulk call.

A person's case on a post (`EnrichedPost.case`) is kept the same way as a correction: both are
read from the stored record. Post text is searched in two fields: ``text.english`` (the built-in
``english`` analyzer: stemmed words) and ``text`` (the standard analyzer: words as written, for
prefixes and for stop words, which the english analyzer drops). `ElasticsearchIndex.setup`
brings an index made by an older socmon up to date (see there).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from elasticsearch import ApiError, BadRequestError, Elasticsearch, TransportError
from elasticsearch.helpers import bulk, streaming_bulk

from socmon.index.port import (
    NO_VALUE,
    UNASSIGNED,
    BulkResult,
    Collection,
    Erased,
    IndexUnavailable,
    PersonsWork,
    PostDimension,
    PostQuery,
    PostSort,
    ShareRates,
    Stats,
    author_handle,
    check_dimensions,
    check_post_query,
    keep_persons_work,
    names_handle,
    nearest_rank,
    query_departments,
    search_terms,
    share_rate,
    shares,
    spike_names_author,
)
from socmon.records import (
    OPEN_STATUSES,
    SENTIMENTS,
    Alert,
    AlertKind,
    Case,
    DeadLetter,
    Delivery,
    EnrichedPost,
    Platform,
    R,
    parse_record,
    utcnow,
)
from socmon.settings import IndexSettings
from socmon.urls import without_credentials

RETRYABLE_STATUSES: Final = (429, 502, 503, 504)
# How often a chunk of posts is read and written again when another writer (the dashboard saving
# a correction) changed one of them between the read and the write; one retry nearly always does.
CONFLICT_ATTEMPTS: Final = 3
_CONFLICT: Final = "version_conflict_engine_exception"
TEMPLATE_VERSION: Final = 2
POST_DOCUMENT_VERSION: Final = 2
"""The layout of a post document (its ``document_version``). 2: the triage fields (``case``,
``case_status``, ``has_breach``, ``first_department``) and ``text.english``. (``shares`` and
``share_rate`` came later without a new layout: only posts with engagement counts have them,
and counts arrived with them, so no stored post is missing them; a post indexed with counts by
a socmon without these fields gets them when its counts are next sent.) `setup` rewrites
the documents of an older layout from their record."""
# Posts read and rewritten per request when `setup` brings old documents up to date.
REWRITE_PAGE: Final = 500
# Above this, a search must page; deliveries per alert and accounts per platform stay far below.
MAX_RESULT_WINDOW: Final = 10_000
# Alert ids per page when counting the alerts with no delivery (`Stats.alerts_pending`).
PENDING_PAGE: Final = 5_000

_KEYWORD: Final = {"type": "keyword"}
_DATE: Final = {"type": "date"}
_TEXT: Final = {"type": "text"}
_BOOLEAN: Final = {"type": "boolean"}
# The full record, kept in _source only: never searched or aggregated, so no index or doc values.
_RECORD: Final = {"type": "keyword", "index": False, "doc_values": False}
# Date buckets as plain UTC dates, the same strings the SQLite adapter returns.
_DAY: Final = {"format": "yyyy-MM-dd", "time_zone": "UTC"}

MAPPINGS: Final[dict[str, dict[str, Any]]] = {
    "posts": {
        "dynamic": "strict",
        "properties": {
            "key": _KEYWORD,
            "platform": _KEYWORD,
            "post_id": _KEYWORD,
            "kind": _KEYWORD,
            "account": _KEYWORD,
            "author": _KEYWORD,
            "author_handle": _KEYWORD,
            # words as written (prefix search), and stemmed in a multi-field: an index made
            # before it existed gets it from `setup` (an analyzer cannot change in place)
            "text": {**_TEXT, "fields": {"english": {**_TEXT, "analyzer": "english"}}},
            "created_at": _DATE,
            # A keyword term longer than 32 KB is rejected by Lucene; a URL is not worth losing
            # the whole post over, so over-long ones are kept in _source but not indexed.
            "url": {"type": "keyword", "ignore_above": 2048},
            "lang": _KEYWORD,
            "in_reply_to": _KEYWORD,
            "source": _KEYWORD,
            "fetched_at": _DATE,
            "sentiment": _KEYWORD,
            "confidence": {"type": "float"},
            "urgent": _BOOLEAN,
            "abusive": _BOOLEAN,
            "unsure": _BOOLEAN,
            "departments": _KEYWORD,
            # the first of the departments, to sort by (a sort on `departments` takes the least)
            "first_department": _KEYWORD,
            "has_breach": _BOOLEAN,
            # nested, so "rule X with severity high" matches within one breach, not across two.
            "breaches": {
                "type": "nested",
                "properties": {
                    "rule": _KEYWORD,
                    "severity": _KEYWORD,
                    "evidence": _TEXT,
                    "start": {"type": "integer"},
                    "end": {"type": "integer"},
                },
            },
            "reason": _TEXT,
            "model": _KEYWORD,
            "enriched_at": _DATE,
            "schema_version": {"type": "integer"},
            # Only on corrected posts: the labels a person set (also inside `record`), read back
            # before each write so a re-index keeps them, and searchable ("corrected by whom").
            "correction": {
                "properties": {
                    "sentiment": _KEYWORD,
                    "departments": _KEYWORD,
                    "urgent": _BOOLEAN,
                    "abusive": _BOOLEAN,
                    "dismissed_breaches": _KEYWORD,
                    "corrected_by": _KEYWORD,
                    "corrected_at": _DATE,
                }
            },
            # `EnrichedPost.case_status`: also "new" for a post that needs action and has no case
            "case_status": _KEYWORD,
            # Only on posts with a case: its state for dashboards (response times from
            # first_handled_at); the notes and history stay in `record`, never indexed.
            "case": {
                "properties": {
                    "status": _KEYWORD,
                    "assignee": _KEYWORD,
                    "first_handled_at": _DATE,
                    "updated_by": _KEYWORD,
                    "updated_at": _DATE,
                }
            },
            "document_version": {"type": "integer"},
            # Only on posts with engagement counts: `port.shares` and `port.share_rate`, which
            # spike detection filters and sorts by (the counts themselves stay in `record`).
            "shares": {"type": "long"},
            "share_rate": {"type": "double"},
            "record": _RECORD,
        },
    },
    "alerts": {
        "dynamic": "strict",
        "properties": {
            "alert_id": _KEYWORD,
            "kind": _KEYWORD,
            "summary": _TEXT,
            "created_at": _DATE,
            "departments": _KEYWORD,
            "account": _KEYWORD,
            "platform": _KEYWORD,
            "post_key": _KEYWORD,
            "post_author_handle": _KEYWORD,
            # retention ages an alert about a post by the post's time
            "post_created_at": _DATE,
            "sentiment": _KEYWORD,
            "schema_version": {"type": "integer"},
            "record": _RECORD,
        },
    },
    "deliveries": {
        "dynamic": "strict",
        "properties": {
            "key": _KEYWORD,
            "alert_id": _KEYWORD,
            "alert_kind": _KEYWORD,
            "recipient": _KEYWORD,
            "channel": _KEYWORD,
            "result": _KEYWORD,
            "detail": _TEXT,
            "delivered_at": _DATE,
            "schema_version": {"type": "integer"},
            "record": _RECORD,
        },
    },
    "deadletters": {
        "dynamic": "strict",
        "properties": {
            "key": _KEYWORD,
            "stage": _KEYWORD,
            # text to search a reason, keyword to chart the most common ones
            "reason": {**_TEXT, "fields": {"keyword": {"type": "keyword", "ignore_above": 512}}},
            "origin": {"type": "keyword", "ignore_above": 1024},
            "created_at": _DATE,
            "schema_version": {"type": "integer"},
            "record": _RECORD,
        },
    },
    "documents": {
        "dynamic": "strict",
        "properties": {
            "collection": _KEYWORD,
            "id": _KEYWORD,
            "first_written": _DATE,
            "record": _RECORD,
        },
    },
}


def _iso(moment: datetime, what: str) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        msg = f"{what} must be timezone-aware, got the naive time {moment.isoformat()}"
        raise ValueError(msg)
    return moment.isoformat()


@dataclass(frozen=True)
class _StoredPost:
    """What a conditional write of a post needs to know about the stored one."""

    seq_no: int
    primary_term: int
    post: EnrichedPost


def _is_conflict(outcome: dict[str, Any]) -> bool:
    """True if a bulk item failed because the document changed since it was read."""
    error = outcome.get("error")
    return (
        outcome.get("status") == 409 and isinstance(error, dict) and error.get("type") == _CONFLICT
    )


def _describe_item_error(outcome: dict[str, Any]) -> str:
    """``status type: reason`` for one failed bulk item (the error may be a dict or a string)."""
    status = outcome.get("status", "?")
    error = outcome.get("error")
    if isinstance(error, dict):
        detail = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            detail += f" (caused by {cause.get('type', 'error')}: {cause['reason']})"
        return f"{status} {detail}"
    return f"{status} {error}"


class ElasticsearchIndex:
    """The index on an Elasticsearch-API cluster, through an `elasticsearch.Elasticsearch` client.

    ``max_retries`` and ``initial_backoff`` bound the retries of rejected bulk items: attempt n
    waits ``initial_backoff * 2**(n-1)`` seconds, capped at ``max_backoff``.
    """

    def __init__(
        self,
        client: Elasticsearch,
        index_prefix: str = "socmon",
        max_retries: int = 3,
        initial_backoff: float = 0.5,
        *,
        max_backoff: float = 30.0,
        chunk_size: int = 500,
    ) -> None:
        if max_retries < 0:
            msg = f"max_retries must be zero or more, got {max_retries}"
            raise ValueError(msg)
        if not index_prefix or index_prefix != index_prefix.lower():
            msg = f"index_prefix must be non-empty and lowercase, got {index_prefix!r}"
            raise ValueError(msg)
        self._client = client
        self.prefix = index_prefix
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.chunk_size = chunk_size
        self.indices = {kind: f"{index_prefix}-{kind}" for kind in MAPPINGS}
        nodes = client.transport.node_pool.all()
        # base_url never holds credentials (the client moves them into headers).
        self.url = ", ".join(node.base_url for node in nodes) or "(no node configured)"
        self._secrets: tuple[str, ...] = ()
        self._owns_client = False

    @classmethod
    def from_settings(cls, settings: IndexSettings) -> ElasticsearchIndex:
        """Build the client from settings; ``elasticsearch_index`` ``x-posts`` gives prefix ``x``.

        The client is owned by the index: `close` closes it.
        """
        secrets: list[str] = []
        auth: dict[str, Any] = {}
        if settings.elasticsearch_api_key is not None:
            api_key = settings.elasticsearch_api_key.get_secret_value()
            auth["api_key"] = api_key
            secrets.append(api_key)
        elif settings.elasticsearch_username is not None:
            password = (
                settings.elasticsearch_password.get_secret_value()
                if settings.elasticsearch_password is not None
                else ""
            )
            auth["basic_auth"] = (settings.elasticsearch_username, password)
            if password:
                secrets.append(password)
        url_password = urlsplit(settings.elasticsearch_url).password
        if url_password:
            secrets.append(url_password)
        try:
            client = Elasticsearch(settings.elasticsearch_url, request_timeout=30, **auth)
        except ValueError as exc:
            msg = (
                f"invalid Elasticsearch URL {without_credentials(settings.elasticsearch_url)}: "
                f"{exc}"
            )
            raise IndexUnavailable(msg) from exc
        name = settings.elasticsearch_index
        prefix = name.removesuffix("-posts") if name.endswith("-posts") else name
        index = cls(client, index_prefix=prefix, chunk_size=settings.batch_size)
        index._secrets = tuple(secrets)
        index._owns_client = True
        return index

    def __repr__(self) -> str:
        return f"ElasticsearchIndex(url={self.url!r}, prefix={self.prefix!r})"

    # -- plumbing -----------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    @contextmanager
    def _calls(self, action: str) -> Iterator[None]:
        """Turn client errors into `IndexUnavailable` naming the URL (never a credential)."""
        try:
            yield
        except ApiError as exc:
            msg = self._redact(
                f"Elasticsearch at {self.url} refused to {action}: "
                f"{exc.meta.status} {exc.error}: {exc.message}"
            )
            raise IndexUnavailable(msg) from exc
        except TransportError as exc:
            msg = self._redact(f"cannot reach Elasticsearch at {self.url} to {action}: {exc}")
            raise IndexUnavailable(msg) from exc

    def _bulk(self, kind: str, documents: Iterable[tuple[str, dict[str, Any]]]) -> BulkResult:
        index = self.indices[kind]
        actions = [
            {"_op_type": "index", "_index": index, "_id": doc_id, "_source": source}
            for doc_id, source in documents
        ]
        written = 0
        failed: list[tuple[str, str]] = []
        for ok, doc_id, outcome in self._send(index, actions):
            if ok:
                written += 1
            else:
                failed.append((doc_id, _describe_item_error(outcome)))
        return BulkResult(written=written, failed=tuple(failed))

    def _send(
        self, index: str, actions: list[dict[str, Any]]
    ) -> list[tuple[bool, str, dict[str, Any]]]:
        """(ok, id, the server's answer) for each bulk action, after the bounded retries."""
        if not actions:
            return []
        outcomes: list[tuple[bool, str, dict[str, Any]]] = []
        with self._calls(f"write {len(actions)} documents to {index}"):
            # streaming_bulk resends only the items that failed with a status in
            # retry_on_status, and retries a whole chunk the cluster rejected with one;
            # anything else comes back as a failed item (raise_on_error=False).
            for ok, item in streaming_bulk(
                self._client,
                actions,
                chunk_size=self.chunk_size,
                raise_on_error=False,
                raise_on_exception=True,
                max_retries=self.max_retries,
                initial_backoff=self.initial_backoff,
                max_backoff=self.max_backoff,
                retry_on_status=RETRYABLE_STATUSES,
                refresh="wait_for",
            ):
                outcome = next(iter(item.values()))
                outcomes.append((ok, str(outcome.get("_id")), outcome))
        return outcomes

    def _stored_posts(self, keys: Sequence[str]) -> dict[str, _StoredPost]:
        """The version and record of each stored post among `keys` (real-time, one mget)."""
        index = self.indices["posts"]
        with self._calls(f"read {len(keys)} posts from {index}"):
            # 404: the index does not exist yet (the bulk write creates it from the template)
            response = self._client.options(ignore_status=404).mget(
                index=index, ids=list(keys), source_includes=["record"]
            )
        stored: dict[str, _StoredPost] = {}
        for doc in response.body.get("docs", ()):
            if not doc.get("found"):
                continue
            stored[doc["_id"]] = _StoredPost(
                seq_no=int(doc["_seq_no"]),
                primary_term=int(doc["_primary_term"]),
                post=parse_record(EnrichedPost, doc["_source"]["record"]),
            )
        return stored

    def _upsert_post_chunk(self, posts: Sequence[EnrichedPost]) -> BulkResult:
        """Write one chunk of posts conditionally on what was read, re-reading on conflicts."""
        index = self.indices["posts"]
        pending = list(posts)
        written = 0
        failed: list[tuple[str, str]] = []
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            stored = self._stored_posts(list(dict.fromkeys(post.key for post in pending)))
            work = {key: PersonsWork.of(found.post) for key, found in stored.items()}
            # one action per key, the last post of it (as if written one after the other): two
            # conditional writes of one key in one request would conflict with each other
            latest = {post.key: post for post in keep_persons_work(pending, work)}
            actions = [_post_action(index, post, stored.get(key)) for key, post in latest.items()]
            copies = Counter(post.key for post in pending)
            conflicts: set[str] = set()
            for ok, doc_id, outcome in self._send(index, actions):
                if ok:
                    written += copies[doc_id]
                elif _is_conflict(outcome) and attempt < CONFLICT_ATTEMPTS:
                    conflicts.add(doc_id)
                else:
                    failed.append((doc_id, _describe_item_error(outcome)))
            pending = [post for post in pending if post.key in conflicts]
            if not pending:
                break
        return BulkResult(written=written, failed=tuple(failed))

    def _rewrite_old_posts(self) -> int:
        """Rewrite every post document of a layout older than `POST_DOCUMENT_VERSION` from its
        own record, so it gets the fields added since (and ``text.english`` its terms); returns
        how many were rewritten.

        Not an ``update_by_query``: without a script (which not every Elasticsearch-API server
        runs) that only re-indexes the source as it is, and the new fields must be worked out
        from the record (``case_status`` of an old concern is ``new``). Each write is conditional
        on the version read: a post written meanwhile by this socmon has the new layout already,
        so its conflict is skipped. Pages of `REWRITE_PAGE`, by key; a post that stays old
        (written by an older socmon still running) is done by the next `setup`.
        """
        index = self.indices["posts"]
        old = {
            "bool": {"must_not": [{"range": {"document_version": {"gte": POST_DOCUMENT_VERSION}}}]}
        }
        rewritten = 0
        after: list[Any] | None = None
        while True:
            body = self._search(
                "posts",
                f"find the posts of {index} to bring up to date",
                query=old,
                sort=[{"key": {"order": "asc"}}],
                search_after=after,
                size=REWRITE_PAGE,
                source_includes=["key"],
            )
            hits = body["hits"]["hits"]
            if not hits:
                return rewritten
            stored = self._stored_posts([hit["_id"] for hit in hits])
            actions = [_post_action(index, found.post, found) for found in stored.values()]
            for ok, doc_id, outcome in self._send(index, actions):
                if ok:
                    rewritten += 1
                elif not _is_conflict(outcome):
                    msg = self._redact(
                        f"Elasticsearch at {self.url} refused to bring the post {doc_id} of"
                        f" {index} up to date: {_describe_item_error(outcome)}"
                    )
                    raise IndexUnavailable(msg)
            if len(hits) < REWRITE_PAGE:
                return rewritten
            after = hits[-1]["sort"]

    def _search(self, kind: str, action: str, **request: Any) -> dict[str, Any]:
        with self._calls(action):
            response = self._client.search(index=self.indices[kind], **request)
        return dict(response.body)

    def _records(self, kind: str, action: str, **request: Any) -> list[str]:
        """The ``record`` JSON of each hit, in the order of the hits."""
        body = self._search(kind, action, source_includes=["record"], **request)
        return [hit["_source"]["record"] for hit in body["hits"]["hits"]]

    def _get_source(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        # GET by id is real-time: it sees a write even before a refresh.
        with self._calls(f"read {doc_id!r} from {self.indices[kind]}"):
            response = self._client.options(ignore_status=404).get(
                index=self.indices[kind], id=doc_id
            )
        if not response.body.get("found"):
            return None
        source: dict[str, Any] = response.body["_source"]
        return source

    def _count(self, kind: str) -> int:
        with self._calls(f"count {self.indices[kind]}"):
            response = self._client.count(index=self.indices[kind])
        return int(response.body["count"])

    def _terms(self, kind: str, field: str) -> dict[str, int]:
        body = self._search(
            kind,
            f"count {self.indices[kind]} by {field}",
            size=0,
            aggs={"by": {"terms": {"field": field, "size": 100}}},
        )
        return {b["key"]: b["doc_count"] for b in body["aggregations"]["by"]["buckets"]}

    # -- the port -----------------------------------------------------------------------------

    def setup(self) -> None:
        """Install the index templates and create the indices that are missing; idempotent.

        An index that already exists gets the declared mappings added (new fields only: a field
        whose type changed makes this fail with `IndexUnavailable`, which needs a reindex). An
        analyzer cannot change on an existing field, so stemming came as a new multi-field,
        ``text.english``; the post documents written before it (and before the triage fields)
        are then rewritten from their records (`_rewrite_old_posts`): once, in pages, safe
        beside running writers and other processes' setup. Until that is done, such posts are
        missed by stemmed searches and triage filters.
        """
        for kind, mappings in MAPPINGS.items():
            index = self.indices[kind]
            with self._calls(f"install the index template {index}"):
                self._client.indices.put_index_template(
                    name=index,
                    index_patterns=[index],
                    # above the built-in templates (priority 100), so ours decides for our names
                    priority=200,
                    version=TEMPLATE_VERSION,
                    meta={"managed_by": "socmon", "description": f"socmon {kind}"},
                    template={"mappings": mappings},
                )
            with self._calls(f"create the index {index}"):
                exists = bool(self._client.indices.exists(index=index))
                if exists:
                    self._client.indices.put_mapping(
                        index=index,
                        dynamic=mappings["dynamic"],
                        properties=mappings["properties"],
                    )
                else:
                    try:
                        self._client.indices.create(index=index)
                    except BadRequestError as exc:
                        # another process created it between exists() and create(): fine
                        if exc.error != "resource_already_exists_exception":
                            raise
        self._rewrite_old_posts()

    def upsert_posts(self, posts: Sequence[EnrichedPost]) -> BulkResult:
        """Insert or replace, keeping stored corrections: per chunk, one ``mget`` of the stored
        versions and corrections, then one conditional bulk request (see the module notes)."""
        written = 0
        failed: list[tuple[str, str]] = []
        for start in range(0, len(posts), self.chunk_size):
            result = self._upsert_post_chunk(posts[start : start + self.chunk_size])
            written += result.written
            failed.extend(result.failed)
        return BulkResult(written=written, failed=tuple(failed))

    def get_post(self, key: str) -> EnrichedPost | None:
        source = self._get_source("posts", key)
        return parse_record(EnrichedPost, source["record"]) if source else None

    def search_posts(self, query: PostQuery) -> list[EnrichedPost]:
        """In the query's sort order (ties newest first, then by key), from ``offset``;
        ``since`` is inclusive and ``until`` exclusive.

        Times are compared at millisecond precision (the ``date`` type keeps milliseconds).
        ``offset + limit`` may not exceed `MAX_RESULT_WINDOW` (the server's default
        ``index.max_result_window``): ValueError, so a caller pages further by narrowing the
        query (``until`` the oldest post seen) instead.
        """
        check_post_query(query)
        if query.offset + query.limit > MAX_RESULT_WINDOW:
            msg = (
                f"PostQuery.offset + limit must be at most {MAX_RESULT_WINDOW:,} on Elasticsearch,"
                f" got {query.offset + query.limit:,}: narrow the search instead"
            )
            raise ValueError(msg)
        search = _post_query(query)
        if search is None:
            return []
        records = self._records(
            "posts",
            f"search {self.indices['posts']}",
            query=search,
            sort=_POST_SORTS[query.sort],
            from_=query.offset,
            size=query.limit,
        )
        return [parse_record(EnrichedPost, record) for record in records]

    def count_posts(
        self, query: PostQuery, by: Sequence[PostDimension]
    ) -> dict[tuple[str, ...], int]:
        """Counts per group, from a composite aggregation paged through with ``after``.

        ``day``, ``week`` and ``month`` are UTC calendar intervals (Elasticsearch weeks start
        on Monday).
        """
        dimensions = check_dimensions(by)
        check_post_query(query, counting=True)
        search = _post_query(query)
        if search is None:
            return {}
        if not dimensions:
            with self._calls(f"count {self.indices['posts']}"):
                response = self._client.count(index=self.indices["posts"], query=search)
            total = int(response.body["count"])
            return {(): total} if total else {}
        counts: dict[tuple[str, ...], int] = {}
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {
                "size": 1000,
                "sources": [{name: _DIMENSION_SOURCES[name]} for name in dimensions],
            }
            if after is not None:
                composite["after"] = after
            body = self._search(
                "posts",
                f"count {self.indices['posts']} by {', '.join(dimensions)}",
                size=0,
                query=search,
                aggs={"groups": {"composite": composite}},
            )
            groups = body["aggregations"]["groups"]
            for bucket in groups["buckets"]:
                key = tuple(_group_value(name, bucket["key"][name]) for name in dimensions)
                counts[key] = counts.get(key, 0) + int(bucket["doc_count"])
            after = groups.get("after_key")
            if not groups["buckets"] or after is None:
                return counts

    def engaged_posts(self, since: datetime, min_shares: int, limit: int) -> list[EnrichedPost]:
        """Fastest spreading first, from the ``shares`` and ``share_rate`` fields."""
        query = {
            "bool": {
                "filter": [
                    {"range": {"created_at": {"gte": _iso(since, "since")}}},
                    {"range": {"shares": {"gte": min_shares}}},
                ]
            }
        }
        records = self._records(
            "posts",
            f"find the posts of {self.indices['posts']} that spread",
            query=query,
            sort=[{"share_rate": {"order": "desc"}}, {"key": {"order": "asc"}}],
            size=max(0, min(limit, MAX_RESULT_WINDOW)),
        )
        return [parse_record(EnrichedPost, record) for record in records]

    def share_rates(
        self, platform: Platform, account: str, since: datetime, until: datetime, quantile: float
    ) -> ShareRates:
        """A count, then the one hit at the quantile's rank, counted from the fastest (the
        upper quantiles are near the top). Beyond `MAX_RESULT_WINDOW` from the top (an account
        with over 200,000 posts in the window at the 0.95 quantile) the hit at the window's end
        is taken: a higher rate, so fewer spikes, never more."""
        query = {
            "bool": {
                "filter": [
                    {"term": {"platform": platform}},
                    {"term": {"account": account}},
                    {
                        "range": {
                            "created_at": {"gte": _iso(since, "since"), "lt": _iso(until, "until")}
                        }
                    },
                    {"exists": {"field": "share_rate"}},
                ]
            }
        }
        with self._calls(f"count the posts of {platform} {account} that have counts"):
            response = self._client.count(index=self.indices["posts"], query=query)
        count = int(response.body["count"])
        if not count:
            return ShareRates(posts=0)
        from_top = min(count - nearest_rank(count, quantile), MAX_RESULT_WINDOW - 1)
        records = self._records(
            "posts",
            f"find the usual share rate of {platform} {account}",
            query=query,
            sort=[{"share_rate": {"order": "desc"}}, {"key": {"order": "desc"}}],
            from_=from_top,
            size=1,
        )
        if not records:  # deleted between the count and the search
            return ShareRates(posts=0)
        return ShareRates(posts=count, rate=share_rate(parse_record(EnrichedPost, records[0]).post))

    def record_alerts(self, alerts: Sequence[Alert]) -> BulkResult:
        return self._bulk("alerts", ((alert.alert_id, _alert_document(alert)) for alert in alerts))

    def record_deliveries(self, deliveries: Sequence[Delivery]) -> BulkResult:
        return self._bulk("deliveries", ((d.key, _delivery_document(d)) for d in deliveries))

    def was_delivered(self, delivery_key: str) -> bool:
        source = self._get_source("deliveries", delivery_key)
        return source is not None and source.get("result") == "sent"

    def deliveries_for(self, alert_id: str) -> list[Delivery]:
        """Oldest first (ties by key), so the list reads as the history of the alert."""
        records = self._records(
            "deliveries",
            f"read the deliveries of {alert_id!r}",
            query={"term": {"alert_id": alert_id}},
            sort=[{"delivered_at": {"order": "asc"}}, {"key": {"order": "asc"}}],
            size=MAX_RESULT_WINDOW,
        )
        return [parse_record(Delivery, record) for record in records]

    def record_deadletters(self, letters: Sequence[DeadLetter]) -> BulkResult:
        return self._bulk("deadletters", ((x.key, _deadletter_document(x)) for x in letters))

    def deadletters(self, limit: int = 100) -> list[DeadLetter]:
        """Newest first (ties by key)."""
        records = self._records(
            "deadletters",
            f"read {self.indices['deadletters']}",
            query={"match_all": {}},
            sort=[{"created_at": {"order": "desc"}}, {"key": {"order": "asc"}}],
            size=max(limit, 0),
        )
        return [parse_record(DeadLetter, record) for record in records]

    def alerts_between(
        self, since: datetime, until: datetime, kind: AlertKind | None = None
    ) -> list[Alert]:
        raised = {
            "range": {"created_at": {"gte": _iso(since, "since"), "lt": _iso(until, "until")}}
        }
        of_kind = [] if kind is None else [{"term": {"kind": kind}}]
        records = self._records(
            "alerts",
            f"read {self.indices['alerts']}",
            query={"bool": {"filter": [raised, *of_kind]}},
            sort=[{"created_at": {"order": "asc"}}, {"alert_id": {"order": "asc"}}],
            size=MAX_RESULT_WINDOW,
        )
        return [parse_record(Alert, record) for record in records]

    def put_documents(self, collection: Collection[R], docs: Sequence[tuple[str, R]]) -> BulkResult:
        name = collection.name
        index = self.indices["documents"]
        now = _iso(utcnow(), "now")
        actions = [
            {
                "_op_type": "update",
                "_index": index,
                "_id": f"{name}:{doc_id}",
                "doc": {"record": doc.model_dump_json()},
                # first_written is set once, so the listing order is the order of creation
                "upsert": {
                    "collection": name,
                    "id": doc_id,
                    "first_written": now,
                    "record": doc.model_dump_json(),
                },
            }
            for doc_id, doc in docs
        ]
        if not actions:
            return BulkResult(written=0)
        with self._calls(f"write {len(actions)} documents to {index}"):
            written, errors = bulk(
                self._client,
                actions,
                raise_on_error=False,
                refresh="wait_for",
                max_retries=self.max_retries,
                initial_backoff=self.initial_backoff,
            )
        failed = tuple(
            (str(next(iter(e.values())).get("_id")), _describe_item_error(next(iter(e.values()))))
            for e in errors  # type: ignore[union-attr]
        )
        return BulkResult(written=int(written), failed=failed)

    def get_documents(self, collection: Collection[R]) -> list[R]:
        name, model = collection.name, collection.model
        records = self._records(
            "documents",
            f"read {name} from {self.indices['documents']}",
            query={"term": {"collection": name}},
            sort=[{"first_written": {"order": "asc"}}, {"id": {"order": "asc"}}],
            size=MAX_RESULT_WINDOW,
        )
        return [parse_record(model, record) for record in records]

    def delete_documents(self, collection: Collection[Any], ids: Sequence[str]) -> int:
        name = collection.name
        if not ids:
            return 0
        return self._delete_by_query(
            "documents",
            {
                "bool": {
                    "filter": [
                        {"term": {"collection": name}},
                        {"terms": {"id": list(ids)}},
                    ]
                }
            },
        )

    def last_post_per_account(self) -> dict[tuple[str, str], datetime]:
        newest: dict[tuple[str, str], datetime] = {}
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {
                "size": 500,
                "sources": [
                    {"platform": {"terms": {"field": "platform"}}},
                    {"account": {"terms": {"field": "account"}}},
                ],
            }
            if after is not None:
                composite["after"] = after
            body = self._search(
                "posts",
                "find the last official post per account",
                size=0,
                query={"term": {"kind": "official_post"}},
                aggs={
                    "accounts": {
                        "composite": composite,
                        # top_hits, not max: max returns epoch milliseconds and would lose the
                        # microseconds the record carries.
                        "aggs": {
                            "newest": {
                                "top_hits": {
                                    "size": 1,
                                    "sort": [{"created_at": {"order": "desc"}}],
                                    "_source": {"includes": ["created_at"]},
                                }
                            }
                        },
                    }
                },
            )
            accounts = body["aggregations"]["accounts"]
            for bucket in accounts["buckets"]:
                hit = bucket["newest"]["hits"]["hits"][0]
                key = (bucket["key"]["platform"], bucket["key"]["account"])
                newest[key] = datetime.fromisoformat(hit["_source"]["created_at"])
            after = accounts.get("after_key")
            if not accounts["buckets"] or after is None:
                return newest

    def stats(self, pending: bool = True) -> Stats:
        """Counts; ``by_sentiment`` names all three sentiments, ``alerts`` only kinds seen."""
        by_sentiment: dict[str, int] = dict.fromkeys(SENTIMENTS, 0)
        by_sentiment.update(self._terms("posts", "sentiment"))
        results = self._terms("deliveries", "result")
        return Stats(
            indexed=self._count("posts"),
            by_sentiment=by_sentiment,
            deadletter=self._count("deadletters"),
            alerts=self._terms("alerts", "kind"),
            deliveries_sent=results.get("sent", 0),
            deliveries_failed=results.get("failed", 0),
            alerts_pending=self._alerts_pending() if pending else 0,
        )

    def _alerts_pending(self) -> int:
        """Alerts with no delivery recorded: one composite aggregation over the alerts and the
        deliveries indices by ``alert_id``, paged with ``after`` (one request per
        `PENDING_PAGE` alerts). An alert is pending when every document of its bucket is the
        alert itself; a delivery of an alert no longer in the index (erased) counts for none."""
        alerts, deliveries = self.indices["alerts"], self.indices["deliveries"]
        pending = 0
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {
                "size": PENDING_PAGE,
                "sources": [{"alert_id": {"terms": {"field": "alert_id"}}}],
            }
            if after is not None:
                composite["after"] = after
            with self._calls(f"count the alerts of {alerts} with no delivery in {deliveries}"):
                response = self._client.search(
                    index=f"{alerts},{deliveries}",
                    size=0,
                    aggs={
                        "ids": {
                            "composite": composite,
                            "aggs": {"alert": {"filter": {"term": {"_index": alerts}}}},
                        }
                    },
                )
            ids = response.body["aggregations"]["ids"]
            for bucket in ids["buckets"]:
                own = int(bucket["alert"]["doc_count"])
                if own and own == int(bucket["doc_count"]):
                    pending += 1
            after = ids.get("after_key")
            if not ids["buckets"] or after is None:
                return pending

    def close(self) -> None:
        """Close the client if this index made it (`from_settings`); an injected one stays open."""
        if self._owns_client:
            self._client.close()

    # -- retention and data-subject requests ---------------------------------------------------

    def delete_older_than(self, cutoff: datetime) -> int:
        """Delete every record from before ``cutoff`` (the one-year retention); returns how many.

        What is derived from a post goes by the post's time: an alert about a post by the post's
        (alerts indexed before ``post_created_at`` existed, by when raised), the deliveries of
        the alerts deleted with them; other deliveries by when made, dead letters by when
        written.
        """
        moment = _iso(cutoff, "cutoff")
        old_alerts = {
            "bool": {
                "should": [
                    {"range": {"created_at": {"lt": moment}}},
                    {"range": {"post_created_at": {"lt": moment}}},
                ],
                "minimum_should_match": 1,
            }
        }
        alert_ids = self._values("alerts", old_alerts, "alert_id")
        deleted = self._delete_by_query("posts", {"range": {"created_at": {"lt": moment}}})
        deleted += self._delete_deliveries_of(alert_ids)
        deleted += self._delete_by_query("deliveries", {"range": {"delivered_at": {"lt": moment}}})
        deleted += self._delete_by_query("alerts", old_alerts)
        deleted += self._delete_by_query("deadletters", {"range": {"created_at": {"lt": moment}}})
        return deleted

    def erase_author(self, handle: str) -> Erased:
        """Erase a person's posts, the alerts that quote them with their deliveries, and the dead
        letters that name them; then expunge the deleted documents from the segments.

        The handle matches without a leading ``@`` and case-insensitively. Dead letters are
        matched on their stored record (not indexed), read in pages of 1,000, and spike alerts
        on their summary (`spike_names_author`), read the same way.
        """
        wanted = author_handle(handle)
        if not wanted:
            msg = "erase_author needs a handle, got an empty string"
            raise ValueError(msg)
        post_keys = self._values("posts", {"term": {"author_handle": wanted}}, "key")
        alert_ids = self._values("alerts", {"term": {"post_author_handle": wanted}}, "alert_id")
        alert_ids += [
            alert.alert_id
            for alert in self._spike_alerts()
            if alert.alert_id not in alert_ids and spike_names_author(alert, wanted)
        ]
        letters = [
            letter.key for letter in self._all_deadletters() if names_handle(letter.payload, wanted)
        ]
        erased = Erased(
            posts=self._delete_by_query("posts", {"term": {"author_handle": wanted}}),
            deliveries=self._delete_deliveries_of(alert_ids),
            alerts=self._delete_by_query("alerts", {"terms": {"alert_id": alert_ids}})
            if alert_ids
            else 0,
            deadletters=self._delete_by_query("deadletters", {"terms": {"key": letters}})
            if letters
            else 0,
            post_keys=tuple(post_keys),
            alert_ids=tuple(alert_ids),
        )
        kinds = ("posts", "alerts", "deliveries", "deadletters")
        indices = ",".join(self.indices[kind] for kind in kinds)
        with self._calls(f"expunge deleted documents from {indices}"):
            self._client.indices.forcemerge(index=indices, only_expunge_deletes=True)
        return erased

    def _spike_alerts(self) -> Iterator[Alert]:
        """Every spike alert (they name the authors of their top posts), in pages by id."""
        after: list[Any] | None = None
        while True:
            body = self._search(
                "alerts",
                f"read the spike alerts of {self.indices['alerts']}",
                query={"term": {"kind": "spike"}},
                sort=[{"alert_id": {"order": "asc"}}],
                search_after=after,
                size=1000,
                source_includes=["record"],
            )
            hits = body["hits"]["hits"]
            for hit in hits:
                yield parse_record(Alert, hit["_source"]["record"])
            if len(hits) < 1000:
                return
            after = hits[-1]["sort"]

    def _values(self, kind: str, query: dict[str, Any], field: str) -> list[str]:
        """Every distinct value of the keyword `field` among the documents matching `query`."""
        index = self.indices[kind]
        values: list[str] = []
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {
                "size": 5000,
                "sources": [{"value": {"terms": {"field": field}}}],
            }
            if after is not None:
                composite["after"] = after
            with self._calls(f"list {field} in {index}"):
                response = self._client.search(
                    index=index, size=0, query=query, aggs={"v": {"composite": composite}}
                )
            result = response.body["aggregations"]["v"]
            values.extend(str(bucket["key"]["value"]) for bucket in result["buckets"])
            after = result.get("after_key")
            if not result["buckets"] or after is None:
                return values

    def _all_deadletters(self) -> Iterator[DeadLetter]:
        """Every stored dead letter, in pages of 1,000 (sorted by key, paged with search_after)."""
        index = self.indices["deadletters"]
        after: list[Any] | None = None
        while True:
            with self._calls(f"read {index}"):
                response = self._client.search(
                    index=index,
                    size=1000,
                    sort=[{"key": {"order": "asc"}}],
                    search_after=after,
                    source_includes=["record"],
                )
            hits = response.body["hits"]["hits"]
            for hit in hits:
                yield parse_record(DeadLetter, hit["_source"]["record"])
            if len(hits) < 1000:
                return
            after = hits[-1]["sort"]

    def _delete_deliveries_of(self, alert_ids: Sequence[str]) -> int:
        deleted = 0
        for start in range(0, len(alert_ids), 5000):
            chunk = list(alert_ids[start : start + 5000])
            deleted += self._delete_by_query("deliveries", {"terms": {"alert_id": chunk}})
        return deleted

    def _delete_by_query(self, kind: str, query: dict[str, Any]) -> int:
        index = self.indices[kind]
        with self._calls(f"delete from {index}"):
            response = self._client.delete_by_query(
                index=index, query=query, refresh=True, conflicts="proceed"
            )
        failures = response.body.get("failures") or []
        if failures:
            msg = f"Elasticsearch at {self.url} could not delete from {index}: {failures[0]}"
            raise IndexUnavailable(self._redact(msg))
        return int(response.body.get("deleted", 0))


def _post_query(query: PostQuery) -> dict[str, Any] | None:
    """The bool query for a `PostQuery` (its limit, sort and offset aside), or None when its
    text holds no word at all (such a search matches nothing, as in the SQLite adapter).

    Every word of the text must match: any of its forms stemmed (``text.english``), or the word
    itself as written (``text``: the english analyzer drops stop words such as "the", which
    SQLite finds); every prefix must start a word as written. Words reach the server as
    ``match`` and ``prefix`` values, never as query-string syntax. The rest are exact filters.
    """
    must: list[dict[str, Any]] = []
    filters: list[dict[str, Any]] = []
    if query.text is not None and query.text.strip():
        terms = search_terms(query.text)
        if terms is None:
            return None
        for forms in terms.words:
            either = [*(_match("text.english", form) for form in forms), _match("text", forms[0])]
            must.append({"bool": {"should": either, "minimum_should_match": 1}})
        for prefix in terms.prefixes:
            filters.append({"prefix": {"text": {"value": prefix}}})
    for field, value in (
        ("sentiment", query.sentiment),
        ("platform", query.platform),
        ("account", query.account),
        ("kind", query.kind),
        ("urgent", query.urgent),
        ("abusive", query.abusive),
        ("has_breach", query.breach),
    ):
        if value is not None:
            filters.append({"term": {field: value}})
    if departments := query_departments(query):
        filters.append({"terms": {"departments": list(departments)}})
    if query.author is not None and (handle := author_handle(query.author)):
        filters.append({"term": {"author_handle": handle}})
    if query.statuses:
        filters.append({"terms": {"case_status": list(query.statuses)}})
    if query.assignee == UNASSIGNED:
        filters.append({"terms": {"case_status": list(OPEN_STATUSES)}})
        filters.append({"bool": {"must_not": [{"exists": {"field": "case.assignee"}}]}})
    elif query.assignee is not None:
        filters.append({"term": {"case.assignee": query.assignee}})
    window: dict[str, str] = {}
    if query.since is not None:
        window["gte"] = _iso(query.since, "PostQuery.since")
    if query.until is not None:
        window["lt"] = _iso(query.until, "PostQuery.until")
    if window:
        filters.append({"range": {"created_at": window}})
    return {"bool": {"must": must, "filter": filters}}


def _match(field: str, word: str) -> dict[str, Any]:
    # "and": a word the analyzer splits (CJK, "jane_doe" on some) needs all of its pieces
    return {"match": {field: {"query": word, "operator": "and"}}}


# Each sort: a field A to Z (a post without a value last), then newest first, then by key, so
# that every order is total and pages are stable (as the SQLite adapter orders).
_NEWEST: Final = ({"created_at": {"order": "desc"}}, {"key": {"order": "asc"}})


def _by(field: str) -> list[dict[str, Any]]:
    return [{field: {"order": "asc", "missing": "_last"}}, *_NEWEST]


_POST_SORTS: Final[dict[PostSort, list[dict[str, Any]]]] = {
    "newest": list(_NEWEST),
    "oldest": [{"created_at": {"order": "asc"}}, {"key": {"order": "asc"}}],
    "author": _by("author_handle"),
    "platform": _by("platform"),
    "sentiment": _by("sentiment"),
    "status": _by("case_status"),
    "department": _by("first_department"),
}


# The composite-aggregation source of each dimension of `Index.count_posts`.
_DIMENSION_SOURCES: Final[dict[str, dict[str, Any]]] = {
    "sentiment": {"terms": {"field": "sentiment"}},
    "platform": {"terms": {"field": "platform"}},
    "account": {"terms": {"field": "account"}},
    "kind": {"terms": {"field": "kind"}},
    # missing_bucket: a post without a department still counts, under NO_VALUE
    "department": {"terms": {"field": "departments", "missing_bucket": True}},
    "abusive": {"terms": {"field": "abusive"}},
    "urgent": {"terms": {"field": "urgent"}},
    "day": {"date_histogram": {"field": "created_at", "calendar_interval": "1d", **_DAY}},
    "week": {"date_histogram": {"field": "created_at", "calendar_interval": "1w", **_DAY}},
    "month": {
        "date_histogram": {
            "field": "created_at",
            "calendar_interval": "1M",
            "format": "yyyy-MM",
            "time_zone": "UTC",
        }
    },
    # a post that needs no action has no case_status: NO_VALUE
    "status": {"terms": {"field": "case_status", "missing_bucket": True}},
    "hour": {
        "date_histogram": {
            "field": "created_at",
            "calendar_interval": "1h",
            "format": "yyyy-MM-dd'T'HH",
            "time_zone": "UTC",
        }
    },
}


def _group_value(dimension: str, key: Any) -> str:
    """A composite key as the port spells it: booleans ``"true"``/``"false"``, none ``""``."""
    if key is None:
        return NO_VALUE
    if dimension in ("abusive", "urgent"):
        # Elasticsearch gives booleans as true/false in composite keys, some versions as 1/0
        return "true" if key in (True, 1, "true") else "false"
    return str(key)


def _post_document(enriched: EnrichedPost) -> dict[str, Any]:
    post, label = enriched.post, enriched.classification
    document: dict[str, Any] = {
        "key": enriched.key,
        "platform": post.platform,
        "post_id": post.post_id,
        "kind": post.kind,
        "account": post.account,
        "author": post.author,
        "author_handle": author_handle(post.author),
        "text": post.text,
        "created_at": _iso(post.created_at, "Post.created_at"),
        "url": post.url,
        "lang": post.lang,
        "in_reply_to": post.in_reply_to,
        "source": post.source,
        "fetched_at": _iso(post.fetched_at, "Post.fetched_at"),
        "sentiment": label.sentiment,
        "confidence": label.confidence,
        "urgent": label.urgent,
        "abusive": label.abusive,
        "unsure": label.unsure,
        "departments": list(label.departments),
        "first_department": label.departments[0] if label.departments else None,
        "has_breach": bool(label.breaches),
        "breaches": [breach.model_dump(mode="json") for breach in label.breaches],
        "reason": label.reason,
        "model": label.model,
        "enriched_at": _iso(enriched.enriched_at, "EnrichedPost.enriched_at"),
        "schema_version": enriched.schema_version,
        "case_status": enriched.case_status,
        "document_version": POST_DOCUMENT_VERSION,
        "record": enriched.model_dump_json(),
    }
    # only when corrected, so an index whose mapping predates the field still takes the rest
    if enriched.correction is not None:
        document["correction"] = enriched.correction.model_dump(mode="json")
    if enriched.case is not None:
        document["case"] = _case_document(enriched.case)
    rate = share_rate(post)
    if rate is not None:
        document["shares"] = shares(post)
        document["share_rate"] = rate
    return document


def _case_document(case: Case) -> dict[str, Any]:
    return {
        "status": case.status,
        "assignee": case.assignee or None,  # an empty name is nobody, as UNASSIGNED says
        "first_handled_at": _iso(case.first_handled_at, "Case.first_handled_at")
        if case.first_handled_at is not None
        else None,
        "updated_by": case.updated_by,
        "updated_at": _iso(case.updated_at, "Case.updated_at"),
    }


def _post_action(index: str, post: EnrichedPost, stored: _StoredPost | None) -> dict[str, Any]:
    """A bulk action that writes `post` only if the stored post is still the one read."""
    action: dict[str, Any] = {"_index": index, "_id": post.key, "_source": _post_document(post)}
    if stored is None:
        return {"_op_type": "create", **action}
    return {
        "_op_type": "index",
        "if_seq_no": stored.seq_no,
        "if_primary_term": stored.primary_term,
        **action,
    }


def _alert_document(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.alert_id,
        "kind": alert.kind,
        "summary": alert.summary,
        "created_at": _iso(alert.created_at, "Alert.created_at"),
        "departments": list(alert.departments),
        "account": alert.account,
        # An alert about an account (the weekly sweep) has no post but still a platform.
        "platform": alert.account_platform,
        "post_key": alert.post.key if alert.post else None,
        "post_author_handle": author_handle(alert.post.author) if alert.post else None,
        "post_created_at": _iso(alert.post.created_at, "Post.created_at") if alert.post else None,
        "sentiment": alert.classification.sentiment if alert.classification else None,
        "schema_version": alert.schema_version,
        "record": alert.model_dump_json(),
    }


def _delivery_document(delivery: Delivery) -> dict[str, Any]:
    return {
        "key": delivery.key,
        "alert_id": delivery.alert_id,
        "alert_kind": delivery.alert_kind,
        "recipient": delivery.recipient,
        "channel": delivery.channel,
        "result": delivery.result,
        "detail": delivery.detail,
        "delivered_at": _iso(delivery.delivered_at, "Delivery.delivered_at"),
        "schema_version": delivery.schema_version,
        "record": delivery.model_dump_json(),
    }


def _deadletter_document(letter: DeadLetter) -> dict[str, Any]:
    return {
        "key": letter.key,
        "stage": letter.stage,
        "reason": letter.reason,
        "origin": letter.origin,
        "created_at": _iso(letter.created_at, "DeadLetter.created_at"),
        "schema_version": letter.schema_version,
        "record": letter.model_dump_json(),
    }
