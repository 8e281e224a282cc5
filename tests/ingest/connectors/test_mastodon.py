"""Mastodon connectors: the real Mastodon.py client against recorded REST responses (responses).

The fixtures in ``tests/ingest/fixtures/mastodon`` are bodies in the documented shapes of the
Mastodon REST API (Account, Status, Notification, Search, Instance); they are replayed byte for
byte with the headers Mastodon sends (``Link``, ``X-RateLimit-*``), so Mastodon.py's own request,
paging, rate-limit and error handling run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from ingest.checkpoints import CheckpointStore
from ingest.connector import AccessDenied, RateLimited, SourceUnavailable
from ingest.connectors.common import RefreshSchedule
from ingest.connectors.mastodon import (
    MastodonApi,
    MastodonEngagement,
    MentionsSource,
    RetryPolicy,
    SearchSource,
    StatusesSource,
    build_sources,
    from_settings,
    status_text,
)
from ingest.runner import IngestRunner
from socmon.config.governance import OfficialAccount
from socmon.kafka import ensure_topics, make_producer
from socmon.metrics import Metrics
from socmon.records import DeadLetter, Engagement, Post, parse_record, utcnow
from socmon.settings import Settings
from tests.broker import read_topic

BASE = "https://mastodon.test"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "mastodon"
TOKEN = "tok-Zm9vYmFyYmF6cXV4"
NHS_ID = "110000000000000001"
ACCOUNTS = [
    OfficialAccount(platform="mastodon", handle="@NorthbrookNHS@mastodon.test", team="Comms"),
    OfficialAccount(
        platform="mastodon",
        handle="NorthbrookMaternity",
        platform_id="110000000000000002",
        team="Maternity",
    ),
]
STATUS_PAGES = {
    None: "statuses_newest.json",
    "113300000000000009": "statuses_after_9.json",
    "113300000000000011": "statuses_after_11.json",
    "113300000000000012": "statuses_empty.json",
}
NOTIFICATION_PAGES = {
    None: "notifications_after_200.json",
    "200": "notifications_after_200.json",
    "203": "notifications_after_203.json",
}


def budget(remaining: int = 299, reset_in: float = 300) -> dict[str, str]:
    reset = datetime.fromtimestamp(time.time() + reset_in, UTC).isoformat()
    return {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": reset,
    }


def recorded(name: str, status: int = 200, headers: dict[str, str] | None = None):
    """A recorded body with the headers Mastodon sends: Link (for lists) and the rate limit."""
    body = (FIXTURES / name).read_bytes()
    sent = {"Content-Type": "application/json; charset=utf-8", **budget(), **(headers or {})}
    items = json.loads(body) if status == 200 else None
    if isinstance(items, list) and items:
        sent["Link"] = (
            f'<{BASE}/api/v1/x?max_id={items[-1]["id"]}>; rel="next", '
            f'<{BASE}/api/v1/x?min_id={items[0]["id"]}>; rel="prev"'
        )
    return status, sent, body


def paged(pages: dict[str | None, str]):
    """Serve the recorded page for the request's min_id (the dict may grow between polls)."""

    def reply(request):
        min_id = parse_qs(urlparse(request.url).query).get("min_id", [None])[0]
        return recorded(pages[min_id])

    return reply


def params_of(call) -> dict[str, list[str]]:
    return parse_qs(urlparse(call.request.url).query)


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(
            responses.GET,
            f"{BASE}/api/v1/accounts/verify_credentials",
            callback=lambda _: recorded("verify_credentials.json"),
            content_type=None,
        )
        mock.add_callback(
            responses.GET,
            f"{BASE}/api/v1/instance/",
            callback=lambda _: recorded("instance_v1.json"),
            content_type=None,
        )
        mock.add_callback(
            responses.GET,
            f"{BASE}/api/v2/instance/",
            callback=lambda _: recorded("instance_v2.json"),
            content_type=None,
        )
        yield mock


def route(mock: responses.RequestsMock, path: str, callback) -> None:
    mock.add_callback(responses.GET, f"{BASE}{path}", callback=callback, content_type=None)


