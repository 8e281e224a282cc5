"""Who is looking at the dashboard, and the protections every page gets.

Two ways in: ``local`` (a login form against the users in the index; a signed, expiring session
cookie) and ``proxy`` (a reverse proxy did the login and names the user in a header, believed
only when the request comes from one of the proxy's addresses). Every page but the login page,
the static files and the health check needs a user. Forms carry a CSRF token kept in the session,
and every response says not to be framed, sniffed or cached (the pages show public posts that
may hold patient details).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
import time
from collections.abc import Mapping
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboards.web.users import find_user
from socmon.config.dashboard import DashboardSettings
from socmon.index.port import DocumentStore

log = logging.getLogger(__name__)

SESSION_COOKIE = "socmon_session"
SESSION_USER = "user"
SESSION_SINCE = "since"
SESSION_CSRF = "csrf"
CSRF_FIELD = "csrf_token"
# Reachable without a user: the login itself, its stylesheet, and the supervisor's health check.
OPEN_PATHS = ("/login", "/static/", "/healthz")
MAX_PROXY_USER = 256

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def resolve_session_secret(settings: DashboardSettings) -> str:
    """The configured signing secret, or an ephemeral one (with a warning) when unset."""
    if settings.session_secret is not None and settings.session_secret.get_secret_value():
        return settings.session_secret.get_secret_value()
    log.warning(
        "SOCMON_DASHBOARD__SESSION_SECRET is not set: using an ephemeral session secret, so "
        "everyone is logged out when the dashboard restarts"
    )
    return secrets.token_urlsafe(32)


def is_open_path(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in OPEN_PATHS)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def current_user(request: Request) -> str | None:
    user = request.scope.get("state", {}).get("user")
    return user if isinstance(user, str) else None


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


def csrf_ok(request: Request, form: Mapping[str, object]) -> bool:
    """True when the form's token is the session's (compared in constant time)."""
    expected = request.session.get(SESSION_CSRF)
    given = form.get(CSRF_FIELD)
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and bool(expected)
        and hmac.compare_digest(expected.encode(), given.encode())
    )


def start_session(request: Request, user: str) -> None:
    """Log `user` in: a fresh session (and CSRF token), so nothing from before carries over."""
    request.session.clear()
    request.session[SESSION_USER] = user
    request.session[SESSION_SINCE] = int(time.time())
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)


class AccessMiddleware:
    """Admits a request with a user (see the module docstring) and puts it in ``state.user``."""

    def __init__(self, app: ASGIApp, settings: DashboardSettings, index: DocumentStore) -> None:
        self.app = app
        self.settings = settings
        self.index = index
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if self.settings.auth == "proxy":
            user, refusal = self._proxy_user(request)
        else:
            user, refusal = await self._session_user(request), None
        if user is not None:
            scope.setdefault("state", {})["user"] = user
        elif not is_open_path(scope["path"]):
            response = refusal or self._to_login(request)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _proxy_user(self, request: Request) -> tuple[str | None, Response | None]:
        peer = request.client.host if request.client else ""
        try:
            trusted = any(ipaddress.ip_address(peer) in net for net in self.proxies)
        except ValueError:
            trusted = False
        if not trusted:
            # The header could be forged by anyone who reaches the port directly.
            log.warning("refused a request from %s: not a trusted proxy address", peer or "?")
            msg = "This dashboard is only reachable through the organisation's login proxy.\n"
            return None, PlainTextResponse(msg, status_code=403)
        name = request.headers.get(self.settings.proxy_user_header, "").strip()
        if not name or len(name) > MAX_PROXY_USER or not name.isprintable():
            msg = "Not logged in: the login proxy did not name a user.\n"
            return None, PlainTextResponse(msg, status_code=401)
        return name, None

    async def _session_user(self, request: Request) -> str | None:
        user = request.session.get(SESSION_USER)
        since = request.session.get(SESSION_SINCE)
        if not isinstance(user, str) or not isinstance(since, int):
            return None
        # An absolute limit: the cookie's own max-age slides with every response.
        if time.time() - since > self.settings.session_hours * 3600:
            request.session.pop(SESSION_USER, None)
            return None
        # A user removed from the index loses access at once, not when the cookie expires.
        if await run_in_threadpool(find_user, self.index, user) is None:
            request.session.pop(SESSION_USER, None)
            return None
        return user

    @staticmethod
    def _to_login(request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/"
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


class SecurityHeadersMiddleware:
    """Adds the headers every response of the dashboard carries."""

    HEADERS: tuple[tuple[str, str], ...] = (
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        # Links to the platforms must not tell them the dashboard's addresses.
        ("Referrer-Policy", "no-referrer"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.HEADERS:
                    headers.setdefault(name, value)
                if not static:
                    # Pages hold members of the public's posts: keep them out of shared caches
                    # and the browser's disk cache.
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
