"""The triage of the posts that need action: a case's status, assignee and notes, as people
change them in the dashboard, each change recorded in the case's history (who, when, from, to).

The rules are here, apart from HTTP: `change_case` works out the new `Case` of one post (or
says why not), `bulk_change` of many, `save_cases` writes them. A case is written by upserting
its post with it (`PostStore.upsert_posts`: a post written with a case replaces the stored
case, and the pipeline indexing the post again keeps it). A form carries `case_token` of the
case it showed, so a status or assignee chosen on a stale page never overwrites what someone
else did meanwhile (`CaseConflict`).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import get_args

from pydantic import ValidationError

from socmon.index.port import UNASSIGNED, PostStore
from socmon.records import (
    CLOSED_STATUSES,
    MAX_NOTE,
    Case,
    CaseChange,
    CaseNote,
    CaseStatus,
    EnrichedPost,
)

CASE_STATUSES: tuple[CaseStatus, ...] = get_args(CaseStatus)
STATUS_NAMES: dict[CaseStatus, str] = {
    "new": "new",
    "in_progress": "in progress",
    "handled": "handled",
    "no_action": "no action needed",
}


class CaseError(ValueError):
    """A change of a case that is not allowed; the message says why, in words for the page."""


class CaseConflict(CaseError):
    """Someone else changed the case after the form was shown: nothing was saved."""


def case_token(post: EnrichedPost) -> str:
    """What a form carries to tell the case it showed: the time of its last change ("" for a
    post with no case yet)."""
    return post.case.updated_at.isoformat() if post.case is not None else ""


def parse_status(value: object) -> CaseStatus | None:
    """The status named by a form value, or None when it names none."""
    for status in CASE_STATUSES:
        if value == status:
            return status
    return None


def change_case(
    post: EnrichedPost,
    *,
    by: str,
    at: datetime,
    status: CaseStatus | None = None,
    assignee: str | None = None,
    note: str | None = None,
    assignable: Container[str] | None = None,
    seen: str | None = None,
) -> Case | None:
    """The post's case with `status`, `assignee` (`UNASSIGNED` clears it) and a `note` added
    (None leaves each as it is), or None when that changes nothing.

    Raises `CaseError` when the post needs no action and has no case, when the assignee is not
    in `assignable` (when given), or when the note is empty or too long; `CaseConflict` when
    `seen` (the form's `case_token`) is not the stored case's and the status or the assignee
    would change. The first time the case is handled or closed with no action,
    ``first_handled_at`` is set; it is kept if the case is opened again.
    """
    if post.case is None and not post.needs_action:
        msg = "This post needs no action, so it has no case to change."
        raise CaseError(msg)
    case = post.case or Case(updated_by=by, updated_at=post.enriched_at)
    changes: list[CaseChange] = []
    if status is not None and status != post.case_status:
        changes.append(CaseChange(field="status", old=post.case_status, new=status, by=by, at=at))
    if assignee is not None:
        new_assignee = None if assignee == UNASSIGNED else assignee
        if new_assignee is not None and assignable is not None and new_assignee not in assignable:
            msg = f"{new_assignee} cannot be assigned this post: not a user who may see it."
            raise CaseError(msg)
        if new_assignee != case.assignee:
            changes.append(
                CaseChange(field="assignee", old=case.assignee, new=new_assignee, by=by, at=at)
            )
    if changes and seen is not None and seen != case_token(post):
        who = post.case.updated_by if post.case is not None else "someone"
        msg = (
            f"{who} changed this case while you were looking, so your change was not saved: "
            "check it and choose again."
        )
        raise CaseConflict(msg)
    notes = case.notes
    if note is not None:
        notes = (*notes, _note(note, by, at))
    if not changes and notes == case.notes:
        return None
    updated: dict[str, object] = {
        "notes": notes,
        "history": (*case.history, *changes),
        "updated_by": by,
        "updated_at": at,
    }
    for change in changes:
        updated[change.field] = change.new
    new_status = updated.get("status", case.status)
    if case.first_handled_at is None and new_status in CLOSED_STATUSES:
        updated["first_handled_at"] = at
    return case.model_copy(update=updated)


def _note(text: str, by: str, at: datetime) -> CaseNote:
    if not text.strip():
        msg = "The note is empty: write something to add."
        raise CaseError(msg)
    if len(text.strip()) > MAX_NOTE:
        msg = f"The note is too long: at most {MAX_NOTE} characters."
        raise CaseError(msg)
    try:
        return CaseNote(text=text, by=by, at=at)
    except ValidationError as exc:  # the checks above cover the rules; this is a backstop
        msg = "The note could not be stored."
        raise CaseError(msg) from exc


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk update did: the posts with their new cases to write, how many were already as
    asked, and the posts left alone with the reason."""

    changed: list[EnrichedPost] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (post key, why)


def bulk_change(
    posts: Sequence[EnrichedPost],
    *,
    by: str,
    at: datetime,
    status: CaseStatus | None = None,
    assignee: str | None = None,
    assignable: Callable[[EnrichedPost], Container[str]] | None = None,
) -> BulkOutcome:
    """The same status and/or assignee for each of `posts` (the rows a person selected); a post
    the change is not allowed for is skipped with the reason, the others still change."""
    changed: list[EnrichedPost] = []
    skipped: list[tuple[str, str]] = []
    unchanged = 0
    for post in posts:
        try:
            case = change_case(
                post,
                by=by,
                at=at,
                status=status,
                assignee=assignee,
                assignable=assignable(post) if assignable is not None else None,
            )
        except CaseError as exc:
            skipped.append((post.key, str(exc)))
            continue
        if case is None:
            unchanged += 1
        else:
            changed.append(post.model_copy(update={"case": case}))
    return BulkOutcome(changed, unchanged, skipped)


def save_cases(index: PostStore, posts: Sequence[EnrichedPost]) -> None:
    """Write posts that carry their new case (the index replaces the stored case with it)."""
    if posts:
        index.upsert_posts(posts)


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a case's history as the item page shows it: a change or a note."""

    at: datetime
    by: str
    change: CaseChange | None = None
    note: CaseNote | None = None


def timeline(case: Case | None) -> list[TimelineEntry]:
    """The case's changes and notes together, newest first (those of one moment in the order
    they were made)."""
    if case is None:
        return []
    entries = [TimelineEntry(c.at, c.by, change=c) for c in case.history]
    entries += [TimelineEntry(n.at, n.by, note=n) for n in case.notes]
    return sorted(entries, key=lambda e: e.at, reverse=True)