def calls_to(mock: responses.RequestsMock, path: str) -> list:
    return [c for c in mock.calls if urlparse(c.request.url).path == path]


def sources(
    page_size: int = 40,
    max_pages: int = 10,
    queries=("#Northbrook",),
    attempts=3,
    refresh: RefreshSchedule | None = None,
):
    client = MastodonApi(
        BASE, SecretStr(TOKEN), retry=RetryPolicy(attempts=attempts, wait_initial=0, wait_max=0)
    )
    built = build_sources(
        client,
        ACCOUNTS,
        list(queries),
        page_size=page_size,
        max_pages=max_pages,
        refresh=refresh,
    )
    return {c.name: c for c in built}


def statuses(**kwargs) -> StatusesSource:
    source = sources(**kwargs)["mastodon:posts:NorthbrookNHS@mastodon.test"]
    assert isinstance(source, StatusesSource)
    return source


def by_author(posts: list[Post]) -> dict[str, Post]:
    return {p.author: p for p in posts}


STATUSES_PATH = f"/api/v1/accounts/{NHS_ID}/statuses"


def test_one_connector_per_source():
    built = sources(queries=("#Northbrook", "Northbrook General"))
    assert sorted(built) == [
        "mastodon:mentions:NorthbrookMaternity",
        "mastodon:mentions:NorthbrookNHS@mastodon.test",
        "mastodon:posts:NorthbrookMaternity",
        "mastodon:posts:NorthbrookNHS@mastodon.test",
        "mastodon:search:#Northbrook",
        "mastodon:search:Northbrook General",
    ]
    assert isinstance(built["mastodon:mentions:NorthbrookMaternity"], MentionsSource)
    assert isinstance(built["mastodon:search:Northbrook General"], SearchSource)


def test_notifications_of_the_tokens_own_account_page_forward_from_the_checkpoint(api):
    route(api, "/api/v1/notifications", paged(NOTIFICATION_PAGES))
    mentions = sources(page_size=3)["mastodon:mentions:NorthbrookNHS@mastodon.test"]
    fetched = mentions.poll("200")

    sent = [params_of(c) for c in calls_to(api, "/api/v1/notifications")]
    assert [p["min_id"] for p in sent] == [["200"], ["203"]]
    assert all(p["types[]"] == ["mention"] and p["limit"] == ["3"] for p in sent)
    assert fetched.checkpoint == "205"
    assert fetched.exhausted
    posts = by_author(fetched.posts)
    assert {a: p.kind for a, p in posts.items()} == {
        "carys@cymru.social": "reply",  # answers a status of the official account
        "kasia@mastodon.pl": "mention",
        "ayesha": "mention",
    }
    assert {p.account for p in fetched.posts} == {"NorthbrookNHS@mastodon.test"}
    welsh = posts["carys@cymru.social"]
    assert welsh.key == "mastodon:113300000000000103"
    assert welsh.text == (
        "@NorthbrookNHS Diolch am yr ateb! Pryd mae'r clinig brechu ffliw ar agor? 🤒"
    )
    assert (welsh.lang, welsh.in_reply_to) == ("cy", "113300000000000010")
    assert welsh.url == "https://cymru.social/@carys/113300000000000103"
    assert welsh.created_at == datetime(2026, 10, 3, 12, 59, tzinfo=UTC)
    polish = posts["kasia@mastodon.pl"]
    assert polish.text == (
        "@NorthbrookNHS Czy oddział ratunkowy jest dziś zatłoczony?\n\n"
        "Czekamy już pięć godzin 😟\nKolejka na zdjęciu."
    )
    assert [(m.type, m.alt_text) for m in polish.media] == [("photo", "Kolejka w poczekalni")]
    assert posts["ayesha"].text == "@NorthbrookNHS نارتھ بروک ہسپتال کے عملے کا بہت شکریہ 🙏🌟"


