"""YouTube connectors: the real google-api-python-client against recorded Data API answers.

The answers are served by `HttpMockSequence`, the client library's own recorded-response
transport: the real discovery-built client makes each request (its parameter checks, URL building
and JSON and error handling run) and gets the next recorded answer. A sequence rather than a
router on purpose: the Data API's limit is a daily quota of calls, so each test states exactly
which calls a poll makes, in order, and fails on one call more or less. The fixtures in
``tests/ingest/fixtures/youtube`` are bodies in the documented shapes of channels.list,
playlistItems.list, videos.list, commentThreads.list, comments.list and Google's error format.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from googleapiclient.http import HttpMockSequence
from prometheus_client import CollectorRegistry

from ingest.checkpoints import CheckpointStore
from ingest.connector import AccessDenied, RateLimited, SourceUnavailable
from ingest.connectors.youtube import (
    KEY_ENV,
    CommentsSource,
    QuotaLedger,
    UploadsSource,
    YouTubeApi,
    build_sources,
    channels_of,
    estimated_daily_units,
    from_settings,
    seconds_until_quota_reset,
)
from ingest.runner import IngestRunner
from socmon.config.connectors import YouTubeSettings
from socmon.config.governance import OfficialAccount
from socmon.kafka import ensure_topics, make_producer
from socmon.metrics import Metrics
from socmon.records import DeadLetter, Post, parse_record
from socmon.settings import Settings
from tests.broker import read_topic

FIXTURES = Path(__file__).parents[1] / "fixtures" / "youtube"
KEY = "AIzaSyD-test-key-Zm9vYmFyYmF6cXV4"
CHANNEL = "UCq3Xb8tN0rthbrkNHS4a7Qw"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
T1 = "UgxJw7Yk2mQfN3pLr5B4AaABAg"
T4 = "UgzK8vB1nW5cR3tJm6D4AaABAg"


def answer(name: str, status: int = 200) -> tuple[dict[str, str], bytes]:
    """A recorded answer as `HttpMockSequence` serves it: headers (with the status), body."""
    headers = {"status": str(status), "content-type": "application/json; charset=UTF-8"}
    return headers, (FIXTURES / name).read_bytes()


def answer_of(body: dict) -> tuple[dict[str, str], bytes]:
    return {"status": "200", "content-type": "application/json; charset=UTF-8"}, json.dumps(
        body
    ).encode()


class Clock:
    """The time the sources see; a test moves it."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class NetworkMock(HttpMockSequence):
    """`HttpMockSequence` whose sequence may also hold an exception: raised as the transport
    (httplib2) raises a time-out or a refused connection."""

    def request(self, uri, method="GET", body=None, headers=None, **kwargs):
        if isinstance(self._iterable[0], BaseException):
            self.request_sequence.append((uri, method, body, headers))
            raise self._iterable.pop(0)
        return super().request(uri, method, body, headers, **kwargs)


def api_with(
    *answers, clock: Clock | None = None, on_api_call=None, **settings
) -> tuple[YouTubeApi, HttpMockSequence]:
    http = NetworkMock(list(answers))
    conf = YouTubeSettings(api_key=KEY, max_retries=2, retry_backoff_seconds=0, **settings)
    api = YouTubeApi(conf, on_api_call, http=http, now=clock or Clock(), sleep=lambda _: None)
    return api, http


def sources(api: YouTubeApi, **kwargs) -> tuple[UploadsSource, CommentsSource]:
    uploads, comments = build_sources(api, [("@NorthbrookNHS", CHANNEL)], **kwargs)
    assert isinstance(uploads, UploadsSource)
    assert isinstance(comments, CommentsSource)
    return uploads, comments


def requests_made(http: HttpMockSequence) -> list[tuple[str, dict[str, list[str]]]]:
    """(method path, query) of each request, e.g. ("/youtube/v3/videos", {...})."""
    return [
        (urlparse(uri).path, parse_qs(urlparse(uri).query)) for uri, *_ in http.request_sequence
    ]


def paths(http: HttpMockSequence) -> list[str]:
    return [path.removeprefix("/youtube/v3/") for path, _ in requests_made(http)]


