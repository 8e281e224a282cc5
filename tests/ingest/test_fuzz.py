"""No input line or API item crashes ingest (property-based, hypothesis): whatever arrives
becomes a post or a dead letter with a reason, and the rest goes on."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.connectors.facebook import FacebookPagePosts, GraphItem
from ingest.connectors.replay import parse_replay_line
from ingest.connectors.twitter import Tweet, TwitterMentions, _Includes
from socmon.records import DeadLetter, Post
from tests.ingest.connectors.test_facebook import PAGE, make_client
from tests.ingest.connectors.test_twitter import OFFICIAL_ID, make_api

GOOD = {
    "platform": "twitter",
    "id": "123",
    "kind": "mention",
    "account": "NorthbrookNHS",
    "author": "jo",
    "text": "Thank you",
    "created_at": "2026-10-30T09:15:00+00:00",
}
# any JSON value, nested a little
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def ok(item: Any) -> None:
    assert isinstance(item, Post | DeadLetter | type(None))
    if isinstance(item, DeadLetter):
        assert item.reason.strip()


@FUZZ
@given(st.text(max_size=300))
def test_any_line_of_text_is_a_post_or_a_dead_letter(line: str) -> None:
    ok(parse_replay_line(line, "fuzz.jsonl:1"))


@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(GOOD)), JSON, max_size=len(GOOD)))
def test_a_replay_line_with_any_values_is_a_post_or_a_dead_letter(changes: dict[str, Any]) -> None:
    ok(parse_replay_line(json.dumps(GOOD | changes), "fuzz.jsonl:2"))


TWITTER = TwitterMentions(make_api(), "NorthbrookNHS", OFFICIAL_ID)


OBJECT = st.dictionaries(st.text(max_size=12), JSON, max_size=8)


@FUZZ
@given(OBJECT, st.lists(OBJECT, max_size=3), st.lists(OBJECT, max_size=3))
def test_any_tweet_is_a_post_or_a_dead_letter(
    raw: dict[str, Any], users: list[dict[str, Any]], media: list[dict[str, Any]]
) -> None:
    # the page's expansions have X's shape (lists of objects, media keyed by a string);
    # what is in them, and in the tweet, is anything
    keyed = [m | {"media_key": str(m.get("media_key"))} for m in media]
    item = Tweet(raw, _Includes.of({"includes": {"users": users, "media": keyed}}))
    ok(TWITTER._normalise(item, 0))


FACEBOOK = FacebookPagePosts(make_client(), "NorthbrookHospitals", PAGE, "posts")


@FUZZ
@given(st.dictionaries(st.text(max_size=12), JSON, max_size=8), st.booleans())
def test_any_graph_item_is_a_post_or_a_dead_letter(raw: dict[str, Any], dated: bool) -> None:
    created = datetime(2026, 10, 1, tzinfo=UTC) if dated else None
    item = GraphItem(raw, "official_post", created=created, problem="" if dated else "no time")
    ok(FACEBOOK._normalise(item, 0))
