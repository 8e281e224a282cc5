"""The alerts a post raises, built in one place for the pipeline and for people's corrections.

Routing (`stream_processors.alert_rules`) raises `post_alerts` for every indexed post; the
dashboard raises the same `urgent_alert` when a person escalates a post the classifier missed,
and a `concern_notice` when a person withdraws or moves a concern a department was told of.
Spike detection (`stream_processors.spikes`) raises `volume_spike_alert` and
`velocity_spike_alert`. Ids are deterministic, so alert delivery (at most once per recipient)
tells nobody twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from socmon.records import Alert, AlertKind, EnrichedPost, Post
from socmon.urls import original_link

TOP_POSTS = 3
"""The posts a spike alert names (the most shared of the episode, else the newest)."""

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


# -- spikes -----------------------------------------------------------------------------------
#
# A spike alert's summary is its headline on the first line (the subject line, the dashboard's
# list) and the details on the next ones: the numbers, then the top posts, each with its link
# to the original only when `original_link` passes it. The first of the top posts is the
# alert's `post`, so the dashboard and the channels link to it as to any alert's post.


def _spread(count: int | None) -> str:
    return "" if count is None else f", {count} reposts and quotes"


def spike_post_line(enriched: EnrichedPost, shares: int | None = None) -> str:
    """One top post of a spike: who, where, how far it spread, what it says, its link."""
    post = enriched.post
    link = original_link(post.url, post.platform)
    line = f"- {author_of(post)}{_spread(shares)}: {excerpt(post.text, 60)}"
    return f"{line} {link}" if link else line


def _utc_hour(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a %d %b %H:00 UTC")


def volume_spike_alert(
    *,
    episode: str,
    measure: str,
    department: str | None,
    department_name: str | None,
    hour: datetime,
    count: int,
    usual: float,
    threshold: int,
    started: datetime,
    top: Sequence[tuple[EnrichedPost, int | None]],
) -> Alert:
    """The spike of the `measure` (``mentions`` or ``concerns``) of a department (or of the
    whole organisation, `department` None) in `hour`: `count` posts where `usual` is the mean
    and `threshold` the least count that is a spike, in the episode that began at `started`.

    The id is ``spike:<episode>`` (what spikes and the episode's first hour); `top` are the
    posts to name with their shares (None where unknown), the first becoming the alert's post;
    `departments` is the department's, so routing reaches it.
    """
    about = f"for {department_name or department}" if department else "for the organisation"
    headline = (
        f"Spike in {measure} {about}: {count} in the hour from {_utc_hour(hour)}, "
        f"where {usual:.1f} is usual"
    )
    lines = [
        headline,
        f"Observed {count}, usual {usual:.1f} (the same hour of the week, recent weeks), "
        f"a spike from {threshold}; the episode began {_utc_hour(started)}.",
    ]
    if top:
        lines.append("Top posts:")
        lines += [spike_post_line(post, shares) for post, shares in top[:TOP_POSTS]]
    first = top[0][0].post if top else None
    return Alert(
        alert_id=Alert.make_id("spike", episode),
        kind="spike",
        summary="\n".join(lines),
        departments=(department,) if department else (),
        account=first.account if first else None,
        post=first,
    )


def velocity_spike_alert(
    enriched: EnrichedPost,
    *,
    episode: str,
    shares: int,
    rate: float,
    usual: float,
    threshold: float,
    baseline_posts: int,
    baseline_days: int,
    quantile: float = 0.95,
) -> Alert:
    """A post spreading far faster than its account's posts usually do: `rate` shares an hour
    (`shares` in all) where `usual` is the account's usual rate over `baseline_posts` posts of
    `baseline_days` days (its `quantile`) and `threshold` the rate that is a spike. Id
    ``spike:<episode>``."""
    post = enriched.post
    account = post.account.lstrip("@")
    times = f"{rate / usual:.0f} times" if usual > 0 else "far above"
    headline = (
        f"Spike: a {post.kind.replace('_', ' ')} from {author_of(post)} is spreading fast, "
        f"{shares} reposts and quotes ({rate:.1f} an hour), {times} the usual of @{account}"
    )
    lines = [
        headline,
        f"Observed {rate:.1f} shares an hour, usual {usual:.1f} (the {quantile:.0%} quantile of "
        f"{baseline_posts} posts of @{account} in {baseline_days} days), "
        f"a spike above {threshold:.1f}.",
        "Top posts:",
        spike_post_line(enriched, shares),
    ]
    return Alert(
        alert_id=Alert.make_id("spike", episode),
        kind="spike",
        summary="\n".join(lines),
        account=post.account,
        post=post,
    )


def headline(alert: Alert) -> str:
    """The first line of an alert's summary: all of it for most alerts, the headline of a
    spike's (whose next lines are the details)."""
    return alert.summary.split("\n", 1)[0]


def details(alert: Alert) -> list[str]:
    """The lines of an alert's summary after the `headline` (a spike's numbers, top posts)."""
    return alert.summary.split("\n")[1:]
