"""What an alert or a digest says, rendered once from Jinja2 templates and sent on every channel.

The packaged templates live in ``alerting/templates``; an organisation overrides any of them by
putting a file of the same name in ``alerting.templates_dir``. E-mail uses the subject, text and
HTML templates; Teams, Slack and the webhook take the one-line headline from the subject template
and build their cards from the same facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
)

from socmon.alerts import details, headline
from socmon.records import Alert
from socmon.settings import Settings
from socmon.urls import original_link

TEMPLATES = (
    "alert.subject.j2",
    "alert.txt.j2",
    "alert.html.j2",
    "digest.subject.j2",
    "digest.txt.j2",
    "digest.html.j2",
)


class TemplateProblem(Exception):
    """A template is missing or broken; the message names it (a config error, not retried)."""


@dataclass(frozen=True)
class Message:
    """One rendered message: the same words for every recipient of a group.

    ``ref`` is the alert id (or ``digest:<department>:<day>``); ``alert_ids`` are the alerts it
    tells about, whose deliveries are recorded when it is sent.
    """

    ref: str
    kind: str
    subject: str
    text: str
    html: str
    facts: tuple[tuple[str, str], ...] = ()
    body: str = ""
    links: tuple[tuple[str, str], ...] = ()
    alert_ids: tuple[str, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)


def dashboard_link(settings: Settings, alert: Alert) -> str:
    base = settings.organisation.dashboard_url.rstrip("/")
    if alert.post is None:
        return base
    return f"{base}/posts/{quote(alert.post.key, safe=':')}"


def with_checked_link(alert: Alert) -> Alert:
    """`alert` with its post's URL kept only if `original_link` passes it (else None).

    The templates, packaged or the organisation's own, see this copy: whatever they do with
    ``post.url``, a ``javascript:`` link or a look-alike host never reaches a message.
    """
    post = alert.post
    if post is None or post.url is None:
        return alert
    checked = original_link(post.url, post.platform)
    if checked == post.url:
        return alert
    return alert.model_copy(update={"post": post.model_copy(update={"url": checked})})


class Renderer:
    """Renders alerts and digests with the organisation's templates (or the packaged ones)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.zone = settings.alerting.digest.zone
        loaders: list[Any] = []
        if settings.alerting.templates_dir is not None:
            loaders.append(FileSystemLoader(str(settings.alerting.templates_dir)))
        loaders.append(PackageLoader("alerting", "templates"))
        common: dict[str, Any] = {
            "loader": ChoiceLoader(loaders),
            "undefined": StrictUndefined,  # a typo in a template fails loudly, not blank
            "trim_blocks": True,
            "lstrip_blocks": True,
            "keep_trailing_newline": True,
        }
        self.text_env = Environment(autoescape=False, **common)  # plain text: nothing to escape
        self.html_env = Environment(autoescape=True, **common)
        for env in (self.text_env, self.html_env):
            env.filters["local"] = self._local

    def check(self) -> None:
        """Load every template once, so a broken override fails at start-up, not per alert."""
        for name in TEMPLATES:
            env = self.html_env if name.endswith(".html.j2") else self.text_env
            try:
                env.get_template(name)
            except TemplateError as exc:
                msg = f"alert template {name}: {exc.message or type(exc).__name__}"
                raise TemplateProblem(msg) from exc

    def _local(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime("%a %d %b %Y %H:%M %Z")

    def _render(self, env: Environment, name: str, context: dict[str, Any]) -> str:
        try:
            return env.get_template(name).render(context)
        except TemplateError as exc:
            msg = f"alert template {name}: {exc.message or type(exc).__name__}"
            raise TemplateProblem(msg) from exc

    def department_names(self, ids: tuple[str, ...] | list[str]) -> list[str]:
        names = {d.id: d.name for d in self.settings.departments}
        return [names.get(i, i) for i in ids]

    def alert(self, alert: Alert) -> Message:
        link = dashboard_link(self.settings, alert)
        departments = self.department_names(alert.departments)
        shown = with_checked_link(alert)
        # A spike's summary is a headline and then its details (the numbers, the top posts):
        # the templates get the headline as the summary (the subject is one line) and the
        # details as lines of their own, text like any other (escaped in HTML and cards).
        spike_details = details(alert) if alert.kind == "spike" else []
        if spike_details:
            shown = shown.model_copy(update={"summary": headline(alert)})
        context = {
            "details": spike_details,
            "alert": shown,
            "post": shown.post,
            "classification": alert.classification,
            "departments": departments,
            "dashboard_link": link,
            "organisation": self.settings.organisation.name,
        }
        subject = " ".join(self._render(self.text_env, "alert.subject.j2", context).split())
        facts: list[tuple[str, str]] = []
        if alert.post is not None:
            post = alert.post
            facts += [
                ("Author", f"@{post.author}"),
                ("Platform", post.platform),
                ("Account", f"@{post.account}"),
                ("Posted", self._local(post.created_at)),
            ]
        if alert.classification is not None:
            cls = alert.classification
            facts.append(("Classification", f"{cls.sentiment} ({cls.confidence:.0%})"))
            if cls.reason:
                facts.append(("Why", cls.reason))
        facts.append(("Department", ", ".join(departments) or "none recognised"))
        links = [("Open in the dashboard", link)]
        if shown.post is not None and shown.post.url:
            links.append(("Open the post", shown.post.url))
        return Message(
            ref=alert.alert_id,
            kind=alert.kind,
            subject=subject,
            text=self._render(self.text_env, "alert.txt.j2", context),
            html=self._render(self.html_env, "alert.html.j2", context),
            facts=tuple(facts),
            body="\n".join(spike_details)
            if spike_details
            else (alert.post.text if alert.post is not None else ""),
            links=tuple(links),
            alert_ids=(alert.alert_id,),
            payload={
                "event": "alert",
                "headline": subject,
                "dashboard_url": link,
                "alert": alert.model_dump(mode="json"),
            },
        )

    def digest(
        self,
        department: str | None,
        day: date,
        tallies: Mapping[str, int],
        items: list[Alert],
    ) -> Message:
        name = self.department_names([department])[0] if department else "No department"
        dashboard = self.settings.organisation.dashboard_url.rstrip("/")
        context = {
            "department": name,
            "day": day,
            "tallies": sorted(tallies.items()),
            "total": sum(tallies.values()),
            "items": [(with_checked_link(a), dashboard_link(self.settings, a)) for a in items],
            "organisation": self.settings.organisation.name,
            "dashboard_url": dashboard,
        }
        subject = " ".join(self._render(self.text_env, "digest.subject.j2", context).split())
        facts = tuple((kind, str(count)) for kind, count in sorted(tallies.items()))
        return Message(
            ref=f"digest:{department or 'none'}:{day.isoformat()}",
            kind="digest",
            subject=subject,
            text=self._render(self.text_env, "digest.txt.j2", context),
            html=self._render(self.html_env, "digest.html.j2", context),
            facts=facts,
            body="\n".join(f"• {a.summary}" for a in items),
            links=(("Open the dashboard", dashboard),),
            alert_ids=tuple(a.alert_id for a in items),
            payload={
                "event": "digest",
                "headline": subject,
                "department": department,
                "day": day.isoformat(),
                "tallies": dict(tallies),
                "alerts": [a.model_dump(mode="json") for a in items],
            },
        )
