"""The records that travel on the topics: the contract between the stages.

Every record is a frozen pydantic model with a ``schema_version`` and strict validation
(unknown fields are rejected), serialised as JSON. A stage that cannot parse a message sends it
to the dead-letter topic with the reason; it never guesses.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Literal, Protocol, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

SCHEMA_VERSION: Literal[1] = 1

Platform = Literal[
    "twitter",
    "facebook",
    "instagram",
    "bluesky",
    "mastodon",
    "youtube",
    "linkedin",
    "careopinion",
]
PostKind = Literal["mention", "official_post", "comment", "reply"]
Sentiment = Literal["compliment", "concern", "neutral"]
Severity = Literal["low", "medium", "high"]
AlertKind = Literal[
    "concern",
    "unsure_concern",
    "compliment",
    "urgent",
    "abuse",
    "policy_breach",
    "inactive_account",
    "unregistered_account",
    "handover",
    "review_due",
    "spike",
    "withdrawn",
]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_TEXT = 100_000
"""The longest post text kept (characters). Platforms allow far less (X 25,000, Facebook 63,206);
a longer one is a broken item, and would not fit a Kafka message."""


def _in_range(moment: datetime) -> datetime:
    if not EARLIEST <= moment < LATEST:
        msg = f"a date from 2000 to 2099 is expected, not {moment.isoformat()}"
        raise ValueError(msg)
    return moment


PostTime = Annotated[AwareDatetime, AfterValidator(_in_range)]
"""When a post was written: with a time zone, and in 2000-2099 (a date far outside is a broken
item, and would break every page that shows it)."""

SENTIMENTS: tuple[Sentiment, ...] = ("compliment", "concern", "neutral")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (records never carry naive times)."""
    return datetime.now(UTC)


class Record(BaseModel):
    """Base of every record: frozen, unknown fields rejected, JSON on the wire."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


R = TypeVar("R", bound=Record)


class RecordError(ValueError):
    """A message could not be parsed into a record; ``reason`` says what is wrong."""

    def __init__(self, record: str, reason: str) -> None:
        self.reason = reason
        super().__init__(f"not a valid {record}: {reason}")


def parse_record(model: type[R], payload: bytes | str) -> R:
    """Parse and validate one JSON message; raise `RecordError` with a readable reason."""
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        raise RecordError(model.__name__, describe_validation_error(exc)) from exc


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem: ``field.path: message`` (pydantic's own text, without the URL)."""
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "(message)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


class Media(Record):
    """An image or video attached to a post (only what the policy checks need)."""

    type: Literal["photo", "video", "animated_gif", "other"]
    url: str | None = None
    alt_text: str | None = None


POST_SCHEMA_VERSION: Literal[2] = 2
"""Version 2 added `Post.engagement`; a version 1 post (no engagement) is still read."""


class Engagement(Record):
    """How people reacted to a post, as the platform counted it at `read_at`.

    A count the platform does not give (views on Mastodon, quotes on Facebook) is None, never 0.
    `responded` is whether the organisation has answered publicly (Care Opinion stories).
    """

    likes: int | None = Field(default=None, ge=0)
    reposts: int | None = Field(default=None, ge=0, description="retweets, shares, boosts")
    replies: int | None = Field(default=None, ge=0, description="replies and comments")
    quotes: int | None = Field(default=None, ge=0)
    views: int | None = Field(default=None, ge=0, description="impressions, plays, reads")
    responded: bool | None = None
    read_at: AwareDatetime = Field(default_factory=utcnow)


