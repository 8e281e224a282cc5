"""Which connectors run: replay files, enabled platforms with credentials, clear notices."""

from __future__ import annotations

import pytest

from ingest.connector import Connector, Fetched
from ingest.registry import Notice, build_connectors
from socmon.settings import Settings

TWITTER_TOKEN = "AAAA-twitter-bearer-secret"
PAGE_TOKEN = "EAAG-page-token-secret"


def account(platform: str, handle: str, platform_id: str | None = None, **extra) -> dict:
    return {
        "platform": platform,
        "handle": handle,
        "platform_id": platform_id,
        "team": "Comms",
        **extra,
    }


def settings(connectors: dict | None = None, accounts: list[dict] | None = None) -> Settings:
    return Settings(connectors=connectors or {}, accounts=accounts or [])


def build(s: Settings, **kwargs) -> tuple[list[str], list[Notice]]:
    notices: list[Notice] = []
    sources = build_connectors(s, notify=notices.append, **kwargs)
    return [c.name for c in sources], notices


@pytest.fixture(autouse=True)
def no_tokens_from_the_environment(monkeypatch):
    for name in (
        "SOCMON_CONNECTORS__TWITTER__BEARER_TOKEN",
        "SOCMON_CONNECTORS__FACEBOOK__PAGE_ACCESS_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)


def test_with_only_replay_files_the_sources_are_the_replays_and_nothing_is_a_problem(tmp_path):
    s = settings(
        {"replay": [{"path": str(tmp_path / "b.jsonl")}]}, [account("twitter", "NorthbrookNHS")]
    )
    names, notices = build(s, replay=[tmp_path / "a.jsonl"])
    assert names == ["replay:a.jsonl", "replay:b.jsonl"]
    assert not any(n.problem for n in notices)
    assert any(n.text.startswith("twitter: disabled") for n in notices)


def test_an_enabled_platform_without_its_token_is_skipped_with_a_problem_notice():
    s = settings({"twitter": {"enabled": True}}, [account("twitter", "NorthbrookNHS")])
    names, notices = build(s)
    assert names == []
    assert [n.text for n in notices if n.problem] == [
        "twitter: enabled but SOCMON_CONNECTORS__TWITTER__BEARER_TOKEN is not set; skipped"
    ]


def test_twitter_gives_mentions_and_posts_per_active_account_and_one_source_per_query(monkeypatch):
    monkeypatch.setenv("SOCMON_CONNECTORS__TWITTER__BEARER_TOKEN", TWITTER_TOKEN)
    s = settings(
        {"twitter": {"enabled": True, "search_queries": ["Northbrook hospital", "#StAidans"]}},
        [
            account("twitter", "@NorthbrookNHS", "1354209856418488320"),
            account("twitter", "NorthbrookMaternity"),
            account("twitter", "OldAccount", status="closed"),
            account("facebook", "NorthbrookHospitals", "104836251234567"),
        ],
    )
    names, notices = build(s)
    assert names == [
        "twitter:mentions:NorthbrookNHS",
        "twitter:posts:NorthbrookNHS",
        "twitter:mentions:NorthbrookMaternity",
        "twitter:posts:NorthbrookMaternity",
        "twitter:search:Northbrook hospital",
        "twitter:search:#StAidans",
        "twitter:engagement",
    ]
    assert not any(n.problem for n in notices)
    assert all(TWITTER_TOKEN not in n.text for n in notices)


def test_facebook_pages_and_instagram_accounts_need_a_platform_id_and_say_where_to_find_it(
    monkeypatch,
):
    monkeypatch.setenv("SOCMON_CONNECTORS__FACEBOOK__PAGE_ACCESS_TOKEN", PAGE_TOKEN)
    s = settings(
        {"facebook": {"enabled": True}},
        [
            account("facebook", "NorthbrookHospitals", "104836251234567"),
            account("facebook", "NorthbrookCharity"),
            account("instagram", "northbrookhospitals", "17841400000000001"),
            account("instagram", "northbrookjobs"),
        ],
    )
    names, notices = build(s)
    assert names == [
        "facebook:posts:NorthbrookHospitals",
        "facebook:comments:NorthbrookHospitals",
        "facebook:visitor_posts:NorthbrookHospitals",
        "facebook:tagged:NorthbrookHospitals",
        "instagram:media:northbrookhospitals",
        "instagram:comments:northbrookhospitals",
        "instagram:mentions:northbrookhospitals",
        "facebook:engagement",
        "instagram:engagement",
    ]
    problems = [n.text for n in notices if n.problem]
    assert len(problems) == 2
    assert problems[0].startswith("facebook: account 'NorthbrookCharity' has no platform_id")
    assert "the Page id" in problems[0]
    assert problems[1].startswith("instagram: account 'northbrookjobs' has no platform_id")
    assert "instagram_business_account" in problems[1]


class _Silent(Connector):
    name = "fakeplatform:posts:NorthbrookNHS"

    def poll(self, checkpoint: str | None) -> Fetched:
        return Fetched(checkpoint=checkpoint)


def test_bluesky_and_mastodon_sources_are_built_with_the_api_call_counter(monkeypatch):
    monkeypatch.setenv("SOCMON_CONNECTORS__BLUESKY__APP_PASSWORD", "app-pass")
    monkeypatch.setenv("SOCMON_CONNECTORS__MASTODON__ACCESS_TOKEN", "masto-token")
    s = settings(
        {
            "bluesky": {"enabled": True, "handle": "northbrook.bsky.social"},
            "mastodon": {"enabled": True, "api_base_url": "https://mastodon.example"},
        },
        accounts=[
            {"platform": "bluesky", "handle": "northbrook.bsky.social", "team": "Comms"},
            {"platform": "mastodon", "handle": "NorthbrookNHS", "team": "Comms"},
        ],
    )
    calls: list[tuple[str, str]] = []
    notices: list[Notice] = []
    sources = build_connectors(
        s, notify=notices.append, on_api_call=lambda src, status: calls.append((src, status))
    )
    names = [c.name for c in sources]
    assert any(n.startswith("bluesky:") for n in names)
    assert any(n.startswith("mastodon:") for n in names)
    clients = {getattr(c, "session", None) or getattr(c, "api", None) for c in sources}
    counters = {getattr(client, "on_api_call", None) for client in clients if client is not None}
    assert len(counters) == 1
    counter = counters.pop()
    assert counter is not None
    counter("bluesky", "200")
    assert calls == [("bluesky", "200")]


def test_disabled_other_platforms_build_nothing_and_say_so():
    names, notices = build(settings())
    assert not any(n.startswith(("bluesky:", "mastodon:")) for n in names)
    assert "bluesky: disabled (connectors.bluesky.enabled is false); skipped" in [
        n.text for n in notices
    ]
    assert not any(n.problem for n in notices)


def test_connectors_check_tells_per_source_what_works_and_fails_without_printing_a_secret(
    monkeypatch, tmp_path
):
    import responses
    from typer.testing import CliRunner

    from socmon_app.cli import app
    from tests.ingest.connectors import fixture

    monkeypatch.setenv("SOCMON_CONNECTORS__TWITTER__BEARER_TOKEN", TWITTER_TOKEN)
    monkeypatch.setenv("SOCMON_CONNECTORS__FACEBOOK__PAGE_ACCESS_TOKEN", PAGE_TOKEN)
    config = tmp_path / "config.yaml"
    config.write_text(
        "connectors:\n"
        "  twitter: {enabled: true}\n"
        "  facebook: {enabled: true}\n"
        "accounts:\n"
        "  - {platform: twitter, handle: NorthbrookNHS, platform_id: '1354209856418488320',"
        " team: Comms}\n"
        "  - {platform: facebook, handle: NorthbrookHospitals, team: Comms}\n",
        encoding="utf-8",
    )
    api = "https://api.twitter.com/2/users/1354209856418488320"
    with responses.RequestsMock() as rsps:
        rsps.get(f"{api}/mentions", json=fixture("twitter", "empty.json"))
        rsps.get(f"{api}/tweets", status=403, json=fixture("twitter", "error_403_453.json"))
        result = CliRunner().invoke(app, ["connectors", "check", "--config", str(config)])
    out = result.output
    assert result.exit_code == 1, out
    assert "ok    twitter:mentions:NorthbrookNHS: bearer token accepted" in out
    assert "GET /2/users/:id/mentions: allowed" in out
    assert "FAIL  twitter:posts:NorthbrookNHS: GET /2/users/:id/tweets needs Basic access" in out
    assert "GET /2/users/:id/tweets: NOT allowed" in out
    assert "FAIL  facebook: account 'NorthbrookHospitals' has no platform_id" in out
    assert "no active facebook or instagram account with a platform_id" in out
    assert "ok    twitter:engagement: reads the posts of the last 48 h again every 15 min" in out
    assert "3 source(s) checked, 3 failing" in out
    assert TWITTER_TOKEN not in out
    assert PAGE_TOKEN not in out
