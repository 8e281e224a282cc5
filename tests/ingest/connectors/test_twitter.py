"""X/Twitter connectors: tweepy against recorded API v2 responses (paging, kinds, dead letters,
rate limits, access errors, retries, engagement counts and their refresh), and a restart on the
real broker."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
from prometheus_client import CollectorRegistry
from responses import matchers

from ingest.checkpoints import CheckpointStore
from ingest.connector import AccessDenied, RateLimited, SourceUnavailable
from ingest.connectors.common import HotMentions, RefreshSchedule
from ingest.connectors.twitter import (
    Tweet,
    TwitterApi,
    TwitterEngagement,
    TwitterMentions,
    TwitterOwnPosts,
    TwitterSearch,
    _Includes,
    tweet_engagement,
    twitter_sources,
)
from ingest.runner import IngestRunner
from socmon.config.connectors import TwitterSettings
from socmon.kafka import ensure_topics, make_producer
from socmon.metrics import Metrics
from socmon.records import Engagement, Post, parse_record, utcnow
from tests.broker import read_topic
from tests.ingest.connectors import fixture, lacks

API = "https://api.twitter.com/2"
OFFICIAL_ID = "1354209856418488320"
MENTIONS_URL = f"{API}/users/{OFFICIAL_ID}/mentions"
TOKEN = "AAAAAAAAAAAAAAAAAAAAAtest-bearer-token-never-printed"
NOW = 1_795_000_000.0  # a fixed "now" for the rate-limit arithmetic


def make_api(calls: list[tuple[str, str]] | None = None, **overrides) -> TwitterApi:
    settings = TwitterSettings(
        enabled=True, bearer_token=TOKEN, retry_backoff_seconds=0, max_retries=2, **overrides
    )
    recorder = (
        (lambda source, status: calls.append((source, status))) if calls is not None else None
    )
    return TwitterApi(settings, recorder, sleep=lambda _: None, clock=lambda: NOW)


def add_mentions(rsps: responses.RequestsMock, headers: dict[str, str] | None = None) -> None:
    rsps.get(
        MENTIONS_URL,
        json=fixture("twitter", "mentions_page1.json"),
        headers=headers,
        match=[lacks("pagination_token"), lacks("since_id")],
    )
    rsps.get(
        MENTIONS_URL,
        json=fixture("twitter", "mentions_page2.json"),
        headers=headers,
        match=[
            matchers.query_param_matcher(
                {"pagination_token": "7140dibdnow9c7btw4839b2l0x2hslwd5kuqcxq4nflz3"},
                strict_match=False,
            )
        ],
    )


@responses.activate
def test_mentions_are_read_through_every_page_with_authors_media_and_kinds():
    add_mentions(responses.mock)
    fetched = TwitterMentions(make_api(), "NorthbrookNHS", OFFICIAL_ID).poll(None)

    by_id = {p.post_id: p for p in fetched.posts}
    assert list(by_id) == [
        "1859954077416198400",
        "1859940000000000002",
        "1859920000000000003",
        "1859910000000000004",
    ]
    thanks = by_id["1859954077416198400"]
    assert thanks.text.endswith("last night 💙👶🏽 #NHS")
    assert (thanks.author, thanks.kind, thanks.account) == ("jo_bloggs", "mention", "NorthbrookNHS")
    assert thanks.media[0].type == "photo"
    assert thanks.media[0].alt_text == "A newborn in a hospital cot"
    assert thanks.url == "https://x.com/jo_bloggs/status/1859954077416198400"
    assert thanks.source == "twitter:mentions:NorthbrookNHS"
    assert thanks.created_at.isoformat() == "2026-11-20T22:41:07+00:00"
    reply = by_id["1859940000000000002"]
    assert (reply.kind, reply.in_reply_to) == ("reply", "1859900000000000000")
    assert (by_id["1859920000000000003"].lang, by_id["1859920000000000003"].kind) == (
        "cy",
        "mention",
    )
    assert by_id["1859920000000000003"].text.startswith("@NorthbrookNHS Diolch o galon")
    assert "Dziękuję" in by_id["1859910000000000004"].text

    reasons = {r.origin: r.reason for r in fetched.rejects}
    assert reasons == {
        "twitter:mentions:NorthbrookNHS tweet 1859950000000000001": (
            "withheld in GB after a legal demand"
        ),
        "twitter:mentions:NorthbrookNHS tweet 1859905000000000005": (
            "missing field: author (user 555000555 not in includes.users)"
        ),
        "twitter:mentions:NorthbrookNHS tweet 1859000000000000099": (
            "not available: Not Found Error: Could not find tweet with referenced_tweets.id: "
            "[1859000000000000099]."
        ),
    }
    withheld = next(r for r in fetched.rejects if "withheld" in r.reason)
    assert '"country_codes": ["GB"]' in withheld.payload  # the raw item, as received
    assert fetched.checkpoint == "1859954077416198400"  # the newest id seen, rejects included
    assert fetched.retry_after is None

    first_url = str(responses.calls[0].request.url)
    assert "start_time=" in first_url  # the first poll reads a bounded look-back only
    for needed in ("author_id", "attachments.media_keys", "referenced_tweets.id"):
        assert needed in requests.utils.unquote(first_url)
    assert "public_metrics" in requests.utils.unquote(first_url)
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


@responses.activate
def test_a_later_poll_asks_since_the_checkpoint_and_an_empty_page_keeps_it():
    responses.get(
        MENTIONS_URL,
        json=fixture("twitter", "empty.json"),
        match=[
            matchers.query_param_matcher({"since_id": "1859954077416198400"}, strict_match=False)
        ],
    )
    fetched = TwitterMentions(make_api(), "NorthbrookNHS", OFFICIAL_ID).poll("1859954077416198400")
    assert (fetched.posts, fetched.rejects) == ([], [])
    assert fetched.checkpoint == "1859954077416198400"
    assert "start_time" not in str(responses.calls[0].request.url)


@responses.activate
def test_the_user_id_is_looked_up_once_by_username_and_shared_by_the_sources():
    responses.get(
        f"{API}/users/by/username/NorthbrookNHS", json=fixture("twitter", "user_NorthbrookNHS.json")
    )
    responses.get(MENTIONS_URL, json=fixture("twitter", "empty.json"))
    responses.get(f"{API}/users/{OFFICIAL_ID}/tweets", json=fixture("twitter", "own_posts.json"))
    api = make_api()
    TwitterMentions(api, "NorthbrookNHS").poll(None)
    TwitterMentions(api, "NorthbrookNHS").poll("1")
    own = TwitterOwnPosts(api, "@NorthbrookNHS").poll(None)
    lookups = [c for c in responses.calls if "/users/by/username/" in str(c.request.url)]
    assert len(lookups) == 1
    post = own.posts[0]
    assert (post.kind, post.account, post.author) == (
        "official_post",
        "NorthbrookNHS",
        "NorthbrookNHS",
    )
    assert post.media[0].type == "video"
    assert str(post.media[0].url).endswith("/img/a.jpg")
    assert own.checkpoint == "1859900000000000000"


@responses.activate
def test_search_follows_next_token_and_names_the_official_account_mentioned():
    url = f"{API}/tweets/search/recent"
    responses.get(url, json=fixture("twitter", "search_page1.json"), match=[lacks("next_token")])
    responses.get(
        url,
        json=fixture("twitter", "search_page2.json"),
        match=[
            matchers.query_param_matcher(
                {
                    "next_token": "b26v89c19zqg8o3fr5ly5z9stdbuh4ea87q6dhb5pm9a5",
                    "query": '"St Aidan\'s Hospital"',
                },
                strict_match=False,
            )
        ],
    )
    search = TwitterSearch(
        make_api(), '"St Aidan\'s Hospital"', ["NorthbrookNHS", "NorthbrookMaternity"]
    )
    fetched = search.poll(None)
    assert search.name == 'twitter:search:"St Aidan\'s Hospital"'
    assert [(p.post_id, p.kind, p.account) for p in fetched.posts] == [
        ("1859960000000000020", "mention", "NorthbrookNHS"),
        ("1859930000000000021", "mention", "NorthbrookMaternity"),
    ]
    assert fetched.checkpoint == "1859960000000000020"


@responses.activate
def test_a_429_raises_rate_limited_until_the_reset_in_the_headers():
    responses.get(
        MENTIONS_URL,
        status=429,
        json=fixture("twitter", "error_429.json"),
        headers={
            "x-rate-limit-limit": "450",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(NOW) + 420),
        },
    )
    calls: list[tuple[str, str]] = []
    with pytest.raises(RateLimited) as raised:
        TwitterMentions(make_api(calls), "NorthbrookNHS", OFFICIAL_ID).poll(None)
    assert raised.value.retry_after == 420
    assert len(responses.calls) == 1  # a rate limit is never retried on the spot
    assert calls == [("twitter:mentions:NorthbrookNHS", "429")]


@responses.activate
def test_a_used_up_limit_with_pages_left_raises_before_asking_for_the_next_page():
    add_mentions(
        responses.mock,
        headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW) + 60)},
    )
    with pytest.raises(RateLimited) as raised:
        TwitterMentions(make_api(), "NorthbrookNHS", OFFICIAL_ID).poll(None)
    assert raised.value.retry_after == 60
    assert len(responses.calls) == 1


@responses.activate
def test_a_used_up_limit_on_the_last_page_keeps_the_items_and_asks_to_wait():
    responses.get(
        MENTIONS_URL,
        json=fixture("twitter", "mentions_new.json"),
        headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW) + 300)},
    )
    fetched = TwitterMentions(make_api(), "NorthbrookNHS", OFFICIAL_ID).poll("1859954077416198400")
    assert len(fetched.posts) == 2
    assert fetched.retry_after == 300
    assert fetched.checkpoint == "1860100000000000011"


@responses.activate
def test_a_401_is_access_denied_naming_the_endpoint_and_the_variable_never_the_token():
    responses.get(MENTIONS_URL, status=401, json=fixture("twitter", "error_401.json"))
    with pytest.raises(AccessDenied) as raised:
        TwitterMentions(make_api(), "NorthbrookNHS", OFFICIAL_ID).poll(None)
    message = str(raised.value)
    assert message.startswith("GET /2/users/:id/mentions: the bearer token was refused (401")
    assert "SOCMON_CONNECTORS__TWITTER__BEARER_TOKEN" in message
    assert TOKEN not in message
    assert len(responses.calls) == 1


@pytest.mark.parametrize("body", ["error_403_453.json", "error_403_client_not_enrolled.json"])
@responses.activate
def test_a_403_names_the_endpoint_and_the_access_level_to_change(body):
    responses.get(f"{API}/tweets/search/recent", status=403, json=fixture("twitter", body))
    with pytest.raises(AccessDenied) as raised:
        TwitterSearch(make_api(), "Northbrook", ["NorthbrookNHS"]).poll(None)
    message = str(raised.value)
    assert message.startswith(
        "GET /2/tweets/search/recent needs Basic access or higher; your app's access level "
        "does not allow it"
    )
    assert "upgrade the project in the X developer portal" in message
    assert ("code 453" in message) or ("attached to a Project" in message)


@responses.activate
def test_server_errors_are_retried_a_bounded_number_of_times_then_the_source_is_unavailable():
    for _ in range(3):
        responses.get(MENTIONS_URL, status=503, json=fixture("twitter", "error_503.json"))
    calls: list[tuple[str, str]] = []
    with pytest.raises(SourceUnavailable) as raised:
        TwitterMentions(make_api(calls), "NorthbrookNHS", OFFICIAL_ID).poll(None)
    assert len(responses.calls) == 3  # max_retries=2: one try and two retries, no more
    assert [status for _, status in calls] == ["503", "503", "503"]
    assert "503 after 3 attempts" in str(raised.value)


@responses.activate
def test_a_time_out_then_an_answer_recovers_within_the_same_poll():
    responses.get(MENTIONS_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    responses.get(MENTIONS_URL, json=fixture("twitter", "mentions_new.json"))
    calls: list[tuple[str, str]] = []
    fetched = TwitterMentions(make_api(calls), "NorthbrookNHS", OFFICIAL_ID).poll("1")
    assert [p.post_id for p in fetched.posts] == ["1860100000000000011", "1860050000000000010"]
    assert [status for _, status in calls] == ["timeout", "200"]


@responses.activate
def test_time_outs_that_outlast_the_retries_make_the_source_unavailable():
    for _ in range(3):
        responses.get(MENTIONS_URL, body=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(SourceUnavailable, match="did not answer after 3 attempts"):
        TwitterMentions(make_api(), "NorthbrookNHS", OFFICIAL_ID).poll(None)


@responses.activate
def test_check_says_which_endpoints_the_access_level_allows():
    responses.get(MENTIONS_URL, json=fixture("twitter", "empty.json"))
    responses.get(
        f"{API}/tweets/search/recent", status=403, json=fixture("twitter", "error_403_453.json")
    )
    api = make_api()
    allowed = TwitterMentions(api, "NorthbrookNHS", OFFICIAL_ID).check()
    refused = TwitterSearch(api, "Northbrook", ["NorthbrookNHS"]).check()
    assert (allowed.ok, allowed.endpoints) == (True, {"GET /2/users/:id/mentions": True})
    assert (refused.ok, refused.endpoints) == (False, {"GET /2/tweets/search/recent": False})
    assert "Basic access or higher" in refused.detail


# --- engagement ---------------------------------------------------------------------------------

OWN_POSTS_URL = f"{API}/users/{OFFICIAL_ID}/tweets"
REFRESH_TIME = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # the day after the fixtures' posts


def counts(engagement: Engagement | None) -> tuple[int | None, ...]:
    """(likes, reposts, replies, quotes, views)."""
    assert engagement is not None
    e = engagement
    return (e.likes, e.reposts, e.replies, e.quotes, e.views)


class Clock:
    """A settable "now" for the refresh schedule."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@responses.activate
