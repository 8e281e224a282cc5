"""No input line or API item crashes ingest (property-based, hypothesis): whatever arrives
becomes a post or a dead letter with a reason, and the rest goes on; and whatever a count holds,
the post is kept (a malformed count is None)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.connectors.bluesky import SearchSource as BlueskySearch
from ingest.connectors.common import MAX_COUNT
from ingest.connectors.facebook import FacebookPagePosts, GraphItem, InstagramMedia
from ingest.connectors.replay import parse_replay_line
from ingest.connectors.twitter import Tweet, TwitterMentions, _Includes
from socmon.records import DeadLetter, Engagement, Post
from tests.ingest.connectors import fixture
from tests.ingest.connectors.test_bluesky import sources as bluesky_sources
from tests.ingest.connectors.test_facebook import IG_USER, PAGE, make_client
from tests.ingest.connectors.test_mastodon import sources as mastodon_sources
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


# -- Mastodon and Bluesky: a recorded item with any of its fields (or its author's) replaced ------

MASTODON_FIXTURES = Path(__file__).parent / "fixtures" / "mastodon"
BLUESKY_FIXTURES = Path(__file__).parent / "fixtures" / "bluesky"
# Mastodon.py hands over times as datetimes (or the text it could not read), so those too
TIME_OR_JSON = st.datetimes(timezones=st.just(UTC)) | JSON


def _recorded(path: Path, key: str | None = None) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    first = (data[key] if key else data)[0]
    assert isinstance(first, dict)
    return first


def _changed(base: dict[str, Any], top: dict[str, Any], nested: str, inner: dict[str, Any]):
    item = copy.deepcopy(base) | top
    if isinstance(item.get(nested), dict):
        item[nested] = item[nested] | inner
    return item


def _as_mastodon_py(item: dict[str, Any]) -> dict[str, Any]:
    """As Mastodon.py hands an item over: its times read as datetimes."""
    timed = {k: datetime.fromisoformat(v) for k, v in item.items() if k == "created_at"}
    nested = {k: _as_mastodon_py(v) for k, v in item.items() if isinstance(v, dict)}
    return item | timed | nested


MASTODON_STATUS = _as_mastodon_py(_recorded(MASTODON_FIXTURES / "statuses_newest.json"))
MASTODON_NOTE = _as_mastodon_py(_recorded(MASTODON_FIXTURES / "notifications_after_200.json"))
MASTODON = mastodon_sources()
STATUS_FIELDS = st.sampled_from(sorted(MASTODON_STATUS))
ACCOUNT_FIELDS = st.sampled_from(sorted(MASTODON_STATUS["account"]))


@FUZZ
@given(
    st.dictionaries(STATUS_FIELDS, TIME_OR_JSON, max_size=4),
    st.dictionaries(ACCOUNT_FIELDS, JSON, max_size=3),
    st.sampled_from(sorted(MASTODON)),
)
def test_any_mastodon_status_or_notification_is_a_post_or_a_dead_letter(
    top: dict[str, Any], account: dict[str, Any], name: str
) -> None:
    source = MASTODON[name]
    status = _changed(MASTODON_STATUS, top, "account", account)
    item = MASTODON_NOTE | {"status": status} if name.startswith("mastodon:mentions") else status
    ok(source._normalise(item, 0))


@FUZZ
@given(st.dictionaries(st.text(max_size=12), JSON, max_size=8), st.sampled_from(sorted(MASTODON)))
def test_any_mastodon_object_is_a_post_or_a_dead_letter(raw: dict[str, Any], name: str) -> None:
    ok(MASTODON[name]._normalise(raw, 0))


BLUESKY_POST = _recorded(BLUESKY_FIXTURES / "search_page1.json", "posts")
BLUESKY_NOTE = _recorded(BLUESKY_FIXTURES / "notifications_page1.json", "notifications")
BLUESKY = bluesky_sources()
BLUESKY_KINDS = {
    "bluesky:search:Northbrook Hospital": BLUESKY_POST,
    "bluesky:mentions:northbrooknhs.bsky.social": BLUESKY_NOTE,
}


@FUZZ
@given(
    st.sampled_from(sorted(BLUESKY_KINDS)),
    st.dictionaries(
        st.sampled_from(
            ["uri", "cid", "author", "record", "embed", "reason", "indexedAt", "labels"]
        ),
        JSON,
        max_size=3,
    ),
    st.dictionaries(
        st.sampled_from(["$type", "createdAt", "text", "langs", "embed", "reply", "facets"]),
        JSON,
        max_size=3,
    ),
)
def test_any_bluesky_view_is_a_post_or_a_dead_letter(
    name: str, top: dict[str, Any], record: dict[str, Any]
) -> None:
    source = BLUESKY[name]
    raw = _changed(BLUESKY_KINDS[name], top, "record", record)
    ok(source._normalise(source._read(0, raw), 0))


@FUZZ
@given(st.dictionaries(st.text(max_size=12), JSON, max_size=8), st.sampled_from(sorted(BLUESKY)))
def test_any_bluesky_object_is_a_post_or_a_dead_letter(raw: dict[str, Any], name: str) -> None:
    source = BLUESKY[name]
    ok(source._normalise(source._read(0, raw), 0))


def test_the_recorded_items_the_fuzzing_starts_from_are_posts() -> None:
    """So the changes above start from the good path, not from an item already refused."""
    posts = MASTODON["mastodon:posts:NorthbrookNHS@mastodon.test"]
    assert isinstance(posts._normalise(MASTODON_STATUS, 0), Post)
    mentions = MASTODON["mastodon:mentions:NorthbrookNHS@mastodon.test"]
    assert isinstance(mentions._normalise(MASTODON_NOTE, 0), Post)
    for name, raw in BLUESKY_KINDS.items():
        source = BLUESKY[name]
        assert isinstance(source._normalise(source._read(0, raw), 0), Post), name


# -- engagement: any value where a count belongs keeps the post ------------------------------------

# any JSON, and whole numbers around the edges of a count (negative, zero, too large)
COUNT = JSON | st.integers(min_value=-5, max_value=MAX_COUNT + 5) | st.just(MAX_COUNT + 1)
COUNTS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _count(value: Any) -> int | None:
    """What a count should become: itself when it is one, else None."""
    good = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT
    return value if good else None


def _counts(post: Post | DeadLetter | None) -> tuple[int | None, ...]:
    assert isinstance(post, Post), post
    engagement = post.engagement or Engagement()
    e = engagement
    return (e.likes, e.reposts, e.replies, e.quotes, e.views)


TWEETS = fixture("twitter", "mentions_new.json")
X_METRICS = ["like_count", "retweet_count", "reply_count", "quote_count", "impression_count"]


@COUNTS
@given(st.dictionaries(st.sampled_from(X_METRICS), COUNT, max_size=5))
def test_any_count_of_a_tweet_keeps_the_post(metrics: dict[str, Any]) -> None:
    raw = TWEETS["data"][0] | {"public_metrics": metrics}
    post = TWITTER._normalise(Tweet(raw, _Includes.of(TWEETS)), 0)
    assert _counts(post) == tuple(_count(metrics.get(name)) for name in X_METRICS)


MASTODON_COUNTS = ["favourites_count", "reblogs_count", "replies_count", "quotes_count"]


@COUNTS
@given(st.dictionaries(st.sampled_from(MASTODON_COUNTS), COUNT, max_size=4))
def test_any_count_of_a_mastodon_status_keeps_the_post(changes: dict[str, Any]) -> None:
    status = MASTODON_STATUS | changes
    post = MASTODON["mastodon:posts:NorthbrookNHS@mastodon.test"]._normalise(status, 0)
    assert _counts(post) == (*(_count(status.get(name)) for name in MASTODON_COUNTS), None)


BLUESKY_COUNTS = ["likeCount", "repostCount", "replyCount", "quoteCount"]


@COUNTS
@given(st.dictionaries(st.sampled_from([*BLUESKY_COUNTS, "bookmarkCount"]), COUNT, max_size=5))
def test_any_count_of_a_bluesky_post_keeps_the_post(changes: dict[str, Any]) -> None:
    source = BLUESKY["bluesky:search:Northbrook Hospital"]
    assert isinstance(source, BlueskySearch)
    raw = BLUESKY_POST | changes
    post = source._normalise(source._read(0, raw), 0)
    assert _counts(post) == (*(_count(raw.get(name)) for name in BLUESKY_COUNTS), None)


GRAPH_POST = fixture("facebook", "page_posts_page1.json")["data"][0]
GRAPH_EDGE = st.fixed_dictionaries({"summary": st.fixed_dictionaries({"total_count": COUNT})})


@COUNTS
@given(
    st.dictionaries(
        st.sampled_from(["reactions", "comments", "shares"]),
        GRAPH_EDGE | st.fixed_dictionaries({"count": COUNT}) | JSON,
        max_size=3,
    )
)
def test_any_count_of_a_page_post_keeps_the_post(changes: dict[str, Any]) -> None:
    raw = GRAPH_POST | changes
    item = GraphItem(raw, "official_post", created=datetime(2026, 11, 20, tzinfo=UTC))
    likes, _, replies, quotes, views = _counts(FACEBOOK._normalise(item, 0))
    assert (likes, replies) == (_total(raw.get("reactions")), _total(raw.get("comments")))
    assert (quotes, views) == (None, None)


def _total(edge: Any) -> int | None:
    summary = edge.get("summary") if isinstance(edge, dict) else None
    return _count(summary.get("total_count")) if isinstance(summary, dict) else None


INSTAGRAM = InstagramMedia(make_client(), "northbrookhospitals", IG_USER, "media")
IG_MEDIA = fixture("facebook", "ig_media.json")["data"][0]


@COUNTS
@given(st.dictionaries(st.sampled_from(["like_count", "comments_count"]), COUNT, max_size=2))
def test_any_count_of_instagram_media_keeps_the_post(changes: dict[str, Any]) -> None:
    raw = IG_MEDIA | changes
    item = GraphItem(raw, "official_post", created=datetime(2026, 11, 20, tzinfo=UTC))
    post = INSTAGRAM._normalise(item, 0)
    assert _counts(post) == (
        _count(raw.get("like_count")),
        None,
        _count(raw.get("comments_count")),
        None,
        None,
    )
