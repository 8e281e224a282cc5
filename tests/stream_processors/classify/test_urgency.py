"""The urgent-post detector: our labelled cases and the shape of its answer."""

from __future__ import annotations

import dataclasses

import pytest

from stream_processors.classify.training.rules_eval import UrgencyCase, load_urgency_cases
from stream_processors.classify.urgency import CATEGORIES, NOT_URGENT, detect_urgent

CASES = load_urgency_cases()


def _param(case: UrgencyCase) -> object:
    marks = [pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_each_labelled_case_gets_its_expected_category(case: UrgencyCase) -> None:
    result = detect_urgent(case.text)
    assert result.category == case.expected
    assert result.urgent is (case.expected is not None)


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_has_at_least_eight_cases_and_six_near_misses(category: str) -> None:
    fire = [c for c in CASES if c.listed_under == category and c.kind == "fire"]
    miss = [c for c in CASES if c.listed_under == category and c.kind == "miss"]
    assert len(fire) >= 8
    assert len(miss) >= 6


def test_the_evidence_is_the_matched_words_of_the_post() -> None:
    for case in CASES:
        result = detect_urgent(case.text)
        if result.urgent:
            assert result.evidence
            assert result.evidence in case.text


def test_a_post_that_is_not_urgent_has_no_category_and_no_evidence() -> None:
    assert detect_urgent("Lovely care on the ward, thank you all") == NOT_URGENT
    assert NOT_URGENT.category is None
    assert NOT_URGENT.evidence == ""


def test_the_result_is_immutable() -> None:
    result = detect_urgent("I want to end it all")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.urgent = False  # type: ignore[misc]


def test_self_harm_outranks_violence_when_a_post_has_both() -> None:
    result = detect_urgent("I'll come down there and smash the place up, then I'll kill myself")
    assert result.category == "self_harm"


def test_curly_apostrophes_from_phones_are_understood() -> None:
    assert detect_urgent("I don’t want to be here anymore").category == "self_harm"
    assert detect_urgent("My son can’t breathe").category == "clinical_emergency"


def test_an_empty_post_is_not_urgent() -> None:
    assert detect_urgent("") == NOT_URGENT