def test_public_metrics_land_in_the_post_with_impressions_as_views():
    add_mentions(responses.mock)
    before = utcnow()
    fetched = TwitterMentions(make_api(), "NorthbrookNHS", OFFICIAL_ID).poll(None)
    thanks = next(p for p in fetched.posts if p.post_id == "1859954077416198400")
    assert counts(thanks.engagement) == (42, 3, 1, 0, 1804)
    assert thanks.engagement is not None
    assert before <= thanks.engagement.read_at <= utcnow()


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        # a count X does not give (impressions of a post from before late 2022) is None, not 0
        ({"like_count": 7, "retweet_count": 2, "reply_count": 0}, (7, 2, 0, None, None)),
        # malformed counts lose themselves only
        (
            {
                "like_count": -3,
                "retweet_count": "12",
                "reply_count": 2.5,
                "quote_count": True,
                "impression_count": 40,
            },
            (None, None, None, None, 40),
        ),
    ],
)
def test_a_missing_or_malformed_count_is_none_and_the_post_is_kept(metrics, expected):
    body = fixture("twitter", "mentions_new.json")
    raw = body["data"][0] | {"public_metrics": metrics}
    source = TwitterMentions(make_api(), "NorthbrookNHS", OFFICIAL_ID)
    post = source._normalise(Tweet(raw, _Includes.of(body)), 0)
    assert isinstance(post, Post)
    assert counts(post.engagement) == expected


