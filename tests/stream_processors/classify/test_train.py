"""Training: readers of labelled files, reproducibility, the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stream_processors.classify.abuse import AbuseModel
from stream_processors.classify.sentiment import SentimentModel
from stream_processors.classify.training import examples, train
from stream_processors.classify.training.examples import criticality_label
from stream_processors.classify.training.train import (
    AbuseExample,
    DataFileError,
    SentimentExample,
    main_train,
    read_abuse_file,
    read_sentiment_file,
    train_abuse,
    train_sentiment,
)

COMPLIMENTS = [
    "lovely staff thank you",
    "brilliant care, thank you so much",
    "the nurses were kind and caring",
    "excellent service from the team",
    "really helpful and friendly reception",
    "thank you for looking after my mum",
]
CONCERNS = [
    "waited hours and nobody told us anything",
    "the receptionist was rude",
    "appointment cancelled again, terrible",
    "dirty toilets and long wait",
    "nobody answers the phone, awful",
    "rude staff and a long wait",
]
NEUTRALS = [
    "what time does the clinic open",
    "where is the car park",
    "is the pharmacy open on sunday",
    "how do I book a blood test",
    "which bus goes to the hospital",
    "when are visiting hours",
]


def synthetic_sentiment() -> list[SentimentExample]:
    return (
        [SentimentExample(t, "compliment") for t in COMPLIMENTS]
        + [SentimentExample(t, "concern") for t in CONCERNS]
        + [SentimentExample(t, "neutral") for t in NEUTRALS]
    )


def synthetic_abuse() -> list[AbuseExample]:
    abusive = ["you idiot", "shut up you moron", "stupid idiot", "you are a moron", "idiot staff"]
    civil = ["thank you staff", "what time is it", "lovely day", "see you soon", "good morning"]
    return [AbuseExample(t, True) for t in abusive] + [AbuseExample(t, False) for t in civil]


@pytest.fixture(autouse=True)
def no_min_df(monkeypatch):
    # a dozen examples would leave nothing after the default document-frequency cut-off
    small = train.TrainingConfig(
        features=train.FeatureSpec(word_min_df=1, char_min_df=1, lexicon_weight=1.0)
    )
    monkeypatch.setattr(train, "SENTIMENT_CONFIG", small)
    monkeypatch.setattr(train, "ABUSE_CONFIG", small)
    return small


def test_training_twice_with_the_same_seed_gives_the_same_model(no_min_df, tmp_path):
    first = train_sentiment(synthetic_sentiment(), seed=7, config=no_min_df)
    second = train_sentiment(synthetic_sentiment(), seed=7, config=no_min_df)
    np.testing.assert_array_equal(first.linear.coef, second.linear.coef)
    np.testing.assert_array_equal(first.linear.intercept, second.linear.intercept)
    first.save(tmp_path / "a")
    second.save(tmp_path / "b")
    assert (tmp_path / "a" / "model.npz").read_bytes() == (
        tmp_path / "b" / "model.npz"
    ).read_bytes()


def test_a_model_trained_on_synthetic_examples_learns_them(no_min_df):
    model = train_sentiment(synthetic_sentiment(), seed=0, config=no_min_df)
    labels = [r.label for r in model.predict(["thank you, lovely staff", "rude and a long wait"])]
    assert labels == ["compliment", "concern"]


def test_save_and_load_round_trip_gives_identical_predictions(no_min_df, tmp_path):
    model = train_sentiment(synthetic_sentiment(), seed=0, config=no_min_df)
    model.save(tmp_path)
    copy = SentimentModel.load(tmp_path)
    texts = [*COMPLIMENTS, *CONCERNS, *NEUTRALS, "something unseen entirely"]
    assert copy.predict(texts) == model.predict(texts)


def test_model_metadata_records_the_library_versions(no_min_df, tmp_path):
    train_sentiment(synthetic_sentiment(), seed=0, config=no_min_df).save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    assert set(meta["trained_with"]) >= {"scikit-learn", "numpy"}
    assert meta["seed"] == 0


def test_abuse_training_is_reproducible_and_round_trips(no_min_df, tmp_path):
    first = train_abuse(synthetic_abuse(), seed=3, config=no_min_df)
    second = train_abuse(synthetic_abuse(), seed=3, config=no_min_df)
    np.testing.assert_array_equal(first.linear.coef, second.linear.coef)
    first.save(tmp_path)
    copy = AbuseModel.load(tmp_path)
    texts = ["you idiot", "thank you"]
    assert copy.predict(texts) == first.predict(texts)
    assert [r.abusive for r in copy.predict(texts)] == [True, False]


def test_abuse_training_with_nb_scaling_is_reproducible(no_min_df):
    config = train.TrainingConfig(features=no_min_df.features, nb_scaling=True)
    first = train_abuse(synthetic_abuse(), seed=0, config=config)
    second = train_abuse(synthetic_abuse(), seed=0, config=config)
    np.testing.assert_array_equal(first.linear.coef, second.linear.coef)
    assert [r.abusive for r in first.predict(["stupid moron", "good morning"])] == [True, False]


def test_training_on_one_class_is_refused(no_min_df):
    with pytest.raises(ValueError, match="two classes"):
        train_sentiment([SentimentExample(t, "compliment") for t in COMPLIMENTS], config=no_min_df)


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("3", "compliment"),
        ("-2", "concern"),
        ("0", "neutral"),
        ("-o", None),
        ("SS", None),
        ("-9", None),
        ("NA", None),
    ],
)
def test_criticality_maps_to_labels_and_drops_dirty_values(value, label):
    assert criticality_label(value) == label


def test_reading_jsonl_sentiment(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text(
        '{"text": "great staff", "label": "compliment"}\n\n{"text": "rude", "label": "concern"}\n'
    )
    examples = read_sentiment_file(path)
    assert [(e.text, e.label) for e in examples] == [
        ("great staff", "compliment"),
        ("rude", "concern"),
    ]


def test_a_bad_jsonl_line_is_named(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text('{"text": "great staff", "label": "compliment"}\n{"text": "rude", "label": \n')
    with pytest.raises(DataFileError, match=r"labels\.jsonl, line 2: not valid JSON"):
        read_sentiment_file(path)


def test_an_unknown_label_is_named_with_its_line(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text('{"text": "a", "label": "neutral"}\n{"text": "b", "label": "angry"}\n')
    with pytest.raises(DataFileError, match=r"line 2: label must be one of .*'angry'"):
        read_sentiment_file(path)


def test_reading_csv_sentiment_with_quoted_commas(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text('text,label\n"waited, then left",concern\nthanks,compliment\n')
    assert [e.label for e in read_sentiment_file(path)] == ["concern", "compliment"]


def test_a_bad_csv_line_is_named(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("text,label\nthanks,compliment\nrude,concern\nhello,happy\n")
    with pytest.raises(DataFileError, match=r"labels\.csv, line 4: label must be one of"):
        read_sentiment_file(path)


def test_an_empty_text_in_csv_is_named(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("text,label\n,compliment\n")
    with pytest.raises(DataFileError, match=r"line 2: text must be a non-empty string"):
        read_sentiment_file(path)


def test_a_csv_without_a_text_column_is_refused(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("comment,label\nthanks,compliment\n")
    with pytest.raises(DataFileError, match="'text' column"):
        read_sentiment_file(path)


def test_reading_abuse_jsonl_and_csv(tmp_path):
    jsonl = tmp_path / "abuse.jsonl"
    jsonl.write_text('{"text": "you idiot", "abusive": true}\n{"text": "hi", "abusive": false}\n')
    csv = tmp_path / "abuse.csv"
    csv.write_text("text,label\nyou idiot,1\nhi,0\n")
    assert [e.abusive for e in read_abuse_file(jsonl)] == [True, False]
    assert [e.abusive for e in read_abuse_file(csv)] == [True, False]


def test_a_bad_abuse_flag_is_named(tmp_path):
    path = tmp_path / "abuse.jsonl"
    path.write_text('{"text": "hi", "abusive": false}\n{"text": "x", "abusive": "maybe"}\n')
    with pytest.raises(DataFileError, match=r"line 2: abusive must be true or false"):
        read_abuse_file(path)


def test_an_unknown_file_type_is_refused(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("thanks\n")
    with pytest.raises(DataFileError, match="unknown file type"):
        read_sentiment_file(path)


def test_data_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SOCMON_LABELLED_DATA", str(tmp_path))
    assert train.default_data_dir() == tmp_path
    monkeypatch.delenv("SOCMON_LABELLED_DATA")
    assert train.default_data_dir() == examples.REPO_ROOT.parent / "shared" / "data"


def test_main_train_on_an_organisations_file(tmp_path, capsys):
    data = tmp_path / "labels.jsonl"
    data.write_text(
        "".join(
            json.dumps({"text": e.text, "label": e.label}) + "\n" for e in synthetic_sentiment()
        )
    )
    out = tmp_path / "model"
    assert main_train(["--task", "sentiment", "--data", str(data), "--out", str(out)]) == 0
    assert "training linear sentiment on 18 examples" in capsys.readouterr().out
    assert SentimentModel.load(out).predict(["lovely staff"])[0].label == "compliment"


def test_main_train_reports_a_bad_file_and_fails(tmp_path, capsys):
    data = tmp_path / "labels.csv"
    data.write_text("text,label\nthanks,great\n")
    code = main_train(["--task", "sentiment", "--data", str(data), "--out", str(tmp_path / "m")])
    assert code == 2
    assert "line 2" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_main_train_abuse_from_a_csv(tmp_path):
    data = tmp_path / "abuse.csv"
    data.write_text(
        "text,abusive\n"
        + "".join(f"{e.text},{str(e.abusive).lower()}\n" for e in synthetic_abuse())
    )
    out = tmp_path / "abuse"
    assert (
        main_train(["--task", "abuse", "--data", str(data), "--out", str(out), "--seed", "1"]) == 0
    )
    assert AbuseModel.load(out).predict(["you idiot"])[0].abusive


def test_default_examples_come_from_the_shared_folder(tmp_path):
    px = tmp_path / "pxtextmining"
    px.mkdir()
    (px / "phase1_text_data.csv").write_text(
        "code,label,subcategory,feedback,criticality,organization,question,row_index\n"
        "a,Staff,x,Lovely staff,3,Trust A,Q1,0\n"
        "b,Staff,x,Rude staff,-2,Trust A,Q1,1\n"
        "c,Staff,x,Dirty value,-o,Trust A,Q1,2\n"
        "d,Staff,x,Kind nurses,0,Trust B,Q1,3\n"
        "e,Staff,x,Parking,0,Trust C,Q1,4\n"
    )
    tweets = tmp_path / "tweeteval"
    tweets.mkdir()
    (tweets / "sentiment_val_text.txt").write_text("bad day\nok then\ngreat\nmeh\n")
    (tweets / "sentiment_val_labels.txt").write_text("0\n1\n2\n1\n")
    for task in ("offensive", "hate"):
        (tweets / f"{task}_train_text.txt").write_text(
            "what a wonderful day\nterrible awful news\n"
        )
        (tweets / f"{task}_train_labels.txt").write_text("0\n1\n")
    examples = train.default_sentiment_examples(tmp_path)
    pairs = [
        (e.text, e.label) for e in examples if e.group not in {"enquiries", "lexicon-labelled"}
    ]
    # dirty criticality dropped, Trust B's unrated zeros dropped, even tweet lines kept
    assert pairs == [
        ("Lovely staff", "compliment"),
        ("Rude staff", "concern"),
        ("Parking", "neutral"),
        ("bad day", "concern"),
        ("great", "compliment"),
    ]
    lexicon_labelled = [(e.text, e.label) for e in examples if e.group == "lexicon-labelled"]
    assert (
        lexicon_labelled
        == [
            ("what a wonderful day", "compliment"),
            ("terrible awful news", "concern"),
        ]
        * 2
    )
    enquiries = [e for e in examples if e.group == "enquiries"]
    assert len(enquiries) == train.ENQUIRIES
    assert {e.label for e in enquiries} == {"neutral"}


def test_synthetic_enquiries_are_seeded():
    assert train.synthetic_enquiries(50, seed=1) == train.synthetic_enquiries(50, seed=1)
    assert train.synthetic_enquiries(50, seed=1) != train.synthetic_enquiries(50, seed=2)


def test_lexicon_labelling_keeps_only_clear_cases():
    examples = train.lexicon_labelled(
        ["I love this, brilliant!", "awful, horrible service", "the bus leaves at ten", "ok!"],
        weight=0.5,
    )
    assert [(e.text, e.label) for e in examples] == [
        ("I love this, brilliant!", "compliment"),
        ("awful, horrible service", "concern"),
        ("the bus leaves at ten", "neutral"),
    ]
    assert {e.weight for e in examples} == {0.5}