# --- the client ------------------------------------------------------------------------------


def test_the_client_is_built_from_the_bundled_discovery_document_without_a_request():
    api, http = api_with()
    assert http.request_sequence == []
    request = api.service.commentThreads().list(
        part="snippet,replies", allThreadsRelatedToChannelId=CHANNEL, order="time"
    )
    assert request.uri.startswith("https://youtube.googleapis.com/youtube/v3/commentThreads?")


# --- uploads ---------------------------------------------------------------------------------


def test_uploads_become_official_posts_with_their_counts():
    api, http = api_with(
        answer("channels_contentDetails.json"),
        answer("playlist_items.json"),
        answer("videos.json"),
    )
    uploads, _ = sources(api)
    fetched = uploads.poll(None)

    assert paths(http) == ["channels", "playlistItems", "videos"]
    (_, channel), (_, playlist), (_, videos) = requests_made(http)
    assert channel["id"] == [CHANNEL]
    assert channel["part"] == ["contentDetails"]
    assert channel["key"] == [KEY]
    assert playlist["playlistId"] == ["UUq3Xb8tN0rthbrkNHS4a7Qw"]
    # The private video has no videoPublishedAt; the upload of 20 November ends the walk, so the
    # playlist's next page is not read.
    assert videos["id"] == ["Nb7xK2pQ1aE,Hq3LmZ8vT0c"]
    assert videos["part"] == ["snippet,statistics"]

    posts = {p.post_id: p for p in fetched.posts}
    assert sorted(posts) == ["Hq3LmZ8vT0c", "Nb7xK2pQ1aE"]
    winter = posts["Nb7xK2pQ1aE"]
    assert (winter.kind, winter.account, winter.author) == (
        "official_post",
        "NorthbrookNHS",
        "NorthbrookNHS",
    )
    assert winter.key == "youtube:Nb7xK2pQ1aE"
    assert winter.url == "https://www.youtube.com/watch?v=Nb7xK2pQ1aE"
    assert winter.text.startswith("Winter vaccinations: what to expect at your appointment\n\n")
    assert winter.text.endswith("#NHS #WinterVaccines")
    assert winter.created_at == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert winter.engagement is not None
    assert (winter.engagement.likes, winter.engagement.replies, winter.engagement.views) == (
        87,
        12,
        1542,
    )
    assert winter.engagement.read_at == NOW
    maternity = posts["Hq3LmZ8vT0c"]
    assert maternity.lang == "cy"
    assert maternity.engagement is not None
    assert maternity.engagement.likes is None  # the channel hides its likes: unknown, not 0
    assert fetched.rejects == []
    assert json.loads(fetched.checkpoint or "") == {
        "newest": "2026-11-30T09:00:00+00:00",
        "ids": ["Nb7xK2pQ1aE"],
    }


def test_recent_uploads_are_sent_again_with_fresh_counts_and_the_channel_is_looked_up_once():
    clock = Clock()
    api, http = api_with(
        answer("channels_contentDetails.json"),
        answer("playlist_items.json"),
        answer("videos.json"),
        answer("playlist_items.json"),
        answer("videos_refreshed.json"),
        clock=clock,
    )
    uploads, _ = sources(api)
    first = uploads.poll(None)
    clock.now = NOW + timedelta(minutes=15)
    again = uploads.poll(first.checkpoint)

    assert paths(http)[3:] == ["playlistItems", "videos"]
    counts = {p.post_id: p.engagement for p in again.posts}
    assert counts["Nb7xK2pQ1aE"] is not None
    assert (counts["Nb7xK2pQ1aE"].likes, counts["Nb7xK2pQ1aE"].views) == (121, 2210)
    assert counts["Nb7xK2pQ1aE"].read_at == NOW + timedelta(minutes=15)
    assert counts["Hq3LmZ8vT0c"] is not None
    assert counts["Hq3LmZ8vT0c"].replies == 4
    assert again.checkpoint == first.checkpoint


