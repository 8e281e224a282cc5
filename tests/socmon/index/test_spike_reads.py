"""What spike detection reads from the index, held alike on both adapters: hourly counts,
the recent posts that spread, and an account's usual share rate."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from socmon.alerts import volume_spike_alert
from socmon.index.elasticsearch import ElasticsearchIndex
from socmon.index.port import Index, PostQuery, ShareRates, nearest_rank, share_rate, shares
from socmon.index.sqlite import SqliteIndex
from socmon.records import Alert, Engagement, EnrichedPost
from tests.factories import T0, keys, make_delivery, make_post

HOUR = timedelta(hours=1)


@pytest.fixture(params=["sqlite", "elasticsearch"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Index]:
    if request.param == "sqlite":
        lite = SqliteIndex(tmp_path / "socmon.db")
        lite.setup()
        yield lite
        lite.close()
        return
    client: Elasticsearch = request.getfixturevalue("elasticsearch_client")
    prefix = f"t{uuid.uuid4().hex[:12]}"
    search = ElasticsearchIndex(client, index_prefix=prefix)
    search.setup()
    yield search
    client.options(ignore_status=404).indices.delete(index=f"{prefix}-*")
    client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-*")


def engaged(
    post_id: str,
    reposts: int | None,
    *,
    quotes: int | None = 0,
    read_after: timedelta = 2 * HOUR,
    created_at: Any = T0,
    **more: Any,
) -> EnrichedPost:
    """A post whose counts were read `read_after` its writing."""
    post = make_post(post_id, created_at=created_at, **more)
    counts = Engagement(reposts=reposts, quotes=quotes, likes=7, read_at=created_at + read_after)
    return post.model_copy(update={"post": post.post.model_copy(update={"engagement": counts})})


def test_share_rate_is_reposts_and_quotes_per_hour_of_age_at_least_one_hour() -> None:
    assert share_rate(engaged("1", 30, quotes=10, read_after=4 * HOUR).post) == 10.0
    assert share_rate(engaged("2", 5, read_after=timedelta(minutes=6)).post) == 5.0  # 1 h floor
    assert shares(engaged("3", None, quotes=4).post) == 4
    assert share_rate(engaged("4", None, quotes=None).post) is None
    assert share_rate(make_post("5").post) is None


def test_nearest_rank_of_a_quantile() -> None:
    assert [nearest_rank(20, 0.95), nearest_rank(100, 0.95), nearest_rank(3, 0.95)] == [19, 95, 3]
    assert (nearest_rank(1, 0.5), nearest_rank(0, 0.95)) == (1, 0)


def test_count_posts_by_utc_hour(index: Index) -> None:
    index.upsert_posts(
        [
            make_post("1", created_at=T0 + timedelta(minutes=10), departments=("wards",)),
            make_post("2", created_at=T0 + timedelta(minutes=59, seconds=59)),
            make_post("3", created_at=T0 + HOUR, sentiment="concern", departments=("wards",)),
        ]
    )
    assert index.count_posts(PostQuery(), by=("hour",)) == {
        ("2025-03-03T09",): 2,
        ("2025-03-03T10",): 1,
    }
    assert index.count_posts(PostQuery(), by=("department", "sentiment", "hour")) == {
        ("wards", "neutral", "2025-03-03T09"): 1,
        ("", "neutral", "2025-03-03T09"): 1,
        ("wards", "concern", "2025-03-03T10"): 1,
    }


def test_engaged_posts_are_the_recent_ones_with_enough_shares_fastest_first(index: Index) -> None:
    since = T0 - 24 * HOUR
    index.upsert_posts(
        [
            engaged("slow", 25, read_after=10 * HOUR),  # 2.5 an hour
            engaged("fast", 20, quotes=10, read_after=2 * HOUR),  # 15 an hour
            engaged("few", 5, read_after=HOUR / 2),
            engaged("old", 900, created_at=since - HOUR),
            engaged("no-counts", None, quotes=None),
            make_post("plain"),
        ]
    )
    assert keys(index.engaged_posts(since, min_shares=20, limit=10)) == [
        "twitter:fast",
        "twitter:slow",
    ]
    assert keys(index.engaged_posts(since, min_shares=20, limit=1)) == ["twitter:fast"]
    [found] = index.engaged_posts(since, min_shares=30, limit=10)
    assert found == engaged("fast", 20, quotes=10, read_after=2 * HOUR)


def test_a_post_sent_again_with_fresh_counts_is_judged_by_them(index: Index) -> None:
    index.upsert_posts([engaged("1", 3)])
    assert index.engaged_posts(T0 - HOUR, min_shares=20, limit=10) == []
    index.upsert_posts([engaged("1", 300, read_after=3 * HOUR)])
    [found] = index.engaged_posts(T0 - HOUR, min_shares=20, limit=10)
    assert share_rate(found.post) == 100.0


def test_share_rates_take_the_quantile_of_the_accounts_posts_in_the_window(index: Index) -> None:
    start = T0 - 30 * 24 * HOUR
    # rates 1, 2, ..., 20 an hour (shares over 2 hours), written in a shuffled order
    ours = [
        engaged(f"r{rate}", 2 * rate, created_at=start + (rate * 7 % 20) * HOUR)
        for rate in range(1, 21)
    ]
    others = [
        engaged("other-account", 1000, account="@OtherNHS"),
        engaged("other-platform", 1000, platform="mastodon"),
        engaged("too-late", 1000, created_at=T0),
        engaged("too-early", 1000, created_at=start - HOUR),
        engaged("no-counts", None, quotes=None, created_at=start),
    ]
    index.upsert_posts([*ours, *others])
    until = T0 - HOUR
    rates = index.share_rates("twitter", "@ExampleNHS", start, until, 0.95)
    assert rates == ShareRates(posts=20, rate=19.0)
    assert index.share_rates("twitter", "@ExampleNHS", start, until, 0.5).rate == 10.0
    assert index.share_rates("twitter", "@Nobody", start, until, 0.95) == ShareRates(posts=0)


def test_erasure_takes_the_spike_alerts_naming_the_person_with_their_deliveries(
    index: Index,
) -> None:
    def spike(episode: str, *authors: str) -> Alert:
        top = [(make_post(f"{episode}-{a}", author=a), 40) for a in authors]
        return volume_spike_alert(
            episode=episode,
            measure="mentions",
            department=None,
            department_name=None,
            hour=T0,
            count=30,
            usual=3.0,
            threshold=12,
            started=T0,
            top=top,
        ).model_copy(update={"created_at": T0})

    naming = spike("mentions:all:a", "first_person", "Jane_Doe")  # the second top post's
    other = spike("mentions:all:b", "first_person", "jane_doe_fan")
    index.record_alerts([naming, other])
    index.record_deliveries([make_delivery(naming.alert_id, "comms@example.nhs.uk", "email")])
    erased = index.erase_author("@jane_doe")
    assert erased.alert_ids == (naming.alert_id,)
    assert (erased.alerts, erased.deliveries) == (1, 1)
    assert [a.alert_id for a in index.alerts_between(T0, T0 + HOUR)] == [other.alert_id]
    assert index.deliveries_for(naming.alert_id) == []
