"""The CSV export of a filtered list of posts: every matching post, not just the page shown.

The posts are the public's words and a spreadsheet runs a cell that starts with ``=``, ``+``,
``-`` or ``@`` (or a tab or carriage return) as a formula, which can run commands or send the
sheet's data away; such a cell is written with a leading ``'``, which spreadsheets show as text
(OWASP "CSV injection"). Every cell goes through `safe_cell`, not only the post's text: authors
and handles are the public's too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime, tzinfo

from socmon.index.port import PostQuery, PostStore
from socmon.records import EnrichedPost

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 500
COLUMNS = (
    "key",
    "link",
    "posted",
    "platform",
    "official account",
    "kind",
    "author",
    "text",
    "sentiment",
    "departments",
    "urgent",
    "abusive",
    "unsure",
    "breaches",
    "status",
    "assignee",
    "first handled",
    "corrected by",
)


def safe_cell(value: str) -> str:
    """The value, with a ``'`` in front when a spreadsheet would take it for a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def matching_posts(
    posts: PostStore, query: PostQuery, chunk: int = CHUNK
) -> Iterator[EnrichedPost]:
    """Every post of `query` in its order (its ``limit`` and ``offset`` are ignored), read
    `chunk` at a time; a post seen twice (the index changed meanwhile) is given once."""
    seen: set[str] = set()
    offset = 0
    while True:
        page = posts.search_posts(replace(query, limit=chunk, offset=offset))
        fresh = [post for post in page if post.key not in seen]
        for post in fresh:
            seen.add(post.key)
            yield post
        # An index that ignores the offset gives the same page again: nothing new ends it too.
        if len(page) < chunk or not fresh:
            return
        offset += chunk


def csv_lines(
    posts: Iterable[EnrichedPost],
    *,
    zone: tzinfo,
    department_names: Mapping[str, str],
    link: Callable[[str], str],
) -> Iterator[str]:
    """The CSV text, a header line then one line per post (UTF-8 with a byte-order mark first,
    so that Excel reads the accents right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Iterable[str]) -> str:
        writer.writerow([safe_cell(cell) for cell in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield "\ufeff" + line(COLUMNS)
    for enriched in posts:
        yield line(_cells(enriched, zone, department_names, link))


def _cells(
    enriched: EnrichedPost,
    zone: tzinfo,
    department_names: Mapping[str, str],
    link: Callable[[str], str],
) -> list[str]:
    post, label, case = enriched.post, enriched.classification, enriched.case
    return [
        enriched.key,
        link(enriched.key),
        _when(post.created_at, zone),
        post.platform,
        post.account,
        post.kind,
        post.author,
        post.text,
        label.sentiment,
        "; ".join(department_names.get(d, d) for d in label.departments),
        _yes(label.urgent),
        _yes(label.abusive),
        _yes(label.unsure),
        "; ".join(b.rule for b in label.breaches),
        (enriched.case_status or "").replace("_", " "),
        case.assignee or "" if case is not None else "",
        _when(case.first_handled_at, zone) if case is not None else "",
        enriched.correction.corrected_by if enriched.correction is not None else "",
    ]


def _when(moment: datetime | None, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
