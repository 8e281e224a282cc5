"""The routing table (first version): which recipients hear about an alert.

The policy: concerns and compliments go to the department concerned and to Patient Services;
breaches to the account owner, their line manager and the communications team; urgent matters
to the communications team too. An alert for a department without a contact goes to the
communications team: never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from socmon.records import Alert
from socmon.settings import Settings


@dataclass(frozen=True)
class Recipient:
    """Who is told (an address or a team name) and why (shown in `routes explain`)."""

    address: str
    why: str


def recipients_for(alert: Alert, settings: Settings) -> list[Recipient]:
    """The recipients of `alert`, without duplicates, in a stable order."""
    out: list[Recipient] = []
    comms = settings.alerting.communications

    def add(address: str | None, why: str) -> None:
        if address and all(r.address != address for r in out):
            out.append(Recipient(address, why))

    contacts = {d.id: d.contact for d in settings.departments}
    if alert.kind in ("concern", "compliment", "urgent"):
        for dept in alert.departments:
            add(contacts.get(dept), f"department {dept}")
        unrouted = [d for d in alert.departments if not contacts.get(d)]
        if not alert.departments or unrouted:
            add(comms, "no department route")
        add(settings.alerting.patient_services, "Patient Services hears of every " + alert.kind)
    if alert.kind == "urgent":
        add(comms, "urgent: communications on call")
    if alert.kind in ("policy_breach", "inactive_account", "handover", "review_due"):
        account = (
            settings.account(alert.post.platform, alert.account)
            if alert.post and alert.account
            else None
        )
        if account is not None:
            add(account.owner, "account owner")
            add(account.line_manager, "line manager of the account owner")
        add(comms, "communications team owns the register")
    if alert.kind in ("abuse", "unregistered_account", "spike"):
        add(comms, f"{alert.kind} is reported to communications")
    if not out:
        add(comms, "no route for this alert")
    return out
