"""The optional transformer model: fine-tuned for real (a few steps on a small set), saved, loaded
through the same loaders as the linear model, and used by `socmon classify` from the config.

It needs the ``transformer`` extra (`make transformer`); without it these tests skip on a
developer's machine and fail under CI=true, which installs it.
"""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import pytest

from socmon.settings import Settings
from stream_processors.classify import sentiment as sentiment_module
from stream_processors.classify import transformer
from stream_processors.classify.abuse import AbuseModel
from stream_processors.classify.cli import classify_stream
from stream_processors.classify.sentiment import ModelFileError, SentimentModel
from stream_processors.classify.train import (
    AbuseExample,
    SentimentExample,
    fine_tune_abuse,
    fine_tune_sentiment,
    main_train,
)
from stream_processors.classify.transformer import FineTuneConfig
from tests.servers import missing

PRAISE = [
    "Thank you to the wonderful nurses on the ward, brilliant care",
    "Amazing staff, so kind and caring, thank you",
    "Fantastic service at the clinic today, really grateful",
    "The midwives were lovely and supportive, thank you so much",
    "Excellent care from the whole team, brilliant",
    "So impressed with the kindness of the staff, thank you",
]
CONCERN = [
    "Waited six hours in A&E and nobody told us anything, disgraceful",
    "Terrible experience, rude receptionist and my appointment was cancelled again",
    "Awful care, my mum was left in pain for hours",
    "Still no reply to my complaint after three months, appalling",
    "The ward was filthy and the staff ignored us, shocking",
    "Cancelled for the third time, absolutely furious",
]
NEUTRAL = [
    "What time does the pharmacy open on Saturday?",
    "Where is the outpatients department?",
    "Is there parking near the eye clinic?",
    "How do I change my appointment?",
    "The chapel will be closed tomorrow for maintenance.",
    "Which entrance is closest to the maternity unit?",
]
ABUSIVE = [
    "you are a useless idiot",
    "shut up you stupid moron",
    "what a pathetic bunch of idiots",
    "you stupid clown, get lost",
    "idiots the lot of you, morons",
    "shut up, nobody cares, you fool",
]
CLEAN = [
    "thank you for the update",
    "the clinic was busy today",
    "great news about the new ward",
    "is the car park open",
    "lovely weather for the fun run",
    "good luck to everyone taking part",
]
QUICK = FineTuneConfig(epochs=6, learning_rate=2e-4, batch_size=6, max_length=32, threads=2)


@pytest.fixture(scope="module", autouse=True)
def _extra_installed() -> None:
    for module in ("torch", "transformers", "safetensors", transformer.BASE_PACKAGE):
        if importlib.util.find_spec(module) is None:
            missing("the transformer extra", f"no module {module}; run `make transformer`")


@pytest.fixture(scope="module")
def sentiment_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    examples = (
        [SentimentExample(t, "compliment") for t in PRAISE]
        + [SentimentExample(t, "concern") for t in CONCERN]
        + [SentimentExample(t, "neutral") for t in NEUTRAL]
    )
    model = fine_tune_sentiment(examples, seed=0, config=QUICK, progress=lambda _: None)
    return model.save(tmp_path_factory.mktemp("minilm-sentiment"))


def test_a_fine_tuned_sentiment_model_learns_its_examples_and_names_words(sentiment_folder):
    model = SentimentModel.load(sentiment_folder)
    assert model.name == "minilm-ft-sentiment-v1"
    results = model.predict(PRAISE + CONCERN + NEUTRAL)
    labels = [r.label for r in results]
    expected = ["compliment"] * 6 + ["concern"] * 6 + ["neutral"] * 6
    correct = sum(a == b for a, b in zip(labels, expected, strict=True))
    assert correct >= 15, list(zip(labels, expected, strict=True))
    assert all(0.0 <= r.confidence <= 1.0 for r in results)
    # the reason's words come from the bundled linear model of the same task
    assert any("'" in r.reason for r in results)


def test_the_saved_folder_says_what_it_is(sentiment_folder):
    meta = json.loads((sentiment_folder / "model.json").read_text())
    assert meta["kind"] == "transformer"
    assert meta["classes"] == ["compliment", "concern", "neutral"]
    assert meta["fine_tune"]["epochs"] == QUICK.epochs
    assert transformer.model_kind(sentiment_folder) == "transformer"
    assert transformer.model_kind(sentiment_module.MODELS_DIR / "sentiment") == "linear"


def test_socmon_classify_uses_the_model_the_config_names(sentiment_folder, tmp_path):
    settings = Settings(classifier={"sentiment_model": sentiment_folder})
    stdin = io.StringIO(
        json.dumps({"id": "a", "text": PRAISE[0], "kind": "mention"})
        + "\nnot json\n"
        + json.dumps({"id": "b", "text": CONCERN[0], "kind": "mention"})
        + "\n"
    )
    stdout = io.StringIO()
    assert classify_stream(stdin, stdout, settings) == 0
    lines = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert [line.get("id") for line in lines] == ["a", None, "b"]
    assert lines[1]["line"] == 2
    assert lines[0]["sentiment"] == "compliment"
    assert lines[2]["sentiment"] == "concern"


def test_a_fine_tuned_abuse_model_flags_insults(tmp_path):
    examples = [AbuseExample(t, True) for t in ABUSIVE] + [AbuseExample(t, False) for t in CLEAN]
    model = fine_tune_abuse(examples, seed=0, config=QUICK, progress=lambda _: None)
    folder = model.save(tmp_path / "minilm-abuse")
    loaded = AbuseModel.load(folder)
    assert loaded.threshold == model.threshold
    results = loaded.predict(["you useless stupid idiot", "thank you for the update today"])
    assert results[0].abusive, results
    assert not results[1].abusive, results
    assert results[0].score > results[1].score


def test_training_the_same_data_twice_gives_the_same_model(tmp_path):
    examples = [SentimentExample(t, "compliment") for t in PRAISE[:3]] + [
        SentimentExample(t, "concern") for t in CONCERN[:3]
    ]
    config = FineTuneConfig(epochs=1, batch_size=3, max_length=24, threads=1)
    first = fine_tune_sentiment(examples, seed=3, config=config, progress=lambda _: None)
    second = fine_tune_sentiment(examples, seed=3, config=config, progress=lambda _: None)
    a, _ = first.text_model.probabilities(PRAISE[3:])
    b, _ = second.text_model.probabilities(PRAISE[3:])
    assert (abs(a - b) < 1e-6).all()


def test_socmon_train_transformer_needs_an_out_folder(capsys):
    assert main_train(["--task", "abuse", "--model", "transformer"]) == 2
    assert "--out" in capsys.readouterr().err


def test_a_folder_without_weights_is_a_clear_error(tmp_path):
    (tmp_path / "model.json").write_text(json.dumps({"kind": "transformer", "classes": []}))
    with pytest.raises(ModelFileError, match=r"model\.safetensors"):
        SentimentModel.load(tmp_path)
