"""Corrections: applied to the post (every judgement, idempotently), stored with who and when,
merged per post, raising the alerts they call for, exported as labelled JSON Lines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dashboards.web.escalation import AlertsNotSent
from dashboards.web.feedback import (
    CORRECTIONS,
    all_corrections,
    export_feedback,
    feedback_examples,
    latest_corrections,
    record_correction,
)
from socmon.index.sqlite import SqliteIndex
from socmon.records import Alert, Breach, Classification, CorrectedLabels, EnrichedPost
from socmon.settings import Settings
from socmon_app.cli import app
from stream_processors.alert_rules import alerts_for
from tests.dashboards.web.seed import Seeded, write_config
from tests.factories import make_delivery, make_post

T = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
NOTE = "corrected by alice on 2026-11-02 10:00 UTC"


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
    ).correction
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
    assert rewritten.reason == "corrected by alice on 2026-11-02 10:00 UTC: neutral"


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
    ).correction
    assert correction is not None
    assert correction.sentiment is None
    assert correction.departments == ("estates", "wards")
    assert correction.changed == ("departments",)


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


def test_export_feedback_command_exports_an_escalation_and_refuses_an_unknown_task(
    settings: Settings, index: SqliteIndex, seeded: Seeded, tmp_path: Path
) -> None:
    record_correction(index, post(index, seeded.parking), corrected_by="alice", urgent=True, now=T)
    out = tmp_path / "urgent.jsonl"
    args = ["dashboard", "export-feedback", "--out", str(out), "--data-dir", str(tmp_path)]
    result = CliRunner().invoke(app, [*args, "--task", "urgent"])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["urgent"] is True
    wrong = CliRunner().invoke(app, [*args, "--task", "sarcasm"])
    assert wrong.exit_code == 2
    assert "--task must be one of sentiment, departments, urgent, abusive" in wrong.output


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


# -- EnrichedPost.corrected: every judgement, applied the same way twice -------------------------


def breach(rule: str, start: int = 0) -> Breach:
    return Breach(rule=rule, severity="high", evidence="x", start=start, end=start + 1)


def classified(**labels: object) -> EnrichedPost:
    """A post as the classifier left it, with a reason of its own."""
    post = make_post("7", text="The ward was cold all night", sentiment="concern")
    fields = post.classification.model_dump() | {"reason": "cold ward"} | labels
    return post.model_copy(update={"classification": Classification(**fields)})


def labels(at: datetime = T, by: str = "alice", **judged: object) -> CorrectedLabels:
    return CorrectedLabels(corrected_by=by, corrected_at=at, **judged)


JUDGEMENTS: list[tuple[dict[str, object], dict[str, object], str]] = [
    ({"sentiment": "neutral"}, {"sentiment": "neutral"}, "neutral"),
    ({"departments": ("wards",)}, {"departments": ("wards",)}, "departments (wards)"),
    ({"departments": ()}, {"departments": ()}, "no department"),
    ({"urgent": True}, {"urgent": True}, "urgent"),
    ({"urgent": False}, {"urgent": False}, "not urgent"),
    ({"abusive": True}, {"abusive": True}, "abusive"),
    ({"abusive": False}, {"abusive": False}, "not abusive"),
    (
        {"dismissed_breaches": ("phone",)},
        {"breaches": (breach("nhs_number"),)},
        "breaches dismissed (phone)",
    ),
]


@pytest.mark.parametrize(("judged", "expected", "verdict"), JUDGEMENTS)
def test_each_judgement_replaces_the_label_and_the_reason_says_so(
    judged: dict[str, object], expected: dict[str, object], verdict: str
) -> None:
    start = classified(
        urgent=not judged.get("urgent", False),
        abusive=not judged.get("abusive", False),
        breaches=(breach("nhs_number"), breach("phone", 5)),
        departments=("estates",),
    )
    corrected = start.corrected(labels(**judged)).classification
    for name, value in expected.items():
        assert getattr(corrected, name) == value
    assert corrected.reason == f"{NOTE}: {verdict}; cold ward"
    assert corrected.confidence == 1.0


@pytest.mark.parametrize(("judged", "expected", "verdict"), JUDGEMENTS)
def test_correcting_a_corrected_post_again_gives_the_same_record(
    judged: dict[str, object], expected: dict[str, object], verdict: str
) -> None:
    start = classified(breaches=(breach("nhs_number"), breach("phone", 5)))
    once = start.corrected(labels(**judged))
    assert once.corrected(labels(**judged)) == once
    # the index re-applies the stored correction to the classifier's post on a replay
    assert once.correction is not None
    assert start.corrected(once.correction) == once


def test_labels_left_unjudged_keep_an_earlier_correction() -> None:
    start = classified(breaches=(breach("nhs_number"), breach("phone", 5)))
    steps = [
        labels(sentiment="neutral"),
        labels(urgent=True, by="bob", at=T + timedelta(hours=1)),
        labels(abusive=True, at=T + timedelta(hours=2)),
        labels(dismissed_breaches=("phone",), at=T + timedelta(hours=3)),
        labels(
            departments=("wards",), dismissed_breaches=("nhs_number",), at=T + timedelta(hours=4)
        ),
    ]
    post = start
    for step in steps:
        post = post.corrected(step)
    label = post.classification
    assert (label.sentiment, label.urgent, label.abusive, label.departments) == (
        "neutral",
        True,
        True,
        ("wards",),
    )
    assert label.breaches == ()  # dismissals add up
    assert post.correction is not None
    assert post.correction.dismissed_breaches == ("nhs_number", "phone")
    assert label.reason == (
        "corrected by alice on 2026-11-02 14:00 UTC: neutral, departments (wards), urgent, "
        "abusive, breaches dismissed (nhs_number, phone); cold ward"
    )
    assert start.corrected(post.correction) == post
    assert post.corrected(post.correction) == post


def test_a_judged_sentiment_is_no_longer_unsure() -> None:
    unsure = classified(unsure=True, confidence=0.4)
    assert unsure.corrected(labels(sentiment="concern")).classification.unsure is False
    assert unsure.corrected(labels(urgent=True)).classification.unsure is True


def test_a_note_written_before_notes_carried_the_verdict_is_replaced_not_stacked() -> None:
    earlier = labels(sentiment="neutral")
    old = classified().corrected(earlier)
    old = old.model_copy(
        update={
            "classification": old.classification.model_copy(update={"reason": f"{NOTE}; cold ward"})
        }
    )
    again = old.corrected(labels(urgent=True, by="bob"))
    assert again.classification.reason == (
        "corrected by bob on 2026-11-02 10:00 UTC: neutral, urgent; cold ward"
    )


# -- record_correction: urgent, abusive, dismissed breaches ----------------------------------------


class RecordingOutbox:
    """An alert outbox that keeps what it was given, or fails as a broker that is down would."""

    def __init__(self, names: dict[str, str], fail: str | None = None) -> None:
        self.department_names = names
        self.fail = fail
        self.sent: list[Alert] = []

    def send(self, alerts: Sequence[Alert]) -> None:
        if self.fail is not None:
            raise AlertsNotSent(self.fail)
        self.sent += alerts


@pytest.fixture
def outbox(settings: Settings) -> RecordingOutbox:
    return RecordingOutbox({d.id: d.name for d in settings.departments})


def test_an_escalation_is_stored_and_raises_the_urgent_alert_routing_would_have(
    index: SqliteIndex, seeded: Seeded, outbox: RecordingOutbox
) -> None:
    outcome = record_correction(
        index, post(index, seeded.parking), corrected_by="alice", urgent=True, outbox=outbox, now=T
    )
    assert outcome.correction is not None
    assert outcome.correction.changed == ("urgent",)
    assert outcome.correction.previous.urgent is False
    stored = post(index, seeded.parking)
    assert stored == outcome.post
    assert stored.classification.urgent is True
    assert stored.classification.reason.startswith(f"{NOTE}: urgent")
    assert all_corrections(index) == [outcome.correction]
    [urgent] = outbox.sent
    [expected] = [a for a in alerts_for(stored) if a.kind == "urgent"]
    assert urgent.model_dump(exclude={"created_at"}) == expected.model_dump(exclude={"created_at"})
    assert urgent.alert_id == f"urgent:{seeded.parking}"
    assert outcome.alerts == (urgent,)
    assert outcome.alert_error is None


def test_clearing_urgent_and_marking_abusive_are_stored_and_raise_nothing(
    index: SqliteIndex, seeded: Seeded, outbox: RecordingOutbox
) -> None:
    record_correction(
        index, post(index, seeded.parking), corrected_by="alice", urgent=True, now=T, outbox=outbox
    )
    outbox.sent.clear()
    outcome = record_correction(
        index,
        post(index, seeded.parking),
        corrected_by="bob",
        urgent=False,
        abusive=True,
        now=T + timedelta(hours=1),
        outbox=outbox,
    )
    assert outcome.correction is not None
    assert (outcome.correction.urgent, outcome.correction.abusive) == (False, True)
    label = post(index, seeded.parking).classification
    assert (label.urgent, label.abusive) == (False, True)
    assert outbox.sent == []
    merged = latest_corrections(all_corrections(index))[seeded.parking]
    assert (merged.urgent, merged.abusive, merged.corrected_by) == (False, True, "bob")


def test_a_dismissed_breach_leaves_the_post_and_unknown_rules_are_ignored(
    index: SqliteIndex, seeded: Seeded
) -> None:
    outcome = record_correction(
        index,
        post(index, seeded.breach),
        corrected_by="alice",
        dismissed_breaches=["nhs_number", "no_such_rule"],
        now=T,
    )
    assert outcome.correction is not None
    assert outcome.correction.dismissed_breaches == ("nhs_number",)
    assert outcome.correction.previous.breaches[0].rule == "nhs_number"
    stored = post(index, seeded.breach)
    assert stored.classification.breaches == ()
    assert stored.classification.reason.startswith(f"{NOTE}: breaches dismissed (nhs_number); ")
    index.upsert_posts([seeded_breach_as_classified(index, seeded)])  # a replay
    assert post(index, seeded.breach) == stored
    again = record_correction(
        index, stored, corrected_by="alice", dismissed_breaches=["nhs_number"], now=T
    )
    assert again.correction is None  # already dismissed


def seeded_breach_as_classified(index: SqliteIndex, seeded: Seeded) -> EnrichedPost:
    [correction] = [c for c in all_corrections(index) if c.post_key == seeded.breach]
    stored = post(index, seeded.breach)
    return stored.model_copy(update={"classification": correction.previous, "correction": None})


def test_judgements_that_change_nothing_store_nothing(index: SqliteIndex, seeded: Seeded) -> None:
    before = post(index, seeded.parking)
    outcome = record_correction(
        index,
        before,
        corrected_by="alice",
        sentiment="concern",
        departments=["estates"],
        urgent=False,
        abusive=False,
        dismissed_breaches=["nhs_number"],
    )
    assert (outcome.correction, outcome.alerts, outcome.alert_error) == (None, (), None)
    assert outcome.post == before == post(index, seeded.parking)
    assert index.get_documents(CORRECTIONS) == []


def test_confirming_an_unsure_concern_is_a_correction(index: SqliteIndex) -> None:
    unsure = make_post("u1", sentiment="concern")
    unsure = unsure.model_copy(
        update={"classification": unsure.classification.model_copy(update={"unsure": True})}
    )
    index.upsert_posts([unsure])
    outcome = record_correction(index, unsure, corrected_by="alice", sentiment="concern")
    assert outcome.correction is not None
    assert outcome.correction.sentiment == "concern"
    assert post(index, "twitter:u1").classification.unsure is False


def test_an_escalation_without_alert_delivery_is_stored_and_says_the_alert_did_not_go(
    index: SqliteIndex, seeded: Seeded
) -> None:
    outcome = record_correction(index, post(index, seeded.parking), corrected_by="a", urgent=True)
    assert outcome.correction is not None
    assert post(index, seeded.parking).classification.urgent is True
    assert [a.kind for a in outcome.alerts] == ["urgent"]
    assert outcome.alert_error == (
        "The correction is saved, but the urgent alert was not sent: this dashboard is not "
        "connected to alert delivery."
    )


def test_a_failed_hand_over_is_reported_and_saving_again_sends_it(
    index: SqliteIndex, seeded: Seeded, settings: Settings
) -> None:
    down = RecordingOutbox({}, fail="the Kafka broker at 127.0.0.1:9 cannot be reached (refused)")
    first = record_correction(
        index, post(index, seeded.parking), corrected_by="alice", urgent=True, outbox=down
    )
    assert first.correction is not None
    assert post(index, seeded.parking).classification.urgent is True
    assert first.alert_error is not None
    assert "the urgent alert could not be sent" in first.alert_error
    assert "127.0.0.1:9 cannot be reached" in first.alert_error
    up = RecordingOutbox({})
    again = record_correction(
        index, post(index, seeded.parking), corrected_by="alice", urgent=True, outbox=up
    )
    assert again.correction is None  # nothing new to store
    assert [a.alert_id for a in up.sent] == [f"urgent:{seeded.parking}"]
    assert again.alert_error is None
    # once alert delivery has told someone, saving it again hands nothing over
    index.record_deliveries([make_delivery(f"urgent:{seeded.parking}", "x@example.org", "file")])
    up.sent.clear()
    third = record_correction(
        index, post(index, seeded.parking), corrected_by="alice", urgent=True, outbox=up
    )
    assert (third.alerts, up.sent) == ((), [])


# -- the withdrawn notice ----------------------------------------------------------------------
# seed: the concern about the parking post was delivered to Estates (estates@...)

ABOUT = (
    "The concern about the post from twitter @@driver_dan "
    '("Paid £12 for parking and the car park barrier was broken fo…")'
)


def test_withdrawing_a_concern_its_department_was_told_of_sends_it_a_notice(
    index: SqliteIndex, seeded: Seeded, outbox: RecordingOutbox
) -> None:
    outcome = record_correction(
        index, post(index, seeded.parking), corrected_by="alice", sentiment="neutral", outbox=outbox
    )
    [notice] = outbox.sent
    assert notice.alert_id == f"withdrawn:{seeded.parking}"
    assert notice.kind == "withdrawn"
    assert notice.departments == ("estates",)
    assert notice.summary == f"{ABOUT} was withdrawn by alice"
    assert notice.post == outcome.post.post
    assert outcome.alerts == (notice,)


def test_moving_a_concern_tells_the_departments_told_before_where_it_went(
    index: SqliteIndex, seeded: Seeded, outbox: RecordingOutbox
) -> None:
    record_correction(
        index,
        post(index, seeded.parking),
        corrected_by="bob",
        departments=["wards", "maternity"],
        outbox=outbox,
    )
    [notice] = outbox.sent
    assert notice.alert_id == f"withdrawn:{seeded.parking}>maternity,wards"
    assert notice.departments == ("estates",)
    assert (
        notice.summary
        == f"{ABOUT} was moved from Estates and parking to Wards and Maternity by bob"
    )


def test_the_same_notice_is_handed_over_until_delivered_and_not_after(
    index: SqliteIndex, seeded: Seeded, outbox: RecordingOutbox
) -> None:
    record_correction(
        index, post(index, seeded.parking), corrected_by="alice", sentiment="neutral", outbox=outbox
    )
    record_correction(
        index, post(index, seeded.parking), corrected_by="alice", sentiment="neutral", outbox=outbox
    )
    assert [a.alert_id for a in outbox.sent] == [f"withdrawn:{seeded.parking}"] * 2
    index.record_deliveries(
        [make_delivery(f"withdrawn:{seeded.parking}", "estates@northbrook.nhs.example", "file")]
    )
    outbox.sent.clear()
    again = record_correction(
        index, post(index, seeded.parking), corrected_by="alice", sentiment="neutral", outbox=outbox
    )
    assert (again.correction, again.alerts, outbox.sent) == (None, (), [])


def test_a_concern_moved_on_and_back_tells_them_each_time(
    index: SqliteIndex, seeded: Seeded, outbox: RecordingOutbox
) -> None:
    for departments in (["wards"], ["estates"]):
        record_correction(
            index,
            post(index, seeded.parking),
            corrected_by="alice",
            departments=departments,
            outbox=outbox,
        )
    assert [(a.alert_id, a.summary.removeprefix(ABOUT)) for a in outbox.sent] == [
        (
            f"withdrawn:{seeded.parking}>wards",
            " was moved from Estates and parking to Wards by alice",
        ),
        (
            f"withdrawn:{seeded.parking}>estates",
            " was moved from Wards to Estates and parking by alice",
        ),
    ]


def test_no_notice_when_no_department_was_told(
    index: SqliteIndex, seeded: Seeded, outbox: RecordingOutbox
) -> None:
    # the old concern about the ward was never delivered; the midwife post was a compliment
    record_correction(
        index, post(index, seeded.old), corrected_by="alice", sentiment="neutral", outbox=outbox
    )
    record_correction(
        index, post(index, seeded.midwife), corrected_by="alice", departments=[], outbox=outbox
    )
    # a correction that leaves the concern where it was
    record_correction(
        index, post(index, seeded.parking), corrected_by="alice", abusive=True, outbox=outbox
    )
    record_correction(
        index,
        post(index, seeded.parking),
        corrected_by="alice",
        sentiment="concern",
        departments=["estates"],
        outbox=outbox,
    )
    assert outbox.sent == []


# -- the export of urgent and abusive, as socmon train reads it -----------------------------------


def test_urgent_and_abusive_corrections_export_as_the_trainers_read_them(
    index: SqliteIndex, seeded: Seeded, tmp_path: Path
) -> None:
    from stream_processors.classify.training.examples import labelled_file
    from stream_processors.classify.training.train import read_abuse_file

    record_correction(
        index, post(index, seeded.parking), corrected_by="alice", urgent=True, abusive=True, now=T
    )
    record_correction(
        index, post(index, seeded.midwife), corrected_by="alice", urgent=False, now=T
    )  # already not urgent: nothing to learn, nothing stored
    urgent_post = make_post("u2", text="Please help, my dad collapsed in the car park", urgent=True)
    index.upsert_posts([urgent_post])
    record_correction(index, urgent_post, corrected_by="bob", urgent=False, abusive=False, now=T)

    urgent = tmp_path / "urgent.jsonl"
    assert export_feedback(index, urgent, "urgent") == 2
    rows = {row["text"]: row for row in map(json.loads, urgent.read_text("utf-8").splitlines())}
    assert rows["Please help, my dad collapsed in the car park"] == {
        "text": "Please help, my dad collapsed in the car park",
        "urgent": False,
        "urgent_category": None,
    }
    assert rows[PARKING]["urgent"] is True
    by_text = {e.text: e for e in labelled_file(urgent, "feedback")}
    assert by_text["Please help, my dad collapsed in the car park"].urgent == 0  # "none"
    assert by_text[PARKING].urgent is None  # an escalation names no category

    abusive = tmp_path / "abusive.jsonl"
    assert export_feedback(index, abusive, "abusive") == 1  # u2 was not abusive already
    assert [json.loads(line) for line in abusive.read_text("utf-8").splitlines()] == [
        {"text": PARKING, "abusive": True}
    ]
    assert [(e.text, e.abusive) for e in read_abuse_file(abusive)] == [(PARKING, True)]
    assert [(e.text, e.abusive) for e in labelled_file(abusive, "feedback")] == [(PARKING, 1)]
    # sentiment and departments are exported as before, untouched by these
    assert export_feedback(index, tmp_path / "sentiment.jsonl") == 0


PARKING = "Paid £12 for parking and the car park barrier was broken for an hour"
