"""The routing table: who is told about an alert, on which channel, now or in the daily digest,
and why (the why is what `socmon routes explain` prints).

The policy: concerns and compliments go to the department concerned and to Patient Services,
and so does the notice that a person withdrew a concern or moved it to another department;
breaches to the account owner, their line manager and the communications team; urgent matters
now, to the on-call channel as well. An alert for a department with no route goes to the
communications team and is counted: never dropped.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from socmon.config.alerting import ROLES, ChannelName, Route, Timing
from socmon.records import Alert
from socmon.register import Register
from socmon.settings import Settings


class RoutingError(Exception):
    """The routing table names a department that does not exist."""


@dataclass(frozen=True)
class Target:
    """One recipient on one channel, now or in the digest, with the reason."""

    recipient: str
    channel: ChannelName
    when: Timing
    why: str
    department: str | None = None  # the department whose digest carries it


@dataclass(frozen=True)
class RoutingDecision:
    """Everything routing decided about one alert."""

    alert: Alert
    targets: tuple[Target, ...]
    unrouted: tuple[str, ...] = field(default=())  # why communications stood in for someone

    def now(self) -> list[Target]:
        return [t for t in self.targets if t.when == "now"]

    def digest(self) -> list[Target]:
        return [t for t in self.targets if t.when == "digest"]


def check_routes(settings: Settings) -> None:
    """Raise `RoutingError` if a route names an unknown department (a typo would route nothing)
    or someone in `to:` who is neither a role, an e-mail address nor a name in
    `alerting.directory` (a misspelt role would silently become a recipient)."""
    known = {d.id for d in settings.departments}
    unknown = sorted({r.department for r in settings.alerting.routes if r.department} - known)
    if unknown:
        msg = (
            f"alerting.routes names unknown department(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known)) or '(none)'}"
        )
        raise RoutingError(msg)
    directory = settings.alerting.directory
    for number, route in enumerate(settings.alerting.routes):
        for who in route.to:
            if who in ROLES or "@" in who or who in directory:
                continue
            close = difflib.get_close_matches(who, [*ROLES, *directory], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            msg = (
                f"alerting.routes[{number}].to: {who!r} is not a role "
                f"({', '.join(ROLES)}), an e-mail address or a name in alerting.directory{hint}"
            )
            raise RoutingError(msg)


def rules_for(kind: str, department: str | None, routes: Iterable[Route]) -> list[Route]:
    """The rows that apply: those for this department if any, else those naming none."""
    rows = [r for r in routes if r.kind == kind]
    specific = [r for r in rows if department is not None and r.department == department]
    return specific or [r for r in rows if r.department is None]


def route_alert(
    alert: Alert, settings: Settings, register: Register | None = None
) -> RoutingDecision:
    """Who is told about `alert`: one target per (recipient, channel), now winning over digest.

    Owners and line managers come from `register`, the register in effect (`RegisterCache`
    gives it, with the hand-overs recorded by `socmon accounts owner`); without one, from the
    configuration alone, which knows nothing of those.
    """
    cfg = settings.alerting
    contacts = {d.id: d.contact for d in settings.departments}
    if register is None:
        register = Register.merge(settings.accounts)
    platform = alert.account_platform
    account = register.get(platform, alert.account) if platform and alert.account else None
    targets: dict[tuple[str, str], Target] = {}
    unrouted: list[str] = []

    def add(recipient: str, rule: Route, why: str, department: str | None) -> None:
        for channel in rule.channels or cfg.default_channels:
            key = (recipient, channel)
            old = targets.get(key)
            if old is None or (old.when == "digest" and rule.when == "now"):
                targets[key] = Target(recipient, channel, rule.when, why, department)

    def fallback(reason: str, rule: Route, department: str | None) -> None:
        unrouted.append(reason)
        add(cfg.communications, rule, f"{reason}: the communications team stands in", department)

    departments: list[str | None] = list(dict.fromkeys(alert.departments)) or [None]
    for dept in departments:
        rules = rules_for(alert.kind, dept, cfg.routes)
        for rule in rules:
            if rule.escalated_only and not alert.escalated:
                continue
            scope = f"route {alert.kind}" + (f" for {rule.department}" if rule.department else "")
            for who in rule.to:
                if who == "department":
                    if dept is None:
                        fallback("no department recognised", rule, None)
                    elif not contacts.get(dept):
                        fallback(f"department {dept} has no contact", rule, dept)
                    else:
                        add(str(contacts[dept]), rule, f"{scope}: department {dept}", dept)
                elif who in ("account_owner", "line_manager"):
                    person, handle = None, alert.account
                    if account is not None:
                        person = account.owner if who == "account_owner" else account.line_manager
                        # An owner who left is no one to tell: the register hands it to comms.
                        if who == "account_owner" and account.owner_left:
                            person = None
                        handle = account.handle
                    if person:
                        role = "account owner" if who == "account_owner" else "line manager"
                        add(person, rule, f"{scope}: {role} of @{handle}", dept)
                    else:
                        handle = alert.account or "(no account)"
                        fallback(f"no {who.replace('_', ' ')} registered for {handle}", rule, dept)
                elif who in ROLES:
                    address = getattr(cfg, who)
                    add(address, rule, f"{scope}: {who.replace('_', ' ')}", dept)
                else:
                    add(who, rule, f"{scope}: named in the table", dept)
    if not targets:
        fallback(
            f"no route for {alert.kind}",
            Route(kind=alert.kind, to=["communications"], when="now"),
            None,
        )
    return RoutingDecision(alert, tuple(targets.values()), tuple(dict.fromkeys(unrouted)))
