# ruff: noqa: E501  (the table of known misses is keyed by whole case ids)
"""Our own labelled cases (tests/data/*.yaml) through the default classifier: the judgement model
with the exact rules. A regression guard, not a quality figure (that is `make eval` on the blind
sets): these cases were written alongside the phrase rules. Known misses of the bundled model are
strict expected failures, so a model that starts getting one right must say so here."""

from __future__ import annotations

import pytest

from socmon.settings import load_settings
from stream_processors.classify.classifier import JUDGED_RULES, PostClassifier, PostText
from stream_processors.classify.training.rules_eval import (
    PolicyCase,
    UrgencyCase,
    load_policy_cases,
    load_urgency_cases,
)

CASE_RULES, POLICY_CASES = load_policy_cases()
URGENCY_CASES = load_urgency_cases()

# What the bundled model (minilm-multitask-v1) gets wrong among these cases, by case id
KNOWN_POLICY_MISSES: dict[str, str] = {
    "commercial/fire: #ad Loving these compression socks from @comfyfeet": "the model misses this case",
    "commercial/fire: Check out these scrubs I love (affiliate link): amzn.to/3xYz": "the model misses this case",
    "confidential/fire: Confidential: the board meets tomorrow to discuss the merger": "the model misses this case",
    "confidential/fire: Embargoed until 00:01 Tuesday: Northbrook to open new matern": "the model misses this case",
    "confidential/fire: There are plans to close the minor injuries unit, you didn't": "the model misses this case",
    "confidential/miss: Dates for the next open day are yet to be announced, watch t": "the model flags this near miss",
    "confidential/miss: The contract for the new car park was signed and announced t": "the model flags this near miss",
    "criticising_service_users/fire: Did you even read our post before commenting?": "the model misses this case",
    "criticising_service_users/miss: You clearly care about your mum, we'll pass your thanks to t": "the model flags this near miss",
    "media_consent/fire: A lovely morning with our hospice patients making Easter bon": "the model misses this case",
    "media_consent/fire: Patients with dementia on Elm ward enjoyed a singalong with ": "the model misses this case",
    "media_consent/fire: Ruby, aged 4, rang the end-of-treatment bell today": "the model misses this case",
    "media_consent/fire: Twins Oliver and Noah went home today after 8 weeks with us": "the model misses this case",
    "media_consent/miss: Little Ruby, aged 4, with her mum: photo used with permissio": "the model flags this near miss",
    "offensive/miss: Faggots and peas are on the canteen menu today": "the model flags this near miss",
    "offensive/miss: Homo sapiens have 206 bones: come and learn more at our scie": "the model flags this near miss",
    "offensive/miss: Staff, please use the smoking shelter for a fag break, not t": "the model flags this near miss",
    "political/fire: Proud to be canvassing for our local Green Party candidate t": "the model misses this case",
    "political/miss: Green spaces help patients recover: our new garden opens tod": "the model flags this near miss",
    "political/miss: Mums in labour can now use the new birthing pool": "the model flags this near miss",
    "political/miss: Our nurses were proud to vote on the pay offer": "the model flags this near miss",
    "political/miss: Reform of outpatient booking means shorter waits": "the model flags this near miss",
}
KNOWN_URGENCY_MISSES: dict[str, str] = {}


@pytest.fixture(scope="module")
def classifier() -> PostClassifier:
    settings = load_settings()
    return PostClassifier(settings.departments, policy=CASE_RULES)


def _param(case: PolicyCase | UrgencyCase, known: dict[str, str]) -> object:
    marks = [pytest.mark.xfail(reason=known[case.id], strict=True)] if case.id in known else []
    return pytest.param(case, id=case.id, marks=marks)


JUDGED_CASES = [c for c in POLICY_CASES if c.listed_under in JUDGED_RULES]


@pytest.mark.parametrize("case", [_param(c, KNOWN_POLICY_MISSES) for c in JUDGED_CASES])
def test_the_model_judges_each_policy_case_as_labelled(classifier, case: PolicyCase) -> None:
    result = classifier.classify(PostText(case.text, "official_post", case.media))
    found = {b.rule for b in result.breaches}
    # a case that must fire finds its rule; a near miss does not
    assert (case.listed_under in found) == (case.kind == "fire")


@pytest.mark.parametrize("case", [_param(c, KNOWN_URGENCY_MISSES) for c in URGENCY_CASES])
def test_each_urgency_case_is_flagged_or_not_as_labelled(classifier, case: UrgencyCase) -> None:
    assert classifier.classify(PostText(case.text)).urgent == (case.expected is not None)
