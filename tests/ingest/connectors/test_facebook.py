"""Facebook Page and Instagram connectors: facebook-sdk against recorded Graph API responses
(the configured version in every URL, paging, kinds, dead letters, error codes, usage headers,
retries, engagement counts and their refresh), and a restart on the real broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import facebook
import pytest
import requests
import responses
from prometheus_client import CollectorRegistry
from responses import matchers

from ingest.checkpoints import CheckpointStore
from ingest.connector import AccessDenied, ConnectorError, RateLimited, SourceUnavailable
from ingest.connectors.common import RefreshSchedule
from ingest.connectors.facebook import (
    FacebookComments,
    FacebookPagePosts,
    FacebookTagged,
    FacebookVisitorPosts,
    GraphClient,
    GraphEngagement,
    GraphItem,
    InstagramComments,
    InstagramMedia,
    InstagramMentions,
    facebook_sources,
    graph_engagement,
    make_graph_api,
)
from ingest.runner import IngestRunner
from socmon.config.connectors import GRAPH_API_VERSION, FacebookSettings
from socmon.kafka import ensure_topics, make_producer
from socmon.metrics import Metrics
from socmon.records import Engagement, Post, parse_record, utcnow
from tests.broker import read_topic
from tests.ingest.connectors import fixture, lacks

PAGE = "104836251234567"
IG_USER = "17841400000000001"
TOKEN = "EAAGsecret-page-token-that-must-never-be-printed"
TEN_YEARS_HOURS = 24 * 365 * 10.0  # the fixtures' dates stay inside the first poll's look-back


def graph(path: str, version: str = GRAPH_API_VERSION) -> str:
    return f"https://graph.facebook.com/{version}/{path}"


def make_client(calls: list[tuple[str, str]] | None = None, **overrides) -> GraphClient:
    options = {
        "enabled": True,
        "page_access_token": TOKEN,
        "retry_backoff_seconds": 0,
        "max_retries": 2,
        "initial_lookback_hours": TEN_YEARS_HOURS,
        **overrides,
    }
    recorder = (
        (lambda source, status: calls.append((source, status))) if calls is not None else None
    )
    return GraphClient(FacebookSettings(**options), recorder, sleep=lambda _: None)


def query(call) -> dict[str, list[str]]:
    return parse_qs(urlparse(str(call.request.url)).query)


def add_page_posts(rsps: responses.RequestsMock, version: str = GRAPH_API_VERSION) -> None:
    url = graph(f"{PAGE}/posts", version)
    rsps.get(url, json=fixture("facebook", "page_posts_page1.json"), match=[lacks("after")])
    rsps.get(
        url,
        json=fixture("facebook", "page_posts_page2.json"),
        match=[
            matchers.query_param_matcher(
                {"after": "QVFIUnR2aXN0b3JfMTAwMQZDZD"}, strict_match=False
            )
        ],
    )
    rsps.get(
        url,
        json=fixture("facebook", "empty_page.json"),
        match=[
            matchers.query_param_matcher({"after": "QVFIUmFmdGVyXzA5OTgZD"}, strict_match=False)
        ],
    )


def test_the_sdk_itself_refuses_current_versions_which_is_why_the_version_is_set_after():
    with pytest.raises(facebook.GraphAPIError):
        facebook.GraphAPI(access_token=TOKEN, version="26.0")
    assert make_graph_api(TOKEN, "v26.0", 5.0).version == "v26.0"


def test_the_default_version_is_a_current_one():
    assert FacebookSettings().graph_api_version == GRAPH_API_VERSION == "v27.0"


@pytest.mark.parametrize("version", ["v26.0", "v24.0"])
@responses.activate
def test_every_request_goes_to_the_configured_graph_api_version(version):
    add_page_posts(responses.mock, version)
    client = make_client(graph_api_version=version)
    FacebookPagePosts(client, "NorthbrookHospitals", PAGE, "posts").poll(None)
    assert len(responses.calls) == 3
    for call in responses.calls:
        assert str(call.request.url).startswith(
            f"https://graph.facebook.com/{version}/{PAGE}/posts?"
        )


@responses.activate
def test_page_posts_follow_every_page_keep_emoji_and_dead_letter_a_deleted_item():
    add_page_posts(responses.mock)
    calls: list[tuple[str, str]] = []
    source = FacebookPagePosts(make_client(calls), "NorthbrookHospitals", PAGE, "posts")
    fetched = source.poll(None)

    assert source.name == "facebook:posts:NorthbrookHospitals"
    assert [p.post_id for p in fetched.posts] == [f"{PAGE}_1002", f"{PAGE}_1001", f"{PAGE}_0999"]
    opening = fetched.posts[0]
    assert opening.text.startswith("Our new maternity unit at St Aidan's opens on Monday 🎉👶")
    assert (opening.platform, opening.kind, opening.account) == (
        "facebook",
        "official_post",
        "NorthbrookHospitals",
    )
    assert opening.author == "Northbrook Hospitals NHS FT"
    assert opening.media[0].type == "photo"
    assert str(opening.media[0].url).endswith("900001_n.jpg")
    assert opening.created_at.isoformat() == "2026-11-20T10:30:00+00:00"
    assert fetched.posts[2].text.startswith("Diolch i'n holl staff")
    assert fetched.posts[2].media[0].type == "video"

    [deleted] = fetched.rejects
    assert deleted.reason == "missing field(s): created_time (deleted, or hidden from this token)"
    assert json.loads(deleted.payload) == {"id": f"{PAGE}_0998"}
    assert (
        deleted.origin
        == f"facebook:posts:NorthbrookHospitals GET /{{page-id}}/posts id {PAGE}_0998"
    )

    assert json.loads(str(fetched.checkpoint)) == {
        "newest": "2026-11-20T10:30:00+00:00",
        "ids": [f"{PAGE}_1002"],
    }
    second = query(responses.calls[1])
    assert second["after"] == ["QVFIUnR2aXN0b3JfMTAwMQZDZD"]
    assert second["access_token"] == [TOKEN]  # the SDK's own token, never the one in a next URL
    assert "since" in query(responses.calls[0])
    assert [status for _, status in calls] == ["200", "200", "200"]


@responses.activate
def test_a_restart_from_the_checkpoint_yields_only_new_posts_even_within_the_same_second():
    responses.get(graph(f"{PAGE}/posts"), json=fixture("facebook", "page_posts_new.json"))
    checkpoint = json.dumps({"newest": "2026-11-20T10:30:00+00:00", "ids": [f"{PAGE}_1002"]})
    fetched = FacebookPagePosts(make_client(), "NorthbrookHospitals", PAGE, "posts").poll(
        checkpoint
    )
    assert [p.post_id for p in fetched.posts] == [f"{PAGE}_1003"]
    since = int(query(responses.calls[0])["since"][0])
    assert since == 1795170600  # 2026-11-20T10:30:00Z: the server filters from the checkpoint


@responses.activate
def test_an_empty_edge_keeps_the_checkpoint():
    responses.get(graph(f"{PAGE}/visitor_posts"), json=fixture("facebook", "empty_page.json"))
    checkpoint = json.dumps({"newest": "2026-11-20T10:30:00+00:00", "ids": ["x"]})
    source = FacebookVisitorPosts(make_client(), "NorthbrookHospitals", PAGE, "visitor_posts")
    fetched = source.poll(checkpoint)
    assert (fetched.posts, fetched.rejects, fetched.checkpoint) == ([], [], checkpoint)


@responses.activate
def test_comments_and_replies_are_paged_per_recent_post_and_the_pages_answers_are_official():
    responses.get(graph(f"{PAGE}/posts"), json=fixture("facebook", "recent_post_ids.json"))
    responses.get(graph(f"{PAGE}_1002/comments"), json=fixture("facebook", "comments_1002.json"))
    responses.get(
        graph(f"{PAGE}_1001/comments"),
        json=fixture("facebook", "comments_1001_page1.json"),
        match=[
            matchers.query_param_matcher({"filter": "stream"}, strict_match=False),
            lacks("after"),
        ],
    )
    responses.get(
        graph(f"{PAGE}_1001/comments"),
        json=fixture("facebook", "comments_1001_page2.json"),
        match=[
            matchers.query_param_matcher(
                {"after": "Mgb6Zd", "filter": "stream"}, strict_match=False
            )
        ],
    )
    source = FacebookComments(make_client(), "NorthbrookHospitals", PAGE, "comments")
    fetched = source.poll(None)
    got = {p.post_id: (p.kind, p.author, p.in_reply_to) for p in fetched.posts}
    assert got == {
        "1002_6001": ("comment", "Bethan Price", f"{PAGE}_1002"),
        "1001_5001": ("comment", "Karen Hughes", f"{PAGE}_1001"),
        "1001_5002": ("official_post", "Northbrook Hospitals NHS FT", "1001_5001"),
        "1001_5003": ("reply", "Alun Jones", "1001_5001"),
        "1001_5004": ("comment", "unknown (not shared by the Graph API)", f"{PAGE}_1001"),
    }
    urdu = next(p for p in fetched.posts if p.post_id == "1001_5004")
    assert urdu.text == "پارکنگ کی نئی جگہ بہت دور ہے"
    assert "😡" in next(p.text for p in fetched.posts if p.post_id == "1001_5001")
    assert json.loads(str(fetched.checkpoint))["newest"] == "2026-11-20T11:00:00+00:00"


@responses.activate
def test_visitor_posts_and_tags_of_the_page_are_mentions():
    responses.get(graph(f"{PAGE}/visitor_posts"), json=fixture("facebook", "visitor_posts.json"))
    responses.get(graph(f"{PAGE}/tagged"), json=fixture("facebook", "tagged.json"))
    client = make_client()
    visitor = FacebookVisitorPosts(client, "NorthbrookHospitals", PAGE, "visitor_posts").poll(None)
    tagged = FacebookTagged(client, "NorthbrookHospitals", PAGE, "tagged").poll(None)
    assert [(p.kind, p.author) for p in visitor.posts] == [("mention", "Priya Desai")]
    assert [(p.kind, p.author) for p in tagged.posts] == [("mention", "Friends of Northbrook")]
    assert "🚶‍♀️" in tagged.posts[0].text


@responses.activate
def test_instagram_media_comments_replies_and_tags():
    responses.get(
        graph(f"{IG_USER}/media"),
        json=fixture("facebook", "ig_media.json"),
        match=[
            matchers.query_param_matcher(
                {
                    "fields": "id,caption,media_type,media_url,permalink,timestamp,username,"
                    "like_count,comments_count"
                },
                strict_match=False,
            )
        ],
    )
    responses.get(graph(f"{IG_USER}/media"), json=fixture("facebook", "ig_media_ids.json"))
    responses.get(graph("18000000000000101/comments"), json=fixture("facebook", "ig_comments.json"))
    responses.get(graph("17900000000000203/replies"), json=fixture("facebook", "ig_replies.json"))
    responses.get(graph(f"{IG_USER}/tags"), json=fixture("facebook", "ig_tags.json"))
    client = make_client()

    media = InstagramMedia(client, "northbrookhospitals", IG_USER, "media").poll(None)
    assert [(p.platform, p.kind, p.media[0].type) for p in media.posts] == [
        ("instagram", "official_post", "photo"),
        ("instagram", "official_post", "video"),
    ]
    assert media.posts[0].url == "https://www.instagram.com/p/DAbC101/"

    comments = InstagramComments(client, "northbrookhospitals", IG_USER, "comments").poll(None)
    got = [(p.post_id, p.kind, p.author, p.in_reply_to) for p in comments.posts]
    assert got == [
        ("17900000000000201", "comment", "mum_of_three", "18000000000000101"),
        ("17900000000000202", "official_post", "northbrookhospitals", "17900000000000201"),
        ("17900000000000203", "comment", "lucia.m", "18000000000000101"),
        ("17900000000000204", "reply", "jk_99", "17900000000000203"),
        ("17900000000000205", "reply", "nurse_ellie", "17900000000000203"),
    ]
    assert comments.posts[2].text == "¿Está permitido visitar con perros?"

    tags = InstagramMentions(client, "northbrookhospitals", IG_USER, "mentions").poll(None)
    assert [(p.kind, p.author, p.media[0].type) for p in tags.posts] == [
        ("mention", "ringing_the_bell", "other")
    ]


@responses.activate
def test_an_expired_token_is_access_denied_naming_the_variable_never_the_token():
    responses.get(graph(f"{PAGE}/posts"), status=400, json=fixture("facebook", "error_190.json"))
    with pytest.raises(AccessDenied) as raised:
        FacebookPagePosts(make_client(), "NorthbrookHospitals", PAGE, "posts").poll(None)
    message = str(raised.value)
    assert "has expired or was revoked (code 190" in message
    assert "SOCMON_CONNECTORS__FACEBOOK__PAGE_ACCESS_TOKEN" in message
    assert TOKEN not in message
    assert len(responses.calls) == 1


@pytest.mark.parametrize("code", [4, 17, 32, 613])
@responses.activate
def test_rate_limit_codes_wait_as_long_as_the_usage_headers_say(code):
    body = fixture("facebook", "error_rate_limit.json")
    body["error"]["code"] = code
    usage = {
        PAGE: [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 40,
                "total_time": 52,
                "estimated_time_to_regain_access": 19,
            }
        ]
    }
    responses.get(
        graph(f"{PAGE}/posts"),
        status=400,
        json=body,
        headers={
            "x-business-use-case-usage": json.dumps(usage),
            "x-app-usage": json.dumps({"call_count": 100, "total_cputime": 10, "total_time": 12}),
        },
    )
    with pytest.raises(RateLimited) as raised:
        FacebookPagePosts(make_client(), "NorthbrookHospitals", PAGE, "posts").poll(None)
    assert raised.value.retry_after == 19 * 60
    assert len(responses.calls) == 1


@responses.activate
def test_a_rate_limit_without_an_estimate_waits_the_configured_back_off():
    responses.get(
        graph(f"{PAGE}/posts"), status=400, json=fixture("facebook", "error_rate_limit.json")
    )
    client = make_client(rate_limit_backoff_seconds=900)
    with pytest.raises(RateLimited) as raised:
        FacebookPagePosts(client, "NorthbrookHospitals", PAGE, "posts").poll(None)
    assert raised.value.retry_after == 900


@responses.activate
def test_a_quota_at_100_percent_keeps_the_page_and_asks_to_wait():
    responses.get(
        graph(f"{PAGE}/visitor_posts"),
        json=fixture("facebook", "visitor_posts.json"),
        headers={
            "x-page-usage": json.dumps(
                {
                    "call_count": 100,
                    "total_cputime": 3,
                    "total_time": 5,
                    "estimated_time_to_regain_access": 7,
                }
            )
        },
    )
    fetched = FacebookVisitorPosts(
        make_client(), "NorthbrookHospitals", PAGE, "visitor_posts"
    ).poll(None)
    assert len(fetched.posts) == 1
    assert fetched.retry_after == 7 * 60


@responses.activate
def test_a_bad_parameter_is_a_clear_error_naming_it_and_not_an_access_problem():
    responses.get(
        graph(f"{PAGE}/visitor_posts"), status=400, json=fixture("facebook", "error_100.json")
    )
    with pytest.raises(ConnectorError) as raised:
        FacebookVisitorPosts(make_client(), "NorthbrookHospitals", PAGE, "visitor_posts").poll(None)
    assert not isinstance(raised.value, AccessDenied | RateLimited | SourceUnavailable)
    message = str(raised.value)
    assert "nonexisting field (visitor_posts) on node type (User)" in message
    assert "code 100" in message
    assert "fields=id,message,created_time" in message
    assert TOKEN not in message


@responses.activate
def test_server_errors_are_retried_a_bounded_number_of_times():
    for _ in range(3):
        responses.get(
            graph(f"{PAGE}/tagged"), status=500, json=fixture("facebook", "error_500.json")
        )
    calls: list[tuple[str, str]] = []
    with pytest.raises(SourceUnavailable, match="after 3 attempts"):
        FacebookTagged(make_client(calls), "NorthbrookHospitals", PAGE, "tagged").poll(None)
    assert len(responses.calls) == 3
    assert [status for _, status in calls] == ["500", "500", "500"]


@responses.activate
def test_a_502_with_an_html_body_then_an_answer_recovers():
    responses.get(
        graph(f"{PAGE}/tagged"),
        status=502,
        body="<html>Bad Gateway</html>",
        content_type="text/html",
    )
    responses.get(graph(f"{PAGE}/tagged"), json=fixture("facebook", "tagged.json"))
    fetched = FacebookTagged(make_client(), "NorthbrookHospitals", PAGE, "tagged").poll(None)
    assert len(fetched.posts) == 1


@responses.activate
def test_time_outs_are_retried_then_the_source_is_unavailable():
    for _ in range(3):
        responses.get(graph(f"{PAGE}/tagged"), body=requests.exceptions.ReadTimeout("timed out"))
    calls: list[tuple[str, str]] = []
    with pytest.raises(SourceUnavailable, match="did not answer after 3 attempts"):
        FacebookTagged(make_client(calls), "NorthbrookHospitals", PAGE, "tagged").poll(None)
    assert [status for _, status in calls] == ["timeout"] * 3


@responses.activate
def test_check_reports_the_edge_and_whether_the_token_allows_it():
    responses.get(graph(f"{PAGE}/posts"), json=fixture("facebook", "empty_page.json"))
    responses.get(
        graph(f"{PAGE}/visitor_posts"), status=400, json=fixture("facebook", "error_190.json")
    )
    client = make_client()
    ok = FacebookPagePosts(client, "NorthbrookHospitals", PAGE, "posts").check()
    refused = FacebookVisitorPosts(client, "NorthbrookHospitals", PAGE, "visitor_posts").check()
    assert (ok.ok, ok.endpoints) == (True, {"GET /{page-id}/posts": True})
    assert (refused.ok, refused.endpoints) == (False, {"GET /{page-id}/visitor_posts": False})
    assert TOKEN not in refused.detail


# --- engagement ---------------------------------------------------------------------------------

REFRESH_TIME = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # two days after the fixtures' posts


def counts(engagement: Engagement | None) -> tuple[int | None, ...]:
    """(likes, reposts, replies, quotes, views)."""
    assert engagement is not None
    e = engagement
    return (e.likes, e.reposts, e.replies, e.quotes, e.views)


@responses.activate
def test_page_post_reactions_shares_and_comments_land_in_the_post():
    add_page_posts(responses.mock)
    before = utcnow()
    fetched = FacebookPagePosts(make_client(), "NorthbrookHospitals", PAGE, "posts").poll(None)
    by_id = {p.post_id: p for p in fetched.posts}
    # reactions of every kind are the likes; the Graph API gives no quotes and no views here
    assert counts(by_id[f"{PAGE}_1002"].engagement) == (57, 4, 9, None, None)
    # ``shares`` is left out of a post nobody shared
    assert counts(by_id[f"{PAGE}_1001"].engagement) == (12, 0, 3, None, None)
    engagement = by_id[f"{PAGE}_1002"].engagement
    assert engagement is not None
    assert before <= engagement.read_at <= utcnow()
    fields = query(responses.calls[0])["fields"][0]
    assert fields.endswith(
        ",reactions.limit(0).summary(total_count),comments.limit(0).summary(total_count),shares"
    )


@responses.activate
def test_instagram_counts_land_in_the_post_and_hidden_likes_are_none():
    responses.get(graph(f"{IG_USER}/media"), json=fixture("facebook", "ig_media.json"))
    media = InstagramMedia(make_client(), "northbrookhospitals", IG_USER, "media").poll(None)
    dog, reel = media.posts
    assert counts(dog.engagement) == (148, None, 3, None, None)
    assert counts(reel.engagement) == (None, None, 1, None, None)  # the owner hid its likes


@responses.activate
def test_tagged_posts_and_comments_carry_no_counts():
    responses.get(graph(f"{PAGE}/tagged"), json=fixture("facebook", "tagged.json"))
    tagged = FacebookTagged(make_client(), "NorthbrookHospitals", PAGE, "tagged").poll(None)
    assert [p.engagement for p in tagged.posts] == [None]
    assert "reactions" not in query(responses.calls[0])["fields"][0]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"reactions": {"summary": {"total_count": -5}}}, (None, 4, 9, None, None)),
        ({"shares": {"count": "4"}, "comments": "9"}, (57, None, None, None, None)),
        ({"reactions": [], "comments": None, "shares": None}, None),
    ],
)
def test_a_malformed_count_loses_that_count_and_not_the_post(changes, expected):
    raw = fixture("facebook", "page_posts_page1.json")["data"][0] | changes
    assert (counts(graph_engagement(raw)) if expected else graph_engagement(raw)) == expected
    source = FacebookPagePosts(make_client(), "NorthbrookHospitals", PAGE, "posts")
    created = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
    assert isinstance(source._normalise(GraphItem(raw, "official_post", created=created), 0), Post)


class Clock:
    """A settable "now" for the refresh schedule."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def refresh_of(built, platform: str, clock: Clock) -> GraphEngagement:
    [refresh] = [c for c in built if c.name == f"{platform}:engagement"]
    assert isinstance(refresh, GraphEngagement)
    refresh.clock = clock
    return refresh


