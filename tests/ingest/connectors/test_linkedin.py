"""LinkedIn organisation page connectors: httpx against recorded Community Management API answers
(respx).

The fixtures in ``tests/ingest/fixtures/linkedin`` are bodies in the documented shapes of the
versioned REST API (``/rest/posts`` finder, ``/rest/socialActions/{urn}/comments``,
``/rest/organizationalEntityShareStatistics``, and LinkedIn's error bodies). The sources' "now" is
fixed, so which posts are recent does not depend on the day the tests run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
import respx

from ingest.connector import AccessDenied, RateLimited, SourceUnavailable
from ingest.connectors.linkedin import (
    TOKEN_ENV,
    CommentsSource,
    LinkedInApi,
    MillisCursor,
    PostsSource,
    build_sources,
    from_settings,
    little_text,
)
from socmon.config.connectors import LinkedInSettings
from socmon.config.governance import OfficialAccount
from socmon.records import DeadLetter, parse_record
from socmon.settings import Settings

REST = "https://api.linkedin.com/rest"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "linkedin"
TOKEN = "AQX-linkedin-token-never-printed-0123456789"
ORG_ID = "10203040"
ORG = f"urn:li:organization:{ORG_ID}"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SHARE3 = "urn:li:share:7401234567890123003"
UGC2 = "urn:li:ugcPost:7401234567890123002"
SHARE1 = "urn:li:share:7401234567890123001"
ACCOUNTS = [
    OfficialAccount(
        platform="linkedin", handle="northbrook-nhs", platform_id=ORG_ID, team="Communications"
    ),
    OfficialAccount(platform="linkedin", handle="northbrook-careers", team="HR"),  # no id yet
]


def recorded(name: str, status: int = 200, headers: dict[str, str] | None = None):
    return httpx.Response(
        status,
        content=(FIXTURES / name).read_bytes(),
        headers={"content-type": "application/json", **(headers or {})},
    )


class Moment:
    """The sources' "now", moved by the tests."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class LinkedIn:
    """The recorded API; which fixture each endpoint serves can change between polls."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.posts_file = "posts.json"
        self.stats_file = "share_statistics.json"
        self.comments = {
            SHARE3: "comments_share3.json",
            UGC2: "comments_ugc2.json",
            "urn:li:comment:(urn:li:activity:7401234567890123103,7401300000000000011)": (
                "comments_reply_c11.json"
            ),
        }
        self.posts = router.get(f"{REST}/posts").mock(
            side_effect=lambda _: recorded(self.posts_file)
        )
        self.stats = router.get(f"{REST}/organizationalEntityShareStatistics").mock(
            side_effect=lambda _: recorded(self.stats_file)
        )
        self.social = router.get(path__regex=r"^/rest/socialActions/(?P<urn>.+)/comments$").mock(
            side_effect=lambda _, urn: recorded(self.comments.get(urn, "comments_empty.json"))
        )


@pytest.fixture
def api() -> Iterator[LinkedIn]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield LinkedIn(router)


def make_sources(moment: Moment | None = None, calls=None, **overrides) -> dict[str, object]:
    options = {
        "enabled": True,
        "access_token": TOKEN,
        "retry_backoff_seconds": 0,
        "max_retries": 2,
        **overrides,
    }
    recorder = (
        (lambda source, status: calls.append((source, status))) if calls is not None else None
    )
    client = LinkedInApi(LinkedInSettings(**options), recorder, sleep=lambda _: None)
    built = build_sources(
        client, ACCOUNTS, timedelta(minutes=15), timedelta(hours=48), moment or Moment()
    )
    return {c.name: c for c in built}


def posts_source(moment: Moment | None = None, **overrides) -> PostsSource:
    source = make_sources(moment, **overrides)["linkedin:posts:northbrook-nhs"]
    assert isinstance(source, PostsSource)
    return source


def comments_source(moment: Moment | None = None, **overrides) -> CommentsSource:
    source = make_sources(moment, **overrides)["linkedin:comments:northbrook-nhs"]
    assert isinstance(source, CommentsSource)
    return source


def query(call) -> str:
    return unquote(call.request.url.query.decode())


def test_two_sources_per_organisation_with_an_id():
    assert sorted(make_sources()) == [
        "linkedin:comments:northbrook-nhs",
        "linkedin:posts:northbrook-nhs",
    ]


def test_posts_become_official_posts_with_their_counts(api):
    calls: list[tuple[str, str]] = []
    fetched = posts_source(calls=calls).poll(None)

    posts = {p.post_id: p for p in fetched.posts}
    # The last day's post is new; the one of 29 November is recent, so it comes for its counts.
    assert sorted(posts) == [SHARE3, UGC2]
    opening = posts[SHARE3]
    assert (opening.platform, opening.kind) == ("linkedin", "official_post")
    assert (opening.account, opening.author) == ("northbrook-nhs", "northbrook-nhs")
    assert opening.text == (
        "Our new Emergency Department opens on Monday (8 December). Thank you to "
        "@Northbrook Hospitals Charity for funding the children's area! #NHS #Northbrook"
    )
    assert opening.created_at == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert opening.url == f"https://www.linkedin.com/feed/update/{SHARE3}/"
    assert [(m.type, m.alt_text) for m in opening.media] == [("photo", "The new ED entrance")]
    assert opening.engagement is not None
    counts = opening.engagement
    assert (counts.likes, counts.replies, counts.reposts, counts.views) == (41, 3, 5, 1830)
    assert counts.quotes is None
    tour = posts[UGC2]
    assert [m.type for m in tour.media] == ["video"]
    assert tour.engagement is not None
    assert tour.engagement.likes == 12

    [finder] = api.posts.calls
    sent = finder.request
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["linkedin-version"] == "202611"
    assert sent.headers["x-restli-protocol-version"] == "2.0.0"
    assert sent.headers["x-restli-method"] == "FINDER"
    assert f"author=urn%3Ali%3Aorganization%3A{ORG_ID}" in sent.url.query.decode()
    assert "q=author" in query(finder)
    assert "sortBy=LAST_MODIFIED" in query(finder)
    [stats] = api.stats.calls
    assert f"shares=List(urn%3Ali%3Ashare%3A{SHARE3.rsplit(':', 1)[1]})" in (
        stats.request.url.query.decode()
    )
    assert f"ugcPosts=List({UGC2})" in query(stats)
    assert f"organizationalEntity={ORG}" in query(stats)
    assert calls == [("linkedin:posts:northbrook-nhs", "200")] * 2
    assert json.loads(fetched.checkpoint or "") == {
        "newest": int(datetime(2026, 11, 30, 9, 0, tzinfo=UTC).timestamp() * 1000),
        "ids": [SHARE3],
    }


def test_the_first_poll_takes_the_newest_post_however_old_for_the_sweep(api):
    api.posts_file = "posts_old_only.json"
    fetched = posts_source().poll(None)
    [post] = fetched.posts
    assert post.post_id == SHARE1
    assert post.created_at == datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
    again = posts_source().poll(fetched.checkpoint)
    assert again.posts == []


def test_the_checkpoint_resumes_repeats_nothing_and_recent_counts_are_refreshed(api):
    moment = Moment()
    source = posts_source(moment)
    first = source.poll(None)

    moment.now = NOW + timedelta(minutes=5)  # counts are not due again yet
    assert source.poll(first.checkpoint).posts == []
    assert len(api.stats.calls) == 1

    moment.now = NOW + timedelta(minutes=16)
    api.stats_file = "share_statistics_later.json"
    refreshed = source.poll(first.checkpoint)
    counts = {p.post_id: p.engagement.likes for p in refreshed.posts if p.engagement}
    assert counts == {SHARE3: 97, UGC2: 15}
    assert refreshed.checkpoint == first.checkpoint

    moment.now = NOW + timedelta(minutes=20)
    api.posts_file = "posts_new.json"
    newer = source.poll(first.checkpoint)
    assert [p.post_id for p in newer.posts] == ["urn:li:share:7401234567890123004"]
    assert json.loads(newer.checkpoint or "")["ids"] == ["urn:li:share:7401234567890123004"]


def test_a_malformed_post_is_a_dead_letter_and_the_others_are_posts(api):
    api.posts_file = "posts_with_broken.json"
    source = posts_source()
    fetched = source.poll(None)
    assert sorted(p.post_id for p in fetched.posts) == [SHARE3, UGC2]
    [letter] = fetched.rejects
    assert "lastModifiedAt" in letter.reason
    assert "urn:li:share:7401234567890123005" in letter.origin
    assert json.loads(letter.payload)["commentary"] == "half a post"
    parse_record(DeadLetter, letter.to_bytes())
    again = source.poll(fetched.checkpoint)  # counts not due again: nothing at all
    assert (again.posts, again.rejects) == ([], [])


def test_without_the_statistics_scope_posts_come_without_counts(api, caplog):
    api.stats.mock(return_value=recorded("error_403_statistics.json", 403))
    source = posts_source()
    fetched = source.poll(None)
    assert sorted(p.post_id for p in fetched.posts) == [SHARE3, UGC2]
    assert all(p.engagement is None for p in fetched.posts)
    assert "rw_organization_admin" in caplog.text
    assert TOKEN not in caplog.text
    source.poll(fetched.checkpoint)
    assert len(api.stats.calls) == 1  # asked once, not on every poll


def test_comments_and_replies_on_recent_posts(api):
    fetched = comments_source().poll(None)

    posts = {p.post_id.rsplit(",", 1)[1].rstrip(")"): p for p in fetched.posts}
    assert sorted(posts) == ["7401300000000000011", "7401300000000000012", "7401300000000000013",
                             "7401300000000000021"]  # fmt: skip
    parking = posts["7401300000000000011"]
    assert (parking.kind, parking.in_reply_to) == ("comment", SHARE3)
    assert parking.author == "urn:li:person:Xk3vT9aQ1b"
    assert parking.text == "Will there still be parking at the old entrance?"
    assert parking.post_id == (
        "urn:li:comment:(urn:li:activity:7401234567890123103,7401300000000000011)"
    )
    assert parking.url == (
        f"https://www.linkedin.com/feed/update/{SHARE3}/?commentUrn=urn%3Ali%3Acomment%3A%28"
        "urn%3Ali%3Aactivity%3A7401234567890123103%2C7401300000000000011%29"
    )
    assert parking.engagement is not None
    assert (parking.engagement.likes, parking.engagement.replies) == (2, 1)
    answer = posts["7401300000000000013"]  # the page's own reply: official content
    assert (answer.kind, answer.author) == ("official_post", "northbrook-nhs")
    assert answer.in_reply_to == parking.post_id
    assert posts["7401300000000000021"].in_reply_to == UGC2
    assert posts["7401300000000000012"].text == "Brilliant news for the kids 👏"

    [letter] = fetched.rejects
    assert "created.time" in letter.reason
    assert json.loads(letter.payload)["message"]["text"] == "(no time)"

    paths = [c.request.url.raw_path.decode() for c in api.social.calls]
    assert f"/rest/socialActions/urn%3Ali%3Ashare%3A{SHARE3.rsplit(':', 1)[1]}/comments" in (
        p.split("?")[0] for p in paths
    )
    # Only the posts of the last comment_lookback_days are read (not the one of 20 November).
    assert not any("7401234567890123001" in p for p in paths)

    again = comments_source().poll(fetched.checkpoint)
    assert (again.posts, again.rejects) == ([], [])


def test_a_429_is_rate_limited_until_retry_after_or_the_setting(api):
    api.posts.mock(return_value=recorded("error_429.json", 429, {"Retry-After": "120"}))
    with pytest.raises(RateLimited) as limited:
        posts_source().poll(None)
    assert limited.value.retry_after == 120.0
    assert "DAY limit" in str(limited.value)
    api.posts.mock(return_value=recorded("error_429.json", 429))
    with pytest.raises(RateLimited) as limited:
        posts_source(rate_limit_backoff_seconds=900).poll(None)
    assert limited.value.retry_after == 900.0


def test_a_refused_token_is_access_denied_naming_the_setting_and_the_scope(api):
    api.posts.mock(return_value=recorded("error_401.json", 401))
    with pytest.raises(AccessDenied) as expired:
        posts_source().poll(None)
    assert TOKEN_ENV in str(expired.value)
    assert "Invalid access token" in str(expired.value)
    assert TOKEN not in str(expired.value)

    api.posts.mock(return_value=recorded("error_403.json", 403))
    with pytest.raises(AccessDenied) as scope:
        comments_source().poll(None)
    assert "r_organization_social" in str(scope.value)
    assert TOKEN_ENV in str(scope.value)


def test_server_errors_are_retried_and_a_lasting_one_is_source_unavailable(api):
    answers = iter([recorded("error_503.json", 503), recorded("error_503.json", 503)])
    api.posts.mock(side_effect=lambda _: next(answers, None) or recorded(api.posts_file))
    assert len(posts_source().poll(None).posts) == 2
    assert len(api.posts.calls) == 3

    api.posts.mock(return_value=recorded("error_503.json", 503))
    with pytest.raises(SourceUnavailable, match="after 3 attempts"):
        posts_source().poll(None)

    calls: list[tuple[str, str]] = []
    api.posts.mock(side_effect=httpx.ConnectTimeout("timed out"))
    with pytest.raises(SourceUnavailable, match="ConnectTimeout"):
        posts_source(calls=calls).poll(None)
    assert [status for _, status in calls] == ["timeout"] * 3


def test_check_makes_one_cheap_call_and_says_whether_the_token_works(api):
    result = posts_source().check()
    assert result.ok
    assert result.endpoints == {"GET /rest/posts?q=author": True}
    [call] = api.posts.calls
    assert "count=1" in query(call)

    api.posts.mock(return_value=recorded("error_401.json", 401))
    refused = comments_source().check()
    assert not refused.ok
    assert refused.endpoints == {"GET /rest/posts?q=author": False}
    assert TOKEN_ENV in refused.detail


@pytest.mark.parametrize(
    ("commentary", "text"),
    [
        ("Hello @[Northbrook NHS](urn:li:organization:1)!", "Hello @Northbrook NHS!"),
        ("{hashtag|\\#|Flu} jabs", "#Flu jabs"),
        ("Open 8\\-8 \\(weekdays\\) \\*only\\*", "Open 8-8 (weekdays) *only*"),
        ("@[A\\]B](urn:li:person:x)", "@A]B"),
        ("plain", "plain"),
    ],
)
def test_little_text_becomes_plain_text(commentary, text):
    assert little_text(commentary) == text


def test_millis_cursor_round_trips():
    cursor = MillisCursor(1764500000000, {"urn:li:share:1"}, ["urn:li:share:2"])
    assert MillisCursor.parse(cursor.dump(), "x") == cursor
    assert not cursor.first_rejection("urn:li:share:2")
    assert cursor.first_rejection("urn:li:share:3")
    assert MillisCursor.parse(None, "x").dump() is None


def settings_with(**linkedin) -> Settings:
    return Settings(connectors={"linkedin": linkedin}, accounts=[a.model_dump() for a in ACCOUNTS])


def test_from_settings_builds_nothing_when_disabled_or_without_a_token(caplog):
    assert from_settings(settings_with(enabled=False, access_token=TOKEN)) == []
    assert from_settings(settings_with(enabled=True)) == []
    assert TOKEN_ENV in caplog.text
    built = from_settings(settings_with(enabled=True, access_token=TOKEN))
    assert sorted(c.name for c in built) == [
        "linkedin:comments:northbrook-nhs",
        "linkedin:posts:northbrook-nhs",
    ]
    assert "'northbrook-careers' has no platform_id" in caplog.text
