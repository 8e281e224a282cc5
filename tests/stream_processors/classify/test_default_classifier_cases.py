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

# What the bundled model (minilm-l3-multitask-v2) gets wrong among these cases, by case id
KNOWN_POLICY_MISSES: dict[str, str] = {
    "confidential/fire: For internal use only: revised bed plan for winter": "the model misses this case",
    "confidential/fire: Confidential: the board meets tomorrow to discuss the merger": "the model misses this case",
    "confidential/fire: Embargoed until 00:01 Tuesday: Northbrook to open new matern": "the model misses this case",
    "confidential/fire: Sneak peek at the secret plans for the new A&E!": "the model misses this case",
    "confidential/fire: There are plans to close the minor injuries unit, you didn't": "the model misses this case",
    "offensive/miss: Faggots and peas are on the canteen menu today": "the model flags this near miss",
    "criticising_service_users/fire: People like you are the reason our nurses are leaving": "the model misses this case",
    "criticising_service_users/fire: If you had bothered to turn up on time you'd have been seen": "the model misses this case",
    "criticising_service_users/fire: It's your own fault for missing the appointment": "the model misses this case",
    "criticising_service_users/fire: Did you even read our post before commenting?": "the model misses this case",
    "criticising_service_users/fire: Time-wasters like you block our phone lines": "the model misses this case",
    "criticising_service_users/miss: We're sorry you had to wait so long, please DM us so we can ": "the model flags this near miss",
    "political/fire: Proud to be canvassing for our local Green Party candidate t": "the model misses this case",
    "political/miss: Our nurses were proud to vote on the pay offer": "the model flags this near miss",
    "political/miss: The fracture was treated with conservative management, no su": "the model flags this near miss",
    "political/miss: Government guidance on visiting has changed, see our website": "the model flags this near miss",
    "political/miss: Reform of outpatient booking means shorter waits": "the model flags this near miss",
    "political/miss: Mums in labour can now use the new birthing pool": "the model flags this near miss",
    "commercial/fire: My side business makes lovely hampers, DM me for prices": "the model misses this case",
    "commercial/fire: Check out these scrubs I love (affiliate link): amzn.to/3xYz": "the model misses this case",
    "commercial/fire: Anyone want to join my team? Work from home opportunity with": "the model misses this case",
    "commercial/fire: #ad Loving these compression socks from @comfyfeet": "the model misses this case",
    "media_consent/fire: Year 6 pupils from St Mary's visited our emergency departmen": "the model misses this case",
    "media_consent/fire: A lovely morning with our hospice patients making Easter bon": "the model misses this case",
    "media_consent/fire: Ruby, aged 4, rang the end-of-treatment bell today": "the model misses this case",
}
KNOWN_URGENCY_MISSES: dict[str, str] = {
    "self_harm/fire: I can't do this anymore, what's the point": "the model and the phrase rules miss this case",
    "self_harm/miss: I'm dying for a coffee after that night shift": "the model flags this near miss",
    "clinical_emergency/miss: I'm dying for a coffee": "the model flags this near miss",
    "clinical_emergency/miss: If someone is unconscious and not breathing, call 999 and st": "the model flags this near miss",
}


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
