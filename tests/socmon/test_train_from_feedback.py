"""`socmon train --from-feedback`: the dashboard's corrections become training data."""

from __future__ import annotations

from typer.testing import CliRunner

from dashboards.web.feedback import record_correction
from socmon.index.sqlite import SqliteIndex
from socmon_app.cli import app
from stream_processors.classify.sentiment import SentimentModel
from tests.factories import make_post

CORRECTED = [
    ("1", "Thank you so much to the midwives, wonderful care", "compliment"),
    ("2", "Waited six hours and nobody told us anything, awful", "concern"),
    ("3", "What time does the car park open on Sundays?", "neutral"),
    ("4", "The nurses on ward 7 were kind and patient with my mum", "compliment"),
    ("5", "Rude receptionist and a cancelled appointment again", "concern"),
    ("6", "Is the pharmacy open on bank holidays?", "neutral"),
]


def test_corrections_are_exported_and_trained_on(tmp_path):
    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    for post_id, text, label in CORRECTED:
        wrong = "neutral" if label != "neutral" else "concern"
        post = make_post(post_id, text=text, sentiment=wrong)
        index.upsert_posts([post])
        record_correction(index, post, corrected_by="alice", sentiment=label, departments=None)
    index.close()

    out = tmp_path / "model"
    result = CliRunner().invoke(
        app,
        ["train", "--from-feedback", "--data-dir", str(tmp_path), "--out", str(out), "--seed", "1"],
    )
    assert result.exit_code == 0, result.output
    assert "6 corrections from the dashboard" in result.output
    exported = (tmp_path / "feedback" / "sentiment.jsonl").read_text(encoding="utf-8")
    assert exported.count("\n") == 6
    model = SentimentModel.load(out)
    assert len(model.predict(["Thank you so much, wonderful"])) == 1


def test_without_corrections_it_says_so_and_fails(tmp_path):
    SqliteIndex(tmp_path / "socmon.db").setup()
    result = CliRunner().invoke(app, ["train", "--from-feedback", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no corrections" in result.output
