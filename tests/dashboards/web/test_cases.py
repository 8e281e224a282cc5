"""The rules of a case (status, assignee, notes, history), apart from HTTP and the index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboards.web.cases import (
    CaseConflict,
    CaseError,
    bulk_change,
    case_token,
    change_case,
    parse_status,
    timeline,
)
from socmon.index.port import UNASSIGNED
from socmon.records import MAX_NOTE, EnrichedPost
from tests.factories import make_post

T = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def concern(post_id: str = "c1") -> EnrichedPost:
    return make_post(post_id, sentiment="concern", departments=("estates",), created_at=T)


def with_case(post: EnrichedPost, **changes: object) -> EnrichedPost:
    case = change_case(post, by="ann", at=T + timedelta(hours=1), **changes)  # type: ignore[arg-type]
    assert case is not None
    return post.model_copy(update={"case": case})


def test_the_first_change_opens_a_case_with_its_history() -> None:
    case = change_case(concern(), by="ann", at=T, status="in_progress", assignee="bob")
    assert case is not None
    assert (case.status, case.assignee) == ("in_progress", "bob")
    assert [(c.field, c.old, c.new, c.by, c.at) for c in case.history] == [
        ("status", "new", "in_progress", "ann", T),
        ("assignee", None, "bob", "ann", T),
    ]
    assert (case.updated_by, case.updated_at) == ("ann", T)
    assert case.first_handled_at is None


def test_first_handled_is_set_once_and_kept_when_reopened() -> None:
    handled = with_case(concern(), status="handled")
    assert handled.case is not None
    first = handled.case.first_handled_at
    assert first == T + timedelta(hours=1)
    reopened = handled.model_copy(
        update={"case": change_case(handled, by="bob", at=T + timedelta(days=1), status="new")}
    )
    closed_again = change_case(reopened, by="bob", at=T + timedelta(days=2), status="no_action")
    assert closed_again is not None
    assert closed_again.first_handled_at == first
    assert [c.new for c in closed_again.history] == ["handled", "new", "no_action"]


def test_no_action_counts_as_first_handled() -> None:
    case = change_case(concern(), by="ann", at=T, status="no_action")
    assert case is not None
    assert case.first_handled_at == T


def test_a_change_to_what_it_is_already_changes_nothing() -> None:
    assert change_case(concern(), by="ann", at=T, status="new") is None
    assigned = with_case(concern(), assignee="bob")
    assert change_case(assigned, by="ann", at=T, assignee="bob") is None
    assert change_case(assigned, by="ann", at=T) is None


def test_unassigned_clears_the_assignee_and_records_it() -> None:
    assigned = with_case(concern(), assignee="bob")
    case = change_case(assigned, by="ann", at=T + timedelta(days=1), assignee=UNASSIGNED)
    assert case is not None
    assert case.assignee is None
    assert (case.history[-1].old, case.history[-1].new) == ("bob", None)


def test_notes_are_kept_in_order_with_who_and_when() -> None:
    noted = with_case(concern(), note="  Rang the estates manager  ")
    case = change_case(noted, by="bob", at=T + timedelta(days=1), note="Barrier fixed")
    assert case is not None
    assert [(n.text, n.by) for n in case.notes] == [
        ("Rang the estates manager", "ann"),
        ("Barrier fixed", "bob"),
    ]
    assert case.history == ()  # a note is no change of status or assignee


@pytest.mark.parametrize("text", ["", "   ", "x" * (MAX_NOTE + 1)])
def test_an_empty_or_too_long_note_is_refused(text: str) -> None:
    with pytest.raises(CaseError):
        change_case(concern(), by="ann", at=T, note=text)


def test_a_post_that_needs_no_action_has_no_case() -> None:
    compliment = make_post("p1", sentiment="compliment", created_at=T)
    assert not compliment.needs_action
    with pytest.raises(CaseError, match="needs no action"):
        change_case(compliment, by="ann", at=T, status="handled")


def test_a_post_that_no_longer_needs_action_keeps_its_case_changeable() -> None:
    handled = with_case(concern(), status="handled")
    neutral = handled.model_copy(
        update={
            "classification": handled.classification.model_copy(update={"sentiment": "neutral"})
        }
    )
    assert change_case(neutral, by="ann", at=T, note="it was a question") is not None


@pytest.mark.parametrize(
    "post",
    [
        make_post("u", urgent=True, created_at=T),
        make_post("a", abusive=True, created_at=T),
        make_post("s", sentiment="concern", created_at=T),
    ],
)
def test_urgent_abusive_and_concerns_need_action(post: EnrichedPost) -> None:
    assert change_case(post, by="ann", at=T, status="in_progress") is not None


def test_only_a_user_who_may_see_the_post_can_be_assigned() -> None:
    with pytest.raises(CaseError, match="cannot be assigned"):
        change_case(concern(), by="ann", at=T, assignee="mallory", assignable={"ann", "bob"})
    case = change_case(concern(), by="ann", at=T, assignee="bob", assignable={"ann", "bob"})
    assert case is not None


def test_a_change_made_on_a_stale_page_is_refused() -> None:
    post = concern()
    seen = case_token(post)
    someone_else = with_case(post, status="handled")
    with pytest.raises(CaseConflict, match="ann changed this case"):
        change_case(someone_else, by="bob", at=T, status="in_progress", seen=seen)
    # the page seen was the current one: fine
    case = change_case(
        someone_else, by="bob", at=T, status="in_progress", seen=case_token(someone_else)
    )
    assert case is not None


def test_a_note_is_added_even_from_a_stale_page() -> None:
    post = concern()
    seen = case_token(post)
    someone_else = with_case(post, status="handled")
    case = change_case(someone_else, by="bob", at=T, note="Called back", seen=seen)
    assert case is not None
    assert case.status == "handled"


def test_bulk_changes_each_post_and_says_which_were_left_alone() -> None:
    posts = [
        concern("c1"),
        with_case(concern("c2"), status="handled"),
        make_post("p1", sentiment="compliment", created_at=T),
        concern("c3"),
    ]
    outcome = bulk_change(
        posts,
        by="ann",
        at=T,
        status="handled",
        assignee="bob",
        assignable=lambda post: {"bob"} if post.key != "twitter:c3" else {"ann"},
    )
    assert [p.key for p in outcome.changed] == ["twitter:c1", "twitter:c2"]
    assert all(p.case is not None and p.case.status == "handled" for p in outcome.changed)
    assert [k for k, _ in outcome.skipped] == ["twitter:p1", "twitter:c3"]
    assert outcome.unchanged == 0


def test_bulk_counts_the_posts_already_as_asked() -> None:
    done = with_case(concern("c1"), status="handled")
    outcome = bulk_change([done], by="ann", at=T, status="handled")
    assert (outcome.changed, outcome.unchanged, outcome.skipped) == ([], 1, [])


def test_the_timeline_is_changes_and_notes_newest_first() -> None:
    post = with_case(concern(), status="in_progress", assignee="bob")
    case = change_case(post, by="bob", at=T + timedelta(days=1), note="done")
    assert case is not None
    said = [e.note.text if e.note else e.change.field if e.change else "?" for e in timeline(case)]
    assert said == ["done", "status", "assignee"]
    assert timeline(None) == []


def test_statuses_from_a_form() -> None:
    assert parse_status("in_progress") == "in_progress"
    assert parse_status("closed") is None
    assert parse_status(None) is None
