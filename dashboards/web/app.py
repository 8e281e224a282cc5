"""The dashboard's web application (Starlette): routes, templates and the middleware stack.

`create_app` builds it against any `Index` adapter (SQLite or Elasticsearch); `socmon dashboard`
serves it with uvicorn. Pages are rendered on the server with Jinja2 (autoescaped: the posts are
the public's words) and need no script; the chart is inline SVG.
"""

from __future__ import annotations

import logging
import math
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
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

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
from dashboards.web.chart import daily_counts, render_chart
from dashboards.web.feedback import (
    Correction,
    all_corrections,
    latest_corrections,
    record_correction,
)
from dashboards.web.highlight import highlight, merge_spans
from dashboards.web.users import authenticate, is_valid_name
from dashboards.web.views import (
    PLATFORMS,
    POST_KINDS,
    account_rows,
    alert_ids_for,
    alerted_people,
    local_midnight,
    parse_filters,
)
from socmon.index.port import Index
from socmon.records import SENTIMENTS, EnrichedPost, Sentiment, utcnow
from socmon.register import load_register
from socmon.settings import Settings
from socmon.urls import original_link

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
CHART_DAYS = 30
FLASH = "flash"


def post_url(key: str) -> str:
    """The item page of a post (keys hold ``:`` and may hold ``/``; both are fine in a path)."""
    return "/posts/" + quote(key, safe=":@")


class Dashboard:
    """The pages, bound to one index and one set of settings."""

    def __init__(self, settings: Settings, index: Index) -> None:
        self.settings = settings
        self.index = index
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
        }
        return self.templates.TemplateResponse(
            request, template, base | context, status_code=status_code
        )

    # -- pages --------------------------------------------------------------------------------

    def home(self, request: Request) -> Response:
        return RedirectResponse("/posts", status_code=303)

    def health(self, request: Request) -> Response:
        return PlainTextResponse("ok\n")

    def posts(self, request: Request) -> Response:
        """The mentions list: filters, full-text search, the 30-day chart, newest first."""
        filters = parse_filters(request.query_params, tuple(self.department_names))
        query = filters.query(self.zone)
        posts = self.index.search_posts(query)
        total = sum(self.index.count_posts(query, by=()).values())
        today = self.today()
        first_day = today - timedelta(days=CHART_DAYS - 1)
        # The chart keeps every filter but the dates: it always shows the last 30 days.
        chart_query = replace(
            filters.without_dates().query(self.zone),
            since=local_midnight(first_day, self.zone),
            limit=0,
        )
        days = daily_counts(
            self.index.count_posts(chart_query, by=("day", "sentiment")), today, CHART_DAYS
        )
        corrected = latest_corrections(all_corrections(self.index))
        chart_title = f"Posts per day by sentiment, {first_day:%d %b} to {today:%d %b %Y}" + (
            " (filtered)" if filters.active else ""
        )
        accounts = sorted(
            {acc.handle for acc in self.settings.accounts}
            | {handle for _, handle in self.index.last_post_per_account()}
            | ({filters.account} if filters.account else set()),
            key=str.casefold,
        )
        return self.render(
            request,
            "posts.html",
            filters=filters,
            posts=[self._row(p, corrected.get(p.key)) for p in posts],
            total=total,
            chart=render_chart(days, chart_title),
            chart_days=days,
            chart_title=chart_title,
            sentiments=SENTIMENTS,
            platforms=PLATFORMS,
            kinds=POST_KINDS,
            departments=sorted(self.department_names.items(), key=lambda d: d[1]),
            accounts=accounts,
            today=today,
            week_ago=(today - timedelta(days=6)).isoformat(),
            month_ago=first_day.isoformat(),
            query_string=lambda **changes: urlencode(filters.params(**changes)),
        )

    @staticmethod
    def _row(post: EnrichedPost, correction: Correction | None) -> dict[str, Any]:
        sentiment, departments = effective_labels(post, correction)
        return {
            "post": post,
            "sentiment": sentiment,
            "departments": departments,
            "corrected": correction is not None,
        }

    def post(self, request: Request) -> Response:
        """One post: its text with the breach evidence marked, the reasons, who was alerted."""
        key = request.path_params["key"]
        post = self.index.get_post(key)
        if post is None:
            raise HTTPException(404, f"No post {key!r} in the index (it may have been deleted).")
        deliveries = [
            delivery
            for alert_id in alert_ids_for(key)
            for delivery in self.index.deliveries_for(alert_id)
        ]
        history = [c for c in all_corrections(self.index) if c.post_key == key]
        correction = latest_corrections(history).get(key)
        sentiment, departments = effective_labels(post, correction)
        breaches = post.classification.breaches
        marked = {rule for span in merge_spans(post.post.text, breaches) for rule in span.rules}
        return self.render(
            request,
            "post.html",
            page="posts",
            item=post,
            text_html=highlight(post.post.text, breaches),
            unplaced=[b for b in breaches if b.rule not in marked],
            sentiment=sentiment,
            departments=departments,
            alerted=alerted_people(deliveries),
            history=list(reversed(history)),
            sentiments=SENTIMENTS,
            all_departments=sorted(self.department_names.items(), key=lambda d: d[1]),
        )

    async def correct(self, request: Request) -> Response:
        """Store a person's correction of a post's sentiment and departments."""
        form = await request.form()
        key = str(form.get("post_key") or "")
        if not csrf_ok(request, form):
            return self._form_expired(request)
        post = await run_in_threadpool(self.index.get_post, key)
        if post is None:
            raise HTTPException(404, f"No post {key!r} in the index (it may have been deleted).")
        sentiment = _sentiment(form)
        departments = [d for d in form.getlist("department") if d in self.department_names]
        user = current_user(request) or "?"
        correction = await run_in_threadpool(
            lambda: record_correction(
                self.index,
                post,
                corrected_by=user,
                sentiment=sentiment,
                departments=departments if form.get("departments_judged") else None,
            )
        )
        if correction is None:
            request.session[FLASH] = "Nothing changed: the labels were already as chosen."
        else:
            log.info("correction stored post=%s by=%s", key, user)
            now_sentiment, now_departments = effective_labels(post, correction)
            names = ", ".join(self.department_names.get(d, d) for d in now_departments)
            request.session[FLASH] = (
                f"Correction saved: sentiment {now_sentiment}, departments {names or 'none'}."
            )
        return RedirectResponse(post_url(key), status_code=303)

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


def create_app(settings: Settings, index: Index, *, session_secret: str | None = None) -> Starlette:
    """The dashboard as an ASGI app; `session_secret` defaults to the configured (or ephemeral)."""
    dash = settings.dashboard
    secret = session_secret or resolve_session_secret(dash)
    pages = Dashboard(settings, index)
    routes = [
        Route("/", pages.home),
        Route("/healthz", pages.health),
        Route("/login", pages.login_page, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/posts", pages.posts),
        Route("/posts/{key:path}", pages.post),
        Route("/corrections", pages.correct, methods=["POST"]),
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
    )
