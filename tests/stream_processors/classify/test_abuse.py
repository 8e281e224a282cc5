"""The committed default abuse model: obvious cases, reasons, quality floor, save/load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stream_processors.classify import abuse
from stream_processors.classify.training.evaluate import scores
from stream_processors.classify.training.train import default_data_dir, load_tweet_abuse

ABUSIVE = [
    "@user you are a fucking idiot and a disgrace",
    "shut up you stupid bitch",
]
CIVIL = [
    "Thank you to the staff at the walk-in centre for seeing me so quickly",
    "What time does the clinic open tomorrow?",
]


def shared_data_or_skip() -> Path:
    """The shared data folder; missing is a skip locally but a failure under CI."""
    folder = default_data_dir()
    if not folder.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared data folder {folder} is missing")
        pytest.skip(f"shared data folder {folder} is absent")
    return folder


@pytest.fixture(scope="module")
def model() -> abuse.AbuseModel:
    return abuse.load_default()


def test_default_model_is_loaded_once():
    assert abuse.load_default() is abuse.load_default()


@pytest.mark.parametrize("text", ABUSIVE)
def test_obvious_abuse_is_flagged(model, text):
    [result] = model.predict([text])
    assert result.abusive, result
    assert result.score >= model.threshold


@pytest.mark.parametrize("text", CIVIL)
def test_civil_posts_are_not_flagged(model, text):
    [result] = model.predict([text])
    assert not result.abusive, result
    assert 0.0 <= result.score < model.threshold


def test_reasons_of_abusive_posts_name_words_from_the_text(model):
    for text, result in zip(ABUSIVE, model.predict(ABUSIVE), strict=True):
        assert result.reason.startswith("abusive: ")
        quoted = [part.strip(" '") for part in result.reason.split(": ", 1)[1].split(",")]
        assert all(word in text.lower() for word in quoted), (text, result)


def test_scores_match_predictions(model):
    texts = ABUSIVE + CIVIL
    assert [round(s, 4) for s in model.scores(texts)] == [r.score for r in model.predict(texts)]


def test_empty_batch_gives_no_results(model):
    assert model.predict([]) == []


def test_save_and_load_round_trip_gives_identical_predictions(model, tmp_path):
    model.save(tmp_path)
    copy = abuse.AbuseModel.load(tmp_path)
    assert copy.predict(ABUSIVE + CIVIL) == model.predict(ABUSIVE + CIVIL)
    assert copy.threshold == model.threshold


def test_a_sentiment_model_is_not_loaded_as_an_abuse_model(tmp_path):
    from stream_processors.classify import sentiment

    sentiment.load_default().save(tmp_path)
    with pytest.raises(sentiment.ModelFileError, match="abusive"):
        abuse.AbuseModel.load(tmp_path)


def test_quality_floor_on_a_slice_of_offensive_val(model):
    data = shared_data_or_skip()
    examples = load_tweet_abuse(data, "offensive", "val")[:600]
    flags = model.predict([e.text for e in examples])
    truth = ["abusive" if e.abusive else "no" for e in examples]
    predicted = ["abusive" if r.abusive else "no" for r in flags]
    # a floor well under the measured value (eval/results.md) that catches a broken model
    assert scores(truth, predicted, ("no", "abusive"))["macro_f1"] >= 0.65
