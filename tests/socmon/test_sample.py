"""The bundled replay sample: parseable and composed as promised.

The generator that writes it (``tools/sample``) is tested in tests/tools/test_sample_generator.py.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

import pytest
import yaml

from ingest.connectors.replay import parse_replay_line
from socmon.records import Post, RecordError
from socmon.sample import EXPECTED_PATH, SAMPLE_PATH
from socmon.settings import load_settings
from stream_processors.classify.departments import DepartmentMatcher
from stream_processors.classify.pii import is_valid_nhs_number
from tools.sample import generate as gen

REPLAY_FIELDS = {
    "platform",
    "id",
    "kind",
    "account",
    "author",
    "text",
    "created_at",
    "url",
    "media",
}
REQUIRED_FIELDS = REPLAY_FIELDS - {"url", "media"}
OFFICIAL = {"NorthbrookNHS", "NorthbrookHospitals", "NorthbrookMaternity"}


def to_post(line: str, origin: str = "sample") -> Post:
    """Parse a line with the replay connector's own parser; RecordError if it is rejected."""
    item = parse_replay_line(line, origin)
    if not isinstance(item, Post):
        raise RecordError("Post", item.reason)
    return item


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return SAMPLE_PATH.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def valid(lines: list[str]) -> list[tuple[int, Post, dict[str, Any]]]:
    """(line number, post, expectation) for every valid line."""
    expected = {
        e["key"]: e for e in map(json.loads, EXPECTED_PATH.read_text(encoding="utf-8").splitlines())
    }
    out = []
    for n, line in enumerate(lines, start=1):
        if n not in gen.MALFORMED_LINES:
            post = to_post(line)
            out.append((n, post, expected[post.key]))
    return out


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    text = resources.files("socmon").joinpath("default_config.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def mentions(valid: list[tuple[int, Post, dict[str, Any]]]) -> list[tuple[Post, dict[str, Any]]]:
    return [(p, e) for _, p, e in valid if p.kind == "mention"]


def test_the_files_are_bundled_in_the_package() -> None:
    folder = resources.files("socmon.sample")
    assert folder.joinpath("sample.jsonl").is_file()
    assert folder.joinpath("expected.jsonl").is_file()
    assert SAMPLE_PATH.is_file()
    assert EXPECTED_PATH.is_file()
    assert SAMPLE_PATH.parent == EXPECTED_PATH.parent


def test_every_valid_line_parses_as_a_post(lines, valid) -> None:
    assert len(valid) >= 320
    assert len(valid) + len(gen.MALFORMED_LINES) == len(lines)
    for n, post, _ in valid:
        obj = json.loads(lines[n - 1])
        assert set(obj) >= REQUIRED_FIELDS, n
        assert post.source == "replay"
        assert post.text.strip(), n
        assert post.created_at.utcoffset() is not None


def test_malformed_lines_are_where_the_docstring_says(lines) -> None:
    assert 4 <= len(gen.MALFORMED_LINES) <= 6
    assert gen.__doc__ is not None
    for n in gen.MALFORMED_LINES:
        assert f"line {n}:" in gen.__doc__
    failing: dict[int, Exception] = {}
    for n, line in enumerate(lines, start=1):
        try:
            to_post(line)
        except (ValueError, RecordError) as exc:  # JSONDecodeError is a ValueError
            failing[n] = exc
    assert set(failing) == set(gen.MALFORMED_LINES)
    reasons = {n: getattr(exc, "reason", "") for n, exc in failing.items()}
    assert reasons[17].startswith("not valid JSON")
    assert reasons[88] == "missing field(s): text"
    assert reasons[150] == "missing field(s): created_at"
    assert reasons[233].startswith("kind")
    assert reasons[301].startswith("created_at")
    assert "created_at" in json.loads(lines[300])


def test_expected_file_covers_every_valid_line_in_order(valid, config) -> None:
    rows = [json.loads(x) for x in EXPECTED_PATH.read_text(encoding="utf-8").splitlines()]
    assert [r["key"] for r in rows] == [p.key for _, p, _ in valid]
    assert [r["line"] for r in rows] == [n for n, _, _ in valid]
    department_ids = {d["id"] for d in config["departments"]}
    for r in rows:
        assert r["category"] in gen.CATEGORIES
        assert r["sentiment"] in ("compliment", "concern", "neutral")
        assert set(r["departments"]) <= department_ids, r
        assert set(r["breaches"]) <= set(gen.BREACH_RULES), r
        assert isinstance(r["urgent"], bool)
        assert isinstance(r["abusive"], bool)


def test_ids_are_unique_per_platform(valid) -> None:
    keys = Counter(p.key for _, p, _ in valid)
    assert max(keys.values()) == 1


def test_times_fall_in_the_window_roughly_in_order(valid) -> None:
    times = [p.created_at for _, p, _ in valid]
    assert all(gen.WINDOW_START <= t <= gen.WINDOW_END for t in times)
    assert times != sorted(times), "order-ish, not strictly sorted"
    latest = times[0]
    for t in times:
        assert t > latest - timedelta(hours=6)
        latest = max(latest, t)
    assert max(times) - min(times) > timedelta(days=29)


def test_mention_sentiment_mix(valid) -> None:
    ms = mentions(valid)
    counts = Counter(e["sentiment"] for _, e in ms)
    total = sum(counts.values())
    assert 0.30 <= counts["compliment"] / total <= 0.40
    assert 0.30 <= counts["concern"] / total <= 0.40
    assert 0.25 <= counts["neutral"] / total <= 0.35
    accounts = Counter(p.account for p, _ in ms)
    assert set(accounts) == OFFICIAL
    assert accounts["NorthbrookMaternity"] < accounts["NorthbrookNHS"]
    assert accounts["NorthbrookMaternity"] < accounts["NorthbrookHospitals"]


def test_every_department_has_at_least_six_mentions(valid, config) -> None:
    per_department = Counter(d for _, e in mentions(valid) for d in e["departments"])
    for department in config["departments"]:
        assert per_department[department["id"]] >= 6, department["id"]


def test_expected_departments_are_found_by_the_default_taxonomy(valid) -> None:
    matcher = DepartmentMatcher(load_settings().departments)
    for n, post, e in valid:
        found = set(matcher.match(post.text))
        for department in e["departments"]:
            assert department in found, (n, department, post.text)


def test_posts_read_like_the_public(valid) -> None:
    texts = [p.text for p, _ in mentions(valid)]
    assert sum(t == t.lower() for t in texts) >= 20
    assert sum("#" in t for t in texts) >= 20
    assert sum(bool(re.search(r"[\U0001F300-\U0001FAFF]", t)) for t in texts) >= 40
    assert max(map(len, texts)) > 3 * min(map(len, texts))
    assert {"cy", "pl", "ur"} <= {e["lang"] for _, e in mentions(valid)}


def test_urgent_mentions(valid) -> None:
    urgent = [(p, e) for _, p, e in valid if e["urgent"]]
    assert len(urgent) >= 5
    assert all(p.kind == "mention" and e["category"] == "urgent_mention" for p, e in urgent)
    text = " ".join(p.text for p, _ in urgent)
    for hint in ("patient records", "children's ward", "waiting for him", "see the point"):
        assert hint in text


def test_abusive_replies(valid) -> None:
    abusive = [(p, e) for _, p, e in valid if e["category"] == "abusive_reply"]
    assert 12 <= len(abusive) <= 18
    for post, e in abusive:
        assert post.kind == "reply"
        assert e["abusive"] is True
        assert post.account in OFFICIAL
        assert post.text.startswith(f"@{post.account} ")
    ordinary = [p for _, p, e in valid if p.kind == "reply" and not e["abusive"]]
    assert ordinary, "some replies are not abusive, so the classifier has to tell"


def test_official_posts_and_their_breaches(valid, config) -> None:
    register = {a["handle"]: a["platform"] for a in config["accounts"]}
    official = [(p, e) for _, p, e in valid if p.kind == "official_post"]
    for post, e in official:
        assert post.author == post.account
        assert register[post.account] == post.platform
        assert e["category"] == ("official_breach" if e["breaches"] else "official_post")
    breaches = [(p, e) for p, e in official if e["breaches"]]
    assert 12 <= len(breaches) <= 15
    used = {rule for _, e in breaches for rule in e["breaches"]}
    assert used == set(gen.BREACH_RULES)
    accounts_with_breaches = {p.account for p, _ in breaches}
    assert accounts_with_breaches == OFFICIAL

    nhs_number = re.compile(r"\b\d{3} \d{3} \d{4}\b")
    for post, e in official:
        found = nhs_number.findall(post.text)
        if "nhs_number" in e["breaches"]:
            assert found
            assert all(is_valid_nhs_number(n) and n.startswith("999") for n in found)
        else:
            assert not found
    (children,) = [p for p, e in breaches if "media_consent" in e["breaches"]]
    assert [m.type for m in children.media] == ["photo"]
    assert "children's ward" in children.text


def test_accounts_post_regularly_except_the_quiet_one(valid) -> None:
    def official_times(account: str) -> list[datetime]:
        return sorted(
            p.created_at for _, p, _ in valid if p.kind == "official_post" and p.account == account
        )

    for account in ("NorthbrookNHS", "NorthbrookHospitals"):
        times = [gen.WINDOW_START, *official_times(account), gen.WINDOW_END]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) <= timedelta(days=4), account
    maternity = official_times("NorthbrookMaternity")
    assert len(maternity) >= 4
    assert maternity[-1] <= gen.WINDOW_START + timedelta(days=10)
    assert maternity[-1] <= gen.WINDOW_END - timedelta(days=14)
    chased = [
        p
        for _, p, _ in valid
        if p.account == "NorthbrookMaternity" and p.created_at > maternity[-1] + timedelta(days=7)
    ]
    assert chased, "the public keeps mentioning the quiet account"


