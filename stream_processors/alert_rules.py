"""Which alerts an enriched post raises. Who is told, and how, is decided by `alerting/`."""

from __future__ import annotations

from socmon.records import Alert, AlertKind, EnrichedPost
from stream_processors.governance.unregistered import LookalikeAccounts


def _excerpt(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def alerts_for(enriched: EnrichedPost, lookalikes: LookalikeAccounts | None = None) -> list[Alert]:
    """The alerts a post raises; ids are deterministic, so a replay raises the same ones.

    With `lookalikes` (built from the register), a post by an account that looks like the
    organisation's but is not registered also raises ``unregistered_account``.
    """
    post, cls = enriched.post, enriched.classification
    where = f"{post.platform} @{post.author}"
    common = {
        "departments": cls.departments,
        "account": post.account,
        "post": post,
        "classification": cls,
    }
    alerts: list[Alert] = []
    unregistered = lookalikes.alert_for(enriched) if lookalikes else None
    if unregistered is not None:
        alerts.append(unregistered)

    def add(kind: AlertKind, summary: str) -> None:
        alerts.append(
            Alert.model_validate(
                {"alert_id": Alert.make_id(kind, post.key), "kind": kind, "summary": summary}
                | common
            )
        )

    if cls.urgent:
        add("urgent", f"Urgent post from {where}: {_excerpt(post.text)}")
    if post.kind == "official_post":
        if cls.breaches:
            rules = ", ".join(sorted({b.rule for b in cls.breaches}))
            add("policy_breach", f"Possible policy breach ({rules}) on @{post.account}")
        return alerts
    if cls.abusive:
        add("abuse", f"Abusive {post.kind} aimed at @{post.account} from {where}")
    elif cls.sentiment == "concern" and cls.unsure:
        add("unsure_concern", f"Possible concern (unsure) from {where}: {_excerpt(post.text)}")
    elif cls.sentiment == "concern":
        add("concern", f"Concern from {where}: {_excerpt(post.text)}")
    elif cls.sentiment == "compliment":
        add("compliment", f"Compliment from {where}: {_excerpt(post.text)}")
    return alerts