def test_a_deleted_status_and_broken_unicode_are_dead_letters_and_the_page_is_kept(api):
    route(api, "/api/v1/notifications", paged(NOTIFICATION_PAGES))
    mentions = sources(page_size=3)["mastodon:mentions:NorthbrookNHS@mastodon.test"]
    fetched = mentions.poll("200")
    letters = {d.origin: d for d in fetched.rejects}
    origin = "mastodon:mentions:NorthbrookNHS@mastodon.test"
    assert sorted(letters) == [f"{origin}:201", f"{origin}:204"]
    assert "deleted" in letters[f"{origin}:201"].reason
    assert "surrogate" in letters[f"{origin}:204"].reason
    assert json.loads(letters[f"{origin}:201"].payload)["status"] is None
    assert "\ud83d" in json.loads(letters[f"{origin}:204"].payload)["status"]["content"]
    for letter in letters.values():
        parse_record(DeadLetter, letter.to_bytes())
    assert len(fetched.posts) == 3


@pytest.fixture
def lookup(api):
    route(api, "/api/v1/accounts/lookup", lambda _: recorded("verify_credentials.json"))
    return api


def test_with_no_checkpoint_a_source_takes_only_its_newest_page(lookup):
    route(lookup, STATUSES_PATH, paged(STATUS_PAGES))
    source = statuses(page_size=3)
    fetched = source.poll(None)
    [call] = calls_to(lookup, STATUSES_PATH)
    assert "min_id" not in params_of(call)
    assert params_of(call)["exclude_reblogs"] == ["1"]
    assert fetched.checkpoint == "113300000000000012"
    assert fetched.exhausted
    assert {(p.kind, p.author) for p in fetched.posts} == {("official_post", "NorthbrookNHS")}
    # The register has no platform_id for this account: its id is looked up once, then kept.
    source.poll(fetched.checkpoint)
    assert [params_of(c)["acct"] for c in calls_to(lookup, "/api/v1/accounts/lookup")] == [
        ["northbrooknhs"]
    ]


def test_official_statuses_keep_links_readable_content_warnings_and_media(lookup):
    route(lookup, STATUSES_PATH, paged(STATUS_PAGES))
    posts = {p.post_id: p for p in statuses().poll(None).posts}

    announcement = posts["113300000000000010"]
    assert announcement.text == (
        "Our Emergency Department is very busy today.\n"
        "Please use NHS 111 unless it is an emergency.\n\n"
        "More: https://www.northbrook.nhs.example/urgent-care #NHS111"
    )
    assert [(m.type, m.alt_text) for m in announcement.media] == [
        ("photo", "Sign at the ED entrance")
    ]
    tour = posts["113300000000000011"]
    assert (
        tour.text == "CW: Hospital tour\n\nDyma fideo o'n ward newydd 👶 / A video of our new ward"
    )
    assert [m.type for m in tour.media] == ["video"]
    reply = posts["113300000000000012"]
    assert reply.text == (
        "@kasia@mastodon.pl Przepraszamy za długi czas oczekiwania. Prosimy o kontakt z "
        "zespołem PALS (https://www.northbrook.nhs.example/pals)."
    )
    assert reply.in_reply_to == "113300000000000102"


def test_statuses_page_forward_through_several_pages(lookup):
    route(lookup, STATUSES_PATH, paged(STATUS_PAGES))
    fetched = statuses(page_size=2).poll("113300000000000009")
    assert [params_of(c)["min_id"] for c in calls_to(lookup, STATUSES_PATH)] == [
        ["113300000000000009"],
        ["113300000000000011"],
    ]
    assert sorted(p.post_id for p in fetched.posts) == [
        "113300000000000010",
        "113300000000000011",
        "113300000000000012",
    ]
    assert fetched.checkpoint == "113300000000000012"