def test_uploads_older_than_the_refresh_window_are_not_read_again():
    clock = Clock(NOW + timedelta(days=3))
    api, http = api_with(
        answer("channels_contentDetails.json"), answer("playlist_items.json"), clock=clock
    )
    uploads, _ = sources(api, refresh_hours=48)
    checkpoint = json.dumps({"newest": "2026-11-30T09:00:00+00:00", "ids": ["Nb7xK2pQ1aE"]})
    fetched = uploads.poll(checkpoint)
    assert paths(http) == ["channels", "playlistItems"]  # no videos.list: nothing to read
    assert (fetched.posts, fetched.checkpoint) == ([], checkpoint)


def test_a_first_poll_takes_the_newest_upload_however_old_for_the_activity_sweep():
    newest_only = json.loads((FIXTURES / "videos.json").read_text())
    newest_only["items"] = newest_only["items"][:1]
    clock = Clock(NOW + timedelta(days=20))
    api, http = api_with(
        answer("channels_contentDetails.json"),
        answer("playlist_items.json"),
        answer_of(newest_only),
        clock=clock,
    )
    uploads, _ = sources(api)
    fetched = uploads.poll(None)
    assert requests_made(http)[2][1]["id"] == ["Nb7xK2pQ1aE"]
    assert [(p.post_id, p.kind) for p in fetched.posts] == [("Nb7xK2pQ1aE", "official_post")]


# --- comments --------------------------------------------------------------------------------


def comment_answers(first_page: str = "comment_threads_page1.json", replies: bool = True):
    # page 1; the replies of the thread whose replies part is partial (read again only when its
    # reply count changed); page 2, whose thread was started before the lookback window, so its
    # next page is not read.
    return [
        answer(first_page),
        *([answer("comments_replies.json")] if replies else []),
        answer("comment_threads_page2.json"),
    ]


def test_comments_and_replies_become_posts_and_a_malformed_comment_a_dead_letter():
    api, http = api_with(*comment_answers())
    _, comments = sources(api)
    fetched = comments.poll(None)

    assert paths(http) == ["commentThreads", "comments", "commentThreads"]
    (_, threads), (_, replies), (_, page2) = requests_made(http)
    assert threads["allThreadsRelatedToChannelId"] == [CHANNEL]
    assert (threads["order"], threads["textFormat"]) == (["time"], ["plainText"])
    assert threads["part"] == ["snippet,replies"]
    assert replies["parentId"] == [T4]
    assert page2["pageToken"] == ["QURTSl9pM2xhRlJmS3dCd0V"]

    posts = {p.post_id: p for p in fetched.posts}
    # The old thread's top-level comment is before the first poll's lookback; its new reply is not.
    assert "UgwP2sX9dL4kF7hQn1C4AaABAg" not in posts
    assert {(p.kind, p.author) for p in posts.values()} == {
        ("comment", "JaneWalsh-k2p"),
        ("reply", "NorthbrookNHS"),  # the channel answering, under the register's handle
        ("comment", "dafydd.jones"),
        ("comment", "m.okafor"),
        ("reply", "ceri.midwife"),
        ("reply", "m.okafor"),
        ("reply", "lee.t"),
        ("reply", "ahmed.k"),
    }
    assert {p.account for p in posts.values()} == {"NorthbrookNHS"}
    jane = posts[T1]
    assert jane.key == f"youtube:{T1}"
    assert jane.text.startswith("Waited 6 hours in A&E last night")
    assert (jane.in_reply_to, jane.created_at) == (
        "Nb7xK2pQ1aE",
        datetime(2026, 11, 30, 11, 40, tzinfo=UTC),
    )
    assert jane.url == f"https://www.youtube.com/watch?v=Nb7xK2pQ1aE&lc={T1}"
    assert jane.engagement is not None
    assert (jane.engagement.likes, jane.engagement.replies) == (3, 1)
    answer_by_trust = posts[f"{T1}.AQx9LmP2v8dAQx9LsT3kYz"]
    assert answer_by_trust.in_reply_to == T1
    assert posts["UgyD4fR8sKq2Lm0vXw7B4AaABAg"].text == (
        "Diolch i'r staff ar y ward famolaeth am eu gofal 💙"
    )
    # All three replies of the partial thread came from comments.list.
    assert sum(p.in_reply_to == T4 for p in posts.values()) == 3

    [letter] = fetched.rejects
    assert letter.origin == (
        "youtube:comments:NorthbrookNHS commentThreads.list id Ugw3Hn6Tt1Pq9Zc2Yb8B4AaABAg"
    )
    assert "textDisplay" in letter.reason
    assert json.loads(letter.payload)["snippet"]["authorDisplayName"] == "@sam.r-77"
    parse_record(DeadLetter, letter.to_bytes())
    assert json.loads(fetched.checkpoint or "") == {
        "newest": "2026-11-30T11:55:00+00:00",
        "ids": [f"{T1}.AQx9LmP2v8dAQx9LsT3kYz"],
        "replies": {T4: 3},
    }


