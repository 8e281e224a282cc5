"""Care Opinion connector: httpx against recorded API v2 answers (respx).

The fixtures in ``tests/ingest/fixtures/careopinion`` are bodies in the shapes of Care Opinion's
API v2 (a JSON array of opinions, a JSON array of responses); the listing is served in
``skip``/``take`` slices the way the API pages. Time is faked (the request spacing's clock and
the sources' "now"), so nothing here sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx
from prometheus_client import CollectorRegistry

from ingest.checkpoints import CheckpointStore
from ingest.connector import AccessDenied, ConnectorError, RateLimited, SourceUnavailable
from ingest.connectors.careopinion import (
    KEY_ENV,
    CareOpinionApi,
    RequestSpacing,
    StoriesSource,
    StoryCursor,
    build_sources,
    by_organisation,
    from_settings,
)
from ingest.runner import IngestRunner
from socmon.config.connectors import CareOpinionSettings
from socmon.kafka import ensure_topics, make_producer
from socmon.metrics import Metrics
from socmon.records import DeadLetter, Post, parse_record
from socmon.settings import Settings
from tests.broker import read_topic

BASE = "https://www.careopinion.org.uk/api/v2"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "careopinion"
KEY = "co-header-key-5f1e0c9a7b3d"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
WEEK_HOURS = 24 * 7.0


class FakeTime:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.t = 5000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def recorded(name: str, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status, content=body(name), headers={"content-type": "application/json; charset=utf-8"}
    )


class CareOpinion:
    """The recorded API: the listing sliced by skip/take, responses by story id."""

    def __init__(self, router: respx.MockRouter, clock: FakeTime) -> None:
        self.listing = "opinions.json"
        self.responses = {
            "1254101": "responses_1254101.json",
            "1254117": "responses_1254117.json",
        }
        self.sent_at: list[float] = []
        self.clock = clock
        self.opinions = router.get(f"{BASE}/opinions").mock(side_effect=self._list)
        self.story_responses = router.get(url__regex=rf"^{BASE}/opinions/(?P<oid>\d+)/responses$")
        self.story_responses.mock(side_effect=self._responses)

    def _list(self, request: httpx.Request) -> httpx.Response:
        self.sent_at.append(self.clock())
        skip = int(request.url.params.get("skip", 0))
        take = int(request.url.params["take"])
        items = json.loads(body(self.listing))[skip : skip + take]
        return httpx.Response(200, json=items)

    def _responses(self, request: httpx.Request, oid: str) -> httpx.Response:
        self.sent_at.append(self.clock())
        return recorded(self.responses.get(oid, "responses_none.json"))


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def api(clock: FakeTime) -> Iterator[CareOpinion]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield CareOpinion(router, clock)


def settings(**overrides) -> CareOpinionSettings:
    options = {
        "enabled": True,
        "subscription_key": KEY,
        "organisations": ["RX1"],
        "page_size": 3,
        "retry_backoff_seconds": 0,
        "max_retries": 2,
        "initial_lookback_hours": WEEK_HOURS,
        **overrides,
    }
    return CareOpinionSettings(**options)


class Moment:
    """The sources' "now", moved by the tests."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def source(
    clock: FakeTime,
    moment: Moment | None = None,
    calls: list[tuple[str, str]] | None = None,
    **overrides,
) -> StoriesSource:
    recorder = (lambda s, status: calls.append((s, status))) if calls is not None else None
    client = CareOpinionApi(settings(**overrides), recorder, clock=clock, sleep=clock.sleep)
    [built] = build_sources(client, ["RX1"], timedelta(minutes=15), moment or Moment())
    assert isinstance(built, StoriesSource)
    return built


def test_stories_become_mentions_with_whether_the_organisation_responded(api, clock):
    calls: list[tuple[str, str]] = []
    fetched = source(clock, calls=calls).poll(None)

    posts = {p.post_id: p for p in fetched.posts}
    assert sorted(posts) == ["1254101", "1254117", "1254130"]
    kind_one = posts["1254101"]
    assert (kind_one.platform, kind_one.kind, kind_one.account) == ("careopinion", "mention", "RX1")
    assert kind_one.author == "Sunflower12"
    assert kind_one.text == (
        "Kind staff in A&E\n\nI came in with chest pain and was seen within the hour.\n\n"
        "The nurse **Amira** explained every test. Thank you."
    )
    assert kind_one.url == "https://www.careopinion.org.uk/1254101"
    assert kind_one.created_at == datetime(2026, 11, 27, 21, 14, tzinfo=UTC)  # when written
    assert kind_one.engagement is not None
    assert (kind_one.engagement.responded, kind_one.engagement.replies) == (True, 1)
    # Answered, but by Care Opinion's moderators, not by the organisation.
    answered_by_others = posts["1254117"].engagement
    assert answered_by_others is not None
    assert (answered_by_others.responded, answered_by_others.replies) == (False, 1)
    unanswered = posts["1254130"].engagement
    assert unanswered is not None
    assert (unanswered.responded, unanswered.replies) == (False, 0)

    [letter] = fetched.rejects
    assert letter.origin == "careopinion:stories:RX1:1254133"
    assert "dateOfPublication" in letter.reason
    assert json.loads(letter.payload)["title"] == "Ward 7"
    parse_record(DeadLetter, letter.to_bytes())

    [first, second] = api.opinions.calls
    sent = first.request
    assert sent.headers["authorization"] == f"SUBSCRIPTION_KEY {KEY}"
    assert dict(sent.url.params) == {
        "nacs": "RX1",
        "publishedafter": "2026-11-22",  # a week back, and a day more: "after" may exclude it
        "take": "3",
        "skip": "0",
    }
    assert second.request.url.params["skip"] == "3"
    assert fetched.exhausted
    assert {status for _, status in calls} == {"200"}
    assert len(calls) == 2 + 3  # two listing pages, the responses of three stories