def test_an_empty_page_ends_the_poll_and_keeps_the_checkpoint(lookup):
    route(lookup, STATUSES_PATH, paged(STATUS_PAGES))
    source = statuses(page_size=1)
    fetched = source.poll("113300000000000011")
    assert len(calls_to(lookup, STATUSES_PATH)) == 2  # one status, then an empty page
    assert [p.post_id for p in fetched.posts] == ["113300000000000012"]
    assert (fetched.checkpoint, fetched.exhausted) == ("113300000000000012", True)
    again = source.poll(fetched.checkpoint)
    assert (again.posts, again.checkpoint) == ([], "113300000000000012")


def test_a_page_budget_leaves_the_rest_for_the_next_poll(lookup):
    route(lookup, STATUSES_PATH, paged(STATUS_PAGES))
    fetched = statuses(page_size=2, max_pages=1).poll("113300000000000009")
    assert not fetched.exhausted
    assert fetched.checkpoint == "113300000000000011"


def test_a_hashtag_search_reads_the_tag_timeline_and_dead_letters_a_status_without_content(api):
    route(api, "/api/v1/timelines/tag/Northbrook", lambda _: recorded("tag_northbrook.json"))
    fetched = sources()["mastodon:search:#Northbrook"].poll("113300000000000100")
    assert sorted(by_author(fetched.posts)) == ["ayesha", "kasia@mastodon.pl"]
    assert {(p.kind, p.account) for p in fetched.posts} == {
        ("mention", "NorthbrookNHS@mastodon.test")
    }
    assert by_author(fetched.posts)["kasia@mastodon.pl"].text == (
        "Dziękuję położnym z #Northbrook! 👶💐"
    )
    [letter] = fetched.rejects
    assert letter.origin == "mastodon:search:#Northbrook:113300000000000202"
    assert "content" in letter.reason
    assert json.loads(letter.payload)["account"]["acct"] == "jo"
    assert fetched.checkpoint == "113300000000000203"


def test_mentions_of_an_account_the_token_is_not_for_are_searched(api):
    route(api, "/api/v2/search", lambda _: recorded("search_maternity.json"))
    fetched = sources()["mastodon:mentions:NorthbrookMaternity"].poll("113300000000000300")
    [call] = calls_to(api, "/api/v2/search")
    assert params_of(call)["q"] == ["@NorthbrookMaternity"]
    assert params_of(call)["type"] == ["statuses"]
    assert params_of(call)["min_id"] == ["113300000000000300"]
    # The maternity account's own status is its posts source's business, not a mention.
    assert [(p.author, p.kind) for p in fetched.posts] == [("carys@cymru.social", "mention")]
    assert fetched.checkpoint == "113300000000000302"


def test_a_spent_rate_limit_schedules_the_next_poll_and_blocks_calls_until_the_reset(lookup):
    def spent(_):
        status, headers, body = recorded("statuses_after_9.json")
        return status, {**headers, **budget(remaining=0, reset_in=200)}, body

    route(lookup, STATUSES_PATH, spent)
    source = statuses(page_size=2)
    fetched = source.poll("113300000000000009")
    assert len(calls_to(lookup, STATUSES_PATH)) == 1
    assert fetched.retry_after is not None
    assert 180 < fetched.retry_after <= 200
    assert fetched.checkpoint == "113300000000000011"
    with pytest.raises(RateLimited):
        source.poll(fetched.checkpoint)
    assert len(calls_to(lookup, STATUSES_PATH)) == 1


def test_a_429_is_rate_limited_until_the_reset_header(lookup):
    route(
        lookup,
        STATUSES_PATH,
        lambda _: recorded("error_rate_limited.json", 429, budget(remaining=0, reset_in=120)),
    )
    with pytest.raises(RateLimited) as limited:
        statuses().poll(None)
    assert 100 < limited.value.retry_after <= 120
    assert "/api/v1/accounts/:id/statuses" in str(limited.value)


def test_a_401_is_access_denied_naming_the_endpoint_and_never_the_token(api):
    route(
        api, "/api/v1/timelines/tag/Northbrook", lambda _: recorded("error_unauthorized.json", 401)
    )
    with pytest.raises(AccessDenied) as denied:
        sources()["mastodon:search:#Northbrook"].poll(None)
    message = str(denied.value)
    assert "GET /api/v1/timelines/tag/:hashtag" in message
    assert "401 Unauthorized" in message
    assert "ACCESS_TOKEN" in message
    assert TOKEN not in message