def test_the_checkpoint_resumes_and_nothing_is_produced_twice():
    clock = Clock()
    api, http = api_with(
        *comment_answers(),
        *comment_answers("comment_threads_page1_new.json", replies=False),
        clock=clock,
    )
    _, comments = sources(api)
    first = comments.poll(None)
    clock.now = NOW + timedelta(minutes=30)
    second = comments.poll(first.checkpoint)

    # The busy thread still has 3 replies: comments.list is not called again.
    assert paths(http)[3:] == ["commentThreads", "commentThreads"]
    assert [(p.post_id, p.author) for p in second.posts] == [
        ("UgxR6mN2bV8cX4zLq9E4AaABAg", "priya.s")
    ]
    assert second.rejects == []  # the malformed comment was dead-lettered once, at its time
    assert not {p.key for p in first.posts} & {p.key for p in second.posts}
    assert json.loads(second.checkpoint or "")["newest"] == "2026-11-30T12:10:00+00:00"
    for post in second.posts:
        parse_record(Post, post.to_bytes())


def test_a_restart_of_the_runner_produces_exactly_the_new_comments(kafka_settings, tmp_path):
    ensure_topics(kafka_settings)
    clock = Clock()
    api, _ = api_with(
        *comment_answers(),
        *comment_answers("comment_threads_page1_new.json", replies=False),
        clock=clock,
    )
    _, comments = sources(api)
    checkpoints = tmp_path / "checkpoints.json"

    def run() -> tuple[int, int]:
        runner = IngestRunner(
            [comments],
            make_producer(kafka_settings.bootstrap_servers),
            kafka_settings.topics,
            CheckpointStore(checkpoints),
            Metrics.create(CollectorRegistry()),
        )
        try:
            summary = runner.run_until_exhausted()
        finally:
            runner.producer.close()
        assert summary.errors == {}
        return summary.produced, summary.rejected

    assert run() == (8, 1)
    clock.now = NOW + timedelta(minutes=30)
    assert run() == (1, 0)

    topics = kafka_settings.topics
    raw = read_topic(kafka_settings.bootstrap_servers, topics.posts_raw, 9, 10)
    keys = [r.key.decode() for r in raw]
    assert len(keys) == len(set(keys)) == 9, "no comment may be produced twice"
    assert f"youtube:{T1}" in keys
    [letter] = read_topic(kafka_settings.bootstrap_servers, topics.deadletter, 1, 10)
    assert "textDisplay" in parse_record(DeadLetter, letter.value).reason
    saved = json.loads(checkpoints.read_text())["youtube:comments:NorthbrookNHS"]
    assert json.loads(saved)["newest"] == "2026-11-30T12:10:00+00:00"


def test_a_source_is_not_polled_again_before_its_interval():
    ticks = iter([0.0, 100.0, 301.0])
    api, http = api_with(*comment_answers(), *comment_answers(replies=False))
    _, comments = sources(api, comment_interval=300, clock=lambda: next(ticks))
    first = comments.poll(None)
    skipped = comments.poll(first.checkpoint)
    assert (skipped.posts, skipped.checkpoint) == ([], first.checkpoint)
    assert len(http.request_sequence) == 3
    comments.poll(first.checkpoint)
    assert len(http.request_sequence) == 5


