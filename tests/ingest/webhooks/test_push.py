"""Meta's and X's recorded payloads read into posts: the kinds and fields, what is ignored and
what is dead-lettered, and the same key and fields as the polling connector gives the same item
(so push and poll index one document)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses

from ingest.connectors.facebook import FacebookComments, GraphClient
from ingest.connectors.twitter import TwitterApi, TwitterMentions
from ingest.webhooks.meta import meta_push, parse_body
from ingest.webhooks.push import Accounts, Malformed, unix_time
from ingest.webhooks.x import x_push
from socmon.config.connectors import GRAPH_API_VERSION, FacebookSettings, TwitterSettings
from tests.ingest.webhooks import IG_USER, PAGE, X_USER, raw_fixture, receiver_settings

ACCOUNTS = Accounts.of(receiver_settings().accounts)


def payload(name: str):
    return json.loads(raw_fixture(name))


def test_page_feed_comments_replies_and_visitor_posts_become_posts_keyed_like_polling():
    push = meta_push(payload("meta_page_feed.json"), ACCOUNTS)
    got = {p.key: (p.kind, p.author, p.in_reply_to) for p in push.posts}
    assert got == {
        "facebook:1001_5001": ("comment", "Karen Hughes", f"{PAGE}_1001"),
        # The Page's own answer is official content, checked against the policy.
        "facebook:1001_5002": ("official_post", "Northbrook Hospitals NHS FT", "1001_5001"),
        "facebook:1001_5003": ("reply", "Dai Roberts", "1001_5001"),
        f"facebook:{PAGE}_1010": ("mention", "Megan Price", None),
    }
    first = push.posts[0]
    assert first.account == "NorthbrookHospitals"
    assert first.created_at == datetime(2026, 11, 26, 9, 12, 45, tzinfo=UTC)
    assert first.text.endswith("three times a week 😡")
    assert first.source == "facebook:webhook:NorthbrookHospitals"
    assert first.url == (
        "https://www.facebook.com/NorthbrookHospitals/posts/pfbid02x1001?comment_id=5001"
    )
    # A reaction and a deleted comment are counted, not indexed; a comment without its id is
    # kept as a dead letter with the reason.
    assert sorted(push.ignored) == ["deleted", "reaction"]
    (reject,) = push.rejects
    assert reject.reason == "missing field: comment_id"
    assert "A comment Meta sent without its id" in reject.payload
    assert push.mentions == []


@responses.activate
def test_a_pushed_page_comment_is_the_same_post_the_poll_of_the_graph_api_gives():
    def graph(path: str) -> str:
        return f"https://graph.facebook.com/{GRAPH_API_VERSION}/{path}"

    fixture = json.loads(raw_fixture("graph_comments_1001.json"))
    recent = json.loads(raw_fixture("graph_recent_posts.json"))
    responses.get(graph(f"{PAGE}/posts"), json=recent)
    responses.get(graph(f"{PAGE}_1001/comments"), json=fixture)
    settings = FacebookSettings(
        page_access_token="t", retry_backoff_seconds=0, initial_lookback_hours=24 * 3650.0
    )
    client = GraphClient(settings, sleep=lambda _: None)
    polled = FacebookComments(client, "NorthbrookHospitals", PAGE, "comments").poll(None).posts
    pushed = [
        p for p in meta_push(payload("meta_page_feed.json"), ACCOUNTS).posts if p.kind != "mention"
    ]

    def same(post):
        return (post.key, post.kind, post.account, post.author, post.text, post.in_reply_to)

    assert sorted(map(same, pushed)) == sorted(map(same, polled))
    assert {p.key: p.created_at for p in pushed} == {p.key: p.created_at for p in polled}


def test_instagram_comments_and_replies_use_the_media_and_parent_like_polling():
    push = meta_push(payload("meta_instagram_comments.json"), ACCOUNTS)
    got = [(p.key, p.kind, p.author, p.in_reply_to, p.account) for p in push.posts]
    assert got == [
        (
            "instagram:17900000000000201",
            "comment",
            "mum_of_three",
            "17900000000000101",
            "northbrookhospitals",
        ),
        (
            "instagram:17900000000000205",
            "reply",
            "lucia.m",
            "17900000000000201",
            "northbrookhospitals",
        ),
    ]
    assert push.posts[0].created_at == datetime(2026, 11, 26, 13, 10, tzinfo=UTC)
    assert push.rejects == []


def test_instagram_mentions_carry_only_ids_and_wait_to_be_fetched():
    push = meta_push(payload("meta_instagram_mentions.json"), ACCOUNTS)
    assert push.posts == []
    assert [(m.ig_user_id, m.handle, m.media_id, m.comment_id) for m in push.mentions] == [
        (IG_USER, "northbrookhospitals", "17900000000000777", "17900000000000888"),
        (IG_USER, "northbrookhospitals", "17900000000000999", None),
    ]


def test_a_page_not_in_the_register_is_dead_lettered_naming_the_fix():
    other = Accounts.of([])
    push = meta_push(payload("meta_instagram_comments.json"), other)
    assert push.posts == []
    assert len(push.rejects) == 2
    assert all("not an active instagram account" in r.reason for r in push.rejects)
    assert all(
        r.origin.startswith(f"webhooks:instagram account {IG_USER} comments") for r in push.rejects
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"{not json", "not valid JSON"), (b"[1, 2]", "missing field: entry")],
)
def test_a_body_that_is_not_a_meta_payload_is_malformed(body, reason):
    with pytest.raises(Malformed, match=reason):
        meta_push(parse_body(body), ACCOUNTS)


def test_an_x_mention_becomes_the_post_the_mentions_poll_gives():
    push = x_push(payload("x_mention.json"), ACCOUNTS)
    (post,) = push.posts
    assert (post.key, post.kind, post.account, post.author) == (
        "twitter:1993650000000000011",
        "mention",
        "NorthbrookNHS",
        "sampatel",
    )
    assert post.url == "https://x.com/sampatel/status/1993650000000000011"
    assert post.created_at == datetime(2026, 11, 26, 10, 23, 23, tzinfo=UTC)


@responses.activate
def test_a_pushed_x_mention_is_the_same_post_the_poll_of_the_mentions_gives():
    responses.get(
        f"https://api.twitter.com/2/users/{X_USER}/mentions",
        json=json.loads(raw_fixture("x_mentions_page.json")),
    )
    api = TwitterApi(
        TwitterSettings(bearer_token="t", retry_backoff_seconds=0), sleep=lambda _: None
    )
    (polled,) = TwitterMentions(api, "NorthbrookNHS", X_USER).poll(None).posts
    (pushed,) = x_push(payload("x_mention.json"), ACCOUNTS).posts
    fields = (
        "key",
        "kind",
        "account",
        "author",
        "text",
        "created_at",
        "url",
        "lang",
        "in_reply_to",
    )
    assert [getattr(pushed, f) for f in fields] == [getattr(polled, f) for f in fields]


def test_an_x_reply_has_its_parent_media_and_wrapped_users():
    (post,) = x_push(payload("x_reply.json"), ACCOUNTS).posts
    assert (post.kind, post.author, post.in_reply_to) == ("reply", "layla_h", "1993600000000000001")
    assert [(m.type, m.alt_text) for m in post.media] == [
        ("photo", "A corridor with patients on trolleys")
    ]


def test_an_x_deletion_is_ignored_and_an_event_without_its_author_is_dead_lettered():
    assert x_push(payload("x_post_delete.json"), ACCOUNTS).ignored == ["deleted"]
    event = payload("x_mention.json")
    event["data"]["includes"]["users"] = []
    push = x_push(event, ACCOUNTS)
    (reject,) = push.rejects
    assert reject.reason.startswith("missing field: author (user 98765432")
    assert reject.origin == "webhooks:twitter post.mention.create tweet 1993650000000000011"


def test_an_x_subscription_of_an_unregistered_user_is_dead_lettered():
    push = x_push(payload("x_mention.json"), Accounts.of([]))
    assert push.posts == []
    assert (
        "X user 1354209856418488320 of the subscription is not an active" in push.rejects[0].reason
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1795684365, datetime(2026, 11, 26, 9, 12, 45, tzinfo=UTC)),
        ("1795684365", datetime(2026, 11, 26, 9, 12, 45, tzinfo=UTC)),
        (1795684365000, datetime(2026, 11, 26, 9, 12, 45, tzinfo=UTC)),
        ("2026-11-26T09:12:45+0000", datetime(2026, 11, 26, 9, 12, 45, tzinfo=UTC)),
        ("2026-11-26T09:12:45", None),
        (True, None),
        (None, None),
    ],
)
def test_unix_time_reads_seconds_milliseconds_and_iso_text(value, expected):
    assert unix_time(value) == expected