def test_a_tweet_without_public_metrics_has_no_engagement():
    assert tweet_engagement({"id": "1", "text": "hi"}) is None
    assert tweet_engagement({"id": "1", "public_metrics": "many"}) is None


def refresh_sources(
    clock: Clock, tier: str = "pay_per_use", schedule: RefreshSchedule | None = None
) -> tuple[TwitterMentions, TwitterEngagement]:
    api = make_api(tier=tier)
    hot = HotMentions()
    mentions = TwitterMentions(api, "NorthbrookNHS", OFFICIAL_ID)
    mentions.hot_mentions = hot
    own = [TwitterOwnPosts(api, "NorthbrookNHS", OFFICIAL_ID)]
    refresh = TwitterEngagement(
        api, own, [mentions], schedule or RefreshSchedule(), hot, clock=clock
    )
    return mentions, refresh


@responses.activate
def test_the_refresh_returns_the_official_posts_again_when_due_and_nothing_before():
    route = responses.get(OWN_POSTS_URL, json=fixture("twitter", "own_posts_refresh.json"))
    clock = Clock(REFRESH_TIME)
    _, refresh = refresh_sources(clock)
    assert refresh.name == "twitter:engagement"

    first = refresh.poll(None)  # never refreshed: due at once
    assert first.exhausted
    assert [(p.key, p.kind, p.source) for p in first.posts] == [
        ("twitter:1859980000000000000", "official_post", "twitter:posts:NorthbrookNHS"),
        ("twitter:1859900000000000000", "official_post", "twitter:posts:NorthbrookNHS"),
    ]
    # own_posts.json, read by the posts source, had 31 likes; the refresh reads 58
    assert counts(first.posts[1].engagement) == (58, 21, 30, 3, 20511)
    assert json.loads(str(first.checkpoint))["refreshed_at"] == REFRESH_TIME.isoformat()

    clock.now += timedelta(minutes=5)
    early = refresh.poll(first.checkpoint)
    assert (early.posts, early.rejects, early.checkpoint) == ([], [], first.checkpoint)
    assert len(route.calls) == 1  # not due: no request at all

    clock.now += timedelta(minutes=11)  # 16 minutes after the last refresh: due
    again = refresh.poll(early.checkpoint)
    assert [p.key for p in again.posts] == [p.key for p in first.posts]
    assert len(route.calls) == 2
    assert json.loads(str(again.checkpoint))["refreshed_at"] == clock.now.isoformat()