@responses.activate
def test_the_refresh_returns_the_pages_recent_posts_when_due_and_not_before():
    posts = responses.get(
        graph(f"{PAGE}/posts"), json=fixture("facebook", "page_posts_refresh.json")
    )
    built = facebook_sources(make_client().settings, [("NorthbrookHospitals", PAGE)], [])
    clock = Clock(REFRESH_TIME)
    refresh = refresh_of(built, "facebook", clock)
    assert refresh.timelines == ["facebook:posts:NorthbrookHospitals"]

    first = refresh.poll(None)
    [post] = first.posts
    assert (post.key, post.kind, post.source) == (
        f"facebook:{PAGE}_1002",
        "official_post",
        "facebook:posts:NorthbrookHospitals",
    )
    assert counts(post.engagement) == (91, 7, 15, None, None)  # was read with 57 reactions
    # the window: the posts created in the 48 hours before the refresh
    assert query(posts.calls[0])["since"] == [
        str(int((REFRESH_TIME - timedelta(hours=48)).timestamp()))
    ]

    clock.now += timedelta(minutes=14, seconds=59)
    early = refresh.poll(first.checkpoint)
    assert (early.posts, early.checkpoint, posts.call_count) == ([], first.checkpoint, 1)

    clock.now += timedelta(seconds=1)
    assert len(refresh.poll(early.checkpoint).posts) == 1
    assert posts.call_count == 2


