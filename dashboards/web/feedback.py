"""Corrections made by people in the dashboard, and their export as training data.

A correction says what a person judged a post's sentiment and departments to be, who they are and
when, and keeps the classifier's own verdict beside it. Corrections live in the index's document
store (collection ``corrections``), one document per correction, so the history is kept; the
latest one for a post is the one that counts. The post in the index is rewritten with the
corrected labels too, so filters, tallies and the monthly report count it as corrected, and the
index keeps them (`EnrichedPost.correction`) when the pipeline indexes the same post again (a
replay, a redelivery): a person's verdict wins over the classifier's.

Corrections hold no post text: the export reads the text from the index, so a post removed by
retention or a data-subject erasure leaves the training data with it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field

from socmon.index.port import Collection, DocumentStore, Index
from socmon.records import (
    Classification,
    CorrectedLabels,
    EnrichedPost,
    NonEmpty,
    Record,
    Sentiment,
    labels_over,
    utcnow,
)

FeedbackTask = Literal["sentiment", "departments"]


class Correction(Record):
    """A person's verdict on a post's labels; None means that label was not judged."""

    post_key: NonEmpty
    sentiment: Sentiment | None = None
    departments: tuple[str, ...] | None = None
    corrected_by: NonEmpty
    corrected_at: AwareDatetime = Field(default_factory=utcnow)
    previous: Classification = Field(description="what the classifier (or a person) said before")

    @property
    def doc_id(self) -> str:
        return f"{self.post_key}|{self.corrected_at.isoformat()}"


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


def record_correction(
    index: Index,
    post: EnrichedPost,
    *,
    corrected_by: str,
    sentiment: Sentiment | None,
    departments: Sequence[str] | None,
    now: datetime | None = None,
) -> Correction | None:
    """Store a correction and rewrite the indexed post with it; None if nothing changed."""
    before = post.classification
    new_departments = tuple(departments) if departments is not None else None
    sentiment_changed = sentiment is not None and sentiment != before.sentiment
    departments_changed = new_departments is not None and set(new_departments) != set(
        before.departments
    )
    if not (sentiment_changed or departments_changed):
        return None
    correction = Correction(
        post_key=post.key,
        sentiment=sentiment if sentiment_changed else None,
        departments=new_departments if departments_changed else None,
        corrected_by=corrected_by,
        corrected_at=now or utcnow(),
        previous=before,
    )
    index.put_documents(CORRECTIONS, [(correction.doc_id, correction)])
    index.upsert_posts([apply_correction(post, correction)])
    return correction


def apply_correction(post: EnrichedPost, correction: Correction) -> EnrichedPost:
    """The post with the corrected labels, kept with it so a re-index keeps them too (a person's
    verdict is certain: confidence 1; labels not judged now keep an earlier correction)."""
    return post.corrected(
        CorrectedLabels(
            sentiment=correction.sentiment,
            departments=correction.departments,
            corrected_by=correction.corrected_by,
            corrected_at=correction.corrected_at,
        )
    )


def feedback_examples(
    index: Index, task: FeedbackTask = "sentiment"
) -> list[dict[str, str | list[str]]]:
    """Labelled examples ``{"text", "label"}`` from the latest correction of each post.

    For ``sentiment`` the label is compliment, concern or neutral (what ``socmon train`` reads);
    for ``departments`` it is the list of department ids (possibly empty: "no department").
    Posts no longer in the index (retention, erasure) are left out.
    """
    examples: list[dict[str, str | list[str]]] = []
    for key, correction in latest_corrections(all_corrections(index)).items():
        label: str | list[str]
        if task == "sentiment":
            if correction.sentiment is None:
                continue
            label = correction.sentiment
        else:
            if correction.departments is None:
                continue
            label = sorted(correction.departments)
        post = index.get_post(key)
        if post is None or not post.post.text.strip():
            continue
        examples.append({"text": post.post.text, "label": label})
    return examples


def export_feedback(index: Index, path: Path, task: FeedbackTask = "sentiment") -> int:
    """Write the corrections as JSON Lines ``{"text", "label"}``; returns how many lines.

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