def test_a_5xx_is_retried_and_the_poll_succeeds(lookup):
    answers = iter(
        [
            recorded("error_unavailable.json", 503),
            recorded("error_unavailable.json", 502),
            recorded("statuses_newest.json"),
        ]
    )
    route(lookup, STATUSES_PATH, lambda _: next(answers))
    fetched = statuses().poll(None)
    assert len(calls_to(lookup, STATUSES_PATH)) == 3
    assert len(fetched.posts) == 3


def test_a_lasting_5xx_is_source_unavailable_after_bounded_retries(lookup):
    route(lookup, STATUSES_PATH, lambda _: recorded("error_unavailable.json", 500))
    with pytest.raises(SourceUnavailable, match="after 3 attempts"):
        statuses().poll(None)
    assert len(calls_to(lookup, STATUSES_PATH)) == 3


def test_a_network_failure_is_source_unavailable_after_bounded_retries(lookup):
    lookup.add(responses.GET, f"{BASE}{STATUSES_PATH}", body=requests.ConnectTimeout("timed out"))
    with pytest.raises(SourceUnavailable, match="accounts/:id/statuses"):
        statuses().poll(None)
    assert len(calls_to(lookup, STATUSES_PATH)) == 3


def test_check_says_which_endpoints_the_token_allows(api):
    route(api, "/api/v1/timelines/tag/Northbrook", lambda _: recorded("tag_northbrook.json"))
    route(api, "/api/v1/notifications", lambda _: recorded("error_forbidden.json", 403))
    built = sources()
    ok = built["mastodon:search:#Northbrook"].check()
    assert ok.ok
    assert ok.endpoints == {
        "GET /api/v1/accounts/verify_credentials": True,
        "GET /api/v1/timelines/tag/:hashtag": True,
    }
    refused = built["mastodon:mentions:NorthbrookNHS@mastodon.test"].check()
    assert not refused.ok
    assert refused.endpoints == {
        "GET /api/v1/accounts/verify_credentials": True,
        "GET /api/v1/notifications": False,
    }
    assert "403 Forbidden" in refused.detail
    assert TOKEN not in refused.detail


def test_check_reports_a_refused_token(api):
    api.replace(
        responses.GET,
        f"{BASE}/api/v1/accounts/verify_credentials",
        status=401,
        json={"error": "The access token is invalid"},
    )
    result = sources()["mastodon:posts:NorthbrookMaternity"].check()
    assert not result.ok
    assert result.endpoints["GET /api/v1/accounts/verify_credentials"] is False
    assert TOKEN not in result.detail


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>one</p><p>two<br>three</p>", "one\n\ntwo\nthree"),
        ('<p><a href="https://nhs.uk/a">https://nhs.uk/a</a></p>', "https://nhs.uk/a"),
        ('<p><a href="https://nhs.uk/a">NHS</a> &amp; more</p>', "NHS (https://nhs.uk/a) & more"),
        ("<p>Dw i&#39;n iawn 👍</p>", "Dw i'n iawn 👍"),
    ],
)
def test_status_html_becomes_readable_text(html, text):
    assert status_text(html) == text


def settings_with(**mastodon) -> Settings:
    return Settings(connectors={"mastodon": mastodon}, accounts=[a.model_dump() for a in ACCOUNTS])


def test_from_settings_builds_nothing_when_disabled_or_without_credentials():
    assert from_settings(settings_with(enabled=False, api_base_url=BASE, access_token="x")) == []
    assert from_settings(settings_with(enabled=True, api_base_url=BASE)) == []
    assert from_settings(settings_with(enabled=True, access_token="x")) == []


def test_from_settings_builds_a_connector_per_source():
    built = from_settings(
        settings_with(
            enabled=True, api_base_url=BASE, access_token=TOKEN, search_queries=["#Northbrook"]
        )
    )
    assert len({c.name for c in built}) == len(built) == 6
    assert built[-1].name == "mastodon:engagement"