@responses.activate
def test_the_refresh_leaves_out_a_post_older_than_the_window():
    responses.get(graph(f"{PAGE}/posts"), json=fixture("facebook", "page_posts_refresh.json"))
    schedule = RefreshSchedule(window=timedelta(hours=24))  # the post is 46.5 hours old
    built = facebook_sources(
        make_client().settings, [("NorthbrookHospitals", PAGE)], [], refresh=schedule
    )
    refresh = refresh_of(built, "facebook", Clock(REFRESH_TIME))
    assert refresh.poll(None).posts == []
    since = int(query(responses.calls[0])["since"][0])
    assert since == int((REFRESH_TIME - timedelta(hours=24)).timestamp())


@responses.activate
def test_a_high_engagement_visitor_post_is_refreshed_by_id():
    responses.get(
        graph(f"{PAGE}/visitor_posts"), json=fixture("facebook", "visitor_posts_hot.json")
    )
    responses.get(graph(f"{PAGE}/posts"), json=fixture("facebook", "empty_page.json"))
    lookup = responses.get(graph(""), json=fixture("facebook", "objects_hot.json"))
    built = facebook_sources(make_client().settings, [("NorthbrookHospitals", PAGE)], [])
    refresh = refresh_of(built, "facebook", Clock(REFRESH_TIME))
    [visitors] = [c for c in built if c.name == "facebook:visitor_posts:NorthbrookHospitals"]
    [hot] = visitors.poll(None).posts
    assert counts(hot.engagement)[:2] == (320, 55)

    fetched = refresh.poll(None)
    sent = query(lookup.calls[0])
    assert sent["ids"] == [f"{PAGE}_3002"]
    assert "reactions.limit(0).summary(total_count)" in sent["fields"][0]
    [post] = fetched.posts
    assert (post.key, post.kind, post.source) == (hot.key, "mention", visitors.name)
    assert counts(post.engagement) == (402, 70, 66, None, None)


