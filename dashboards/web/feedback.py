"""Corrections made by people in the dashboard, the alerts they raise, and their export as
training data.

A correction says what a person judged a post's sentiment, departments, urgency and abuse to be,
and which of its policy breaches they dismissed, who they are and when, and keeps the verdict
before it beside it. Corrections live in the index's document store (collection
``corrections``), one document per correction, so the history is kept; the latest one of each
label for a post is the one that counts. The post in the index is rewritten with the corrected
labels too, so filters, tallies and the monthly report count it as corrected, and the index
keeps them (`EnrichedPost.correction`) when the pipeline indexes the same post again (a replay,
a redelivery): a person's verdict wins over the classifier's.

A correction that escalates a post raises its urgent alert at once, and one that withdraws or
moves a concern a department was told of sends that department a ``withdrawn`` notice; both
through alert delivery (`dashboards.web.escalation`), which tells each person once.

Corrections hold no post text: the export reads the text from the index, so a post removed by
retention or a data-subject erasure leaves the training data with it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, get_args

from pydantic import AwareDatetime, Field

from dashboards.web.escalation import AlertOutbox, AlertsNotSent
from socmon.alerts import concern_notice, urgent_alert
from socmon.index.port import Collection, DocumentStore, Index
from socmon.records import (
    Alert,
    Classification,
    CorrectedLabels,
    EnrichedPost,
    NonEmpty,
    Record,
    Sentiment,
    labels_over,
    utcnow,
)

log = logging.getLogger(__name__)

FeedbackTask = Literal["sentiment", "departments", "urgent", "abusive"]
FEEDBACK_TASKS: tuple[FeedbackTask, ...] = get_args(FeedbackTask)
FeedbackExample = dict[str, str | bool | list[str] | None]
"""One line of the export: ``text`` and the label, named as `socmon train` reads it."""


class Correction(Record):
    """A person's verdict on a post's labels; None means that label was not judged (or was
    judged as it already was: only the labels a correction changed are recorded)."""

    post_key: NonEmpty
    sentiment: Sentiment | None = None
    departments: tuple[str, ...] | None = None
    urgent: bool | None = Field(default=None, description="escalated (True) or cleared (False)")
    abusive: bool | None = None
    dismissed_breaches: tuple[str, ...] | None = Field(
        default=None, description="the rules of the breaches dismissed (Breach.rule), sorted"
    )
    corrected_by: NonEmpty
    corrected_at: AwareDatetime = Field(default_factory=utcnow)
    previous: Classification = Field(description="what the classifier (or a person) said before")

    @property
    def doc_id(self) -> str:
        return f"{self.post_key}|{self.corrected_at.isoformat()}"

    @property
    def changed(self) -> tuple[str, ...]:
        """The names of the labels it changed, e.g. ``("sentiment", "urgent")``."""
        labels = ("sentiment", "departments", "urgent", "abusive", "dismissed_breaches")
        return tuple(name for name in labels if getattr(self, name) is not None)


CORRECTIONS = Collection("corrections", Correction)


def all_corrections(index: DocumentStore) -> list[Correction]:
    """Every correction, oldest first."""
    return sorted(index.get_documents(CORRECTIONS), key=lambda c: c.corrected_at)


def latest_corrections(corrections: Sequence[Correction]) -> dict[str, Correction]:
    """Post key -> the latest correction of each label, merged (sentiment and departments may
    have been corrected at different times by different people)."""
    merged: dict[str, Correction] = {}
    for correction in sorted(corrections, key=lambda c: c.corrected_at):
        earlier = merged.get(correction.post_key)
        if earlier is None:
            merged[correction.post_key] = correction
            continue
        merged[correction.post_key] = correction.model_copy(update=labels_over(correction, earlier))
    return merged


@dataclass(frozen=True)
class CorrectionOutcome:
    """What `record_correction` did.

    ``correction`` is what changed (the labels it changed set, the others None), None when
    every judgement was what the post said already (nothing stored). ``post`` is the post as it
    is now. ``alerts`` are the alerts the correction raised that alert delivery had not
    delivered yet (an urgent alert, a ``withdrawn`` notice); ``alert_error`` is None when they
    were handed to alert delivery, else a sentence for the person saying they were not (the
    correction is stored all the same; saving the same correction again sends them, and nobody
    is told twice).
    """

    correction: Correction | None
    post: EnrichedPost
    alerts: tuple[Alert, ...] = ()
    alert_error: str | None = None


def record_correction(
    index: Index,
    post: EnrichedPost,
    *,
    corrected_by: str,
    sentiment: Sentiment | None = None,
    departments: Sequence[str] | None = None,
    urgent: bool | None = None,
    abusive: bool | None = None,
    dismissed_breaches: Sequence[str] | None = None,
    outbox: AlertOutbox | None = None,
    now: datetime | None = None,
) -> CorrectionOutcome:
    """Store a person's judgement of `post` (as read from the index), rewrite the indexed post
    with it, and hand the alerts it raises to alert delivery.

    Each judgement is optional; None means "not judged" and keeps what the post says (a
    classifier's label or an earlier correction):

    - ``sentiment``: compliment, concern or neutral (judging an unsure concern a concern
      confirms it);
    - ``departments``: the department ids, all of them (an empty list: no department);
    - ``urgent``: True escalates the post, False clears it;
    - ``abusive``: True or False;
    - ``dismissed_breaches``: the rules (`Breach.rule`) of the post's breaches that are not
      breaches; dismissals add up, and a rule the post does not have is ignored.

    Only the labels that change are recorded. Then, whether or not anything changed:

    - ``urgent=True`` raises the post's urgent alert now, as routing would have raised it;
    - a judged sentiment or departments that leave a concern its departments were told of
      (its concern alert was delivered) withdrawn, or moved elsewhere, send those departments
      a ``withdrawn`` notice, whose id names where the concern is now.

    Those alert delivery has not delivered yet go to `outbox`
    (`dashboards.web.escalation.KafkaAlertOutbox`), so the same correction made again hands over
    nothing new, and one made again after a failed hand-over sends what did not go. Without an
    outbox, or when it fails, `CorrectionOutcome.alert_error` says so. Raises `IndexUnavailable`
    if the index cannot be reached (then nothing was sent; a correction may have been stored).
    """
    before = post.classification
    at = now or utcnow()
    new_departments = tuple(departments) if departments is not None else None
    present = {breach.rule for breach in before.breaches}
    dismissed = sorted(set(dismissed_breaches or ()) & present)
    confirmed_sure = before.unsure and before.sentiment == "concern"
    changes = {
        "sentiment": sentiment is not None and (sentiment != before.sentiment or confirmed_sure),
        "departments": new_departments is not None
        and set(new_departments) != set(before.departments),
        "urgent": urgent is not None and urgent != before.urgent,
        "abusive": abusive is not None and abusive != before.abusive,
    }
    correction: Correction | None = None
    now_post = post
    if any(changes.values()) or dismissed:
        correction = Correction(
            post_key=post.key,
            sentiment=sentiment if changes["sentiment"] else None,
            departments=new_departments if changes["departments"] else None,
            urgent=urgent if changes["urgent"] else None,
            abusive=abusive if changes["abusive"] else None,
            dismissed_breaches=tuple(dismissed) or None,
            corrected_by=corrected_by,
            corrected_at=at,
            previous=before,
        )
        now_post = apply_correction(post, correction)
        index.put_documents(CORRECTIONS, [(correction.doc_id, correction)])
        index.upsert_posts([now_post])
        log.info(
            "correction stored post=%s by=%s changed=%s",
            post.key,
            corrected_by,
            ",".join(correction.changed),
        )
    names: Mapping[str, str] = outbox.department_names if outbox is not None else {}
    raised: list[Alert] = []
    if urgent is True:
        raised.append(urgent_alert(now_post))
    if sentiment is not None or departments is not None:
        notice = _concern_notice(index, post, now_post, corrected_by, names)
        if notice is not None:
            raised.append(notice)
    # What alert delivery told someone of already is not handed over again (it would tell
    # nobody twice anyway); what it has not, is: an earlier hand-over may have failed.
    alerts = [alert for alert in raised if not _delivered(index, alert.alert_id)]
    return CorrectionOutcome(
        correction, now_post, tuple(alerts), _hand_over(alerts, outbox, post.key, names)
    )


def _concern_notice(
    index: Index, post: EnrichedPost, now_post: EnrichedPost, by: str, names: Mapping[str, str]
) -> Alert | None:
    """The ``withdrawn`` notice `now_post` calls for, if its concern alert reached anyone.

    The departments told are those of the concern routing raised, from the labels as they were
    before any correction (`_alerted_labels`); they are told when the concern is no longer where
    it was, and again when a correction moves it on. The notice's id names where the concern is
    now, so alert delivery tells them once of each.
    """
    alerted = _alerted_labels(index, post)
    if alerted.sentiment != "concern" or alerted.unsure:
        return None  # routing raised no concern alert (an unsure one goes to communications)
    if not _delivered(index, Alert.make_id("concern", post.key)):
        return None

    def place(label: Classification) -> frozenset[str] | None:
        return frozenset(label.departments) if label.sentiment == "concern" else None

    before, now = post.classification, now_post.classification
    first = frozenset(alerted.departments)
    if place(now) == first and place(now) == place(before):
        return None  # where it was all along
    moved_from = (
        before.departments
        if place(before) is not None and place(before) != place(now)
        else alerted.departments
    )
    return concern_notice(
        now_post, told=alerted.departments, moved_from=moved_from, by=by, names=names
    )


def _delivered(index: Index, alert_id: str) -> bool:
    return any(delivery.result == "sent" for delivery in index.deliveries_for(alert_id))


def _alerted_labels(index: Index, post: EnrichedPost) -> Classification:
    """The labels routing raised the post's alerts from: the classifier's, before the first
    correction (kept in that correction's `Correction.previous`)."""
    if post.correction is None:
        return post.classification
    history = [c for c in all_corrections(index) if c.post_key == post.key]
    return history[0].previous if history else post.classification


def _hand_over(
    alerts: Sequence[Alert], outbox: AlertOutbox | None, key: str, names: Mapping[str, str]
) -> str | None:
    """Send `alerts`; None if they were handed to alert delivery, else what to tell the person."""
    if not alerts:
        return None
    what = " and ".join(_described(alert, names) for alert in alerts)
    if outbox is None:
        log.warning("alerts not sent post=%s: no alert outbox", key)
        return (
            f"The correction is saved, but {what} was not sent: this dashboard is not "
            "connected to alert delivery."
        )
    try:
        outbox.send(alerts)
    except AlertsNotSent as exc:
        return (
            f"The correction is saved, but {what} could not be sent: {exc}. Save the same "
            "correction again once alert delivery is running; nobody is told twice."
        )
    return None


def _described(alert: Alert, names: Mapping[str, str]) -> str:
    if alert.kind == "withdrawn":
        told = ", ".join(names.get(d, d) for d in alert.departments)
        return f"the notice to {told}" if told else "the notice of the concern's change"
    return f"the {alert.kind.replace('_', ' ')} alert"


def apply_correction(post: EnrichedPost, correction: Correction) -> EnrichedPost:
    """The post with the corrected labels, kept with it so a re-index keeps them too (a person's
    verdict is certain: confidence 1; labels not judged now keep an earlier correction)."""
    return post.corrected(
        CorrectedLabels(
            sentiment=correction.sentiment,
            departments=correction.departments,
            urgent=correction.urgent,
            abusive=correction.abusive,
            dismissed_breaches=correction.dismissed_breaches,
            corrected_by=correction.corrected_by,
            corrected_at=correction.corrected_at,
        )
    )


def feedback_examples(index: Index, task: FeedbackTask = "sentiment") -> list[FeedbackExample]:
    """Labelled examples from the latest correction of each post, named as `socmon train`
    reads them:

    - ``sentiment``: ``{"text", "label"}``, label compliment, concern or neutral;
    - ``departments``: ``{"text", "label"}``, label the list of department ids (possibly empty:
      "no department");
    - ``urgent``: ``{"text", "urgent"}``, and ``"urgent_category": null`` when cleared (the
      encoder's "none"; an escalation names no category, which the encoder needs);
    - ``abusive``: ``{"text", "abusive"}`` (``--task abuse`` and the encoder read it).

    Posts no longer in the index (retention, erasure) are left out.
    """
    examples: list[FeedbackExample] = []
    for key, correction in latest_corrections(all_corrections(index)).items():
        labels: FeedbackExample
        if task == "sentiment" and correction.sentiment is not None:
            labels = {"label": correction.sentiment}
        elif task == "departments" and correction.departments is not None:
            labels = {"label": sorted(correction.departments)}
        elif task == "urgent" and correction.urgent is not None:
            labels = {"urgent": correction.urgent}
            if not correction.urgent:
                labels["urgent_category"] = None
        elif task == "abusive" and correction.abusive is not None:
            labels = {"abusive": correction.abusive}
        else:
            continue
        post = index.get_post(key)
        if post is None or not post.post.text.strip():
            continue
        text: FeedbackExample = {"text": post.post.text}
        examples.append(text | labels)
    return examples


def export_feedback(index: Index, path: Path, task: FeedbackTask = "sentiment") -> int:
    """Write the corrections of one label as JSON Lines (`feedback_examples`); returns how many
    lines.

    The file is written whole and then moved into place, so a reader never sees half of it.
    """
    examples = feedback_examples(index, task)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        for example in examples:
            out.write(json.dumps(example, ensure_ascii=False) + "\n")
    partial.replace(path)
    return len(examples)