class Post(Record):
    """One item from a platform, normalised: a mention, an official post, a comment or a reply."""

    schema_version: Literal[1, 2] = POST_SCHEMA_VERSION
    platform: Platform
    post_id: NonEmpty
    kind: PostKind
    account: NonEmpty = Field(description="official account handle it concerns or was posted by")
    author: NonEmpty
    text: str = Field(max_length=MAX_TEXT)
    created_at: PostTime
    url: str | None = None
    media: tuple[Media, ...] = ()
    lang: str | None = None
    in_reply_to: str | None = None
    source: NonEmpty = Field(description="the connector that fetched it, e.g. replay or twitter")
    fetched_at: AwareDatetime = Field(default_factory=utcnow)
    engagement: Engagement | None = Field(
        default=None,
        description="the counts when it was read (schema 2); a connector sends the post again "
        "with fresh counts, and the index keeps the latest",
    )

    @property
    def key(self) -> str:
        """The document id and the Kafka key: ``platform:post_id``."""
        return f"{self.platform}:{self.post_id}"


class Breach(Record):
    """A policy breach found in an official account's post, with the evidence span."""

    rule: NonEmpty
    severity: Severity
    evidence: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Classification(Record):
    """What the classifiers and policy rules say about a post."""

    sentiment: Sentiment
    confidence: float = Field(ge=0.0, le=1.0)
    urgent: bool = False
    departments: tuple[str, ...] = ()
    abusive: bool = False
    breaches: tuple[Breach, ...] = ()
    unsure: bool = Field(
        default=False,
        description="a concern below the configured confidence, for a person to check",
    )
    reason: str = ""
    model: str = Field(default="", description="name and version of the model that decided")


class JudgedLabels(Protocol):
    """A person's verdict on a post's labels; None means that label was not judged."""

    @property
    def sentiment(self) -> Sentiment | None: ...

    @property
    def departments(self) -> tuple[str, ...] | None: ...

    @property
    def urgent(self) -> bool | None: ...

    @property
    def abusive(self) -> bool | None: ...

    @property
    def dismissed_breaches(self) -> tuple[str, ...] | None: ...