# --- engagement ---------------------------------------------------------------------------------

REFRESH_TIME = datetime(2026, 10, 4, 12, 0, tzinfo=UTC)  # the day after the fixtures' statuses


def counts(engagement: Engagement | None) -> tuple[int | None, ...]:
    """(likes, reposts, replies, quotes, views)."""
    assert engagement is not None
    e = engagement
    return (e.likes, e.reposts, e.replies, e.quotes, e.views)


def test_status_counts_land_in_the_post_and_what_mastodon_does_not_count_is_none(lookup):
    route(lookup, STATUSES_PATH, paged(STATUS_PAGES))
    before = utcnow()
    posts = {p.post_id: p for p in statuses().poll(None).posts}
    # favourites, boosts, replies; this 4.3 server has no quote posts, and Mastodon counts no views
    assert counts(posts["113300000000000010"].engagement) == (30, 12, 4, None, None)
    assert counts(posts["113300000000000011"].engagement) == (17, 5, 2, None, None)
    assert counts(posts["113300000000000012"].engagement) == (0, 0, 0, None, None)
    engagement = posts["113300000000000010"].engagement
    assert engagement is not None
    assert before <= engagement.read_at <= utcnow()


def test_a_malformed_count_loses_that_count_and_not_the_status(lookup):
    def broken(_):
        status, headers, body = recorded("statuses_newest.json")
        items = json.loads(body)
        items[0] |= {"favourites_count": -1, "reblogs_count": "lots", "replies_count": 3}
        return status, headers, json.dumps(items).encode()

    route(lookup, STATUSES_PATH, broken)
    fetched = statuses().poll(None)
    assert fetched.rejects == []
    post = next(p for p in fetched.posts if p.post_id == "113300000000000012")
    assert counts(post.engagement) == (None, None, 3, None, None)


