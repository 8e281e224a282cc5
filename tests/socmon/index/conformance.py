"""Behaviour every adapter of the index port must show, written once, store by store.

An adapter's test module subclasses `IndexContract` (every store, plus set-up, stats, retention
and erasure) and provides an ``index`` fixture (set up, empty); pytest then runs every test below
against that adapter. A new adapter of one store alone subclasses that store's contract. Records
are built with `tests.factories`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from socmon.index.port import (
    NO_VALUE,
    POST_SORTS,
    UNASSIGNED,
    AlertStore,
    Collection,
    DeadLetterStore,
    DocumentStore,
    Index,
    PostQuery,
    PostStore,
)
from socmon.records import SENTIMENTS, CorrectedLabels, EnrichedPost, Record
from tests.factories import (
    DAY,
    T0,
    correct,
    keys,
    make_alert,
    make_breach,
    make_case,
    make_deadletter,
    make_delivery,
    make_post,
    make_rich_post,
    set_case,
)


class Note(Record):
    """A small record for the document store tests."""

    author: str
    body: str


NOTES = Collection("notes", Note)
OTHER = Collection("other", Note)
EMPTY = Collection("empty", Note)


def sorting_posts() -> list[EnrichedPost]:
    """Five posts whose every sort differs, with ties in time and in value (see `SORTED`)."""
    hour = timedelta(hours=1)
    return [
        make_post(
            "p1",
            author="@zed",
            sentiment="concern",  # needs action, no case: new
            departments=("wards",),
            created_at=T0 + hour,
        ),
        make_post("p2", platform="facebook", author="@Amy", created_at=T0 + 2 * hour),
        make_post(
            "p3",
            platform="bluesky",
            author="bob",
            sentiment="compliment",
            departments=("estates", "wards"),
            case=make_case("handled"),
            created_at=T0,
        ),
        make_post(
            "p4",
            author="@amy",  # the same handle as p2's, and the same time
            sentiment="concern",
            departments=("maternity",),
            case=make_case("in_progress"),
            created_at=T0 + 2 * hour,
        ),
        make_post(
            "p5",
            platform="mastodon",
            author="carl",
            urgent=True,  # needs action, no case: new
            departments=("estates",),
            created_at=T0 + hour,
        ),
    ]


# The order of `sorting_posts` for each sort: by the value (none last), newest first, by key.
SORTED: dict[str, list[str]] = {
    "newest": ["facebook:p2", "twitter:p4", "mastodon:p5", "twitter:p1", "bluesky:p3"],
    "oldest": ["bluesky:p3", "mastodon:p5", "twitter:p1", "facebook:p2", "twitter:p4"],
    "author": ["facebook:p2", "twitter:p4", "bluesky:p3", "mastodon:p5", "twitter:p1"],
    "platform": ["bluesky:p3", "facebook:p2", "mastodon:p5", "twitter:p4", "twitter:p1"],
    "sentiment": ["bluesky:p3", "twitter:p4", "twitter:p1", "facebook:p2", "mastodon:p5"],
    "status": ["bluesky:p3", "twitter:p4", "mastodon:p5", "twitter:p1", "facebook:p2"],
    # the first department: estates (p5 newer than p3), maternity, wards, none
    "department": ["mastodon:p5", "bluesky:p3", "twitter:p4", "twitter:p1", "facebook:p2"],
}


class PostStoreContract:
    """Posts: upsert (a person's correction wins over a re-index), get, search, count.
    Subclasses provide the ``index`` fixture."""

    @pytest.fixture
    def index(self) -> PostStore:
        raise NotImplementedError("a subclass provides an `index` fixture: set up and empty")

    def test_upsert_reports_every_post_as_written(self, index: Any) -> None:
        result = index.upsert_posts([make_post("1"), make_post("2"), make_post("3")])
        assert result.written == 3
        assert result.failed == ()

    def test_upsert_of_nothing_writes_nothing(self, index: Any) -> None:
        assert index.upsert_posts([]).written == 0
        assert index.stats().indexed == 0

    def test_upserting_the_same_post_twice_keeps_one(self, index: Any) -> None:
        post = make_post("1", text="the parking at the hospital is awful")
        index.upsert_posts([post])
        index.upsert_posts([post])
        assert index.stats().indexed == 1
        assert keys(index.search_posts(PostQuery(text="parking"))) == ["twitter:1"]

    def test_upsert_replaces_the_post_with_the_same_key(self, index: Any) -> None:
        index.upsert_posts([make_post("1", text="waiting for hours", sentiment="concern")])
        newer = make_post("1", text="seen quickly in the end", sentiment="compliment")
        index.upsert_posts([newer])
        assert index.get_post("twitter:1") == newer
        assert index.search_posts(PostQuery(text="waiting")) == []
        assert keys(index.search_posts(PostQuery(text="quickly"))) == ["twitter:1"]
        assert index.stats().by_sentiment == {"compliment": 1, "concern": 0, "neutral": 0}

    def test_same_post_id_on_two_platforms_is_two_posts(self, index: Any) -> None:
        index.upsert_posts([make_post("7", platform="twitter"), make_post("7", platform="bluesky")])
        assert index.stats().indexed == 2

    def test_get_post_returns_the_record_exactly(self, index: Any) -> None:
        post = make_rich_post()
        index.upsert_posts([post])
        stored = index.get_post(post.key)
        assert stored == post
        assert stored is not None
        assert stored.model_dump_json() == post.model_dump_json()

    def test_get_post_of_an_unknown_key_is_none(self, index: Any) -> None:
        assert index.get_post("twitter:does-not-exist") is None

    def test_search_by_text_needs_every_word_in_any_case(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", text="The maternity ward staff were wonderful"),
                make_post("2", text="Maternity parking is impossible"),
                make_post("3", text="Wonderful care in A&E"),
            ]
        )
        assert keys(index.search_posts(PostQuery(text="maternity"))) == ["twitter:1", "twitter:2"]
        assert keys(index.search_posts(PostQuery(text="WONDERFUL Maternity"))) == ["twitter:1"]
        assert index.search_posts(PostQuery(text="maternity radiology")) == []

    def test_search_text_with_query_syntax_is_taken_literally(self, index: Any) -> None:
        index.upsert_posts([make_post("1", text="Is the ward OR the clinic open?")])
        assert keys(index.search_posts(PostQuery(text='clinic "open" (OR'))) == ["twitter:1"]
        assert index.search_posts(PostQuery(text="?!")) == []

    def test_search_by_sentiment(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", sentiment="concern"),
                make_post("2", sentiment="compliment"),
                make_post("3", sentiment="concern", created_at=T0 + timedelta(hours=1)),
            ]
        )
        found = index.search_posts(PostQuery(sentiment="concern"))
        assert keys(found) == ["twitter:3", "twitter:1"]

    def test_search_by_department_matches_any_of_the_posts_departments(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", departments=("maternity", "estates")),
                make_post("2", departments=("estates",)),
                make_post("3", departments=("maternity_support",)),
            ]
        )
        assert keys(index.search_posts(PostQuery(department="maternity"))) == ["twitter:1"]
        assert keys(index.search_posts(PostQuery(department="estates"))) == [
            "twitter:1",
            "twitter:2",
        ]

    def test_search_by_platform_and_account(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", platform="twitter", account="@ExampleNHS"),
                make_post("2", platform="facebook", account="@ExampleNHS"),
                make_post("3", platform="facebook", account="@ExampleMaternity"),
            ]
        )
        assert keys(index.search_posts(PostQuery(platform="facebook"))) == [
            "facebook:2",
            "facebook:3",
        ]
        assert keys(index.search_posts(PostQuery(account="@ExampleNHS"))) == [
            "facebook:2",
            "twitter:1",
        ]
        both = PostQuery(platform="facebook", account="@ExampleMaternity")
        assert keys(index.search_posts(both)) == ["facebook:3"]

    def test_search_by_date_includes_since_and_excludes_until(self, index: Any) -> None:
        index.upsert_posts(
            [make_post(str(day), created_at=T0 + timedelta(days=day)) for day in range(5)]
        )
        window = PostQuery(since=T0 + timedelta(days=1), until=T0 + timedelta(days=3))
        assert keys(index.search_posts(window)) == ["twitter:2", "twitter:1"]
        assert keys(index.search_posts(PostQuery(since=T0 + timedelta(days=4)))) == ["twitter:4"]
        assert keys(index.search_posts(PostQuery(until=T0 + timedelta(days=1)))) == ["twitter:0"]

    def test_search_compares_times_across_time_zones(self, index: Any) -> None:
        index.upsert_posts([make_post("1", created_at=T0)])  # 09:00 UTC
        new_york = timezone(timedelta(hours=-5))
        just_before = datetime(2025, 3, 3, 3, 59, tzinfo=new_york)  # 08:59 UTC
        assert keys(index.search_posts(PostQuery(since=just_before))) == ["twitter:1"]
        assert index.search_posts(PostQuery(until=just_before)) == []

    def test_search_with_a_naive_time_is_refused(self, index: Any) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            index.search_posts(PostQuery(since=datetime(2025, 3, 3, 9, 0)))

    def test_search_returns_newest_first_up_to_the_limit(self, index: Any) -> None:
        posts = [make_post(f"p{n}", created_at=T0 + timedelta(minutes=n)) for n in range(6)]
        index.upsert_posts(list(reversed(posts[3:])) + posts[:3])
        assert keys(index.search_posts(PostQuery())) == [f"twitter:p{n}" for n in range(5, -1, -1)]
        assert keys(index.search_posts(PostQuery(limit=2))) == ["twitter:p5", "twitter:p4"]
        assert index.search_posts(PostQuery(limit=0)) == []

    def test_search_combines_every_criterion(self, index: Any) -> None:
        wanted = make_post(
            "1", text="long wait in A&E", sentiment="concern", departments=("emergency",)
        )
        index.upsert_posts(
            [
                wanted,
                make_post("2", text="long wait in A&E", sentiment="compliment"),
                make_post("3", text="long wait in A&E", sentiment="concern", platform="facebook"),
                make_post("4", text="short wait", sentiment="concern", departments=("emergency",)),
            ]
        )
        query = PostQuery(
            text="wait long",
            sentiment="concern",
            department="emergency",
            platform="twitter",
            account="@ExampleNHS",
            since=T0,
            until=T0 + timedelta(seconds=1),
        )
        assert index.search_posts(query) == [wanted]

    def test_last_post_per_account_counts_only_official_posts(self, index: Any) -> None:
        newest = T0 + timedelta(days=2, microseconds=123456)
        index.upsert_posts(
            [
                make_post("1", kind="official_post", account="@ExampleNHS", created_at=T0),
                make_post("2", kind="official_post", account="@ExampleNHS", created_at=newest),
                # a mention after the newest official post must not make the account look active
                make_post("3", kind="mention", account="@ExampleNHS", created_at=newest + DAY),
                make_post("4", kind="reply", account="@ExampleMaternity", created_at=T0),
                make_post(
                    "5",
                    kind="official_post",
                    platform="facebook",
                    account="@ExampleNHS",
                    created_at=T0,
                ),
            ]
        )
        assert index.last_post_per_account() == {
            ("twitter", "@ExampleNHS"): newest,
            ("facebook", "@ExampleNHS"): T0,
        }

    def test_search_by_kind(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", kind="official_post"),
                make_post("2", kind="mention"),
                make_post("3", kind="official_post", created_at=T0 + DAY),
            ]
        )
        found = index.search_posts(PostQuery(kind="official_post"))
        assert keys(found) == ["twitter:3", "twitter:1"]

    def test_count_posts_by_nothing_is_the_total(self, index: Any) -> None:
        assert index.count_posts(PostQuery(), by=()) == {}
        index.upsert_posts([make_post("1"), make_post("2")])
        assert index.count_posts(PostQuery(), by=()) == {(): 2}

    def test_count_posts_by_sentiment_and_platform(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", sentiment="concern"),
                make_post("2", sentiment="concern"),
                make_post("3", sentiment="compliment"),
                make_post("4", sentiment="concern", platform="facebook"),
            ]
        )
        assert index.count_posts(PostQuery(), by=("sentiment", "platform")) == {
            ("concern", "twitter"): 2,
            ("compliment", "twitter"): 1,
            ("concern", "facebook"): 1,
        }
        assert index.count_posts(PostQuery(), by=("platform",)) == {
            ("twitter",): 3,
            ("facebook",): 1,
        }

    def test_a_post_counts_once_in_each_of_its_departments(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", sentiment="concern", departments=("maternity", "estates")),
                make_post("2", sentiment="concern", departments=("estates",)),
                make_post("3", sentiment="compliment"),
            ]
        )
        assert index.count_posts(PostQuery(), by=("department", "sentiment")) == {
            ("maternity", "concern"): 1,
            ("estates", "concern"): 2,
            ("", "compliment"): 1,  # no department: the NO_VALUE group
        }
        # the filter picks posts; their other departments still count
        assert index.count_posts(PostQuery(department="maternity"), by=("department",)) == {
            ("maternity",): 1,
            ("estates",): 1,
        }

    def test_count_posts_applies_every_criterion_of_the_query(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", text="long wait", sentiment="concern", created_at=T0),
                make_post("2", text="long wait", sentiment="concern", created_at=T0 + DAY),
                make_post("3", text="short wait", sentiment="concern", created_at=T0),
                make_post("4", text="long wait", kind="official_post", created_at=T0),
            ]
        )
        query = PostQuery(text="long wait", kind="mention", since=T0, until=T0 + DAY, limit=0)
        assert index.count_posts(query, by=("sentiment",)) == {("concern",): 1}
        assert index.count_posts(PostQuery(text="?!"), by=("sentiment",)) == {}

    def test_count_posts_by_kind_account_and_flags(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", abusive=True, account="@ExampleNHS"),
                make_post("2", abusive=True, urgent=True, account="@ExampleNHS"),
                make_post("3", kind="official_post", account="@ExampleMaternity"),
            ]
        )
        assert index.count_posts(PostQuery(), by=("kind", "account", "abusive")) == {
            ("mention", "@ExampleNHS", "true"): 2,
            ("official_post", "@ExampleMaternity", "false"): 1,
        }
        assert index.count_posts(PostQuery(), by=("urgent",)) == {("true",): 1, ("false",): 2}

    def test_count_posts_by_utc_day_and_monday_week(self, index: Any) -> None:
        # T0 is Monday 3 March 2025, 09:00 UTC
        bst = timezone(timedelta(hours=1))
        index.upsert_posts(
            [
                make_post("1", created_at=T0),
                make_post("2", created_at=T0 + 6 * DAY),  # Sunday 9 March
                # 00:30 on Monday 10 March in UTC+1 is still Sunday 9 March in UTC
                make_post("3", created_at=datetime(2025, 3, 10, 0, 30, tzinfo=bst)),
                make_post("4", created_at=T0 + 7 * DAY),  # Monday 10 March
            ]
        )
        assert index.count_posts(PostQuery(), by=("day",)) == {
            ("2025-03-03",): 1,
            ("2025-03-09",): 2,
            ("2025-03-10",): 1,
        }
        assert index.count_posts(PostQuery(), by=("week",)) == {
            ("2025-03-03",): 3,
            ("2025-03-10",): 1,
        }

    def test_official_posts_per_account_per_week(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", kind="official_post", account="A", created_at=T0),
                make_post("2", kind="official_post", account="A", created_at=T0 + DAY),
                make_post("3", kind="official_post", account="A", created_at=T0 + 8 * DAY),
                make_post("4", kind="official_post", account="B", created_at=T0 + 9 * DAY),
                make_post("5", kind="mention", account="B", created_at=T0),
            ]
        )
        query = PostQuery(kind="official_post")
        assert index.count_posts(query, by=("account", "week")) == {
            ("A", "2025-03-03"): 2,
            ("A", "2025-03-10"): 1,
            ("B", "2025-03-10"): 1,
        }

    def test_counting_by_an_unknown_or_repeated_dimension_is_refused(self, index: Any) -> None:
        with pytest.raises(ValueError, match="'author'"):
            index.count_posts(PostQuery(), by=("author",))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="twice"):
            index.count_posts(PostQuery(), by=("day", "day"))

    def test_count_posts_pages_through_many_groups(self, index: Any) -> None:
        # more groups than one page of a composite aggregation holds (1000)
        posts = [
            make_post(str(n), account=f"acc{n}", created_at=T0 + timedelta(seconds=n))
            for n in range(1203)
        ]
        for start in range(0, len(posts), 500):
            index.upsert_posts(posts[start : start + 500])
        counts = index.count_posts(PostQuery(), by=("account",))
        assert len(counts) == 1203
        assert set(counts.values()) == {1}

    def test_a_correction_survives_a_re_index_of_the_same_post(self, index: Any) -> None:
        original = make_post("1", text="the car park barrier was broken", sentiment="concern")
        index.upsert_posts([original])
        corrected = correct(index, original.key, sentiment="compliment")
        # a connector replay or a Kafka redelivery: the classifier's label again
        result = index.upsert_posts([original])
        assert (result.written, result.failed) == (1, ())
        stored = index.get_post(original.key)
        assert stored == corrected
        assert stored is not None
        assert stored.classification.sentiment == "compliment"
        assert stored.correction is not None
        assert stored.correction.corrected_by == "alice"
        assert keys(index.search_posts(PostQuery(sentiment="compliment"))) == [original.key]
        assert index.search_posts(PostQuery(sentiment="concern")) == []
        assert keys(index.search_posts(PostQuery(text="barrier", sentiment="compliment"))) == [
            original.key
        ]
        assert index.count_posts(PostQuery(), by=("sentiment",)) == {("compliment",): 1}
        assert index.stats().by_sentiment == {"compliment": 1, "concern": 0, "neutral": 0}

    def test_a_re_index_keeps_the_correction_and_takes_everything_else(self, index: Any) -> None:
        index.upsert_posts([make_post("1", sentiment="concern", departments=("estates",))])
        correct(index, "twitter:1", departments=("wards",))
        newer = make_post(
            "1", text="edited: the ward was cold", sentiment="neutral", urgent=True, abusive=True
        )
        index.upsert_posts([newer])
        stored = index.get_post("twitter:1")
        assert stored is not None
        assert stored.post == newer.post
        label = stored.classification
        # only departments were judged: the classifier's new sentiment stands
        assert (label.sentiment, label.departments) == ("neutral", ("wards",))
        assert (label.urgent, label.abusive, label.confidence) == (True, True, 1.0)
        assert stored.correction is not None
        assert stored.correction.corrected_by == "alice"
        assert label.reason == stored.correction.note  # the new post's reason was empty
        assert keys(index.search_posts(PostQuery(department="wards"))) == ["twitter:1"]
        assert index.search_posts(PostQuery(department="estates")) == []
        assert keys(index.search_posts(PostQuery(text="cold"))) == ["twitter:1"]

    def test_later_corrections_win_label_by_label_over_a_re_index(self, index: Any) -> None:
        original = make_post("1", sentiment="concern", departments=("estates",))
        index.upsert_posts([original])
        correct(index, original.key, sentiment="compliment", departments=("wards",))
        correct(index, original.key, sentiment="neutral", by="bob", at=T0 + 2 * DAY)
        index.upsert_posts([original])
        stored = index.get_post(original.key)
        assert stored is not None
        assert (stored.classification.sentiment, stored.classification.departments) == (
            "neutral",
            ("wards",),
        )
        assert stored.correction is not None
        assert (stored.correction.corrected_by, stored.correction.corrected_at) == (
            "bob",
            T0 + 2 * DAY,
        )
        assert stored.classification.reason == stored.correction.note  # replaced, not stacked
        assert keys(index.search_posts(PostQuery(sentiment="neutral", department="wards"))) == [
            original.key
        ]

    def test_a_batch_re_index_keeps_only_the_corrected_posts_corrections(self, index: Any) -> None:
        posts = [make_post(str(n), sentiment="concern") for n in range(5)]
        index.upsert_posts(posts)
        correct(index, "twitter:2", sentiment="compliment")
        # the same post twice in one batch, as a redelivery inside one batch would give
        result = index.upsert_posts([*posts, posts[2]])
        assert (result.written, result.failed) == (6, ())
        assert keys(index.search_posts(PostQuery(sentiment="compliment"))) == ["twitter:2"]
        assert index.count_posts(PostQuery(), by=("sentiment",)) == {
            ("compliment",): 1,
            ("concern",): 4,
        }
        for post in posts:
            if post.key != "twitter:2":
                assert index.get_post(post.key) == post

    # -- triage: a case is kept like a correction ------------------------------------------

    def test_a_case_survives_a_re_index_of_the_same_post(self, index: Any) -> None:
        original = make_post("1", sentiment="concern")
        index.upsert_posts([original])
        with_case = set_case(index, original.key, "in_progress", assignee="bob")
        result = index.upsert_posts([original])  # the pipeline indexes it again
        assert (result.written, result.failed) == (1, ())
        assert index.get_post(original.key) == with_case
        assert keys(index.search_posts(PostQuery(statuses=("in_progress",)))) == [original.key]
        assert index.search_posts(PostQuery(statuses=("new",))) == []
        assert keys(index.search_posts(PostQuery(assignee="bob"))) == [original.key]
        assert index.count_posts(PostQuery(), by=("status",)) == {("in_progress",): 1}

    def test_a_re_index_keeps_both_the_correction_and_the_case(self, index: Any) -> None:
        original = make_post("1", sentiment="concern", departments=("estates",))
        index.upsert_posts([original])
        correct(index, original.key, departments=("wards",))
        expected = set_case(index, original.key, "handled", assignee="alice")
        index.upsert_posts([original])
        assert index.get_post(original.key) == expected
        assert expected.classification.departments == ("wards",)
        assert keys(index.search_posts(PostQuery(department="wards", statuses=("handled",)))) == [
            original.key
        ]

    def test_a_case_saved_from_a_stale_page_keeps_a_correction_made_meanwhile(
        self, index: Any
    ) -> None:
        index.upsert_posts([make_post("1", sentiment="concern")])
        shown = index.get_post("twitter:1")  # the page a person has open
        correct(index, "twitter:1", departments=("wards",), by="carol")  # someone else, meanwhile
        index.upsert_posts([shown.model_copy(update={"case": make_case("in_progress")})])
        stored = index.get_post("twitter:1")
        assert stored is not None
        assert stored.case == make_case("in_progress")
        assert stored.correction is not None
        assert stored.correction.corrected_by == "carol"
        assert stored.classification.departments == ("wards",)

    def test_a_correction_saved_from_a_stale_page_keeps_a_case_made_meanwhile(
        self, index: Any
    ) -> None:
        index.upsert_posts([make_post("1", sentiment="concern")])
        shown = index.get_post("twitter:1")
        set_case(index, "twitter:1", "in_progress", assignee="bob")
        labels = CorrectedLabels(departments=("wards",), corrected_by="carol", corrected_at=T0)
        index.upsert_posts([shown.corrected(labels)])
        stored = index.get_post("twitter:1")
        assert stored is not None
        assert stored.case == make_case("in_progress", assignee="bob")
        assert stored.classification.departments == ("wards",)
        assert keys(index.search_posts(PostQuery(assignee="bob", department="wards"))) == [
            "twitter:1"
        ]

    def test_a_later_case_replaces_the_earlier_and_a_re_index_keeps_the_later(
        self, index: Any
    ) -> None:
        index.upsert_posts([make_post("1", sentiment="concern")])
        set_case(index, "twitter:1", "in_progress", assignee="bob")
        later = set_case(index, "twitter:1", "handled", assignee="bob", by="bob", at=T0 + 2 * DAY)
        index.upsert_posts([make_post("1", sentiment="concern")])
        assert index.get_post("twitter:1") == later
        assert keys(index.search_posts(PostQuery(statuses=("handled",)))) == ["twitter:1"]
        assert index.search_posts(PostQuery(statuses=("in_progress",))) == []

    def test_a_batch_keeps_the_case_an_earlier_copy_of_the_post_in_it_carries(
        self, index: Any
    ) -> None:
        original = make_post("1", sentiment="concern")
        handled = original.model_copy(update={"case": make_case("handled")})
        result = index.upsert_posts([handled, original, make_post("2", sentiment="concern")])
        assert (result.written, result.failed) == (3, ())
        assert index.get_post(original.key) == handled
        assert index.get_post("twitter:2") == make_post("2", sentiment="concern")

    # -- triage: filters -------------------------------------------------------------------

    def test_search_by_the_urgent_and_abusive_flags(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", urgent=True),
                make_post("2", abusive=True),
                make_post("3", urgent=True, abusive=True),
                make_post("4"),
            ]
        )
        assert keys(index.search_posts(PostQuery(urgent=True))) == ["twitter:1", "twitter:3"]
        assert keys(index.search_posts(PostQuery(urgent=False))) == ["twitter:2", "twitter:4"]
        assert keys(index.search_posts(PostQuery(abusive=True))) == ["twitter:2", "twitter:3"]
        assert keys(index.search_posts(PostQuery(urgent=True, abusive=False))) == ["twitter:1"]
        assert index.count_posts(PostQuery(abusive=False), by=("urgent",)) == {
            ("true",): 1,
            ("false",): 1,
        }

    def test_search_by_breach_takes_the_posts_with_any_breach(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", kind="official_post", breaches=(make_breach(),)),
                make_post("2", breaches=(make_breach("nhs_number"), make_breach("address"))),
                make_post("3"),
            ]
        )
        assert keys(index.search_posts(PostQuery(breach=True))) == ["twitter:1", "twitter:2"]
        assert keys(index.search_posts(PostQuery(breach=False))) == ["twitter:3"]
        assert index.count_posts(PostQuery(breach=True, kind="official_post"), by=()) == {(): 1}

    def test_a_post_whose_breaches_were_all_dismissed_is_no_breach(self, index: Any) -> None:
        post = make_post("1", breaches=(make_breach("phone_number"),))
        index.upsert_posts([post, make_post("2", breaches=(make_breach("phone_number"),))])
        correct(index, post.key, dismissed_breaches=("phone_number",))
        index.upsert_posts([post])  # and the pipeline again: the dismissal stands
        assert keys(index.search_posts(PostQuery(breach=True))) == ["twitter:2"]
        assert keys(index.search_posts(PostQuery(breach=False))) == [post.key]
        # nothing else about it needs action: it has left the triage list
        assert keys(index.search_posts(PostQuery(statuses=("new",)))) == ["twitter:2"]

    def test_statuses_take_a_post_needing_action_without_a_case_as_new(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("concern", sentiment="concern"),
                make_post("unsure", unsure=True),
                make_post("urgent", urgent=True),
                make_post("abusive", abusive=True),
                make_post("breach", breaches=(make_breach(),)),
                make_post("compliment", sentiment="compliment"),
                make_post("neutral"),
                make_post("open", sentiment="concern", case=make_case("in_progress")),
                make_post("done", sentiment="concern", case=make_case("handled")),
                make_post("dropped", sentiment="concern", case=make_case("no_action")),
            ]
        )
        new = [f"twitter:{n}" for n in ("abusive", "breach", "concern", "unsure", "urgent")]
        assert keys(index.search_posts(PostQuery(statuses=("new",)))) == new
        closed = PostQuery(statuses=("handled", "no_action"))
        assert keys(index.search_posts(closed)) == ["twitter:done", "twitter:dropped"]
        both = PostQuery(statuses=("new", "in_progress"))
        assert keys(index.search_posts(both)) == sorted([*new, "twitter:open"])
        assert index.count_posts(PostQuery(), by=("status",)) == {
            ("new",): 5,
            ("in_progress",): 1,
            ("handled",): 1,
            ("no_action",): 1,
            (NO_VALUE,): 2,  # the compliment and the neutral post need no action
        }
        assert index.count_posts(closed, by=("sentiment",)) == {("concern",): 2}

    def test_search_by_assignee_and_for_the_open_posts_nobody_has(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("a-open", sentiment="concern", case=make_case(assignee="alice")),
                make_post(
                    "a-done", sentiment="concern", case=make_case("handled", assignee="alice")
                ),
                make_post("b-new", sentiment="concern", case=make_case("new", assignee="bob")),
                make_post("nobody-new", sentiment="concern"),
                make_post("nobody-open", sentiment="concern", case=make_case()),
                make_post("blank-open", sentiment="concern", case=make_case(assignee="")),
                make_post("nobody-done", sentiment="concern", case=make_case("no_action")),
                make_post("nothing-to-do"),
            ]
        )
        assert keys(index.search_posts(PostQuery(assignee="alice"))) == [
            "twitter:a-done",
            "twitter:a-open",
        ]
        assert keys(index.search_posts(PostQuery(assignee=UNASSIGNED))) == [
            "twitter:blank-open",
            "twitter:nobody-new",
            "twitter:nobody-open",
        ]
        mine_open = PostQuery(assignee="alice", statuses=("in_progress",))
        assert keys(index.search_posts(mine_open)) == ["twitter:a-open"]
        assert index.search_posts(PostQuery(assignee="carol")) == []
        assert index.count_posts(PostQuery(assignee=UNASSIGNED), by=("status",)) == {
            ("new",): 1,
            ("in_progress",): 2,
        }

    def test_departments_match_any_of_them_and_the_department_too(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", departments=("maternity",)),
                make_post("2", departments=("estates", "wards")),
                make_post("3", departments=("radiology",)),
                make_post("4"),
            ]
        )
        either = PostQuery(departments=("maternity", "wards"))
        assert keys(index.search_posts(either)) == ["twitter:1", "twitter:2"]
        both_fields = PostQuery(department="radiology", departments=("maternity",))
        assert keys(index.search_posts(both_fields)) == ["twitter:1", "twitter:3"]
        assert index.search_posts(PostQuery(departments=("pharmacy",))) == []
        # a post in two of the departments asked for counts once
        assert index.count_posts(PostQuery(departments=("wards", "estates")), by=()) == {(): 1}

    def test_search_by_author_matches_the_handle_as_erasure_does(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", author="@Jane_Doe"),
                make_post("2", author="jane_doe"),
                make_post("3", author="@jane_doe_fan"),
                make_post("4", author="Jane"),
            ]
        )
        for spelling in ("jane_doe", "@JANE_DOE", " @Jane_Doe "):
            found = index.search_posts(PostQuery(author=spelling))
            assert keys(found) == ["twitter:1", "twitter:2"], spelling
        assert keys(index.search_posts(PostQuery(author="jane"))) == ["twitter:4"]
        assert index.count_posts(PostQuery(author="@jane_doe_fan"), by=()) == {(): 1}

    def test_search_combines_the_triage_criteria(self, index: Any) -> None:
        base: dict[str, Any] = {
            "text": "the midwives were rude",
            "sentiment": "concern",
            "urgent": True,
            "departments": ("maternity",),
            "author": "@Jane",
            "breaches": (make_breach(),),
            "case": make_case(assignee="alice"),
        }
        # each of the others differs from the wanted post in one criterion only
        others: list[dict[str, Any]] = [
            {"text": "the porters were rude"},
            {"urgent": False},
            {"abusive": True},
            {"departments": ("estates",)},
            {"author": "@John"},
            {"breaches": ()},
            {"case": make_case("handled", assignee="alice")},
            {"case": make_case(assignee="bob")},
            {"sentiment": "neutral"},
        ]
        index.upsert_posts(
            [
                make_post("wanted", **base),
                *(make_post(f"other{n}", **{**base, **o}) for n, o in enumerate(others)),
            ]
        )
        query = PostQuery(
            text="midwife",
            sentiment="concern",
            urgent=True,
            abusive=False,
            breach=True,
            departments=("maternity", "wards"),
            author="jane",
            statuses=("in_progress", "new"),
            assignee="alice",
        )
        assert keys(index.search_posts(query)) == ["twitter:wanted"]
        assert index.count_posts(query, by=("status", "department")) == {
            ("in_progress", "maternity"): 1
        }
        assert index.search_posts(replace(query, offset=1)) == []

    # -- triage: sorts and pages -----------------------------------------------------------

    def test_every_sort_has_an_expected_order_here(self, index: Any) -> None:
        assert set(SORTED) == set(POST_SORTS)

    @pytest.mark.parametrize(("sort", "expected"), list(SORTED.items()))
    def test_search_sorts_by_a_column_then_newest_first_then_by_key(
        self, index: Any, sort: str, expected: list[str]
    ) -> None:
        index.upsert_posts(sorting_posts())
        assert keys(index.search_posts(PostQuery(sort=sort))) == expected  # type: ignore[arg-type]

    def test_pages_by_offset_follow_every_sort_without_gaps_or_repeats(self, index: Any) -> None:
        # few distinct values and times: most of the order comes from the tie-breaks
        posts = [
            make_post(
                f"p{n:02}",
                author=f"@author{n % 3}",
                sentiment=SENTIMENTS[n % 3],
                departments=(("wards",), ("estates", "wards"), ())[n % 3],
                urgent=n % 2 == 0,
                created_at=T0 + timedelta(minutes=n % 4),
            )
            for n in range(11)
        ]
        index.upsert_posts(posts)
        for sort in POST_SORTS:
            whole = keys(index.search_posts(PostQuery(sort=sort, limit=100)))
            pages = [
                keys(index.search_posts(PostQuery(sort=sort, limit=3, offset=start)))
                for start in range(0, 12, 3)
            ]
            assert [key for page in pages for key in page] == whole, sort
            assert sorted(whole) == sorted(post.key for post in posts), sort
            assert index.search_posts(PostQuery(sort=sort, offset=11)) == [], sort

    def test_a_negative_offset_an_unknown_sort_or_status_is_refused(self, index: Any) -> None:
        with pytest.raises(ValueError, match="offset"):
            index.search_posts(PostQuery(offset=-1))
        with pytest.raises(ValueError, match="'shoe_size'"):
            index.search_posts(PostQuery(sort="shoe_size"))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="'closed'"):
            index.search_posts(PostQuery(statuses=("closed",)))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="'closed'"):
            index.count_posts(PostQuery(statuses=("closed",)), by=())  # type: ignore[arg-type]

    # -- triage: dimensions ----------------------------------------------------------------

    def test_count_posts_by_utc_month(self, index: Any) -> None:
        bst = timezone(timedelta(hours=1))
        index.upsert_posts(
            [
                make_post("1", created_at=datetime(2026, 9, 30, 23, 30, tzinfo=UTC)),
                # 00:30 on 1 October in UTC+1 is still 30 September in UTC
                make_post("2", created_at=datetime(2026, 10, 1, 0, 30, tzinfo=bst)),
                make_post("3", created_at=datetime(2026, 10, 1, 0, 0, tzinfo=UTC)),
                make_post("4", created_at=datetime(2026, 12, 31, 23, 59, tzinfo=UTC)),
                make_post("5", created_at=datetime(2027, 1, 1, 0, 0, tzinfo=UTC)),
            ]
        )
        assert index.count_posts(PostQuery(), by=("month",)) == {
            ("2026-09",): 2,
            ("2026-10",): 1,
            ("2026-12",): 1,
            ("2027-01",): 1,
        }

    def test_count_posts_by_status_and_month_together(self, index: Any) -> None:
        october = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
        november = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
        index.upsert_posts(
            [
                make_post("1", sentiment="concern", created_at=october),
                make_post("2", sentiment="concern", created_at=october, case=make_case("handled")),
                make_post("3", sentiment="concern", created_at=november),
                make_post("4", created_at=november),
            ]
        )
        assert index.count_posts(PostQuery(), by=("month", "status")) == {
            ("2026-10", "new"): 1,
            ("2026-10", "handled"): 1,
            ("2026-11", "new"): 1,
            ("2026-11", NO_VALUE): 1,
        }

    # -- text: stems and prefixes ----------------------------------------------------------

    def test_a_word_finds_its_other_forms(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", text="The midwife was kind"),
                make_post("2", text="Midwives on the labour ward"),
                make_post("3", text="Our nurses are nursing heroes"),
                make_post("4", text="The children's wards were cold"),
                make_post("5", text="The midwifery unit"),
            ]
        )
        assert keys(index.search_posts(PostQuery(text="midwives"))) == ["twitter:1", "twitter:2"]
        assert keys(index.search_posts(PostQuery(text="Midwife"))) == ["twitter:1", "twitter:2"]
        assert keys(index.search_posts(PostQuery(text="nurse"))) == ["twitter:3"]
        assert keys(index.search_posts(PostQuery(text="nursed"))) == ["twitter:3"]
        assert keys(index.search_posts(PostQuery(text="child ward"))) == ["twitter:4"]
        assert keys(index.search_posts(PostQuery(text="wards"))) == ["twitter:2", "twitter:4"]
        assert index.count_posts(PostQuery(text="midwives"), by=()) == {(): 2}

    def test_a_word_ending_in_a_star_is_a_prefix_of_the_word_as_written(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", text="The midwife was kind"),
                make_post("2", text="Midwives on the labour ward"),
                make_post("3", text="The midwifery unit"),
                make_post("4", text="St Mary's hospital parking"),
                make_post("5", text="a mid-week visit"),
            ]
        )
        assert keys(index.search_posts(PostQuery(text="midwif*"))) == ["twitter:1", "twitter:3"]
        assert keys(index.search_posts(PostQuery(text="MIDWI*"))) == [
            "twitter:1",
            "twitter:2",
            "twitter:3",
        ]
        # a prefix longer than the word's stem (hospit) still finds it
        assert keys(index.search_posts(PostQuery(text="hospita*"))) == ["twitter:4"]
        assert keys(index.search_posts(PostQuery(text="midw* kind"))) == ["twitter:1"]
        assert index.search_posts(PostQuery(text="midwifes*")) == []
        assert index.count_posts(PostQuery(text="midwi*"), by=()) == {(): 3}

    def test_stars_and_query_syntax_around_words_stay_literal(self, index: Any) -> None:
        index.upsert_posts(
            [
                make_post("1", text="Is the ward OR the clinic open?"),
                make_post("2", text="NEAR the clinic"),
            ]
        )
        assert keys(index.search_posts(PostQuery(text="clinic* ope* OR*"))) == ["twitter:1"]
        # a star after a quote is no prefix: "ope" is a whole word here, which nothing has
        assert index.search_posts(PostQuery(text='"ope"*')) == []
        assert index.search_posts(PostQuery(text='* ** "*" (*)')) == []
        assert keys(index.search_posts(PostQuery(text="NEAR(clin*"))) == ["twitter:2"]
        assert keys(index.search_posts(PostQuery(text="-ward"))) == ["twitter:1"]
        # words the english analyzer would drop ("is", "the") still have to occur
        assert keys(index.search_posts(PostQuery(text="Is the"))) == ["twitter:1"]
        assert index.count_posts(PostQuery(text="(*)"), by=()) == {}


class AlertStoreContract:
    """Alerts and their deliveries. Subclasses provide the ``index`` fixture."""

    @pytest.fixture
    def index(self) -> AlertStore:
        raise NotImplementedError("a subclass provides an `index` fixture: set up and empty")

    def test_alerts_are_recorded_once_per_alert_id(self, index: Any) -> None:
        result = index.record_alerts(
            [make_alert("concern", "twitter:1"), make_alert("abuse", "twitter:2")]
        )
        index.record_alerts([make_alert("concern", "twitter:1")])
        assert (result.written, result.failed) == (2, ())
        assert index.stats().alerts == {"concern": 1, "abuse": 1}

    def test_a_sent_delivery_counts_as_delivered(self, index: Any) -> None:
        sent = make_delivery(channel="email", result="sent")
        failed = make_delivery(channel="teams", result="failed")
        result = index.record_deliveries([sent, failed])
        assert (result.written, result.failed) == (2, ())
        assert index.was_delivered(sent.key) is True
        assert index.was_delivered(failed.key) is False
        assert index.was_delivered("concern:twitter:9|nobody|email") is False

    def test_a_later_delivery_with_the_same_key_replaces_the_earlier(self, index: Any) -> None:
        first = make_delivery(result="failed", delivered_at=T0)
        retry = make_delivery(result="sent", delivered_at=T0 + timedelta(minutes=5))
        index.record_deliveries([first])
        index.record_deliveries([retry])
        assert index.was_delivered(retry.key) is True
        assert index.deliveries_for(retry.alert_id) == [retry]

    def test_deliveries_for_an_alert_are_its_own_oldest_first(self, index: Any) -> None:
        late = make_delivery(recipient="a@example.nhs.uk", delivered_at=T0 + timedelta(hours=1))
        early = make_delivery(recipient="b@example.nhs.uk", delivered_at=T0)
        other = make_delivery(alert_id="abuse:twitter:2")
        index.record_deliveries([late, other, early])
        assert index.deliveries_for("concern:twitter:1") == [early, late]
        assert index.deliveries_for("spike:none") == []
        assert index.stats().deliveries == 3

    def test_alerts_between_includes_since_excludes_until_oldest_first(self, index: Any) -> None:
        index.record_alerts(
            [
                make_alert("concern", "twitter:3", created_at=T0 + 2 * DAY),
                make_alert("concern", "twitter:1", created_at=T0),
                make_alert("compliment", "twitter:2", created_at=T0 + DAY),
            ]
        )
        got = index.alerts_between(T0, T0 + 2 * DAY)
        assert [a.alert_id for a in got] == ["concern:twitter:1", "compliment:twitter:2"]
        assert index.alerts_between(T0 + 3 * DAY, T0 + 4 * DAY) == []

    def test_alerts_between_of_one_kind(self, index: Any) -> None:
        index.record_alerts(
            [
                make_alert("concern", "twitter:1", created_at=T0),
                make_alert("spike", "volume:1", created_at=T0 + DAY / 24),
                make_alert("compliment", "twitter:2", created_at=T0 + DAY / 12),
                make_alert("spike", "volume:2", created_at=T0 + DAY / 8),
            ]
        )
        got = index.alerts_between(T0, T0 + DAY, kind="spike")
        assert [a.alert_id for a in got] == ["spike:volume:1", "spike:volume:2"]
        assert [a.alert_id for a in index.alerts_between(T0, T0 + DAY, kind="concern")] == [
            "concern:twitter:1"
        ]
        assert index.alerts_between(T0, T0 + DAY, kind="urgent") == []


class DeadLetterStoreContract:
    """Dead letters. Subclasses provide the ``index`` fixture."""

    @pytest.fixture
    def index(self) -> DeadLetterStore:
        raise NotImplementedError("a subclass provides an `index` fixture: set up and empty")

    def test_deadletters_are_newest_first_once_per_key(self, index: Any) -> None:
        letters = [
            make_deadletter(f"replay.jsonl:{n}", created_at=T0 + timedelta(minutes=n))
            for n in range(4)
        ]
        result = index.record_deadletters(letters)
        index.record_deadletters(letters[:2])
        assert (result.written, result.failed) == (4, ())
        assert index.deadletters() == list(reversed(letters))
        assert index.deadletters(limit=2) == [letters[3], letters[2]]
        assert index.stats().deadletter == 4


class DocumentStoreContract:
    """Typed documents by collection and id. Subclasses provide the ``index`` fixture."""

    @pytest.fixture
    def index(self) -> DocumentStore:
        raise NotImplementedError("a subclass provides an `index` fixture: set up and empty")

    def test_documents_round_trip_by_collection_in_the_order_written(self, index: Any) -> None:
        index.put_documents(NOTES, [("b", Note(author="x", body="first"))])
        index.put_documents(NOTES, [("a", Note(author="y", body="second"))])
        index.put_documents(OTHER, [("a", Note(author="z", body="elsewhere"))])
        assert [n.body for n in index.get_documents(NOTES)] == ["first", "second"]
        assert [n.body for n in index.get_documents(OTHER)] == ["elsewhere"]
        assert index.get_documents(EMPTY) == []

    def test_putting_a_document_again_replaces_it_in_place(self, index: Any) -> None:
        index.put_documents(NOTES, [("a", Note(author="x", body="one"))])
        index.put_documents(NOTES, [("b", Note(author="x", body="two"))])
        index.put_documents(NOTES, [("a", Note(author="x", body="one, edited"))])
        assert [n.body for n in index.get_documents(NOTES)] == ["one, edited", "two"]

    def test_delete_documents_counts_what_existed(self, index: Any) -> None:
        index.put_documents(
            NOTES, [("a", Note(author="x", body="1")), ("b", Note(author="x", body="2"))]
        )
        assert index.delete_documents(NOTES, ["a", "nope"]) == 1
        assert [n.body for n in index.get_documents(NOTES)] == ["2"]


class IndexContract(
    PostStoreContract, AlertStoreContract, DeadLetterStoreContract, DocumentStoreContract
):
    """Every store, plus what spans them: set-up, stats, retention and erasure."""

    @pytest.fixture
    def index(self) -> Index:
        raise NotImplementedError("a subclass provides an `index` fixture: set up and empty")

    def test_setup_twice_keeps_what_was_written(self, index: Index) -> None:
        index.upsert_posts([make_post("1")])
        index.setup()
        assert index.get_post("twitter:1") == make_post("1")

    def test_empty_index_has_zero_stats(self, index: Index) -> None:
        stats = index.stats()
        assert stats.indexed == 0
        assert stats.by_sentiment == {"compliment": 0, "concern": 0, "neutral": 0}
        assert (stats.deadletter, stats.alerts, stats.deliveries) == (0, {}, 0)
        assert (stats.deliveries_sent, stats.deliveries_failed, stats.alerts_pending) == (0, 0, 0)

    def test_stats_count_everything(self, index: Index) -> None:
        index.upsert_posts(
            [
                make_post("1", sentiment="concern"),
                make_post("2", sentiment="concern"),
                make_post("3", sentiment="compliment"),
            ]
        )
        index.record_alerts([make_alert("concern", "twitter:1"), make_alert("concern", "x:2")])
        index.record_alerts([make_alert("policy_breach", "twitter:3")])
        index.record_deliveries([make_delivery()])
        index.record_deadletters([make_deadletter("a:1"), make_deadletter("a:2")])
        stats = index.stats()
        assert stats.indexed == 3
        assert stats.by_sentiment == {"compliment": 1, "concern": 2, "neutral": 0}
        assert stats.alerts == {"concern": 2, "policy_breach": 1}
        assert (stats.deliveries, stats.deadletter) == (1, 2)

    def test_stats_separate_sent_and_failed_deliveries_and_count_pending_alerts(
        self, index: Index
    ) -> None:
        told, failed, retried, waiting = (
            make_alert("concern", "twitter:1"),
            make_alert("concern", "twitter:2"),
            make_alert("abuse", "twitter:3"),
            make_alert("compliment", "twitter:4"),  # for the digest: nobody told yet
        )
        index.record_alerts([told, failed, retried, waiting])
        index.record_deliveries(
            [
                make_delivery(told.alert_id, "a@example.nhs.uk"),
                make_delivery(told.alert_id, "b@example.nhs.uk", result="failed"),
                make_delivery(failed.alert_id, "a@example.nhs.uk", result="failed"),
                make_delivery(failed.alert_id, "a@example.nhs.uk", "teams", result="failed"),
                make_delivery(retried.alert_id, "a@example.nhs.uk", result="failed"),
                # a delivery of an alert no longer in the index (erased) leaves none pending
                make_delivery("concern:twitter:gone", "a@example.nhs.uk"),
            ]
        )
        # sent later: the same key, its latest outcome counts
        index.record_deliveries([make_delivery(retried.alert_id, "a@example.nhs.uk")])
        stats = index.stats()
        assert (stats.deliveries_sent, stats.deliveries_failed) == (3, 3)
        assert stats.deliveries == 6
        assert stats.alerts_pending == 1
        index.record_deliveries([make_delivery(waiting.alert_id, "c@example.nhs.uk")])
        assert index.stats().alerts_pending == 0

    def test_stats_without_pending_skips_only_that_count(self, index: Index) -> None:
        post = make_post("1")
        index.upsert_posts([post])
        index.record_alerts([make_alert("concern", post.key, post=post)])
        full, quick = index.stats(), index.stats(pending=False)
        assert (full.alerts_pending, quick.alerts_pending) == (1, 0)
        assert (quick.indexed, quick.alerts) == (full.indexed, full.alerts)

    def test_a_correction_goes_with_its_post_on_erasure(self, index: Index) -> None:
        original = make_post("1", author="@Jane_Doe", sentiment="concern")
        index.upsert_posts([original])
        correct(index, original.key, sentiment="compliment")
        assert index.erase_author("jane_doe").posts == 1
        index.upsert_posts([original])  # collected again later: a new post, nobody judged it
        assert index.get_post(original.key) == original

    def test_a_case_goes_with_its_post_on_erasure_and_retention(self, index: Index) -> None:
        theirs = make_post("1", author="@Jane_Doe", sentiment="concern", created_at=T0 + 9 * DAY)
        old = make_post("2", sentiment="concern", created_at=T0)
        index.upsert_posts([theirs, old])
        set_case(index, theirs.key, "handled", assignee="bob")
        set_case(index, old.key, "in_progress", assignee="bob")
        assert index.erase_author("jane_doe").posts == 1
        assert index.delete_older_than(T0 + DAY) == 1
        assert index.search_posts(PostQuery(assignee="bob")) == []
        index.upsert_posts([theirs, old])  # collected again later: new posts, nobody on them
        assert index.get_post(theirs.key) == theirs
        assert index.get_post(old.key) == old
        assert index.count_posts(PostQuery(), by=("status",)) == {("new",): 2}

    def test_delete_older_than_removes_only_older_records(self, index: Index) -> None:
        cutoff = T0 + timedelta(days=1)
        index.upsert_posts(
            [
                make_post("old", text="old complaint", created_at=T0),
                make_post("new", text="new complaint", created_at=cutoff),
            ]
        )
        index.record_alerts(
            [make_alert(created_at=T0), make_alert("spike", "s", created_at=cutoff)]
        )
        index.record_deliveries([make_delivery(delivered_at=T0)])
        index.record_deadletters([make_deadletter("a:1", created_at=T0)])
        assert index.delete_older_than(cutoff) == 4
        assert keys(index.search_posts(PostQuery(text="complaint"))) == ["twitter:new"]
        stats = index.stats()
        assert (stats.indexed, stats.alerts, stats.deliveries, stats.deadletter) == (
            1,
            {"spike": 1},
            0,
            0,
        )

    def test_erase_author_removes_their_posts_and_alerts_quoting_them(self, index: Index) -> None:
        theirs = make_post("1", author="@Jane_Doe", text="my NHS number is 943 476 5919")
        others = make_post("2", author="@someone_else", text="my appointment was moved")
        index.upsert_posts([theirs, others])
        index.record_alerts([make_alert("concern", theirs.key, post=theirs)])
        index.record_alerts([make_alert("concern", others.key, post=others)])
        erased = index.erase_author("jane_doe")
        assert (erased.posts, erased.alerts, erased.items) == (1, 1, 2)
        assert erased.post_keys == (theirs.key,)
        assert index.get_post(theirs.key) is None
        assert index.search_posts(PostQuery(text="number")) == []
        assert keys(index.search_posts(PostQuery())) == [others.key]
        assert index.stats().alerts == {"concern": 1}

    def test_erasure_reaches_the_deliveries_and_dead_letters_about_the_person(
        self, index: Index
    ) -> None:
        theirs = make_post("1", author="@Jane_Doe", text="my NHS number is 943 476 5919")
        others = make_post("2", author="@someone_else", text="my appointment was moved")
        index.upsert_posts([theirs, others])
        their_alert = make_alert("concern", theirs.key, post=theirs)
        other_alert = make_alert("concern", others.key, post=others)
        index.record_alerts([their_alert, other_alert])
        index.record_deliveries(
            [make_delivery(their_alert.alert_id), make_delivery(other_alert.alert_id)]
        )
        index.record_deadletters(
            [
                make_deadletter("raw:1", payload='{"author": "@JANE_DOE", "text": "my number"}'),
                make_deadletter("raw:2", payload='{"author": "@jane_doe_fan", "text": "hi"}'),
                make_deadletter("raw:3", payload='{"author": "someone_else"}'),
            ]
        )
        erased = index.erase_author("@jane_doe")
        assert erased.alert_ids == (their_alert.alert_id,)
        assert (erased.deliveries, erased.deadletters) == (1, 1)
        assert index.deliveries_for(their_alert.alert_id) == []
        assert len(index.deliveries_for(other_alert.alert_id)) == 1
        assert sorted(letter.origin for letter in index.deadletters()) == ["raw:2", "raw:3"]

    def test_retention_ages_alerts_and_their_deliveries_by_the_post(self, index: Index) -> None:
        cutoff = T0 + 10 * DAY
        old_post = make_post("old", created_at=T0)
        # raised after the cutoff (a replay of last year's post), yet about an expired post
        late = make_alert("concern", old_post.key, post=old_post, created_at=cutoff + DAY)
        index.upsert_posts([old_post])
        index.record_alerts([late, make_alert("spike", "s", created_at=cutoff + DAY)])
        index.record_deliveries([make_delivery(late.alert_id, delivered_at=cutoff + DAY)])
        assert index.delete_older_than(cutoff) == 3
        assert index.stats().alerts == {"spike": 1}
        assert index.deliveries_for(late.alert_id) == []