def _rule_set(rules: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Rules dismissed, in one order (sorted, once each): equal verdicts are equal records."""
    return None if rules is None else tuple(sorted(set(rules)))


def labels_over(later: JudgedLabels, earlier: JudgedLabels) -> dict[str, object]:
    """The labels of a later verdict, with those it left unjudged taken from an earlier one (a
    ``model_copy`` update): each label may be corrected at a different time.

    Dismissed breaches add up instead: a dismissed breach is gone from the corrected post, so a
    later verdict cannot bring it back by leaving it out (and the classifier's post and the
    corrected one must give the same record).
    """

    def judged(now: object, before: object) -> object:
        return now if now is not None else before

    dismissed = (later.dismissed_breaches or ()) + (earlier.dismissed_breaches or ())
    either = later.dismissed_breaches is not None or earlier.dismissed_breaches is not None
    return {
        "sentiment": later.sentiment or earlier.sentiment,
        "departments": judged(later.departments, earlier.departments),
        "urgent": judged(later.urgent, earlier.urgent),
        "abusive": judged(later.abusive, earlier.abusive),
        "dismissed_breaches": _rule_set(dismissed) if either else None,
    }


class CorrectedLabels(Record):
    """The labels a person set on a post in the dashboard; None means that label was not judged.

    The index keeps them with the post, so a later re-index of the same post (a replay, a
    redelivery) keeps the person's verdict instead of the classifier's.
    """

    sentiment: Sentiment | None = None
    departments: tuple[str, ...] | None = None
    urgent: bool | None = Field(default=None, description="escalated (True) or cleared (False)")
    abusive: bool | None = None
    dismissed_breaches: Annotated[tuple[str, ...] | None, AfterValidator(_rule_set)] = Field(
        default=None, description="the rules of the breaches a person dismissed (Breach.rule)"
    )
    corrected_by: NonEmpty
    corrected_at: AwareDatetime

    @property
    def byline(self) -> str:
        """Who corrected the post and when."""
        when = self.corrected_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"corrected by {self.corrected_by} on {when}"

    @property
    def verdict(self) -> str:
        """The labels judged, in words: ``neutral, departments (estates, wards), urgent``."""
        parts: list[str] = []
        if self.sentiment is not None:
            parts.append(self.sentiment)
        if self.departments is not None:
            parts.append(
                f"departments ({', '.join(self.departments)})"
                if self.departments
                else "no department"
            )
        if self.urgent is not None:
            parts.append("urgent" if self.urgent else "not urgent")
        if self.abusive is not None:
            parts.append("abusive" if self.abusive else "not abusive")
        if self.dismissed_breaches:
            parts.append(f"breaches dismissed ({', '.join(self.dismissed_breaches)})")
        return ", ".join(parts)

    @property
    def note(self) -> str:
        """What the corrected post's reason starts with: who corrected it, when, and the
        verdict (``corrected by alice on 2026-11-02 10:00 UTC: urgent``)."""
        verdict = self.verdict
        return f"{self.byline}: {verdict}" if verdict else self.byline


CaseStatus = Literal["new", "in_progress", "handled", "no_action"]
"""Where a post that needs action is: nobody has looked (``new``), someone is on it, it was dealt
with (``handled``), or a person decided nothing was needed (``no_action``)."""
OPEN_STATUSES: tuple[CaseStatus, ...] = ("new", "in_progress")
CLOSED_STATUSES: tuple[CaseStatus, ...] = ("handled", "no_action")
MAX_NOTE = 5_000


class CaseNote(Record):
    """An internal note on a case: what a person wrote, who and when."""

    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE)
    ]
    by: NonEmpty
    at: AwareDatetime


class CaseChange(Record):
    """One change of a case's status or assignee: the audit trail (who, when, from, to)."""

    field: Literal["status", "assignee"]
    old: str | None
    new: str | None
    by: NonEmpty
    at: AwareDatetime


class Case(Record):
    """How the team handles a post that needs action (`EnrichedPost.needs_action`).

    Written by the dashboard and kept with the post by the index, like a correction: the
    pipeline indexing the same post again keeps it. ``first_handled_at`` is when the case first
    reached a closed status (handled or no action), for response times (post to first handled).
    """

    status: CaseStatus = "new"
    assignee: str | None = None
    notes: tuple[CaseNote, ...] = ()
    history: tuple[CaseChange, ...] = ()
    first_handled_at: AwareDatetime | None = None
    updated_by: NonEmpty
    updated_at: AwareDatetime


class EnrichedPost(Record):
    """A post with its classification, as indexed and routed."""

    schema_version: Literal[1] = SCHEMA_VERSION
    post: Post
    classification: Classification
    enriched_at: AwareDatetime = Field(default_factory=utcnow)
    correction: CorrectedLabels | None = Field(
        default=None,
        description="the labels a person set, already applied (never set by the pipeline)",
    )
    case: Case | None = Field(
        default=None, description="the team's handling of it (never set by the pipeline)"
    )

    @property
    def key(self) -> str:
        return self.post.key

    @property
    def needs_action(self) -> bool:
        """A concern (sure or not), urgent, abusive, or breaching policy: someone must look."""
        label = self.classification
        return (
            label.sentiment == "concern"
            or label.unsure
            or label.urgent
            or label.abusive
            or bool(label.breaches)
        )

    @property
    def case_status(self) -> CaseStatus | None:
        """The case's status; ``new`` for a post that needs action and has no case yet; None
        for a post that needs none and has none."""
        if self.case is not None:
            return self.case.status
        return "new" if self.needs_action else None

    def corrected(self, labels: CorrectedLabels) -> EnrichedPost:
        """This post with a person's labels applied and kept in `correction`.

        Sentiment, departments, urgent and abusive replace the classifier's; a dismissed breach
        is removed from the breaches. The reason starts with the verdict
        (`CorrectedLabels.note`). A label `labels` leaves unjudged keeps an earlier correction
        of it, and an earlier correction's note in the reason is replaced, not stacked: so the
        classifier's post and the already corrected one give the same record, which is what lets
        the index re-apply a correction when it indexes the post again. A person's verdict is
        certain: confidence 1, and a judged sentiment is no longer unsure.
        """
        classification = self.classification
        reason = classification.reason
        earlier = self.correction
        if earlier is not None:
            labels = labels.model_copy(update=labels_over(labels, earlier))
            # `byline`: the note of a correction made before notes carried the verdict
            for note in (earlier.note, earlier.byline):
                if reason == note:
                    reason = ""
                    break
                if reason.startswith(f"{note}; "):
                    reason = reason[len(note) + 2 :]
                    break
        changes: dict[str, object] = {
            "confidence": 1.0,
            "reason": f"{labels.note}; {reason}" if reason else labels.note,
        }
        if labels.sentiment is not None:
            changes["sentiment"] = labels.sentiment
            changes["unsure"] = False
        if labels.departments is not None:
            changes["departments"] = labels.departments
        if labels.urgent is not None:
            changes["urgent"] = labels.urgent
        if labels.abusive is not None:
            changes["abusive"] = labels.abusive
        if labels.dismissed_breaches:
            dismissed = set(labels.dismissed_breaches)
            changes["breaches"] = tuple(
                b for b in classification.breaches if b.rule not in dismissed
            )
        return self.model_copy(
            update={
                "classification": classification.model_copy(update=changes),
                "correction": labels,
            }
        )


class Alert(Record):
    """Something a person must be told about; routing decides who and how.

    ``alert_id`` is deterministic (kind and subject), so a replayed post raises the same alert id
    and delivery can be made at-most-once per recipient.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    alert_id: NonEmpty
    kind: AlertKind
    summary: NonEmpty
    created_at: AwareDatetime = Field(default_factory=utcnow)
    departments: tuple[str, ...] = ()
    account: str | None = None
    platform: Platform | None = Field(
        default=None, description="platform of `account` (alerts about an account, no post)"
    )
    escalated: bool = Field(
        default=False, description="still unresolved after the first alert: the manager is told too"
    )
    post: Post | None = None
    classification: Classification | None = None

    @property
    def account_platform(self) -> Platform | None:
        """The platform of the account this alert concerns (from the post when it has one)."""
        return self.post.platform if self.post is not None else self.platform

    @staticmethod
    def make_id(kind: AlertKind, subject: str) -> str:
        return f"{kind}:{subject}"


class Delivery(Record):
    """One attempt outcome of telling one recipient about one alert on one channel."""

    schema_version: Literal[1] = SCHEMA_VERSION
    alert_id: NonEmpty
    alert_kind: AlertKind
    recipient: NonEmpty
    channel: NonEmpty
    result: Literal["sent", "failed"]
    detail: str = ""
    in_doubt: bool = Field(
        default=False,
        description="failed because the sender stopped mid-send and the channel cannot tell "
        "whether it went out: not sent again unless a person re-sends it",
    )
    delivered_at: AwareDatetime = Field(default_factory=utcnow)

    @property
    def key(self) -> str:
        """At most one successful delivery per alert, recipient and channel."""
        return Delivery.make_key(self.alert_id, self.recipient, self.channel)

    @staticmethod
    def make_key(alert_id: str, recipient: str, channel: str) -> str:
        """The `key` of a delivery of `alert_id` to `recipient` on `channel`, made or not."""
        return f"{alert_id}|{recipient}|{channel}"


Stage = Literal["ingest", "enrich", "index", "route", "alerting"]
"""Where in the flow an item failed."""


class DeadLetter(Record):
    """Anything that could not be parsed or delivered, with where it came from and why."""

    schema_version: Literal[1] = SCHEMA_VERSION
    stage: Stage
    reason: NonEmpty
    origin: NonEmpty = Field(description="where it came from: file:line, topic/partition/offset")
    payload: str = Field(description="the raw item, as received")
    created_at: AwareDatetime = Field(default_factory=utcnow)

    @property
    def key(self) -> str:
        """Stable id: the same bad item from the same place dead-letters once in the index."""
        digest = hashlib.sha256(f"{self.stage}|{self.origin}|{self.payload}".encode()).hexdigest()
        return digest[:32]
