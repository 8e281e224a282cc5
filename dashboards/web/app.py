"""The dashboard's web application (Starlette): routes, templates and the middleware stack.

`create_app` builds it against any `Index` adapter (SQLite or Elasticsearch); `socmon dashboard`
serves it with uvicorn. Pages are rendered on the server with Jinja2 (autoescaped: the posts are
the public's words) and work without script (``static/socmon.js`` only adds "select all" to the
list); the chart is inline SVG.

The pages: the front page (open items by department and age, the new ones, the chart), the list
(filters, views, sorting, pages, bulk update of the selected rows, the CSV export), the item
(its case, corrections of every judgement), the register of accounts. Every page, form and
export sees only what the user's role lets them (`access.Viewer`); the case rules are in
`cases`, what the pages show apart from HTTP in `views`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import (
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from dashboards.web.access import Viewer, assignable_to, viewer_of
from dashboards.web.auth import (
    CSRF_FIELD,
    SESSION_COOKIE,
    AccessMiddleware,
    LoginThrottle,
    PasswordCheckGate,
    PasswordChecksBusy,
    SecurityHeadersMiddleware,
    SessionKeeper,
    csrf_ok,
    csrf_token,
    current_user,
    resolve_session_secret,
    safe_next,
    session_token,
    start_session,
)
from dashboards.web.cases import (
    CASE_STATUSES,
    STATUS_NAMES,
    BulkOutcome,
    CaseError,
    bulk_change,
    case_token,
    change_case,
    parse_status,
    save_cases,
    timeline,
)
from dashboards.web.chart import daily_counts, render_chart
from dashboards.web.escalation import AlertOutbox, KafkaAlertOutbox
from dashboards.web.export import csv_lines, matching_posts
from dashboards.web.feedback import (
    Correction,
    CorrectionOutcome,
    all_corrections,
    latest_corrections,
    record_correction,
)
from dashboards.web.highlight import highlight, merge_spans
from dashboards.web.users import authenticate, is_valid_name, list_users
from dashboards.web.views import (
    AGE_BANDS,
    DEFAULT_LIMIT,
    PLATFORMS,
    POST_KINDS,
    SORT_NAMES,
    SPIKE_DAYS,
    UNASSIGNED_PARAM,
    AgeBand,
    Filters,
    account_rows,
    age_band_days,
    alert_ids_for,
    alerted_people,
    chart_range,
    digest_timing,
    local_midnight,
    open_items,
    parse_filters,
    recent_spikes,
)
from socmon.index.port import NO_VALUE, UNASSIGNED, Index, PostQuery
from socmon.records import (
    MAX_NOTE,
    OPEN_STATUSES,
    SENTIMENTS,
    Case,
    CaseStatus,
    EnrichedPost,
    Sentiment,
    utcnow,
)
from socmon.register import load_register
from socmon.settings import Settings
from socmon.urls import original_link

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
CHART_DAYS = 30
FLASH = "flash"
FLASH_PROBLEM = "flash_problem"
MAX_BULK = 500
"""The most posts one bulk update changes (a page holds at most `views.MAX_LIMIT`)."""


def post_url(key: str) -> str:
    """The item page of a post (keys hold ``:`` and may hold ``/``; both are fine in a path)."""
    return "/posts/" + quote(key, safe=":@")


class Dashboard:
    """The pages, bound to one index and one set of settings."""

    def __init__(self, settings: Settings, index: Index, outbox: AlertOutbox | None) -> None:
        self.settings = settings
        self.index = index
        self.outbox = outbox
        dash = settings.dashboard
        self.sessions = SessionKeeper(
            index,
            lifetime=timedelta(hours=dash.session_hours),
            idle=timedelta(minutes=dash.session_idle_minutes),
        )
        self.throttle = LoginThrottle(dash.login)
        self.password_checks = PasswordCheckGate(dash.login.hash_concurrency, dash.login.hash_queue)
        self.zone = ZoneInfo(settings.dashboard.timezone)
        self.department_names = {d.id: d.name for d in settings.departments}
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.do"],
        )
        env.filters["local"] = self._local_time
        env.filters["local_day"] = self._local_day
        env.filters["department"] = lambda d: self.department_names.get(d, d)
        env.globals["post_url"] = post_url
        # the post's own link is the public's: shown only if it is the platform's https link
        env.globals["original_link"] = original_link
        self.templates = Jinja2Templates(env=env)

    # -- helpers ------------------------------------------------------------------------------

    def _local_time(self, moment: datetime | None) -> str:
        if moment is None:
            return "–"
        return moment.astimezone(self.zone).strftime("%a %d %b %Y, %H:%M")

    def _local_day(self, moment: datetime | date | None) -> str:
        if moment is None:
            return "–"
        if isinstance(moment, datetime):
            moment = moment.astimezone(self.zone)
        return moment.strftime("%d %b %Y")

    def today(self) -> date:
        return utcnow().astimezone(self.zone).date()

    def render(
        self, request: Request, template: str, status_code: int = 200, **context: Any
    ) -> Response:
        context.setdefault("page", template.removesuffix(".html"))
        base = {
            "user": current_user(request),
            "organisation": self.settings.organisation.name,
            "auth_mode": self.settings.dashboard.auth,
            "csrf_field": CSRF_FIELD,
            "csrf_token": csrf_token(request),
            "flash": request.session.pop(FLASH, None),
            "flash_problem": request.session.pop(FLASH_PROBLEM, None),
            "viewer": None,
        }
        return self.templates.TemplateResponse(
            request, template, base | context, status_code=status_code
        )

    def viewer(self, request: Request) -> Viewer:
        """Who is asking and what they may see (read from the index on each request, so a
        changed role applies at once). Blocks on the index: call from a worker thread."""
        return viewer_of(self.index, current_user(request) or "?")

    def _flash(self, request: Request, message: str, *, problem: bool = False) -> None:
        request.session[FLASH_PROBLEM if problem else FLASH] = message

    def _users_for(self, viewer: Viewer) -> list[str]:
        """The users shown as assignees to `viewer`: those who see what it sees, and itself."""
        names = {viewer.name}
        for user in list_users(self.index):
            other = Viewer(user.name, user.role, user.department)
            if (
                other.sees_everything
                or viewer.sees_everything
                or other.department == viewer.department
            ):
                names.add(user.name)
        return sorted(names, key=str.casefold)

    def _visible_post(self, viewer: Viewer, key: str) -> EnrichedPost:
        """The post, or 404 when it is not there or not in this user's view (not said which)."""
        post = self.index.get_post(key)
        if post is None or not viewer.may_see(post):
            raise HTTPException(404, f"No post {key!r} in the index (it may have been deleted).")
        return post

    def _chart(self, viewer: Viewer, query: PostQuery, *, filtered: bool) -> dict[str, Any]:
        """The chart of `query` over the 30 days that hold data for this user (see
        `chart_range`), with its title and numbers."""
        span = chart_range(
            self.index, viewer.scope(PostQuery(limit=0)), self.today(), self.zone, CHART_DAYS
        )
        chart_query = replace(
            query,
            since=local_midnight(span.first_day, self.zone),
            until=local_midnight(span.last_day + timedelta(days=1), self.zone),
            limit=0,
            offset=0,
        )
        days = daily_counts(
            self.index.count_posts(chart_query, by=("day", "sentiment")), span.last_day, CHART_DAYS
        )
        title = (
            f"Posts per day by sentiment, {span.first_day:%d %b} to {span.last_day:%d %b %Y}"
            + (" (filtered)" if filtered else "")
        )
        return {
            "chart": render_chart(days, title),
            "chart_days": days,
            "chart_title": title,
            "chart_span": span,
        }

    # -- pages --------------------------------------------------------------------------------

    def home(self, request: Request) -> Response:
        """The front page: open items by department and age, the new ones, the spikes of the
        last days, the chart."""
        viewer = self.viewer(request)
        today = self.today()
        summary = open_items(self.index, viewer.scope, today, self.zone, viewer.name)

        def link(department: str | None = None, band: AgeBand | None = None, **more: Any) -> str:
            first, last = age_band_days(band, today) if band else (None, None)
            filters = Filters(
                departments=(department,) if department else (),
                statuses=OPEN_STATUSES,
                since=first,
                until=last,
            )
            return "/posts?" + urlencode(filters.params(**more))

        rows = sorted(
            summary.by_department.items(),
            key=lambda item: (item[0] == NO_VALUE, self.department_names.get(item[0], item[0])),
        )
        return self.render(
            request,
            "home.html",
            viewer=viewer,
            summary=summary,
            rows=rows,
            bands=AGE_BANDS,
            link=link,
            no_department=NO_VALUE,
            sentiments=SENTIMENTS,
            spikes=recent_spikes(self.index, utcnow(), viewer.department, viewer.sees_everything),
            spike_days=SPIKE_DAYS,
            **self._chart(viewer, viewer.scope(PostQuery(limit=0)), filtered=False),
        )

    def health(self, request: Request) -> Response:
        return PlainTextResponse("ok\n")

    def posts(self, request: Request) -> Response:
        """The mentions list: filters, full-text search, sorting, pages, the 30-day chart."""
        viewer = self.viewer(request)
        filters = parse_filters(request.query_params, tuple(self.department_names))
        query = viewer.scope(filters.query(self.zone))
        posts = self.index.search_posts(query)
        total = sum(self.index.count_posts(query, by=()).values())
        today = self.today()
        first_day = today - timedelta(days=CHART_DAYS - 1)
        corrected = latest_corrections(all_corrections(self.index))
        accounts = sorted(
            {acc.handle for acc in self.settings.accounts}
            | {handle for _, handle in self.index.last_post_per_account()}
            | ({filters.account} if filters.account else set()),
            key=str.casefold,
        )
        users = self._users_for(viewer)
        view = _view_of(filters, viewer.name)
        status_values = [v for k, v in filters.params() if k == "status"]
        # The chart keeps every filter but the dates.
        chart = self._chart(
            viewer, viewer.scope(filters.without_dates().query(self.zone)), filtered=filters.active
        )
        return self.render(
            request,
            "posts.html",
            page=view,
            heading=VIEW_HEADINGS[view],
            viewer=viewer,
            filters=filters,
            status_param=status_values[0] if len(status_values) == 1 else None,
            sort_names=SORT_NAMES,
            default_limit=DEFAULT_LIMIT,
            posts=[self._row(p, corrected.get(p.key)) for p in posts],
            total=total,
            pages=max(math.ceil(total / filters.limit), 1),
            sentiments=SENTIMENTS,
            platforms=PLATFORMS,
            kinds=POST_KINDS,
            statuses=CASE_STATUSES,
            status_names=STATUS_NAMES,
            departments=sorted(self.department_names.items(), key=lambda d: d[1]),
            accounts=accounts,
            users=users,
            unassigned=UNASSIGNED,
            unassigned_param=UNASSIGNED_PARAM,
            open_statuses=OPEN_STATUSES,
            today=today,
            week_ago=(today - timedelta(days=6)).isoformat(),
            month_ago=first_day.isoformat(),
            query_string=lambda **changes: urlencode(filters.params(**changes)),
            this_url=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            **chart,
        )

    def export(self, request: Request) -> Response:
        """The filtered list as CSV: every matching post this user may see, not just a page."""
        viewer = self.viewer(request)
        filters = parse_filters(request.query_params, tuple(self.department_names))
        query = viewer.scope(filters.query(self.zone))
        base = self.settings.organisation.dashboard_url.rstrip("/")
        lines = csv_lines(
            (p for p in matching_posts(self.index, query) if viewer.may_see(p)),
            zone=self.zone,
            department_names=self.department_names,
            link=lambda key: base + post_url(key),
        )
        name = f"socmon-posts-{self.today().isoformat()}.csv"
        log.info("csv export user=%s", viewer.name)
        return StreamingResponse(
            lines,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @staticmethod
    def _row(post: EnrichedPost, correction: Correction | None) -> dict[str, Any]:
        sentiment, departments = effective_labels(post, correction)
        return {
            "post": post,
            "sentiment": sentiment,
            "departments": departments,
            "corrected": correction is not None or post.correction is not None,
            "status": post.case_status,
            "assignee": post.case.assignee if post.case else None,
        }

    def post(self, request: Request) -> Response:
        """One post: its text with the breach evidence marked, the reasons, who was alerted,
        its case (status, assignee, notes, history) and the forms to change them."""
        viewer = self.viewer(request)
        key = request.path_params["key"]
        post = self._visible_post(viewer, key)
        history = [c for c in all_corrections(self.index) if c.post_key == key]
        judged = [post.classification.departments]
        judged += [c.departments for c in history if c.departments is not None]
        deliveries = [
            delivery
            for alert_id in alert_ids_for(key, judged)
            for delivery in self.index.deliveries_for(alert_id)
        ]
        correction = latest_corrections(history).get(key)
        sentiment, departments = effective_labels(post, correction)
        breaches = post.classification.breaches
        marked = {rule for span in merge_spans(post.post.text, breaches) for rule in span.rules}
        alerted = alerted_people(deliveries)
        return self.render(
            request,
            "post.html",
            page="posts",
            viewer=viewer,
            item=post,
            text_html=highlight(post.post.text, breaches),
            unplaced=[b for b in breaches if b.rule not in marked],
            sentiment=sentiment,
            departments=departments,
            alerted=alerted,
            digest_at=None if alerted else digest_timing(self.settings, post),
            history=list(reversed(history)),
            sentiments=SENTIMENTS,
            all_departments=sorted(self.department_names.items(), key=lambda d: d[1]),
            has_case=post.case is not None or post.needs_action,
            case_status=post.case_status,
            case_token=case_token(post),
            timeline=timeline(post.case),
            statuses=CASE_STATUSES,
            status_names=STATUS_NAMES,
            assignees=assignable_to(post, list_users(self.index), viewer.name),
            max_note=MAX_NOTE,
            breach_choices=breach_choices(post),
        )

    async def change_case(self, request: Request) -> Response:
        """Change one post's case: its status, its assignee, or a note added."""
        form = await request.form()
        if not csrf_ok(request, form):
            return self._form_expired(request)
        key = str(form.get("post_key") or "")
        viewer = await run_in_threadpool(self.viewer, request)
        post = await run_in_threadpool(self._visible_post, viewer, key)
        users = await run_in_threadpool(list_users, self.index)
        note = str(form["note"]) if "note" in form else None
        try:
            case = change_case(
                post,
                by=viewer.name,
                at=utcnow(),
                status=parse_status(form.get("status")),
                assignee=_assignee(form.get("assignee")),
                note=note,
                assignable=assignable_to(post, users, viewer.name),
                seen=str(form["case_seen"]) if "case_seen" in form else None,
            )
        except CaseError as exc:
            self._flash(request, str(exc), problem=True)
            return RedirectResponse(post_url(key), status_code=303)
        if case is None:
            self._flash(request, "Nothing changed: the case was already as chosen.")
        else:
            await run_in_threadpool(
                save_cases, self.index, [post.model_copy(update={"case": case})]
            )
            log.info("case changed post=%s by=%s status=%s", key, viewer.name, case.status)
            self._flash(request, _case_saved(case, note is not None))
        return RedirectResponse(post_url(key), status_code=303)

    async def bulk_cases(self, request: Request) -> Response:
        """Set the status and/or the assignee of the posts selected in the list."""
        form = await request.form()
        # Back to the list it came from: a path of the list only (no open redirect).
        back = safe_next(str(form.get("back") or "/posts"))
        if not back.startswith(("/posts?", "/posts/")) and back != "/posts":
            back = "/posts"
        if not csrf_ok(request, form):
            return self._form_expired(request)
        keys = list(dict.fromkeys(str(k) for k in form.getlist("key")))[:MAX_BULK]
        status = parse_status(form.get("status"))
        assignee = _assignee(form.get("assignee"))
        if not keys or (status is None and assignee is None):
            self._flash(
                request,
                "Select posts, and a status or an assignee to give them.",
                problem=True,
            )
            return RedirectResponse(back, status_code=303)
        viewer = await run_in_threadpool(self.viewer, request)
        outcome = await run_in_threadpool(self._bulk, viewer, keys, status, assignee)
        changed = len(outcome.changed)
        message = f"Updated {changed} post{'s' if changed != 1 else ''}"
        if outcome.unchanged:
            message += f"; {outcome.unchanged} already as chosen"
        if outcome.skipped:
            message += f"; {len(outcome.skipped)} left alone ({outcome.skipped[0][1]})"
        log.info(
            "bulk case change by=%s changed=%d unchanged=%d skipped=%d",
            viewer.name,
            len(outcome.changed),
            outcome.unchanged,
            len(outcome.skipped),
        )
        self._flash(request, message + ".", problem=bool(outcome.skipped) and not outcome.changed)
        return RedirectResponse(back, status_code=303)

    def _bulk(
        self, viewer: Viewer, keys: list[str], status: CaseStatus | None, assignee: str | None
    ) -> BulkOutcome:
        found: list[EnrichedPost] = []
        missing: list[tuple[str, str]] = []
        for key in keys:
            post = self.index.get_post(key)
            if post is None or not viewer.may_see(post):
                missing.append((key, "not found"))
            else:
                found.append(post)
        users = list_users(self.index)
        outcome = bulk_change(
            found,
            by=viewer.name,
            at=utcnow(),
            status=status,
            assignee=assignee,
            assignable=lambda post: assignable_to(post, users, viewer.name),
        )
        save_cases(self.index, outcome.changed)
        return BulkOutcome(outcome.changed, outcome.unchanged, missing + outcome.skipped)

    async def correct(self, request: Request) -> Response:
        """Store a person's correction of a post's labels (sentiment, departments, urgent,
        abusive, breaches dismissed), and say which alerts it raised."""
        form = await request.form()
        key = str(form.get("post_key") or "")
        if not csrf_ok(request, form):
            return self._form_expired(request)
        viewer = await run_in_threadpool(self.viewer, request)
        post = await run_in_threadpool(self._visible_post, viewer, key)
        departments = [d for d in form.getlist("department") if d in self.department_names]
        urgent = _yes_no(form.get("urgent"))
        rules = {rule for rule, _ in breach_choices(post)}
        dismissed = (
            [r for r in form.getlist("dismiss") if r in rules]
            if form.get("breaches_judged")
            else None
        )
        outcome = await run_in_threadpool(
            lambda: record_correction(
                self.index,
                post,
                corrected_by=viewer.name,
                sentiment=_sentiment(form),
                departments=departments if form.get("departments_judged") else None,
                urgent=urgent,
                abusive=_yes_no(form.get("abusive")),
                dismissed_breaches=dismissed,
                outbox=self.outbox,
            )
        )
        said = self._correction_said(outcome)
        if outcome.alert_error:
            self._flash(request, outcome.alert_error, problem=True)
        if not viewer.may_see(outcome.post):
            self._flash(request, f"{said} The post is no longer in your department's view.")
            return RedirectResponse("/posts", status_code=303)
        self._flash(request, said)
        return RedirectResponse(post_url(key), status_code=303)

    def _correction_said(self, outcome: CorrectionOutcome) -> str:
        """The message after a correction: the labels now, and the alerts it raised (a failed
        hand-over is said apart, as a problem: `CorrectionOutcome.alert_error`)."""
        if outcome.correction is None and not outcome.alerts:
            return "Nothing changed: the labels were already as chosen."
        if outcome.correction is None:
            said = "The labels were already as chosen."
        else:
            now = outcome.post.classification
            names = ", ".join(self.department_names.get(d, d) for d in now.departments)
            said = f"Correction saved: sentiment {now.sentiment}, departments {names or 'none'}."
            said += _judgements_said(outcome.correction)
        if outcome.alert_error:
            return said
        escalated = outcome.correction is not None and outcome.correction.urgent is True
        for alert in outcome.alerts:
            if alert.kind == "urgent" and escalated:
                said += " The urgent alert was raised: its contacts are told now."
            elif alert.kind == "urgent":
                said += (
                    " The urgent alert was handed to alert delivery again (nobody is told twice)."
                )
            elif alert.kind == "withdrawn":
                told = ", ".join(self.department_names.get(d, d) for d in alert.departments)
                said += f" A withdrawn notice was sent to {told or 'the departments told before'}."
            else:
                said += f" A {alert.kind.replace('_', ' ')} alert was raised."
        if escalated and not any(alert.kind == "urgent" for alert in outcome.alerts):
            said += " Its urgent alert went out before: nobody is told twice."
        return said

    def accounts(self, request: Request) -> Response:
        """The register of official accounts with each one's last post and status."""
        register = load_register(self.settings.accounts, self.index)
        rows = account_rows(
            self.settings, self.index.last_post_per_account(), self.today(), register.accounts
        )
        return self.render(
            request,
            "accounts.html",
            rows=rows,
            review_months=self.settings.governance.review_interval_months,
        )

    # -- login --------------------------------------------------------------------------------

    def login_page(self, request: Request) -> Response:
        if self.settings.dashboard.auth == "proxy" or current_user(request):
            return RedirectResponse(safe_next(request.query_params.get("next")), 303)
        return self.render(
            request, "login.html", next=safe_next(request.query_params.get("next")), error=None
        )

    async def login(self, request: Request) -> Response:
        if self.settings.dashboard.auth == "proxy":
            return RedirectResponse("/", status_code=303)
        form = await request.form()
        target = safe_next(str(form.get("next") or "/"))
        if not csrf_ok(request, form):
            return self._form_expired(request)
        name = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        address = request.client.host if request.client else "?"
        # The rules for names are public, so a name that breaks them is refused without hashing.
        account = name if is_valid_name(name) else None
        # Logs name the address, never the name: a password is often typed into the name field.
        wait = self.throttle.begin(account, address)
        if wait:
            log.warning("login refused: too many failures address=%s retry_after=%d", address, wait)
            error = f"Too many failed sign-ins. Try again in {_wait_phrase(wait)}."
            return self._login_refused(request, target, 429, error, retry_after=wait)
        user = None
        if account is not None:
            try:
                user = await self.password_checks.run(
                    partial(authenticate, self.index, account, password)
                )
            except PasswordChecksBusy as busy:
                self.throttle.abandoned(account, address)
                log.warning("login refused: too many password checks at once address=%s", address)
                error = "The dashboard is busy signing other people in. Try again in a moment."
                return self._login_refused(
                    request, target, 503, error, retry_after=busy.retry_after
                )
        if account is None or user is None:
            log.info("login refused address=%s", address)
            error = "The user name or password is not right."
            return self._login_refused(request, target, 401, error)
        self.throttle.succeeded(account, address)
        token = await run_in_threadpool(self.sessions.open, user.name)
        start_session(request, token)
        log.info("login user=%s", user.name)
        return RedirectResponse(target, status_code=303)

    def _login_refused(
        self,
        request: Request,
        target: str,
        status_code: int,
        error: str,
        *,
        retry_after: int | None = None,
    ) -> Response:
        response = self.render(
            request, "login.html", status_code=status_code, next=target, error=error
        )
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        if not csrf_ok(request, form):
            return self._form_expired(request)
        token = session_token(request)
        if token is not None:
            # Deleted from the index, so a copy of the cookie no longer logs anyone in.
            await run_in_threadpool(self.sessions.close, token)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    def _form_expired(self, request: Request) -> Response:
        return self.render(
            request,
            "error.html",
            status_code=403,
            page="error",
            title="The form has expired",
            message="Go back, reload the page and try again.",
        )

    async def not_found(self, request: Request, exc: Exception) -> Response:
        detail = exc.detail if isinstance(exc, HTTPException) else "Not found."
        return self.render(
            request, "error.html", status_code=404, page="error", title="Not found", message=detail
        )


def _wait_phrase(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


VIEW_HEADINGS = {
    "posts": "Mentions and posts",
    "mine": "My items",
    "unassigned": "Unassigned items",
}


def _view_of(filters: Filters, me: str) -> str:
    """Which of the list's named views the filters are: my open items, the unassigned open
    ones, or the plain list (for the heading and the navigation)."""
    if set(filters.statuses) == set(OPEN_STATUSES):
        if filters.assignee == me:
            return "mine"
        if filters.assignee == UNASSIGNED:
            return "unassigned"
    return "posts"


def breach_choices(post: EnrichedPost) -> list[tuple[str, bool]]:
    """The breach rules a person may dismiss, each with whether it is dismissed now: the
    post's breaches and those dismissed before (which a correction may have taken away)."""
    dismissed = post.correction.dismissed_breaches if post.correction else None
    rules = dict.fromkeys(b.rule for b in post.classification.breaches)
    rules.update(dict.fromkeys(dismissed or ()))
    return [(rule, rule in (dismissed or ())) for rule in rules]


def _assignee(value: object) -> str | None:
    """A form's assignee: None (leave as is) for nothing chosen, `UNASSIGNED` for nobody."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    return UNASSIGNED if value == UNASSIGNED_PARAM else value


def _case_saved(case: Case, noted: bool) -> str:
    """The message after a case change: what it is now."""
    if noted and not any(change.at == case.updated_at for change in case.history):
        return "Note added."
    status = STATUS_NAMES[case.status]
    who = f"assigned to {case.assignee}" if case.assignee else "not assigned"
    return f"Case saved: {status}, {who}" + (", note added." if noted else ".")


def _yes_no(value: object) -> bool | None:
    return {"yes": True, "no": False}.get(value) if isinstance(value, str) else None


def _judgements_said(correction: Correction) -> str:
    """The corrected flags and breaches, as the end of the message after a correction."""
    said = ""
    if correction.urgent is not None:
        said += " Escalated as urgent." if correction.urgent else " No longer urgent."
    if correction.abusive is not None:
        said += " Marked abusive." if correction.abusive else " Marked not abusive."
    if correction.dismissed_breaches:
        rules = ", ".join(r.replace("_", " ") for r in correction.dismissed_breaches)
        said += f" Dismissed: {rules}."
    return said


def _sentiment(form: FormData) -> Sentiment | None:
    value = form.get("sentiment")
    for sentiment in SENTIMENTS:
        if value == sentiment:
            return sentiment
    return None


def effective_labels(
    post: EnrichedPost, correction: Correction | None
) -> tuple[Sentiment, tuple[str, ...]]:
    """The labels a person set, where they set them, else the classifier's.

    The index holds the corrected labels already and keeps them when the pipeline indexes the
    post again; this also covers a post corrected before the index kept corrections with the post
    (such a post got the classifier's labels back on a replay).
    """
    sentiment = post.classification.sentiment
    departments = post.classification.departments
    if correction is not None:
        sentiment = correction.sentiment or sentiment
        if correction.departments is not None:
            departments = correction.departments
    return sentiment, departments


def create_app(
    settings: Settings,
    index: Index,
    *,
    session_secret: str | None = None,
    outbox: AlertOutbox | None = None,
) -> Starlette:
    """The dashboard as an ASGI app; `session_secret` defaults to the configured (or ephemeral).

    `outbox` takes the alerts a correction raises (an escalation, a withdrawn notice); by
    default the alerts topic of the configured broker (`KafkaAlertOutbox`, closed at shutdown).
    """
    dash = settings.dashboard
    secret = session_secret or resolve_session_secret(dash)
    own_outbox = KafkaAlertOutbox(settings) if outbox is None else None
    pages = Dashboard(settings, index, outbox if outbox is not None else own_outbox)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if own_outbox is not None:
            await run_in_threadpool(own_outbox.close)

    routes = [
        Route("/", pages.home),
        Route("/healthz", pages.health),
        Route("/login", pages.login_page, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/posts", pages.posts),
        Route("/posts.csv", pages.export),
        Route("/posts/{key:path}", pages.post),
        Route("/corrections", pages.correct, methods=["POST"]),
        Route("/cases", pages.change_case, methods=["POST"]),
        Route("/cases/bulk", pages.bulk_cases, methods=["POST"]),
        Route("/accounts", pages.accounts),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(
            SecurityHeadersMiddleware,
            public_https=settings.organisation.dashboard_url.lower().startswith("https://"),
            secure_cookies=dash.secure_cookies,
            hsts_seconds=dash.hsts_seconds,
        ),
        # The cookie carries the CSRF token, a flash message and, once logged in, the token of
        # the session stored in the index (`SessionKeeper`), which is what a login is.
        Middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie=SESSION_COOKIE,
            max_age=int(dash.session_hours * 3600),
            # lax, not strict: a link in an alert e-mail must open the page logged in
            same_site="lax",
            # The Secure flag is added per request by SecurityHeadersMiddleware.
            https_only=False,
        ),
        Middleware(
            AccessMiddleware,
            settings=dash,
            sessions=pages.sessions if dash.auth == "local" else None,
        ),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={404: pages.not_found},
        lifespan=lifespan,
    )
