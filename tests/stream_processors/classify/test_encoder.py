"""The bundled judgement model (ONNX Runtime + tokenizers): loading, text preparation, evidence,
calibration settings, and plain cases of every head."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from stream_processors.classify import encoder
from stream_processors.classify.encoder import (
    DEFAULT_MODEL_DIR,
    POLICY_RULES,
    SENTIMENT_CLASSES,
    URGENT_CLASSES,
    EncoderModel,
    EncoderModelError,
    Judgement,
    prepare,
)


@pytest.fixture(scope="module")
def model() -> EncoderModel:
    return encoder.load_default()


def test_prepare_spells_out_emoji_and_masks_links_and_handles():
    text = "Thank you @NorthbrookNHS 🙏 see https://example.org/x &amp; more"
    assert prepare(text) == "Thank you @user folded hands see link & more"


def test_prepare_keeps_plain_text_and_squeezes_space():
    assert prepare("  the  ward\nwas   clean ") == "the ward was clean"


def test_the_default_model_is_loaded_once():
    assert encoder.load_default() is encoder.load_default()


def test_the_bundled_model_is_int8_onnx_well_under_the_size_limit():
    files = {p.name: p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir()}
    assert set(files) >= {"model.onnx", "tokenizer.json", "model.json"}
    assert sum(files.values()) < 40_000_000  # int8: about 23 MB; fp32 would be 90 MB


def test_model_json_carries_calibration_and_thresholds(model):
    meta = json.loads((DEFAULT_MODEL_DIR / "model.json").read_text())
    assert meta["format"] == encoder.FORMAT
    assert set(meta["temperatures"]) == {"sentiment", "abusive", "urgent", "policy"}
    assert all(0.1 < t < 10 for t in meta["temperatures"].values())
    assert model.thresholds.abusive == meta["thresholds"]["abusive"]
    assert model.thresholds.urgent == meta["thresholds"]["urgent"]


def test_probabilities_have_the_shape_of_every_head(model):
    p = model.probabilities(["hello", "the ward was filthy and nobody came for hours"])
    assert p["sentiment"].shape == (2, len(SENTIMENT_CLASSES))
    assert p["urgent"].shape == (2, len(URGENT_CLASSES))
    assert p["policy"].shape == (2, len(POLICY_RULES))
    assert p["abusive"].shape == (2,)
    assert np.allclose(p["sentiment"].sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(p["urgent"].sum(axis=1), 1.0, atol=1e-5)


def test_a_post_gets_the_same_answer_whatever_else_is_classified_with_it(model):
    # a replay must label a post as before (int8 activations are quantised per run)
    texts = ["short", "a much longer post about the maternity unit and the parking charges there"]
    together = model.probabilities(texts)["sentiment"]
    apart = np.vstack([model.probabilities([t])["sentiment"] for t in texts])
    assert np.array_equal(together, apart)


def test_the_same_batch_gives_the_same_answers_every_time(model):
    texts = ["the ward was clean", "nobody answered the phone for an hour"]
    first, again = model.probabilities(texts), model.probabilities(texts)
    assert np.array_equal(first["urgent"], again["urgent"])


def test_empty_input_and_empty_text(model):
    assert model.judge([]) == []
    (only,) = model.judge([""])
    assert only.sentiment_label in SENTIMENT_CLASSES


@pytest.mark.parametrize(
    ("text", "label"),
    [
        (
            "The nurses on the children's ward were amazing with my son, thank you so much",
            "compliment",
        ),
        (
            "Third cancelled appointment in a row and nobody answers the phone. Disgraceful.",
            "concern",
        ),
        ("What are the visiting hours on the stroke unit at the weekend?", "neutral"),
    ],
)
def test_plain_sentiment(model, text, label):
    assert model.judge([text])[0].sentiment_label == label


def test_plain_urgent_and_abusive(model):
    urgent, abusive, calm = model.judge(
        [
            "I've taken all my tablets, tell my kids I'm sorry",
            "you useless lazy cow, hope someone smashes your face in",
            "Lovely walk round the hospital gardens today",
        ]
    )
    assert 1 - urgent.urgent["none"] >= model.thresholds.urgent
    assert urgent.urgent_category == "self_harm"
    assert abusive.abusive >= model.thresholds.abusive
    assert calm.abusive < model.thresholds.abusive
    assert 1 - calm.urgent["none"] < model.thresholds.urgent


def test_evidence_names_words_of_the_post(model):
    text = "The staff in A&E were wonderful and so kind to my mum"
    (j,) = model.judge([text])
    words = j.evidence("sentiment", "compliment")
    assert 1 <= len(words) <= 3
    assert all(w.lower() in text.lower() for w in words)


def test_evidence_from_shares_picks_the_words_that_push_the_label():
    shares = np.zeros((3, 16))
    shares[1, 1] = 2.0  # "awful" pushes concern (column 1)
    shares[2, 0] = 1.0  # "but" pushes compliment
    j = Judgement(
        sentiment={"compliment": 0.2, "concern": 0.7, "neutral": 0.1},
        abusive=0.0,
        urgent=dict.fromkeys(URGENT_CLASSES, 0.0),
        policy=dict.fromkeys(POLICY_RULES, 0.0),
        prepared="food awful but",
        word_spans=((0, 4), (5, 10), (11, 14)),
        word_shares=shares,
    )
    assert j.evidence("sentiment", "concern", k=1) == ["awful"]
    assert j.evidence("sentiment", "compliment", k=1) == ["but"]
    assert j.evidence("abusive", "abusive") == []  # nothing pushes it: no evidence invented


def test_a_missing_folder_is_named_with_the_fix(tmp_path):
    with pytest.raises(
        EncoderModelError, match=r"model\.json is missing.*socmon train --model encoder"
    ):
        EncoderModel(tmp_path)


def test_a_model_of_another_format_is_refused(tmp_path):
    for name in ("model.onnx", "tokenizer.json"):
        shutil.copy(DEFAULT_MODEL_DIR / name, tmp_path / name)
    (tmp_path / "model.json").write_text(json.dumps({"format": "something-else", "name": "x"}))
    with pytest.raises(EncoderModelError, match="format 'something-else'"):
        EncoderModel(tmp_path)


def test_unreadable_model_json_is_named(tmp_path: Path):
    for name in ("model.onnx", "tokenizer.json"):
        shutil.copy(DEFAULT_MODEL_DIR / name, tmp_path / name)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(EncoderModelError, match=r"model\.json is not readable JSON"):
        EncoderModel(tmp_path)
