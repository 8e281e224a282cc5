"""Corrections: stored with who and when, merged per post, exported as labelled JSON Lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from dashboards.web.feedback import (
    all_corrections,
    export_feedback,
    feedback_examples,
    latest_corrections,
    record_correction,
)
from socmon.index.sqlite import SqliteIndex
from socmon.settings import Settings
from socmon_app.cli import app
from tests.dashboards.web.seed import Seeded, write_config

T = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def post(index: SqliteIndex, key: str):
    found = index.get_post(key)
    assert found is not None
    return found


def test_a_correction_keeps_the_classifier_s_verdict_beside_the_person_s(
    index: SqliteIndex, seeded: Seeded
) -> None:
    correction = record_correction(
        index,
        post(index, seeded.parking),
        corrected_by="alice",
        sentiment="neutral",
        departments=None,
        now=T,
    )
    assert correction is not None
    assert (correction.corrected_by, correction.corrected_at) == ("alice", T)
    assert correction.sentiment == "neutral"
    assert correction.departments is None  # not judged
    assert correction.previous.sentiment == "concern"
    assert all_corrections(index) == [correction]
    rewritten = post(index, seeded.parking).classification
    assert rewritten.sentiment == "neutral"
    assert rewritten.departments == ("estates",)
    assert rewritten.confidence == 1.0
    assert rewritten.reason.startswith("corrected by alice on 2026-11-02 10:00 UTC")


def test_a_replay_of_the_post_keeps_the_person_s_labels(index: SqliteIndex, seeded: Seeded) -> None:
    classified = post(index, seeded.parking)
    record_correction(
        index,
        classified,
        corrected_by="alice",
        sentiment="neutral",
        departments=["estates", "wards"],
        now=T,
    )
    corrected = post(index, seeded.parking)
    index.upsert_posts([classified])  # a connector replay or a Kafka redelivery
    assert post(index, seeded.parking) == corrected
    label = corrected.classification
    assert (label.sentiment, label.departments) == ("neutral", ("estates", "wards"))
    assert corrected.correction is not None
    assert corrected.correction.corrected_by == "alice"


def test_a_second_correction_replaces_the_note_instead_of_stacking_it(
    index: SqliteIndex, seeded: Seeded
) -> None:
    record_correction(
        index,
        post(index, seeded.parking),
        corrected_by="alice",
        sentiment="compliment",
        departments=None,
        now=T,
    )
    record_correction(
        index,
        post(index, seeded.parking),
        corrected_by="bob",
        sentiment=None,
        departments=["wards"],
        now=T + timedelta(hours=1),
    )
    label = post(index, seeded.parking).classification
    assert (label.sentiment, label.departments) == ("compliment", ("wards",))
    assert label.reason.startswith("corrected by bob on 2026-11-02 11:00 UTC")
    assert "alice" not in label.reason


def test_only_the_labels_that_changed_are_recorded(index: SqliteIndex, seeded: Seeded) -> None:
    correction = record_correction(
        index,
        post(index, seeded.parking),
        corrected_by="alice",
        sentiment="concern",
        departments=["estates", "wards"],
        now=T,
    )
    assert correction is not None
    assert correction.sentiment is None
    assert correction.departments == ("estates", "wards")


def test_later_corrections_win_label_by_label(index: SqliteIndex, seeded: Seeded) -> None:
    record_correction(
        index,
        post(index, seeded.parking),
        corrected_by="alice",
        sentiment="compliment",
        departments=["wards"],
        now=T,
    )
    record_correction(
        index,
        post(index, seeded.parking),
        corrected_by="bob",
        sentiment="neutral",
        departments=None,
        now=T + timedelta(hours=1),
    )
    merged = latest_corrections(all_corrections(index))[seeded.parking]
    assert merged.corrected_by == "bob"
    assert merged.sentiment == "neutral"
    assert merged.departments == ("wards",)
    assert len(all_corrections(index)) == 2  # the history is kept


def test_the_export_is_what_socmon_train_reads(
    index: SqliteIndex, seeded: Seeded, tmp_path: Path
) -> None:
    record_correction(
        index,
        post(index, seeded.parking),
        corrected_by="alice",
        sentiment="neutral",
        departments=["estates", "wards"],
        now=T,
    )
    record_correction(
        index,
        post(index, seeded.midwife),
        corrected_by="alice",
        sentiment=None,
        departments=[],
        now=T,
    )
    out = tmp_path / "feedback" / "sentiment.jsonl"
    assert export_feedback(index, out) == 1
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == [
        {
            "text": "Paid £12 for parking and the car park barrier was broken for an hour",
            "label": "neutral",
        }
    ]
    departments = tmp_path / "departments.jsonl"
    assert export_feedback(index, departments, "departments") == 2
    by_text = {
        row["text"]: row["label"]
        for row in map(json.loads, departments.read_text(encoding="utf-8").splitlines())
    }
    assert by_text["The midwife who looked after me was wonderful, thank you"] == []
    assert sorted(by_text.values(), key=len)[-1] == ["estates", "wards"]


def test_an_erased_post_leaves_the_training_data(index: SqliteIndex, seeded: Seeded) -> None:
    record_correction(
        index,
        post(index, seeded.parking),
        corrected_by="alice",
        sentiment="neutral",
        departments=None,
        now=T,
    )
    index.erase_author("driver_dan")
    assert feedback_examples(index) == []


def test_export_feedback_command_writes_the_file(
    settings: Settings, index: SqliteIndex, seeded: Seeded, tmp_path: Path
) -> None:
    record_correction(
        index,
        post(index, seeded.parking),
        corrected_by="alice",
        sentiment="compliment",
        departments=None,
        now=T,
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        app,
        ["dashboard", "export-feedback", "--out", str(out), "--data-dir", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 1 labelled examples" in result.output
    assert json.loads(out.read_text(encoding="utf-8"))["label"] == "compliment"


def test_add_user_command_reads_the_password_from_stdin(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    runner = CliRunner()
    args = ["dashboard", "add-user", "dr.patel", "--config", str(config)]
    result = runner.invoke(app, args, input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "user dr.patel created" in result.output
    assert "a long enough password" not in result.output
    again = runner.invoke(app, args, input="another long password\n")
    assert again.exit_code == 2
    assert "exists already" in again.output
    short = runner.invoke(app, ["dashboard", "add-user", "x", "--config", str(config)], input="s\n")
    assert short.exit_code == 2
    assert "at least 12 characters" in short.output
    index = SqliteIndex(tmp_path / "socmon.db")
    try:
        from dashboards.web.users import authenticate

        user = authenticate(index, "dr.patel", "a long enough password")
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
    finally:
        index.close()
