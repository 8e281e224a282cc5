"""Which alerts an enriched post raises. Who is told, and how, is decided by `alerting/`.

The alerts of a post's labels are built by `socmon.alerts`, which the dashboard uses too (a
person escalating a post raises the same urgent alert); this adds what needs the register.
"""

from __future__ import annotations

from socmon.alerts import post_alerts
from socmon.records import Alert, EnrichedPost
from stream_processors.governance.unregistered import LookalikeAccounts


def alerts_for(enriched: EnrichedPost, lookalikes: LookalikeAccounts | None = None) -> list[Alert]:
    """The alerts a post raises; ids are deterministic, so a replay raises the same ones.

    With `lookalikes` (built from the register), a post by an account that looks like the
    organisation's but is not registered also raises ``unregistered_account``.
    """
    unregistered = lookalikes.alert_for(enriched) if lookalikes else None
    return ([unregistered] if unregistered is not None else []) + post_alerts(enriched)