class Clock:
    """A settable "now" for the refresh schedule."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def refresh_of(built: dict, clock: Clock) -> MastodonEngagement:
    refresh = built["mastodon:engagement"]
    assert isinstance(refresh, MastodonEngagement)
    refresh.clock = clock
    return refresh


def test_the_refresh_returns_the_official_statuses_of_the_window_when_due_and_not_before(lookup):
    route(lookup, STATUSES_PATH, lambda _: recorded("statuses_refresh.json"))
    route(
        lookup,
        "/api/v1/accounts/110000000000000002/statuses",
        lambda _: recorded("statuses_empty.json"),
    )
    clock = Clock(REFRESH_TIME)
    refresh = refresh_of(sources(page_size=4, refresh=RefreshSchedule()), clock)
    assert refresh.timelines == [
        "mastodon:posts:NorthbrookNHS@mastodon.test",
        "mastodon:posts:NorthbrookMaternity",
    ]

    first = refresh.poll(None)
    # The page is full, but its last status is older than the 48 hours: no older page is read.
    [call] = calls_to(lookup, STATUSES_PATH)
    assert "min_id" not in params_of(call)
    assert "max_id" not in params_of(call)
    assert sorted(p.post_id for p in first.posts) == [
        "113300000000000010",
        "113300000000000011",
        "113300000000000012",
    ]
    assert {(p.kind, p.source) for p in first.posts} == {
        ("official_post", "mastodon:posts:NorthbrookNHS@mastodon.test")
    }
    fresh = {p.post_id: counts(p.engagement) for p in first.posts}
    assert fresh["113300000000000010"] == (77, 38, 11, None, None)  # was read with 30 likes

    clock.now += timedelta(minutes=14)
    early = refresh.poll(first.checkpoint)
    assert (early.posts, early.checkpoint) == ([], first.checkpoint)
    assert len(calls_to(lookup, STATUSES_PATH)) == 1

    clock.now += timedelta(minutes=1)  # 15 minutes: due
    assert len(refresh.poll(early.checkpoint).posts) == 3
    assert len(calls_to(lookup, STATUSES_PATH)) == 2


def test_the_refresh_pages_back_with_max_id_until_the_window_ends(lookup):
    pages = {None: "statuses_newest.json", "113300000000000010": "statuses_after_9.json"}

    def by_max_id(request):
        return recorded(pages[parse_qs(urlparse(request.url).query).get("max_id", [None])[0]])

    route(lookup, STATUSES_PATH, by_max_id)
    route(
        lookup,
        "/api/v1/accounts/110000000000000002/statuses",
        lambda _: recorded("statuses_empty.json"),
    )
    schedule = RefreshSchedule(window=timedelta(hours=30))  # from 2026-10-03T06:00
    refresh = refresh_of(sources(page_size=3, refresh=schedule), Clock(REFRESH_TIME))
    fetched = refresh.poll(None)
    assert [params_of(c).get("max_id") for c in calls_to(lookup, STATUSES_PATH)] == [
        None,
        ["113300000000000010"],
    ]
    assert len(fetched.posts) == 3 + 2


def test_a_high_engagement_mention_is_refreshed_by_id_while_in_the_window(lookup):
    route(lookup, "/api/v1/notifications", paged(NOTIFICATION_PAGES))
    route(lookup, STATUSES_PATH, lambda _: recorded("statuses_empty.json"))
    route(
        lookup,
        "/api/v1/accounts/110000000000000002/statuses",
        lambda _: recorded("statuses_empty.json"),
    )
    route(lookup, "/api/v1/statuses", lambda _: recorded("statuses_by_id.json"))
    clock = Clock(REFRESH_TIME)
    built = sources(page_size=3, refresh=RefreshSchedule())
    refresh = refresh_of(built, clock)
    read = built["mastodon:mentions:NorthbrookNHS@mastodon.test"].poll("200")
    kasia = next(p for p in read.posts if p.author == "kasia@mastodon.pl")
    assert counts(kasia.engagement)[:2] == (231, 64)  # 64 boosts: worth following

    fetched = refresh.poll(None)
    [call] = calls_to(lookup, "/api/v1/statuses")
    assert params_of(call)["id[]"] == ["113300000000000102"]
    [post] = fetched.posts
    assert (post.key, post.kind, post.source) == (
        kasia.key,
        "mention",
        "mastodon:mentions:NorthbrookNHS@mastodon.test",
    )
    assert counts(post.engagement) == (305, 80, 19, None, None)

    clock.now += timedelta(hours=24)  # the mention is 47.5 hours old: still in the window
    still = refresh.poll(fetched.checkpoint)
    assert len(still.posts) == 1
    clock.now += timedelta(hours=1)  # 48.5 hours: out of it, dropped and not asked for
    late = refresh.poll(still.checkpoint)
    assert late.posts == []
    assert json.loads(str(late.checkpoint))["hot"] == []
    assert len(calls_to(lookup, "/api/v1/statuses")) == 2


def test_a_restart_produces_exactly_the_new_statuses(lookup, kafka_settings, tmp_path):
    ensure_topics(kafka_settings)
    pages = dict(STATUS_PAGES)
    route(lookup, STATUSES_PATH, paged(pages))
    checkpoints = tmp_path / "checkpoints.json"

    def run() -> int:
        runner = IngestRunner(
            [statuses(page_size=2)],
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
    assert run() == 0  # min_id=the newest status: an empty page
    # Two new statuses are published: after the old newest one, a full page, then nothing.
    pages["113300000000000012"] = "statuses_after_12.json"
    pages["113300000000000014"] = "statuses_empty.json"
    assert run() == 2

    raw = read_topic(kafka_settings.bootstrap_servers, kafka_settings.topics.posts_raw, 6, 8)
    assert len(raw) == 5, "no status may be produced twice"
    assert sorted(parse_record(Post, r.value).post_id for r in raw) == [
        f"1133000000000000{n}" for n in (10, 11, 12, 13, 14)
    ]
    assert json.loads(checkpoints.read_text()) == {
        "mastodon:posts:NorthbrookNHS@mastodon.test": "113300000000000014"
    }
