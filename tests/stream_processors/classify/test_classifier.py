"""How the classifier turns the model's judgement and the exact rules into one Classification.

The logic is tested with a scripted stand-in for the model (our own logic, not the model); the
model itself is tested in test_encoder.py and measured by `make eval`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from socmon.records import Media
from socmon.settings import Department, load_settings
from stream_processors.classify.classifier import PostClassifier, PostText
from stream_processors.classify.encoder import (
    POLICY_RULES,
    SENTIMENT_CLASSES,
    URGENT_CLASSES,
    Judgement,
    Thresholds,
)


class ScriptedModel:
    """Answers every text with the judgement given for it (a neutral one otherwise)."""

    name = "scripted-v0"

    def __init__(self, answers: dict[str, Judgement], thresholds: Thresholds | None = None) -> None:
        self.answers = answers
        self.thresholds = thresholds or Thresholds(
            abusive=0.5, urgent=0.5, policy=0.5, concern_sure=0.6
        )

    def judge(self, texts: Sequence[str]) -> list[Judgement]:
        return [self.answers.get(t, judgement()) for t in texts]


def judgement(
    text: str = "",
    sentiment: str = "neutral",
    confidence: float = 0.9,
    abusive: float = 0.0,
    urgent: str | None = None,
    policy: dict[str, float] | None = None,
) -> Judgement:
    rest = (1 - confidence) / 2
    words = text.split()
    shares = np.zeros((len(words), 16))
    if words:  # the last word pushes every label the judgement gives
        shares[-1, SENTIMENT_CLASSES.index(sentiment)] = 1.0
        shares[-1, 3] = 1.0
        shares[-1, 4 + URGENT_CLASSES.index(urgent or "none")] = 1.0
        shares[-1, 10:] = 1.0
    spans, at = [], 0
    for w in words:
        spans.append((at, at + len(w)))
        at += len(w) + 1
    return Judgement(
        sentiment={c: (confidence if c == sentiment else rest) for c in SENTIMENT_CLASSES},
        abusive=abusive,
        urgent={c: (0.9 if c == (urgent or "none") else 0.02) for c in URGENT_CLASSES},
        policy={r: (policy or {}).get(r, 0.0) for r in POLICY_RULES},
        prepared=text,
        word_spans=tuple(spans),
        word_shares=shares,
    )


MATERNITY = Department(id="maternity", name="Maternity", keywords=["maternity", "midwife"])


def classifier(answers: dict[str, Judgement], **kwargs) -> PostClassifier:
    return PostClassifier([MATERNITY], encoder=ScriptedModel(answers), **kwargs)  # type: ignore[arg-type]


def test_a_sure_concern_goes_to_the_department():
    text = "the maternity ward was filthy"
    c = classifier({text: judgement(text, "concern", 0.95)}).classify(PostText(text))
    assert (c.sentiment, c.unsure, c.departments) == ("concern", False, ("maternity",))
    assert c.reason.startswith("concern (95%): 'filthy'")


def test_a_concern_below_the_threshold_is_marked_unsure():
    text = "maternity was a bit odd today"
    c = classifier({text: judgement(text, "concern", 0.5)}).classify(PostText(text))
    assert c.sentiment == "concern"
    assert c.unsure
    assert "unsure (below 60%)" in c.reason


def test_the_configured_threshold_overrides_the_models():
    text = "maternity was a bit odd today"
    c = classifier({text: judgement(text, "concern", 0.5)}, concern_sure=0.4).classify(
        PostText(text)
    )
    assert not c.unsure


def test_an_unsure_compliment_is_not_marked():
    text = "maternity ok i guess"
    c = classifier({text: judgement(text, "compliment", 0.4)}).classify(PostText(text))
    assert not c.unsure


def test_urgent_from_the_model_names_its_category_and_words():
    text = "said my goodbyes tonight"
    c = classifier({text: judgement(text, "concern", 0.9, urgent="self_harm")}).classify(
        PostText(text)
    )
    assert c.urgent
    assert "urgent (self_harm, 98%): 'tonight'" in c.reason  # P(not none) = 1 - 0.02


def test_the_urgent_phrase_rules_stay_as_a_second_net():
    text = "I want to kill myself"  # a phrase of urgency.py; the scripted model says nothing
    c = classifier({}).classify(PostText(text))
    assert c.urgent
    assert "urgent (self_harm)" in c.reason


def test_abusive_at_or_above_the_threshold():
    text = "you lazy idiot"
    c = classifier({text: judgement(text, "concern", 0.9, abusive=0.5)}).classify(
        PostText(text, "reply")
    )
    assert c.abusive
    assert "abusive (50%): 'idiot'" in c.reason
    c = classifier({text: judgement(text, "concern", 0.9, abusive=0.49)}).classify(
        PostText(text, "reply")
    )
    assert not c.abusive


def test_judged_policy_breaches_only_for_official_posts_with_the_evidence_span():
    text = "Vote Reform on Thursday"
    answers = {text: judgement(text, policy={"political": 0.8})}
    official = classifier(answers).classify(PostText(text, "official_post"))
    (breach,) = official.breaches
    assert (breach.rule, breach.evidence) == ("political", "Thursday")
    assert text[breach.start : breach.end] == breach.evidence
    assert not classifier(answers).classify(PostText(text, "mention")).breaches


def test_the_slur_list_still_finds_offensive_words_with_their_span():
    text = "That spastic porter dropped the trolley again"
    c = classifier({}).classify(PostText(text, "official_post"))
    assert [(b.rule, b.evidence) for b in c.breaches] == [("offensive", "spastic")]


def test_the_phrase_rules_for_judged_policy_are_not_used():
    # "confidential" fires the phrase rule; the model, which judges that rule, says no
    text = "Strictly confidential: the board will close ward 7 next month"
    c = classifier({}).classify(PostText(text, "official_post"))
    assert "confidential" not in {b.rule for b in c.breaches}


def test_exact_rules_still_give_their_spans():
    text = "Well done to our patient, NHS number 943 476 5919, on going home"
    c = classifier({}).classify(PostText(text, "official_post"))
    assert [b.rule for b in c.breaches] == ["nhs_number"]
    assert c.breaches[0].evidence == "943 476 5919"


def test_a_caption_presenting_children_is_checked_without_a_media_field():
    text = "Pupils from Oakfield Primary visited us today"
    answers = {text: judgement(text, policy={"media_consent": 0.9})}
    c = classifier(answers).classify(PostText(text, "official_post", media=()))
    assert [b.rule for b in c.breaches] == ["media_consent"]


def test_the_organisations_published_numbers_are_not_personal_data():
    settings = load_settings()
    contacts = settings.organisation.published_contacts
    assert contacts.phone_numbers, "the default config lists the Trust's published numbers"
    own = PostClassifier.from_settings(settings)
    switchboard, pals = contacts.phone_numbers[:2]
    text = f"Questions? Call our switchboard on {switchboard} or PALS on {pals}"
    assert not [b for b in own.policy.check(text) if b.rule == "phone_number"]
    other = "Questions? Ring Jo on 07700 900123"
    assert [b.rule for b in own.policy.check(other)] == ["phone_number"]


@pytest.mark.parametrize("mode", ["encoder", "fast"])
def test_from_settings_builds_either_design(mode):
    settings = load_settings()
    settings = settings.model_copy(
        update={"classifier": settings.classifier.model_copy(update={"model": mode})}
    )
    c = PostClassifier.from_settings(settings)
    assert (c.encoder is None) == (mode == "fast")
    result = c.classify(PostText("Thank you to the midwives", media=(Media(type="photo"),)))
    assert result.model == c.name