def test_a_restart_resumes_from_the_checkpoint_and_repeats_nothing(api, clock):
    fetched = source(clock).poll(None)
    cursor = StoryCursor.parse(fetched.checkpoint, "careopinion:stories:RX1")
    assert cursor.newest == datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    assert cursor.ids_at_newest == {"1254130"}
    # Stories not answered by the organisation stay watched, with the responses seen.
    assert cursor.watch == {
        "1254117": ("2026-11-29T10:15:37+00:00", 1),
        "1254130": ("2026-11-30T08:30:00+00:00", 0),
    }

    restarted = source(clock).poll(fetched.checkpoint)  # a new process: re-reads the watch list
    assert restarted.posts == []
    assert restarted.rejects == []  # the story without a date was dead-lettered once
    assert restarted.checkpoint == fetched.checkpoint
    assert api.opinions.calls[-1].request.url.params["publishedafter"] == "2026-11-28"

    api.listing = "opinions_newer.json"
    newer = source(clock).poll(restarted.checkpoint)
    assert [p.post_id for p in newer.posts] == ["1254160"]
    assert StoryCursor.parse(newer.checkpoint, "").ids_at_newest == {"1254160"}


def test_an_unanswered_story_is_sent_again_once_the_organisation_responds(api, clock):
    moment = Moment()
    stories = source(clock, moment)
    fetched = stories.poll(None)
    responses_read = len(api.story_responses.calls)

    # Within engagement_refresh_minutes the watch list is not read again.
    moment.now = NOW + timedelta(minutes=5)
    assert stories.poll(fetched.checkpoint).posts == []
    assert len(api.story_responses.calls) == responses_read

    api.responses["1254130"] = "responses_1254130.json"
    moment.now = NOW + timedelta(minutes=16)
    later = stories.poll(fetched.checkpoint)
    [answered] = later.posts
    assert answered.post_id == "1254130"
    assert answered.engagement is not None
    assert (answered.engagement.responded, answered.engagement.replies) == (True, 1)
    assert StoryCursor.parse(later.checkpoint, "").watch == {
        "1254117": ("2026-11-29T10:15:37+00:00", 1)
    }


def test_a_story_leaves_the_watch_list_after_the_watch_window(api, clock):
    moment = Moment()
    fetched = source(clock, moment).poll(None)
    moment.now = NOW + timedelta(days=15)
    later = source(clock, moment).poll(fetched.checkpoint)
    assert later.posts == []
    assert StoryCursor.parse(later.checkpoint, "").watch == {}


def test_the_request_rate_stays_at_or_under_five_per_second(api, clock):
    api.listing = "opinions_newer.json"
    moment = Moment()
    stories = source(clock, moment, page_size=1)
    fetched = stories.poll(None)
    assert len(api.sent_at) == 10  # five one-story pages and an empty one, four responses
    moment.now = NOW + timedelta(minutes=16)  # the watch list is due again
    stories.poll(fetched.checkpoint)

    sent = api.sent_at
    assert len(sent) >= 14
    # Any five requests in a row span at least a second: never six in one second.
    assert all(later - first >= 1.0 - 1e-9 for first, later in zip(sent, sent[5:], strict=False))
    assert sent[-1] - sent[0] == pytest.approx((len(sent) - 1) / 5.0)


def test_request_spacing_only_waits_when_requests_come_too_fast():
    clock = FakeTime()
    spacing = RequestSpacing(5.0, clock, clock.sleep)
    spacing.wait()
    clock.t += 1.0  # a slow caller: no wait needed
    spacing.wait()
    spacing.wait()
    assert clock.slept == [pytest.approx(0.2)]


def test_a_429_is_rate_limited_for_as_long_as_retry_after_says(api, clock):
    api.opinions.mock(
        return_value=httpx.Response(429, headers={"Retry-After": "7"}, text="Too Many Requests")
    )
    with pytest.raises(RateLimited) as limited:
        source(clock).poll(None)
    assert limited.value.retry_after == 7.0
    api.opinions.mock(return_value=httpx.Response(429, text="Too Many Requests"))
    with pytest.raises(RateLimited) as limited:
        source(clock).poll(None)
    assert limited.value.retry_after == 60.0  # rate_limit_backoff_seconds