def test_a_new_reply_in_a_busy_thread_is_read_with_comments_list():
    busier = json.loads((FIXTURES / "comment_threads_page1.json").read_text())
    [thread] = [t for t in busier["items"] if t["id"] == T4]
    thread["snippet"]["totalReplyCount"] = 4
    more = json.loads((FIXTURES / "comments_replies.json").read_text())
    newest = json.loads(json.dumps(more["items"][-1]))
    newest["id"] = f"{T4}.AQw1Rt5Yu8iAQw4Vb6Nm8k"
    newest["snippet"].update(
        textDisplay="Yes! Saturday 9-12 at the outpatients entrance.",
        textOriginal="Yes! Saturday 9-12 at the outpatients entrance.",
        publishedAt="2026-11-30T12:20:00Z",
        updatedAt="2026-11-30T12:20:00Z",
    )
    more["items"].append(newest)
    clock = Clock()
    api, http = api_with(
        *comment_answers(),
        answer_of(busier),
        answer_of(more),
        answer("comment_threads_page2.json"),
        clock=clock,
    )
    _, comments = sources(api)
    first = comments.poll(None)
    clock.now = NOW + timedelta(minutes=30)
    second = comments.poll(first.checkpoint)
    assert paths(http)[3:] == ["commentThreads", "comments", "commentThreads"]
    assert [(p.post_id, p.kind, p.in_reply_to) for p in second.posts] == [
        (newest["id"], "reply", T4)
    ]
    assert json.loads(second.checkpoint or "")["replies"] == {T4: 4}


# --- errors ----------------------------------------------------------------------------------


def test_quota_exceeded_waits_until_midnight_pacific_and_spends_no_more_calls():
    calls: list[tuple[str, str]] = []
    api, http = api_with(
        answer("error_quota_exceeded.json", 403), on_api_call=lambda *c: calls.append(c)
    )
    _, comments = sources(api)
    with pytest.raises(RateLimited) as limited:
        comments.poll(None)
    # 12:00 UTC on 30 November is 04:00 PST; midnight PST is 08:00 UTC the next day.
    assert limited.value.retry_after == 20 * 3600
    assert "quotaExceeded" in str(limited.value)
    with pytest.raises(RateLimited):
        comments.poll(None)
    assert len(http.request_sequence) == 1  # the second poll did not call YouTube
    assert calls == [("youtube:comments:NorthbrookNHS", "403")]


def test_a_bad_key_is_access_denied_naming_the_setting_and_never_the_key():
    api, _ = api_with(answer("error_key_invalid.json", 400))
    _, comments = sources(api)
    with pytest.raises(AccessDenied) as denied:
        comments.poll(None)
    message = str(denied.value)
    assert KEY_ENV in message
    assert "API_KEY_INVALID" in message
    assert KEY not in message


def test_a_5xx_is_retried_and_the_poll_succeeds():
    api, http = api_with(
        answer("error_backend.json", 503),
        answer("error_backend.json", 503),
        answer("channels_contentDetails.json"),
        answer("playlist_items.json"),
        answer("videos.json"),
    )
    uploads, _ = sources(api)
    assert len(uploads.poll(None).posts) == 2
    assert paths(http)[:3] == ["channels", "channels", "channels"]


def test_a_lasting_5xx_is_source_unavailable_after_bounded_retries(caplog):
    api, http = api_with(*[answer("error_backend.json", 503)] * 3)
    _, comments = sources(api)
    with caplog.at_level(logging.WARNING), pytest.raises(SourceUnavailable, match="3 attempts"):
        comments.poll(None)
    assert len(http.request_sequence) == 3
    assert KEY not in caplog.text


def test_a_network_failure_is_retried_then_source_unavailable():
    calls: list[tuple[str, str]] = []
    api, _ = api_with(
        TimeoutError("timed out"), *comment_answers(), on_api_call=lambda *c: calls.append(c)
    )
    _, comments = sources(api)
    assert len(comments.poll(None).posts) == 8
    assert [status for _, status in calls] == ["timeout", "200", "200", "200"]

    down, _ = api_with(*[ConnectionRefusedError("refused")] * 3)
    with pytest.raises(SourceUnavailable, match="did not answer after 3 attempts"):
        sources(down)[1].poll(None)


