"""The CSV export: every matching post, in order, with the public's text kept from running as a
formula in a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboards.web.export import COLUMNS, csv_lines, matching_posts, safe_cell
from socmon.index.port import PostQuery
from socmon.records import EnrichedPost
from tests.factories import make_post

T = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (
            '=HYPERLINK("http://evil.example","click")',
            '\'=HYPERLINK("http://evil.example","click")',
        ),
        ("+44 7700 900123", "'+44 7700 900123"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Thanks = great", "Thanks = great"),
        ("", ""),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_quoted(value: str, written: str) -> None:
    assert safe_cell(value) == written


class PagedPosts:
    """A post store of `posts` (newest first) that pages like an index, counting the reads."""

    def __init__(self, posts: list[EnrichedPost], *, honour_offset: bool = True) -> None:
        self.posts = posts
        self.honour_offset = honour_offset
        self.reads = 0

    def search_posts(self, query: PostQuery) -> list[EnrichedPost]:
        self.reads += 1
        start = query.offset if self.honour_offset else 0
        return self.posts[start : start + query.limit]


def posts(n: int) -> list[EnrichedPost]:
    return [make_post(f"p{i}", created_at=T - timedelta(minutes=i)) for i in range(n)]


def test_every_matching_post_is_read_page_by_page() -> None:
    store = PagedPosts(posts(1234))
    got = list(matching_posts(store, PostQuery(limit=50, offset=100), chunk=500))  # type: ignore[arg-type]
    assert [p.key for p in got] == [p.key for p in store.posts]
    assert store.reads == 3


def test_an_index_that_gives_the_same_page_again_does_not_loop() -> None:
    store = PagedPosts(posts(30), honour_offset=False)
    got = list(matching_posts(store, PostQuery(), chunk=10))  # type: ignore[arg-type]
    assert len(got) == 10
    assert store.reads == 2


def test_the_csv_has_a_header_and_one_guarded_row_per_post() -> None:
    post = make_post(
        "p1",
        text='=cmd|" /C calc"!A0, said @someone',
        author="@troll",
        sentiment="concern",
        departments=("estates", "wards"),
        created_at=T,
        urgent=True,
    )
    text = "".join(
        csv_lines(
            [post],
            zone=ZoneInfo("Europe/London"),
            department_names={"estates": "Estates and parking"},
            link=lambda key: f"https://dash.example/posts/{key}",
        )
    )
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == list(COLUMNS)
    row = dict(zip(COLUMNS, rows[1], strict=True))
    assert row["text"] == '\'=cmd|" /C calc"!A0, said @someone'
    assert row["author"] == "'@troll"
    assert row["link"] == "https://dash.example/posts/twitter:p1"
    assert row["posted"] == "2026-10-05 10:00"  # London summer time
    assert row["departments"] == "Estates and parking; wards"
    assert (row["urgent"], row["abusive"], row["status"], row["assignee"]) == (
        "yes",
        "no",
        "new",
        "",
    )


def test_a_post_needing_no_action_has_no_status() -> None:
    post = make_post("p1", sentiment="compliment", created_at=T)
    text = "".join(csv_lines([post], zone=UTC, department_names={}, link=str))
    row = dict(zip(COLUMNS, list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1], strict=True))
    assert row["status"] == ""
