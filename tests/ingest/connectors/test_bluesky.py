"""Bluesky connectors: the real atproto client against recorded XRPC responses (respx).

The fixtures in ``tests/ingest/fixtures/bluesky`` are bodies in the documented shapes of
``com.atproto.server.createSession``, ``app.bsky.feed.searchPosts``, ``app.bsky.feed.getAuthorFeed``
and ``app.bsky.notification.listNotifications``; they are replayed byte for byte, so atproto's own
HTTP layer, session handling, error mapping and models run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from ingest.checkpoints import CheckpointStore
from ingest.connector import AccessDenied, Connector, Fetched, RateLimited, SourceUnavailable
from ingest.connectors.bluesky import (
    AuthorFeedSource,
    BlueskyEngagement,
    BlueskySession,
    NotificationsSource,
    RetryPolicy,
    SearchSource,
    build_sources,
    from_settings,
)
from ingest.connectors.common import RefreshSchedule
from ingest.runner import IngestRunner
from socmon.config.governance import OfficialAccount
from socmon.kafka import ensure_topics, make_producer
from socmon.metrics import Metrics
from socmon.records import DeadLetter, Engagement, Post, parse_record, utcnow
from socmon.settings import Settings
from tests.broker import read_topic

SERVICE = "https://pds.test"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "bluesky"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
OFFICIAL = "northbrooknhs.bsky.social"
MATERNITY = "northbrookmaternity.bsky.social"
QUERY = "Northbrook Hospital"
ACCOUNTS = [
    OfficialAccount(platform="bluesky", handle=OFFICIAL, team="Communications"),
    OfficialAccount(
        platform="bluesky",
        handle=MATERNITY,
        platform_id="did:plc:nbmaternity0000000000001",
        team="Maternity",
    ),
]
FLOOR = json.dumps({"floor": "2026-10-01T00:00:00+00:00"})

SEARCH_PAGES = {None: "search_page1.json", "c1": "search_page2.json", "c2": "search_page3.json"}


def xrpc(nsid: str) -> str:
    return f"{SERVICE}/xrpc/{nsid}"


def recorded(name: str, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    """A recorded body, replayed byte for byte (some hold escapes Python's encoder refuses)."""
    return httpx.Response(
        status,
        content=(FIXTURES / name).read_bytes(),
        headers={"content-type": "application/json; charset=utf-8", **(headers or {})},
    )


def paged(pages: dict[str | None, str]):
    """Serve the recorded page for the request's cursor (the dict may grow between polls)."""

    def reply(request: httpx.Request) -> httpx.Response:
        return recorded(pages[request.url.params.get("cursor")])

    return reply


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.post(xrpc("com.atproto.server.createSession")).mock(
            return_value=recorded("create_session.json")
        )
        yield router


def make_session(handle: str = OFFICIAL, attempts: int = 3) -> BlueskySession:
    retry = RetryPolicy(attempts=attempts, wait_initial=0, wait_max=0)
    return BlueskySession(SERVICE, handle, SecretStr(APP_PASSWORD), retry=retry)


def sources(
    max_pages: int = 10,
    page_size: int = 50,
    queries=(QUERY,),
    refresh: RefreshSchedule | None = None,
) -> dict[str, Connector]:
    built = build_sources(
        make_session(),
        ACCOUNTS,
        list(queries),
        page_size=page_size,
        max_pages=max_pages,
        refresh=refresh,
    )
    return {c.name: c for c in built}


def search(**kwargs) -> SearchSource:
    source = sources(**kwargs)[f"bluesky:search:{QUERY}"]
    assert isinstance(source, SearchSource)
    return source


def state(fetched: Fetched) -> dict[str, str]:
    """The checkpoint of a poll, decoded."""
    assert fetched.checkpoint is not None
    return json.loads(fetched.checkpoint)


def by_author(posts: list[Post]) -> dict[str, Post]:
    return {p.author: p for p in posts}


def test_one_connector_per_source_and_notifications_only_for_the_logged_in_account():
    built = sources()
    assert sorted(built) == [
        f"bluesky:mentions:{MATERNITY}",
        f"bluesky:mentions:{OFFICIAL}",
        f"bluesky:posts:{MATERNITY}",
        f"bluesky:posts:{OFFICIAL}",
        f"bluesky:search:{QUERY}",
    ]
    assert isinstance(built[f"bluesky:mentions:{OFFICIAL}"], NotificationsSource)
    assert isinstance(built[f"bluesky:mentions:{MATERNITY}"], SearchSource)
    assert isinstance(built[f"bluesky:posts:{MATERNITY}"], AuthorFeedSource)


def test_a_search_walks_every_page_down_to_its_checkpoint(api):
    route = api.get(xrpc("app.bsky.feed.searchPosts")).mock(side_effect=paged(SEARCH_PAGES))
    fetched = search().poll(FLOOR)

    sent = [call.request.url.params for call in route.calls]
    assert [p.get("cursor") for p in sent] == [None, "c1", "c2"]
    assert {(p["q"], p["sort"], p["since"]) for p in sent} == {
        (QUERY, "latest", "2026-10-01T00:00:00+00:00")
    }
    assert sorted(by_author(fetched.posts)) == [
        "ayesha.bsky.social",
        "carys.bsky.social",
        "jo.bsky.social",
        "kasia.bsky.social",
    ]
    assert len(fetched.rejects) == 4
    assert fetched.exhausted
    # The new floor is the newest indexedAt seen, so the next walk stops there.
    assert state(fetched) == {"floor": "2026-10-03T12:00:00+00:00"}


def test_posts_are_normalised_with_stable_ids_urls_media_and_languages(api):
    api.get(xrpc("app.bsky.feed.searchPosts")).mock(side_effect=paged(SEARCH_PAGES))
    posts = by_author(search().poll(FLOOR).posts)

    welsh = posts["carys.bsky.social"]
    uri = "at://did:plc:carys00000000000000000001/app.bsky.feed.post/3m2cyw7aa2k2a"
    assert welsh.key == f"bluesky:{uri}"
    assert welsh.url == "https://bsky.app/profile/carys.bsky.social/post/3m2cyw7aa2k2a"
    assert welsh.text.startswith("Diolch o galon i staff ward 7 Ysbyty Northbrook 💙")
    assert (welsh.kind, welsh.account, welsh.lang, welsh.source) == (
        "mention",
        OFFICIAL,
        "cy",
        f"bluesky:search:{QUERY}",
    )
    assert welsh.created_at == datetime(2026, 10, 3, 11, 59, 30, tzinfo=UTC)
    assert [(m.type, m.alt_text) for m in welsh.media] == [("photo", "Cerdyn diolch ar y ward")]
    assert welsh.media[0].url
    assert welsh.media[0].url.startswith("https://cdn.bsky.app/img/feed_full")

    polish = posts["kasia.bsky.social"]
    assert polish.kind == "reply"  # it answers a post of the logged-in official account
    assert polish.in_reply_to == (
        "at://did:plc:northbrooknhs000000000001/app.bsky.feed.post/3m2coff1cl2aa"
    )
    assert "zatłoczony" in polish.text
    assert polish.lang == "pl"

    urdu = posts["ayesha.bsky.social"]
    assert urdu.text.startswith("نارتھ بروک ہسپتال")
    assert [m.type for m in urdu.media] == ["video"]
    assert urdu.created_at == datetime(2026, 10, 3, 8, 0, tzinfo=UTC)

    emoji = posts["jo.bsky.social"]
    # The zero-width space is dropped (it hides "A&E" from keyword rules); the ZWJ of the
    # health-worker emoji is kept.
    assert emoji.text == "Huge thanks to the nurses at Northbrook A&E tonight 👩\u200d⚕️👨\u200d⚕️"


def test_the_official_accounts_own_posts_are_not_counted_as_mentions(api):
    api.get(xrpc("app.bsky.feed.searchPosts")).mock(side_effect=paged(SEARCH_PAGES))
    fetched = search().poll(FLOOR)
    assert all(p.author != OFFICIAL for p in fetched.posts)


def test_bad_items_are_dead_letters_with_the_raw_item_and_the_rest_of_the_page_is_kept(api):
    api.get(xrpc("app.bsky.feed.searchPosts")).mock(side_effect=paged(SEARCH_PAGES))
    rejects = {d.origin.rsplit("/", 1)[-1]: d for d in search().poll(FLOOR).rejects}

    assert sorted(rejects) == ["3m2crsurrog", "3m2cspoll", "3m2ctnoauthor", "3m2cwdeleted2"]
    assert "deleted" in rejects["3m2cwdeleted2"].reason
    assert "author" in rejects["3m2ctnoauthor"].reason
    assert "com.example.poll.question" in rejects["3m2cspoll"].reason
    assert "surrogate" in rejects["3m2crsurrog"].reason
    for letter in rejects.values():
        assert letter.stage == "ingest"
        assert letter.origin.startswith(f"bluesky:search:{QUERY}:at://")
        assert json.loads(letter.payload)["uri"].endswith(letter.origin.rsplit("/", 1)[-1])
        parse_record(DeadLetter, letter.to_bytes())  # every dead letter survives the wire
    assert json.loads(rejects["3m2crsurrog"].payload)["record"]["text"] == (
        "Northbrook A&E \ud83d waiting room right now"
    )


def test_with_no_checkpoint_a_source_takes_only_its_newest_page(api):
    route = api.get(xrpc("app.bsky.feed.searchPosts")).mock(side_effect=paged(SEARCH_PAGES))
    fetched = search().poll(None)
    assert len(route.calls) == 1
    assert "since" not in route.calls[0].request.url.params
    assert sorted(by_author(fetched.posts)) == ["carys.bsky.social", "kasia.bsky.social"]
    assert fetched.exhausted
    assert state(fetched) == {"floor": "2026-10-03T12:00:00+00:00"}


def test_an_unfinished_walk_resumes_from_its_cursor(api):
    route = api.get(xrpc("app.bsky.feed.searchPosts")).mock(side_effect=paged(SEARCH_PAGES))
    source = search(max_pages=1)
    first = source.poll(FLOOR)
    assert not first.exhausted
    assert state(first) == {
        "floor": "2026-10-01T00:00:00+00:00",
        "cursor": "c1",
        "top": "2026-10-03T12:00:00+00:00",
    }
    second = source.poll(first.checkpoint)
    third = source.poll(second.checkpoint)
    assert third.exhausted
    assert [c.request.url.params.get("cursor") for c in route.calls] == [None, "c1", "c2"]
    assert state(third) == {"floor": "2026-10-03T12:00:00+00:00"}
    assert sum(len(f.posts) for f in (first, second, third)) == 4


def test_an_empty_page_ends_the_walk(api):
    pages = {None: "search_page1.json", "c1": "search_empty.json"}
    route = api.get(xrpc("app.bsky.feed.searchPosts")).mock(side_effect=paged(pages))
    source = sources()[f"bluesky:mentions:{MATERNITY}"]
    fetched = source.poll(FLOOR)
    assert fetched.exhausted
    assert len(route.calls) == 2
    # An account the connector is not logged in as is found by searching for its mentions.
    assert route.calls[0].request.url.params["mentions"] == MATERNITY
    assert {p.account for p in fetched.posts} == {MATERNITY}


def test_notifications_of_the_logged_in_account_give_mentions_and_replies(api):
    pages = {
        None: "notifications_page1.json",
        "2026-10-03T12:00:00.000Z": "notifications_empty.json",
    }
    route = api.get(xrpc("app.bsky.notification.listNotifications")).mock(side_effect=paged(pages))
    fetched = sources()[f"bluesky:mentions:{OFFICIAL}"].poll(FLOOR)

    assert route.calls[0].request.url.params.get_list("reasons") == ["mention", "quote", "reply"]
    posts = by_author(fetched.posts)
    assert {a: p.kind for a, p in posts.items()} == {
        "carys.bsky.social": "mention",
        "kasia.bsky.social": "reply",
        "ayesha.bsky.social": "mention",  # a quote of an official post
    }
    reply = posts["kasia.bsky.social"]
    assert reply.in_reply_to
    assert reply.in_reply_to.endswith("/3m2coff1cl2aa")
    assert [(m.type, m.alt_text) for m in reply.media] == [("photo", "Kolejka w poczekalni")]
    assert posts["carys.bsky.social"].text.endswith("Pryd mae'r clinig brechu ffliw ar agor? 🤒")
    assert [r.reason for r in fetched.rejects] == ["notification reason 'like' was not asked for"]
    assert state(fetched) == {"floor": "2026-10-03T13:00:00+00:00"}


def test_the_author_feed_gives_official_posts_skips_reposts_and_keeps_replies_to_deleted_posts(
    api,
):
    pages = {None: "author_feed_page1.json", "f1": "author_feed_empty.json"}
    route = api.get(xrpc("app.bsky.feed.getAuthorFeed")).mock(side_effect=paged(pages))
    fetched = sources()[f"bluesky:posts:{OFFICIAL}"].poll(FLOOR)

    assert route.calls[0].request.url.params["actor"] == OFFICIAL
    assert route.calls[0].request.url.params["filter"] == "posts_with_replies"
    assert [p.post_id.rsplit("/", 1)[-1] for p in fetched.posts] == [
        "3m2coff1cl2aa",
        "3m2cmreply01",
    ]
    assert {(p.kind, p.author, p.account) for p in fetched.posts} == {
        ("official_post", OFFICIAL, OFFICIAL)
    }
    announcement, reply = fetched.posts
    assert [m.type for m in announcement.media] == ["photo"]
    assert announcement.lang == "en"
    assert reply.in_reply_to
    assert reply.in_reply_to.endswith("/3m2cdeleted1")  # the parent is gone; the reply is kept
    assert fetched.rejects == []
    assert fetched.exhausted


def test_the_posts_source_asks_for_the_registered_did_when_there_is_one(api):
    route = api.get(xrpc("app.bsky.feed.getAuthorFeed")).mock(
        return_value=recorded("author_feed_empty.json")
    )
    sources()[f"bluesky:posts:{MATERNITY}"].poll(None)
    assert route.calls[0].request.url.params["actor"] == "did:plc:nbmaternity0000000000001"


def test_a_spent_rate_limit_stops_paging_and_schedules_the_next_poll(api):
    reset = int(time.time()) + 300
    spent = {"ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset)}
    route = api.get(xrpc("app.bsky.feed.searchPosts")).mock(
        return_value=recorded("search_page1.json", headers=spent)
    )
    source = search()
    fetched = source.poll(FLOOR)
    assert len(route.calls) == 1
    assert fetched.retry_after is not None
    assert 280 < fetched.retry_after <= 300
    assert state(fetched)["cursor"] == "c1"  # the walk goes on later
    assert len(fetched.posts) == 2

    with pytest.raises(RateLimited) as waited:
        source.poll(fetched.checkpoint)
    assert len(route.calls) == 1  # not even tried: the budget is spent
    assert waited.value.retry_after > 280


def test_a_429_is_rate_limited_until_the_reset_header(api):
    reset = int(time.time()) + 120
    api.get(xrpc("app.bsky.feed.searchPosts")).mock(
        return_value=recorded(
            "error_rate_limited.json",
            status=429,
            headers={"ratelimit-remaining": "0", "ratelimit-reset": str(reset)},
        )
    )
    with pytest.raises(RateLimited) as limited:
        search().poll(FLOOR)
    assert 100 < limited.value.retry_after <= 120
    assert "app.bsky.feed.searchPosts" in str(limited.value)


def test_a_429_after_some_pages_keeps_them(api):
    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "c1":
            return recorded("error_rate_limited.json", 429, {"retry-after": "30"})
        return recorded("search_page1.json")

    api.get(xrpc("app.bsky.feed.searchPosts")).mock(side_effect=reply)
    fetched = search().poll(FLOOR)
    assert len(fetched.posts) == 2
    assert fetched.retry_after is not None
    assert 25 < fetched.retry_after <= 30
    assert state(fetched)["cursor"] == "c1"


def test_a_refused_login_is_access_denied_naming_the_endpoint_and_never_the_password(api):
    api.post(xrpc("com.atproto.server.createSession")).mock(
        return_value=recorded("error_invalid_login.json", status=401)
    )
    with pytest.raises(AccessDenied) as denied:
        search().poll(None)
    message = str(denied.value)
    assert "com.atproto.server.createSession" in message
    assert "Invalid identifier or password" in message
    assert "APP_PASSWORD" in message
    assert APP_PASSWORD not in message


def test_a_401_on_an_endpoint_is_access_denied_naming_it(api):
    api.get(xrpc("app.bsky.feed.getAuthorFeed")).mock(
        return_value=recorded("error_bad_token.json", status=401)
    )
    with pytest.raises(AccessDenied, match=r"app\.bsky\.feed\.getAuthorFeed"):
        sources()[f"bluesky:posts:{OFFICIAL}"].poll(None)


def test_a_5xx_is_retried_and_the_poll_succeeds(api):
    route = api.get(xrpc("app.bsky.feed.searchPosts")).mock(
        side_effect=[
            recorded("error_upstream.json", status=500),
            recorded("error_upstream.json", status=502),
            recorded("search_page1.json"),
        ]
    )
    fetched = search().poll(None)
    assert len(route.calls) == 3
    assert len(fetched.posts) == 2


def test_a_lasting_5xx_is_source_unavailable_after_bounded_retries(api):
    route = api.get(xrpc("app.bsky.feed.searchPosts")).mock(
        return_value=recorded("error_upstream.json", status=503)
    )
    with pytest.raises(SourceUnavailable, match="after 3 attempts"):
        search().poll(None)
    assert len(route.calls) == 3


def test_a_timeout_is_source_unavailable_after_bounded_retries(api):
    route = api.get(xrpc("app.bsky.feed.searchPosts")).mock(
        side_effect=httpx.ReadTimeout("timed out")
    )
    with pytest.raises(SourceUnavailable, match=r"app\.bsky\.feed\.searchPosts"):
        search().poll(None)
    assert len(route.calls) == 3


def test_check_says_which_endpoints_the_credentials_allow(api):
    api.get(xrpc("app.bsky.feed.searchPosts")).mock(return_value=recorded("search_page1.json"))
    api.get(xrpc("app.bsky.feed.getAuthorFeed")).mock(
        return_value=recorded("error_bad_token.json", status=403)
    )
    built = sources()
    ok = built[f"bluesky:search:{QUERY}"].check()
    assert ok.ok
    assert ok.endpoints == {
        "com.atproto.server.createSession": True,
        "app.bsky.feed.searchPosts": True,
    }
    refused = built[f"bluesky:posts:{OFFICIAL}"].check()
    assert not refused.ok
    assert refused.endpoints["app.bsky.feed.getAuthorFeed"] is False
    assert APP_PASSWORD not in refused.detail


def test_check_reports_a_refused_login(api):
    api.post(xrpc("com.atproto.server.createSession")).mock(
        return_value=recorded("error_invalid_login.json", status=401)
    )
    result = search().check()
    assert not result.ok
    assert result.endpoints == {"com.atproto.server.createSession": False}
    assert APP_PASSWORD not in result.detail


def settings_with(**bluesky) -> Settings:
    return Settings(
        connectors={"bluesky": bluesky},
        accounts=[a.model_dump() for a in ACCOUNTS],
    )


def test_from_settings_builds_nothing_when_disabled_or_without_credentials():
    assert from_settings(settings_with(enabled=False, handle=OFFICIAL, app_password="x")) == []
    assert from_settings(settings_with(enabled=True, handle=OFFICIAL)) == []
    assert from_settings(settings_with(enabled=True, app_password="x")) == []


def test_from_settings_builds_a_connector_per_source():
    built = from_settings(
        settings_with(
            enabled=True, handle=OFFICIAL, app_password=APP_PASSWORD, search_queries=[QUERY]
        )
    )
    assert len({c.name for c in built}) == len(built) == 6
    assert f"bluesky:search:{QUERY}" in {c.name for c in built}
    assert built[-1].name == "bluesky:engagement"


# --- engagement ---------------------------------------------------------------------------------

REFRESH_TIME = datetime(2026, 10, 4, 12, 0, tzinfo=UTC)  # the day after the fixtures' posts


def counts(engagement: Engagement | None) -> tuple[int | None, ...]:
    """(likes, reposts, replies, quotes, views)."""
    assert engagement is not None
    e = engagement
    return (e.likes, e.reposts, e.replies, e.quotes, e.views)


def test_post_view_counts_land_in_the_post_and_bluesky_counts_no_views(api):
    pages = {None: "author_feed_page1.json", "f1": "author_feed_empty.json"}
    api.get(xrpc("app.bsky.feed.getAuthorFeed")).mock(side_effect=paged(pages))
    before = utcnow()
    announcement, reply = sources()[f"bluesky:posts:{OFFICIAL}"].poll(FLOOR).posts
    assert counts(announcement.engagement) == (30, 12, 4, 1, None)
    assert announcement.engagement is not None
    assert before <= announcement.engagement.read_at <= utcnow()
    assert reply.engagement is None  # its view came without counts


def test_a_malformed_count_loses_that_count_and_not_the_post(api):
    body = json.loads((FIXTURES / "search_page1.json").read_bytes())
    body["posts"][0] |= {"likeCount": "11", "repostCount": -2, "bookmarkCount": 1.5}
    api.get(xrpc("app.bsky.feed.searchPosts")).mock(return_value=httpx.Response(200, json=body))
    fetched = search().poll(None)
    carys = by_author(fetched.posts)["carys.bsky.social"]
    assert counts(carys.engagement) == (None, None, 0, 0, None)
    assert [r.origin for r in fetched.rejects if "carys" in r.origin] == []


def test_notifications_carry_no_counts(api):
    pages = {
        None: "notifications_page1.json",
        "2026-10-03T12:00:00.000Z": "notifications_empty.json",
    }
    api.get(xrpc("app.bsky.notification.listNotifications")).mock(side_effect=paged(pages))
    fetched = sources()[f"bluesky:mentions:{OFFICIAL}"].poll(FLOOR)
    assert fetched.posts
    assert {p.engagement for p in fetched.posts} == {None}


class Clock:
    """A settable "now" for the refresh schedule."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def refresh_of(built: dict[str, Connector], clock: Clock) -> BlueskyEngagement:
    refresh = built["bluesky:engagement"]
    assert isinstance(refresh, BlueskyEngagement)
    refresh.clock = clock
    return refresh


def test_the_refresh_returns_the_official_posts_of_the_window_when_due_and_not_before(api):
    feed = api.get(xrpc("app.bsky.feed.getAuthorFeed")).mock(
        return_value=recorded("author_feed_refresh.json")
    )
    clock = Clock(REFRESH_TIME)
    refresh = refresh_of(sources(refresh=RefreshSchedule()), clock)
    assert refresh.timelines == [f"bluesky:posts:{OFFICIAL}", f"bluesky:posts:{MATERNITY}"]

    first = refresh.poll(None)
    # Per account: one page. Its repost (of an old post, reposted within the window) is skipped;
    # its last post is older than the 48 hours, so the next page ("f2") is not read.
    assert [c.request.url.params["actor"] for c in feed.calls] == [
        OFFICIAL,
        "did:plc:nbmaternity0000000000001",
    ]
    assert all("cursor" not in c.request.url.params for c in feed.calls)
    assert [p.post_id.rsplit("/", 1)[-1] for p in first.posts] == ["3m2coff1cl2aa"] * 2
    post = first.posts[0]
    assert (post.kind, post.source) == ("official_post", f"bluesky:posts:{OFFICIAL}")
    assert counts(post.engagement) == (88, 40, 9, 3, None)  # was read with 30 likes

    clock.now += timedelta(minutes=10)
    early = refresh.poll(first.checkpoint)
    assert (early.posts, early.checkpoint) == ([], first.checkpoint)
    assert len(feed.calls) == 2

    clock.now += timedelta(minutes=5)
    assert len(refresh.poll(early.checkpoint).posts) == 2
    assert len(feed.calls) == 4


def test_the_refresh_window_is_the_configured_one(api):
    api.get(xrpc("app.bsky.feed.getAuthorFeed")).mock(
        return_value=recorded("author_feed_refresh.json")
    )
    # 20 hours back from 2026-10-04T12:00 is after the announcement (2026-10-03T09:00)
    schedule = RefreshSchedule(window=timedelta(hours=20))
    refresh = refresh_of(sources(refresh=schedule), Clock(REFRESH_TIME))
    assert refresh.poll(None).posts == []


def test_a_high_engagement_search_hit_is_refreshed_by_uri(api):
    api.get(xrpc("app.bsky.feed.searchPosts")).mock(return_value=recorded("search_hot.json"))
    api.get(xrpc("app.bsky.feed.getAuthorFeed")).mock(
        return_value=recorded("author_feed_empty.json")
    )
    lookup = api.get(xrpc("app.bsky.feed.getPosts")).mock(return_value=recorded("get_posts.json"))
    built = sources(refresh=RefreshSchedule())
    refresh = refresh_of(built, Clock(REFRESH_TIME))
    [hit] = built[f"bluesky:search:{QUERY}"].poll(None).posts
    assert counts(hit.engagement)[:2] == (240, 61)

    fetched = refresh.poll(None)
    assert lookup.calls[0].request.url.params.get_list("uris") == [hit.post_id]
    [post] = fetched.posts
    assert (post.key, post.kind, post.source) == (hit.key, "mention", f"bluesky:search:{QUERY}")
    assert counts(post.engagement) == (410, 97, 52, 12, None)


def test_a_restart_produces_exactly_the_new_posts(api, kafka_settings, tmp_path):
    ensure_topics(kafka_settings)
    pages = dict(SEARCH_PAGES)
    api.get(xrpc("app.bsky.feed.searchPosts")).mock(side_effect=paged(pages))
    checkpoints = tmp_path / "checkpoints.json"

    def run() -> tuple[int, int]:
        runner = IngestRunner(
            [search()],
            make_producer(kafka_settings.bootstrap_servers),
            kafka_settings.topics,
            CheckpointStore(checkpoints),
            Metrics.create(CollectorRegistry()),
        )
        try:
            summary = runner.run_until_exhausted()
        finally:
            runner.close()
        assert summary.errors == {}
        return summary.produced, summary.rejected

    assert run() == (2, 1)  # the newest page: two posts and the deleted one
    assert run() == (0, 0)  # nothing new
    # New posts arrive: two pages of them, the second ending at posts already produced.
    pages.update({None: "search_new_page1.json", "n1": "search_new_page2.json"})
    assert run() == (3, 0)

    raw = read_topic(kafka_settings.bootstrap_servers, kafka_settings.topics.posts_raw, 6, 8)
    keys = [r.key.decode() for r in raw]
    assert len(keys) == 5, "no post may be produced twice"
    produced = sorted(parse_record(Post, r.value).post_id.rsplit("/", 1)[-1] for r in raw)
    assert produced == [
        "3m2cxq4bb3k2b",
        "3m2cyw7aa2k2a",
        "3m2dnew0001",
        "3m2dnew0002",
        "3m2dnew0003",
    ]
    assert all(k == parse_record(Post, r.value).key for k, r in zip(keys, raw, strict=True))
    stored = json.loads(checkpoints.read_text())
    assert stored == {f"bluesky:search:{QUERY}": json.dumps({"floor": "2026-10-03T14:00:01+00:00"})}