def test_check_makes_one_channels_call_and_says_whether_the_key_works():
    api, http = api_with(answer("channels_contentDetails.json"))
    uploads, comments = sources(api)
    assert uploads.check().ok
    assert comments.check().ok  # the same channel: already looked up
    assert len(http.request_sequence) == 1

    refused_api, _ = api_with(answer("error_key_invalid.json", 400))
    refused = sources(refused_api)[0].check()
    assert not refused.ok
    assert refused.endpoints == {"channels.list": False}
    assert KEY_ENV in refused.detail

    unknown_api, _ = api_with(answer("channels_none.json"))
    unknown = sources(unknown_api)[1].check()
    assert not unknown.ok
    assert "platform_id" in unknown.detail


# --- quota -----------------------------------------------------------------------------------


def test_the_ledger_stops_at_the_daily_budget_and_starts_again_after_midnight_pacific():
    clock = Clock(datetime(2026, 11, 30, 7, 59, tzinfo=UTC))  # 23:59 PST
    ledger = QuotaLedger(daily_units=2, now=clock)
    ledger.spend(1)
    assert ledger.wait_seconds(1) == 0
    ledger.spend(1)
    assert ledger.wait_seconds(1) == 60
    clock.now += timedelta(minutes=1)
    assert ledger.wait_seconds(1) == 0


def test_the_quota_resets_at_midnight_pacific_in_summer_time_too():
    # 12:00 UTC on 1 July is 05:00 PDT (UTC-7): midnight PDT is 07:00 UTC the next day.
    assert seconds_until_quota_reset(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == 19 * 3600


def test_the_daily_cost_estimate_of_the_default_schedule():
    # comments every 5 min (288 polls), uploads every 15 min (96 polls of 2 units), one lookup
    assert estimated_daily_units(3, 5, 15) == 3 * (288 + 192 + 1)


# --- settings --------------------------------------------------------------------------------


ACCOUNTS = [
    OfficialAccount(platform="youtube", handle="@NorthbrookNHS", platform_id=CHANNEL, team="Comms"),
    OfficialAccount(platform="youtube", handle="NorthbrookMaternity", team="Maternity"),
    OfficialAccount(
        platform="youtube", handle="OldChannel", platform_id=CHANNEL, team="Comms", status="closed"
    ),
]


def test_an_account_without_a_channel_id_is_named_in_a_notice():
    channels, notices = channels_of(ACCOUNTS)
    assert channels == [("NorthbrookNHS", CHANNEL)]
    [notice] = notices
    assert "'NorthbrookMaternity'" in notice
    assert "platform_id" in notice
    assert "UC" in notice


def settings_with(**youtube) -> Settings:
    return Settings(connectors={"youtube": youtube}, accounts=[a.model_dump() for a in ACCOUNTS])


def test_from_settings_builds_two_sources_per_channel_and_notices_what_it_skips(caplog):
    with caplog.at_level(logging.INFO, logger="ingest.connectors.youtube"):
        built = from_settings(settings_with(enabled=True, api_key=KEY))
    assert [c.name for c in built] == [
        "youtube:uploads:NorthbrookNHS",
        "youtube:comments:NorthbrookNHS",
    ]
    assert "NorthbrookMaternity" in caplog.text
    assert "quota units a day" in caplog.text
    assert KEY not in caplog.text


def test_from_settings_builds_nothing_when_disabled_or_without_a_key(caplog):
    assert from_settings(settings_with(enabled=False, api_key=KEY)) == []
    with caplog.at_level(logging.WARNING):
        assert from_settings(settings_with(enabled=True)) == []
    assert KEY_ENV in caplog.text


@pytest.mark.parametrize(
    ("value", "count"),
    [("1542", 1542), (3, 3), (None, None), ("-1", None), ("many", None), (True, None), (1.5, None)],
)
def test_a_count_is_read_from_the_apis_strings_and_a_bad_one_is_unknown(value, count):
    from ingest.connectors.youtube import _count

    assert _count(value) == count
