"""`PagedSource`, the poll lifecycle the platform connectors share, with an in-memory source."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.connector import RateLimited
from ingest.connectors.common import Rejected
from ingest.connectors.paged import Cursor, Page, PagedSource
from socmon.records import Post


@dataclass(frozen=True)
class Offset(Cursor):
    """How many items of the list were produced."""

    done: int = 0

    @classmethod
    def parse(cls, checkpoint: str | None, source: str) -> Offset:
        return cls(int(checkpoint) if checkpoint else 0)

    def dump(self) -> str | None:
        return str(self.done) if self.done else None


class ListSource(PagedSource[Any, Offset]):
    """Pages of `page_size` items of `items`; an item "limit" raises a rate limit instead."""

    name = "list"
    cursor_type = Offset
    malformed = (KeyError,)

    def __init__(self, items: list[Any], page_size: int = 2, **options: Any) -> None:
        self.items = items
        self.page_size = page_size
        self.requests = 0
        for key, value in options.items():
            setattr(self, key, value)

    def pages(self, start: Offset) -> Iterator[Page[Any, Offset]]:
        done = start.done
        while True:
            self.requests += 1
            page = self.items[done : done + self.page_size]
            if "limit" in page:
                raise RateLimited("spent", 30.0)
            done += len(page)
            yield Page(page, Offset(done), last=len(page) < self.page_size)

    def to_post(self, item: Any) -> Post | None:
        if item is None:
            return None
        if item == "bad":
            raise Rejected("bad item")
        return Post(
            platform="mastodon",
            post_id=str(item["id"]),
            kind="mention",
            account="acct",
            author="someone",
            text="hi",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
            source=self.name,
        )

    def origin(self, item: Any, position: int) -> str:
        return f"{self.name}:#{position}"


def ok(n: int) -> dict[str, int]:
    return {"id": n}


def test_pages_are_read_until_the_last_and_each_item_becomes_a_post_a_dead_letter_or_nothing():
    fetched = ListSource([ok(1), "bad", None, {"no": "id"}, ok(5)]).poll(None)
    assert [p.post_id for p in fetched.posts] == ["1", "5"]
    assert [(r.origin, r.reason) for r in fetched.rejects] == [
        ("list:#1", "bad item"),
        ("list:#1", "unexpected item: KeyError('id')"),
    ]
    assert (fetched.checkpoint, fetched.exhausted, fetched.retry_after) == ("5", True, None)


def test_a_poll_that_stops_at_its_page_budget_is_not_exhausted_and_asks_for_no_further_page():
    source = ListSource([ok(i) for i in range(10)], max_pages=2)
    fetched = source.poll("2")
    assert (fetched.checkpoint, fetched.exhausted, source.requests) == ("6", False, 2)


def test_a_last_page_within_the_budget_is_exhausted():
    fetched = ListSource([ok(1), ok(2), ok(3)], max_pages=2).poll(None)
    assert (fetched.checkpoint, fetched.exhausted) == ("3", True)


def test_nothing_new_keeps_the_checkpoint_as_it_was():
    assert ListSource([]).poll(None).checkpoint is None
    assert ListSource([]).poll("0").checkpoint == "0"


def test_a_rate_limit_on_the_first_page_fails_the_poll():
    with pytest.raises(RateLimited):
        ListSource(["limit"], keeps_pages_when_rate_limited=True).poll(None)


def test_a_later_rate_limit_keeps_the_pages_read_only_where_the_cursor_can_resume():
    items = [ok(1), ok(2), "limit"]
    fetched = ListSource(items, keeps_pages_when_rate_limited=True).poll(None)
    assert [p.post_id for p in fetched.posts] == ["1", "2"]
    assert (fetched.checkpoint, fetched.exhausted, fetched.retry_after) == ("2", True, 30.0)
    with pytest.raises(RateLimited):
        ListSource(items).poll(None)