def test_facebook_sources_add_a_refresh_per_platform():
    built = facebook_sources(
        make_client().settings,
        [("NorthbrookHospitals", PAGE)],
        [("northbrookhospitals", IG_USER)],
    )
    names = [c.name for c in built]
    assert names[-2:] == ["facebook:engagement", "instagram:engagement"]
    assert len(names) == 4 + 3 + 2
    instagram = refresh_of(built, "instagram", Clock(REFRESH_TIME))
    assert instagram.timelines == ["instagram:media:northbrookhospitals"]


def test_a_restart_produces_exactly_the_new_page_posts(kafka_settings, tmp_path):
    ensure_topics(kafka_settings)
    checkpoints = tmp_path / "checkpoints.json"

    def run() -> int:
        runner = IngestRunner(
            [FacebookPagePosts(make_client(), "NorthbrookHospitals", PAGE, "posts")],
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
        return summary.produced

    with responses.RequestsMock() as rsps:
        add_page_posts(rsps)
        assert run() == 3
    with responses.RequestsMock() as rsps:
        # The recorded page now has one new post above the one the checkpoint ends on.
        rsps.get(graph(f"{PAGE}/posts"), json=fixture("facebook", "page_posts_new.json"))
        assert run() == 1

    raw = read_topic(
        kafka_settings.bootstrap_servers, kafka_settings.topics.posts_raw, 5, timeout=8
    )
    assert sorted(r.key.decode() for r in raw) == sorted(
        f"facebook:{PAGE}_{n}" for n in ("1003", "1002", "1001", "0999")
    )
    assert {parse_record(Post, r.value).kind for r in raw} == {"official_post"}