@pytest.mark.parametrize(
    ("hours", "start"), [(48.0, "2026-11-20T09:00:00Z"), (6.0, "2026-11-22T03:00:00Z")]
)
@responses.activate
def test_the_refresh_reads_the_window_only(hours, start):
    responses.get(OWN_POSTS_URL, json=fixture("twitter", "empty.json"))
    schedule = RefreshSchedule(window=timedelta(hours=hours))
    _, refresh = refresh_sources(Clock(REFRESH_TIME), schedule=schedule)
    assert refresh.poll(None).posts == []
    sent = requests.utils.unquote(str(responses.calls[0].request.url))
    assert f"start_time={start}" in sent
    assert "since_id" not in sent
    assert "public_metrics" in sent


@pytest.mark.parametrize(("tier", "looked_up"), [("pay_per_use", False), ("basic", True)])
@responses.activate
def test_high_engagement_mentions_are_refreshed_by_id_unless_every_read_is_billed(tier, looked_up):
    responses.get(MENTIONS_URL, json=fixture("twitter", "mentions_hot.json"))
    responses.get(OWN_POSTS_URL, json=fixture("twitter", "empty.json"))
    lookup = responses.get(f"{API}/tweets", json=fixture("twitter", "tweets_lookup.json"))
    mentions, refresh = refresh_sources(Clock(REFRESH_TIME), tier=tier)
    read = mentions.poll("1860100000000000011")
    assert counts(read.posts[0].engagement)[:2] == (312, 75)  # 312 likes: a hot mention

    fetched = refresh.poll(None)
    assert json.loads(str(fetched.checkpoint))["hot"] == [
        ["1860200000000000020", "twitter:mentions:NorthbrookNHS", "2026-11-21T20:05:00+00:00"]
    ]
    if not looked_up:
        assert (lookup.call_count, fetched.posts) == (0, [])
        return
    assert "ids=1860200000000000020" in str(lookup.calls[0].request.url)
    [post] = fetched.posts
    assert (post.key, post.kind, post.account, post.source) == (
        "twitter:1860200000000000020",
        "mention",
        "NorthbrookNHS",
        "twitter:mentions:NorthbrookNHS",
    )
    assert counts(post.engagement) == (530, 120, 70, 15, 98400)


