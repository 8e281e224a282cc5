"""Training the judgement model: its labelled examples, and a real (tiny) fine-tune, export to
ONNX and calibration that the runtime loads. Needs the training extra (`make transformer`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stream_processors.classify.encoder import POLICY_RULES, EncoderModel
from stream_processors.classify.training import examples as ex
from stream_processors.classify.training.fine_tune import (
    FineTuneSettings,
    train_network,
    write_model,
)


def test_the_written_examples_load_with_their_labels():
    written = ex.written()
    by_source: dict[str, list[ex.Example]] = {}
    for e in written:
        by_source.setdefault(e.source, []).append(e)
    assert {k: len(v) for k, v in by_source.items()} == {
        "written-sentiment": 1000,
        "written-abuse": 900,
        "written-urgency": 900,
        "written-policy": 900,
    }
    assert all(e.urgent is not None for e in by_source["written-urgency"])
    assert all(
        e.policy is not None and len(e.policy) == len(POLICY_RULES)
        for e in by_source["written-policy"]
    )
    # a Trust mention written as praise or complaint is neither abusive nor urgent
    assert {(e.abusive, e.urgent) for e in by_source["written-sentiment"]} == {(0, 0)}


def test_a_bad_line_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text(
        '{"text": "fine", "sentiment": "neutral"}\n{"text": "x", "sentiment": "angry"}\n'
    )
    with pytest.raises(ex.ExamplesError, match=r"mine\.jsonl:2: sentiment 'angry' is not one of"):
        ex.labelled_file(path, "own")


def test_the_dashboard_export_format_is_read_as_sentiment(tmp_path):
    path = tmp_path / "feedback.jsonl"
    path.write_text('{"text": "lovely staff", "label": "compliment"}\n')
    (only,) = ex.labelled_file(path, "own")
    assert only.sentiment == 0  # compliment


def test_socmon_train_encoder_needs_an_output_folder():
    done = subprocess.run(
        [sys.executable, "-m", "stream_processors.classify.training.train", "--model", "encoder"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "--model encoder needs --out DIR" in done.stderr


def tiny_corpus() -> ex.Corpus:
    praise = ["the nurses were wonderful", "thank you to the midwives", "brilliant care today"]
    moan = ["waited nine hours again", "nobody answered the phone", "op cancelled third time"]
    train = [ex.Example(t, "own", sentiment=0, abusive=0, urgent=0) for t in praise]
    train += [ex.Example(t, "own", sentiment=1, abusive=0, urgent=0) for t in moan]
    train += [ex.Example("you useless idiots", "own", abusive=1, urgent=0)]
    train += [ex.Example("i have taken all my tablets goodbye", "own", urgent=1)]
    train += [ex.Example("vote for our party", "own", policy=(0, 0, 1, 0, 0, 0))]
    train += [ex.Example("flu clinic open today", "own", policy=(0,) * 6)]
    return ex.Corpus(train=train * 4, calibration=train, tweets_pool=[])


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    corpus = tiny_corpus()
    settings = FineTuneSettings(epochs=2, batch_size=8, learning_rate=1e-4, tweets_per_epoch=0)
    network = train_network(corpus, settings, seed=0, progress=lambda _: None)
    folder = tmp_path_factory.mktemp("encoder")
    write_model(network, corpus, folder, settings, 0, "tiny", 1.0, progress=lambda _: None)
    return folder


def test_a_fine_tuned_model_is_exported_calibrated_and_runs_without_torch(tiny_model):
    meta = json.loads((tiny_model / "model.json").read_text())
    assert meta["name"] == "tiny"
    assert set(meta["temperatures"]) == {"sentiment", "abusive", "urgent", "policy"}
    assert set(meta["thresholds"]) >= {"abusive", "urgent", "policy", "concern_sure"}
    model = EncoderModel(tiny_model)
    praise, moan = model.judge(["the nurses were wonderful", "waited nine hours again"])
    assert praise.sentiment["compliment"] > moan.sentiment["compliment"]
    assert moan.sentiment["concern"] > praise.sentiment["concern"]


def test_the_onnx_model_agrees_with_itself_across_batches(tiny_model):
    model = EncoderModel(tiny_model)
    texts = ["flu clinic open today", "you useless idiots and your rubbish hospital"]
    together = model.probabilities(texts)["abusive"]
    apart = np.array([model.probabilities([t])["abusive"][0] for t in texts])
    assert np.array_equal(together, apart)
