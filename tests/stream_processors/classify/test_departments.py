"""Matching posts to departments from keywords, aliases and sites."""

from __future__ import annotations

import pytest

from socmon.settings import Department, load_settings
from stream_processors.classify.departments import DepartmentMatcher


@pytest.fixture(scope="module")
def default_matcher() -> DepartmentMatcher:
    return DepartmentMatcher(load_settings().departments)


def _dept(dept_id: str, **fields: list[str]) -> Department:
    return Department(id=dept_id, name=dept_id.title(), **fields)


def test_keywords_match_in_any_case(default_matcher: DepartmentMatcher) -> None:
    assert default_matcher.match("MATERNITY were brilliant") == ["maternity"]
    assert default_matcher.match("the Midwife was lovely") == ["maternity"]


def test_aliases_match_only_as_written() -> None:
    matcher = DepartmentMatcher([_dept("emergency", aliases=["ED"])])
    assert matcher.match("Six hours in ED last night") == ["emergency"]
    assert matcher.match("I was discharged and edited my post, Ed says hi") == []


def test_terms_match_whole_words_only(default_matcher: DepartmentMatcher) -> None:
    assert default_matcher.match("Heartfelt thanks to the team") == []
    assert default_matcher.match("The cooperation was great, a real teammate") == []


def test_punctuation_inside_and_around_terms_is_understood(
    default_matcher: DepartmentMatcher,
) -> None:
    for text in ("Waited in A&E.", "(A&E) was busy", "A & E staff", "a and e was packed"):
        assert default_matcher.match(text) == ["emergency"], text


def test_hashtags_match_including_camel_case(default_matcher: DepartmentMatcher) -> None:
    assert default_matcher.match("#maternity") == ["maternity"]
    assert default_matcher.match("Proud of #MaternityMatters and #Ward7") == ["maternity", "wards"]


def test_plurals_of_keywords_match(default_matcher: DepartmentMatcher) -> None:
    assert default_matcher.match("Two pharmacies and three scans") == ["pharmacy", "radiology"]
    assert default_matcher.match("x-rays, X rays and xrays") == ["radiology"]


def test_curly_apostrophes_match_straight_ones(default_matcher: DepartmentMatcher) -> None:
    assert default_matcher.match("The children’s ward was spotless") == ["childrens"]


def test_a_longer_phrase_wins_over_a_shorter_keyword_at_the_same_place(
    default_matcher: DepartmentMatcher,
) -> None:
    # "children's ward" (childrens) starts where "ward" would not, but "chest pain clinic"
    # would otherwise also be "clinic" (outpatients).
    assert default_matcher.match("Seen at the chest pain clinic") == ["cardiology"]


def test_departments_come_in_order_of_first_mention_without_repeats(
    default_matcher: DepartmentMatcher,
) -> None:
    text = "The canteen food was cold, the parking is awful, and the canteen closed early"
    assert default_matcher.match(text) == ["catering", "estates"]


def test_a_term_shared_by_two_departments_returns_both() -> None:
    matcher = DepartmentMatcher(
        [_dept("wards", keywords=["ward 7"]), _dept("cancer", sites=["Ward 7"])]
    )
    assert matcher.match("Thanks to everyone on ward 7") == ["wards", "cancer"]


def test_sites_match_like_keywords() -> None:
    matcher = DepartmentMatcher([_dept("north", sites=["St. Mary's Hospital", "Northbrook"])])
    assert matcher.match("Parking at st. mary’s hospital is hopeless") == ["north"]
    assert matcher.match("Northbrook General") == ["north"]


def test_multi_word_terms_match_across_line_breaks_and_hyphens(
    default_matcher: DepartmentMatcher,
) -> None:
    assert default_matcher.match("the car\npark") == ["estates"]
    assert default_matcher.match("labour-ward") == ["maternity"]


def test_regex_characters_in_terms_are_taken_literally() -> None:
    matcher = DepartmentMatcher([_dept("it", keywords=["c++", "(beta)"])])
    assert matcher.match("We write c++ here") == ["it"]
    assert matcher.match("cxx") == []


def test_no_departments_match_nothing() -> None:
    assert DepartmentMatcher([]).match("A&E was busy") == []
    assert DepartmentMatcher([_dept("empty", keywords=["  "])]).match("anything") == []