def test_twitter_sources_add_the_refresh_sharing_the_mentions_noted_by_mentions_and_searches():
    settings = TwitterSettings(enabled=True, bearer_token=TOKEN, search_queries=["Northbrook"])
    schedule = RefreshSchedule(every=timedelta(minutes=5), window=timedelta(hours=6))
    built = twitter_sources(settings, [("NorthbrookNHS", OFFICIAL_ID)], refresh=schedule)
    assert [c.name for c in built] == [
        "twitter:mentions:NorthbrookNHS",
        "twitter:posts:NorthbrookNHS",
        "twitter:search:Northbrook",
        "twitter:engagement",
    ]
    mentions, own, search, refresh = built
    assert isinstance(refresh, TwitterEngagement)
    assert refresh.schedule == schedule
    assert refresh.timelines == ["twitter:posts:NorthbrookNHS"]
    assert isinstance(mentions, TwitterMentions)
    assert isinstance(search, TwitterSearch)
    assert mentions.hot_mentions is search.hot_mentions is refresh.hot_mentions is not None
    assert isinstance(own, TwitterOwnPosts)
    assert own.hot_mentions is None


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def run_once_and_stop(kafka_settings, checkpoint_file, registry: CollectorRegistry) -> None:
    """Start `run_forever` on the mentions source, stop it after its first successful poll."""
    metrics = Metrics.create(registry)
    runner = IngestRunner(
        [TwitterMentions(make_api(), "NorthbrookNHS", OFFICIAL_ID)],
        make_producer(kafka_settings.bootstrap_servers),
        kafka_settings.topics,
        CheckpointStore(checkpoint_file),
        metrics,
    )
    stop = threading.Event()
    thread = threading.Thread(target=runner.run_forever, args=(stop, 30.0))
    thread.start()
    wait_until(
        lambda: registry.get_sample_value(
            "socmon_connector_last_success_timestamp_seconds",
            {"source": "twitter:mentions:NorthbrookNHS"},
        )
    )
    stop.set()
    thread.join(10)
    runner.close()


