"""The alerts a post raises, built in one place for the pipeline and for people's corrections.

Routing (`stream_processors.alert_rules`) raises `post_alerts` for every indexed post; the
dashboard raises the same `urgent_alert` when a person escalates a post the classifier missed,
and a `concern_notice` when a person withdraws or moves a concern a department was told of.
Ids are deterministic, so alert delivery (at most once per recipient) tells nobody twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from socmon.records import Alert, AlertKind, EnrichedPost, Post

EXCERPT = 80
"""The characters of a post's text a summary quotes (summaries are subject lines)."""


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """The text on one line, cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def author_of(post: Post) -> str:
    """Who wrote it, where: ``twitter @sam``."""
    return f"{post.platform} @{post.author}"


def post_alert(enriched: EnrichedPost, kind: AlertKind, summary: str) -> Alert:
    """An alert about `enriched`, id ``kind:platform:post_id``, carrying its post, labels and
    departments."""
    post, label = enriched.post, enriched.classification
    return Alert(
        alert_id=Alert.make_id(kind, post.key),
        kind=kind,
        summary=summary,
        departments=label.departments,
        account=post.account,
        post=post,
        classification=label,
    )


def urgent_alert(enriched: EnrichedPost) -> Alert:
    """The urgent alert of a post (raised whatever else the post raises)."""
    post = enriched.post
    return post_alert(
        enriched, "urgent", f"Urgent post from {author_of(post)}: {excerpt(post.text)}"
    )


def post_alerts(enriched: EnrichedPost) -> list[Alert]:
    """The alerts a post raises by its labels: urgent first; an official post only its policy
    breaches; any other post abuse, or else its concern (unsure or not) or compliment."""
    post, label = enriched.post, enriched.classification
    where = author_of(post)
    alerts: list[Alert] = []
    if label.urgent:
        alerts.append(urgent_alert(enriched))
    if post.kind == "official_post":
        if label.breaches:
            rules = ", ".join(sorted({b.rule for b in label.breaches}))
            summary = f"Possible policy breach ({rules}) on @{post.account}"
            alerts.append(post_alert(enriched, "policy_breach", summary))
        return alerts
    if label.abusive:
        summary = f"Abusive {post.kind} aimed at @{post.account} from {where}"
        alerts.append(post_alert(enriched, "abuse", summary))
    elif label.sentiment == "concern" and label.unsure:
        summary = f"Possible concern (unsure) from {where}: {excerpt(post.text)}"
        alerts.append(post_alert(enriched, "unsure_concern", summary))
    elif label.sentiment == "concern":
        alerts.append(
            post_alert(enriched, "concern", f"Concern from {where}: {excerpt(post.text)}")
        )
    elif label.sentiment == "compliment":
        summary = f"Compliment from {where}: {excerpt(post.text)}"
        alerts.append(post_alert(enriched, "compliment", summary))
    return alerts


def concern_notice(
    enriched: EnrichedPost,
    *,
    told: Sequence[str],
    moved_from: Sequence[str],
    by: str,
    names: Mapping[str, str] | None = None,
) -> Alert:
    """The ``withdrawn`` notice to the departments `told` of a concern about `enriched` (the post
    as a person corrected it): the concern was withdrawn (the post is no longer a concern), or
    moved from the departments `moved_from` to the post's own now.

    The id names the post and where the concern is now (``withdrawn:twitter:42`` when withdrawn,
    ``withdrawn:twitter:42>outpatients`` when moved), so the same correction made again tells
    nobody twice, and a department hears once of each place the concern goes. `names` gives the
    departments' names for the summary (ids where it has none).
    """
    post, label = enriched.post, enriched.classification
    about = f'The concern about the post from {author_of(post)} ("{excerpt(post.text, 60)}")'

    def named(departments: Sequence[str]) -> str:
        shown = [(names or {}).get(d, d) for d in departments]
        if not shown:
            return "no department"
        return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"

    if label.sentiment != "concern":
        subject = post.key
        summary = f"{about} was withdrawn by {by}"
    else:
        subject = f"{post.key}>{','.join(sorted(label.departments))}"
        if set(moved_from) == set(label.departments):
            summary = f"{about} was made a concern for {named(label.departments)} again by {by}"
        else:
            summary = f"{about} was moved from {named(moved_from)} to {named(label.departments)}"
            summary += f" by {by}"
    return Alert(
        alert_id=Alert.make_id("withdrawn", subject),
        kind="withdrawn",
        summary=summary,
        departments=tuple(dict.fromkeys(told)),
        account=post.account,
        post=post,
        classification=label,
    )