def test_comments_are_on_facebook_posts_of_the_page(valid) -> None:
    page_posts = {
        p.post_id.split("_")[1]: p
        for _, p, _ in valid
        if p.kind == "official_post" and p.account == "NorthbrookHospitals"
    }
    comments = [p for _, p, _ in valid if p.kind == "comment"]
    assert len(comments) >= 30
    for c in comments:
        assert (c.platform, c.account) == ("facebook", "NorthbrookHospitals")
        parent = page_posts[c.post_id.split("_")[0]]
        assert c.created_at > parent.created_at


def test_platforms_urls_and_lengths(valid) -> None:
    platforms = Counter(p.platform for _, p, _ in valid)
    for small in ("instagram", "bluesky", "mastodon"):
        assert 1 <= platforms[small] <= 15, small
    shapes = {
        "twitter": r"https://x\.com/[^/]+/status/\d+",
        "facebook": r"https://www\.facebook\.com/\d+_\d+",
        "instagram": r"https://www\.instagram\.com/p/[\w-]{11}/",
        "bluesky": r"https://bsky\.app/profile/[^/]+/post/[2-7a-z]{13}",
        "mastodon": r"https://[\w.]+/@\w+/\d+",
    }
    for _, post, _ in valid:
        if post.url is not None:
            assert re.fullmatch(shapes[post.platform], post.url), post.url
        if post.platform == "twitter":
            assert post.url is None or post.url.endswith(post.post_id)
        assert len(post.text) <= gen.TEXT_LIMITS.get(post.platform, 63_206), post.key
    assert sum(p.url is None for _, p, _ in valid) >= 1
