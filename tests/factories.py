"""Records for tests, built one way: posts, alerts, deliveries, dead letters, corrections, cases.

Every field has a plain default, so a test names only what it is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from socmon.index.port import PostStore
from socmon.records import (
    Alert,
    AlertKind,
    Breach,
    Case,
    CaseStatus,
    Classification,
    CorrectedLabels,
    DeadLetter,
    Delivery,
    EnrichedPost,
    Media,
    Post,
    PostKind,
    Sentiment,
)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def make_post(
    post_id: str,
    *,
    text: str = "Thank you to the staff on the ward",
    platform: Any = "twitter",
    kind: PostKind = "mention",
    account: str = "@ExampleNHS",
    author: str = "@patient_one",
    sentiment: Sentiment = "neutral",
    departments: tuple[str, ...] = (),
    created_at: datetime = T0,
    urgent: bool = False,
    abusive: bool = False,
    unsure: bool = False,
    breaches: tuple[Breach, ...] = (),
    case: Case | None = None,
) -> EnrichedPost:
    """An enriched post with everything else set to something plain (a ``case`` makes it the
    dashboard's write of the post)."""
    return EnrichedPost(
        post=Post(
            platform=platform,
            post_id=post_id,
            kind=kind,
            account=account,
            author=author,
            text=text,
            created_at=created_at,
            source="replay",
            fetched_at=created_at + timedelta(minutes=1),
        ),
        classification=Classification(
            sentiment=sentiment,
            confidence=0.8,
            urgent=urgent,
            abusive=abusive,
            unsure=unsure,
            departments=departments,
            breaches=breaches,
        ),
        enriched_at=created_at + timedelta(minutes=2),
        case=case,
    )


def make_breach(rule: str = "phone_number", severity: Any = "medium") -> Breach:
    """A policy breach with a plain evidence span."""
    return Breach(rule=rule, severity=severity, evidence="01234 567890", start=0, end=12)


def make_case(
    status: CaseStatus = "in_progress",
    *,
    assignee: str | None = None,
    by: str = "alice",
    at: datetime = T0 + DAY,
) -> Case:
    """A case as the dashboard keeps it (a closed one with when it was first handled)."""
    closed = status in ("handled", "no_action")
    return Case(
        status=status,
        assignee=assignee,
        first_handled_at=at if closed else None,
        updated_by=by,
        updated_at=at,
    )


def make_rich_post() -> EnrichedPost:
    """A post using every field, with microseconds and a non-UTC offset, to test round trips."""
    bst = timezone(timedelta(hours=1))
    return EnrichedPost(
        post=Post(
            platform="facebook",
            post_id="10158-77",
            kind="official_post",
            account="ExampleNHSTrust",
            author="ExampleNHSTrust",
            text="Our A&E at St Mary's is open 24/7 — call 01234 567890 for advice. «Ça va» 🙂",
            created_at=datetime(2025, 6, 1, 14, 30, 15, 123456, tzinfo=bst),
            url="https://facebook.com/ExampleNHSTrust/posts/10158-77",
            media=(Media(type="photo", url="https://cdn.example/p.jpg", alt_text="the new ward"),),
            lang="en",
            in_reply_to="10158-1",
            source="facebook",
            fetched_at=datetime(2025, 6, 1, 13, 31, 0, 654321, tzinfo=UTC),
        ),
        classification=Classification(
            sentiment="neutral",
            confidence=0.615,
            urgent=True,
            departments=("emergency", "estates"),
            abusive=False,
            breaches=(
                Breach(
                    rule="phone_number",
                    severity="medium",
                    evidence="01234 567890",
                    start=52,
                    end=64,
                ),
            ),
            reason="phone number in an official post",
            model="rules-1.2",
        ),
        enriched_at=datetime(2025, 6, 1, 13, 31, 2, 1, tzinfo=UTC),
    )


def make_alert(
    kind: AlertKind = "concern",
    subject: str = "twitter:1",
    *,
    created_at: datetime = T0,
    post: EnrichedPost | None = None,
) -> Alert:
    return Alert(
        alert_id=Alert.make_id(kind, subject),
        kind=kind,
        summary=f"{kind} about {subject}",
        created_at=created_at,
        departments=("emergency",),
        account="@ExampleNHS",
        post=post.post if post else None,
        classification=post.classification if post else None,
    )


def make_delivery(
    alert_id: str = "concern:twitter:1",
    recipient: str = "emergency-lead@example.nhs.uk",
    channel: str = "email",
    *,
    result: Any = "sent",
    delivered_at: datetime = T0,
) -> Delivery:
    return Delivery(
        alert_id=alert_id,
        alert_kind="concern",
        recipient=recipient,
        channel=channel,
        result=result,
        detail="" if result == "sent" else "SMTP 451 try again later",
        delivered_at=delivered_at,
    )


def make_deadletter(
    origin: str, *, created_at: datetime = T0, payload: str = '{"platform": "twitter"}'
) -> DeadLetter:
    return DeadLetter(
        stage="ingest",
        reason="post_id: field required",
        origin=origin,
        payload=payload,
        created_at=created_at,
    )


def correct(
    index: PostStore,
    key: str,
    *,
    sentiment: Sentiment | None = None,
    departments: tuple[str, ...] | None = None,
    by: str = "alice",
    at: datetime = T0 + DAY,
    urgent: bool | None = None,
    abusive: bool | None = None,
    dismissed_breaches: tuple[str, ...] | None = None,
) -> EnrichedPost:
    """Correct the stored post as the dashboard does (rewrite it with the labels); returns it."""
    stored = index.get_post(key)
    assert stored is not None, f"no post {key} to correct"
    labels = CorrectedLabels(
        sentiment=sentiment,
        departments=departments,
        urgent=urgent,
        abusive=abusive,
        dismissed_breaches=dismissed_breaches,
        corrected_by=by,
        corrected_at=at,
    )
    corrected = stored.corrected(labels)
    index.upsert_posts([corrected])
    return corrected


def set_case(
    index: PostStore,
    key: str,
    status: CaseStatus = "in_progress",
    *,
    assignee: str | None = None,
    by: str = "alice",
    at: datetime = T0 + DAY,
) -> EnrichedPost:
    """Give the stored post a case as the dashboard does (rewrite it with the case); returns
    the post as written."""
    stored = index.get_post(key)
    assert stored is not None, f"no post {key} to give a case"
    with_case = stored.model_copy(
        update={"case": make_case(status, assignee=assignee, by=by, at=at)}
    )
    index.upsert_posts([with_case])
    return with_case


def keys(posts: list[EnrichedPost]) -> list[str]:
    return [post.key for post in posts]


def make_post_alert(
    kind: AlertKind = "concern",
    departments: tuple[str, ...] = ("maternity",),
    post_id: str = "42",
    text: str = "The labour ward left us waiting for hours",
    post_kind: PostKind = "mention",
    created_at: datetime | None = None,
    account: str = "NorthbrookNHS",
) -> Alert:
    """An alert about one post of Northbrook's, as routing raises it (for delivery tests)."""
    post = Post(
        platform="twitter",
        post_id=post_id,
        kind=post_kind,
        account=account,
        author="sam" if post_kind != "official_post" else account,
        text=text,
        created_at=datetime(2026, 10, 1, 9, 30, tzinfo=UTC),
        url=f"https://x.com/sam/status/{post_id}",
        source="replay",
    )
    fields: dict[str, Any] = {
        "alert_id": Alert.make_id(kind, post.key),
        "kind": kind,
        "summary": f"{kind.capitalize()} from twitter @sam: {text[:40]}",
        "departments": departments,
        "account": account,
        "post": post,
        "classification": Classification(
            sentiment="concern" if kind == "concern" else "compliment",
            confidence=0.91,
            departments=departments,
            reason=f"{kind}: 'waiting', 'hours'",
        ),
    }
    if created_at is not None:
        fields["created_at"] = created_at
    return Alert(**fields)