def test_a_restart_produces_exactly_the_new_tweets(kafka_settings, tmp_path):
    ensure_topics(kafka_settings)
    checkpoint_file = tmp_path / "checkpoints.json"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_mentions(rsps)
        run_once_and_stop(kafka_settings, checkpoint_file, CollectorRegistry())
    assert (
        CheckpointStore(checkpoint_file).get("twitter:mentions:NorthbrookNHS")
        == "1859954077416198400"
    )

    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        # The recorded API now has two new mentions, served only to a request since the checkpoint.
        rsps.get(
            MENTIONS_URL,
            json=fixture("twitter", "mentions_new.json"),
            match=[
                matchers.query_param_matcher(
                    {"since_id": "1859954077416198400"}, strict_match=False
                )
            ],
        )
        run_once_and_stop(kafka_settings, checkpoint_file, CollectorRegistry())
    assert (
        CheckpointStore(checkpoint_file).get("twitter:mentions:NorthbrookNHS")
        == "1860100000000000011"
    )

    raw = read_topic(
        kafka_settings.bootstrap_servers, kafka_settings.topics.posts_raw, 7, timeout=8
    )
    keys = sorted(r.key.decode() for r in raw)
    assert keys == sorted(
        f"twitter:{i}"
        for i in (
            "1859954077416198400",
            "1859940000000000002",
            "1859920000000000003",
            "1859910000000000004",
            "1860100000000000011",
            "1860050000000000010",
        )
    )
    assert {parse_record(Post, r.value).source for r in raw} == {"twitter:mentions:NorthbrookNHS"}