def test_a_refused_key_is_access_denied_naming_the_setting(api, clock):
    # Care Opinion answers a bad key with a redirect to its login page.
    login = "https://www.careopinion.org.uk/login?returnUrl=%2Fapi%2Fv2%2Fopinions"
    api.opinions.mock(return_value=httpx.Response(302, headers={"Location": login}))
    with pytest.raises(AccessDenied) as denied:
        source(clock).poll(None)
    assert KEY_ENV in str(denied.value)
    assert "login page" in str(denied.value)
    assert KEY not in str(denied.value)

    api.opinions.mock(return_value=httpx.Response(401, content=body("login_page.html")))
    with pytest.raises(AccessDenied, match=KEY_ENV):
        source(clock).poll(None)


def test_server_errors_are_retried_then_the_poll_succeeds(api, clock):
    answers = iter([httpx.Response(503), httpx.Response(502)])
    api.opinions.mock(side_effect=lambda request: next(answers, None) or api._list(request))
    fetched = source(clock).poll(None)
    assert len(fetched.posts) == 3
    assert len(api.opinions.calls) == 4  # 503, 502, then the two pages


def test_lasting_server_errors_and_timeouts_are_source_unavailable(api, clock):
    api.opinions.mock(return_value=httpx.Response(500))
    with pytest.raises(SourceUnavailable, match="after 3 attempts"):
        source(clock).poll(None)
    assert len(api.opinions.calls) == 3

    calls: list[tuple[str, str]] = []
    api.opinions.mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(SourceUnavailable, match="ReadTimeout"):
        source(clock, calls=calls).poll(None)
    assert calls == [("careopinion:stories:RX1", "timeout")] * 3


def test_a_not_found_is_a_connector_error_with_the_status(api, clock):
    api.opinions.mock(return_value=httpx.Response(404, text="Not Found"))
    with pytest.raises(ConnectorError, match="404"):
        source(clock).poll(None)


def test_check_makes_one_cheap_call_and_says_whether_the_key_works(api, clock):
    result = source(clock).check()
    assert result.ok
    assert result.endpoints == {"GET /opinions": True}
    assert api.opinions.calls[-1].request.url.params["take"] == "1"
    assert len(api.opinions.calls) == 1

    api.opinions.mock(return_value=httpx.Response(302, headers={"Location": "/login"}))
    refused = source(clock).check()
    assert not refused.ok
    assert refused.endpoints == {"GET /opinions": False}
    assert KEY_ENV in refused.detail


@pytest.mark.parametrize(
    ("links", "codes", "expected"),
    [
        ([{"rel": "healthservice", "id": "RX1RA"}], ["RX1"], True),
        ([{"rel": "healthservice", "id": "rx1"}], ["RX1"], True),
        ([{"rel": "organisation", "id": "CO1"}], ["RX1"], False),
        ([{"rel": "opinion", "id": "RX1"}], ["RX1"], False),
        ([], ["RX1"], False),
    ],
)
def test_a_response_is_the_organisations_when_it_links_to_one_of_its_services(
    links, codes, expected
):
    assert by_organisation({"links": links}, codes) is expected


def settings_with(**careopinion) -> Settings:
    return Settings(connectors={"careopinion": careopinion})


def test_from_settings_builds_one_source_per_organisation_code_or_nothing():
    assert from_settings(settings_with(enabled=False, subscription_key=KEY)) == []
    assert from_settings(settings_with(enabled=True, organisations=["RX1"])) == []
    assert from_settings(settings_with(enabled=True, subscription_key=KEY)) == []
    built = from_settings(
        settings_with(enabled=True, subscription_key=KEY, organisations=["RX1", "RX1CM"])
    )
    assert [c.name for c in built] == ["careopinion:stories:RX1", "careopinion:stories:RX1CM"]


def test_restarts_on_the_real_broker_produce_each_story_once_and_answers_again(
    api, clock, kafka_settings, tmp_path
):
    ensure_topics(kafka_settings)
    checkpoints = tmp_path / "checkpoints.json"
    moment = Moment()

    def run() -> int:
        runner = IngestRunner(
            [source(clock, moment)],  # a new process each time
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

    assert run() == 3
    assert run() == 0  # the watch list is read again, and nothing about it changed
    api.listing = "opinions_newer.json"
    api.responses["1254130"] = "responses_1254130.json"
    assert run() == 2  # the new story, and the parking story now that the trust answered

    raw = read_topic(kafka_settings.bootstrap_servers, kafka_settings.topics.posts_raw, 5, 8)
    stories = [parse_record(Post, r.value) for r in raw]
    assert sorted(p.post_id for p in stories) == [
        "1254101",
        "1254117",
        "1254130",
        "1254130",
        "1254160",
    ]
    parking = [p for p in stories if p.post_id == "1254130"]
    assert [p.engagement.responded for p in parking if p.engagement] == [False, True]
    letters = read_topic(kafka_settings.bootstrap_servers, kafka_settings.topics.deadletter, 1, 8)
    assert len(letters) == 1, "the story without a date is dead-lettered once"
    saved = json.loads(checkpoints.read_text())["careopinion:stories:RX1"]
    assert StoryCursor.parse(saved, "").ids_at_newest == {"1254160"}
