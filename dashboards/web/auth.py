"""Who is looking at the dashboard, and the protections every page gets.

Two ways in: ``local`` (a login form against the users in the index) and ``proxy`` (a reverse
proxy did the login and names the user in a header). A local login's session is kept in the index
and the signed cookie only carries its random token, so logging out ends it for every copy of the
cookie. Failed local logins are throttled per account and per client address, and password checks
(Argon2: 64 MiB each) run a few at a time. The proxy's header is believed only when the proxy
proves itself: the shared secret header and/or one of its listed addresses. Every page but the
login page, the static files and the health check needs a user. Forms carry a CSRF token kept in
the cookie session, and every response says not to be framed, sniffed or cached (the pages show
public posts that may hold patient details); over https, cookies are Secure and HSTS is sent.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import quote

import anyio.to_thread
from anyio import CapacityLimiter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboards.web.users import (
    SESSIONS,
    DashboardSession,
    find_session,
    find_user,
    is_valid_name,
    list_sessions,
    open_session,
    session_id,
)
from socmon.config.dashboard import DashboardSettings, LoginLimits
from socmon.index.port import DocumentStore
from socmon.records import utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")

SESSION_COOKIE = "socmon_session"
SESSION_TOKEN = "session"
SESSION_CSRF = "csrf"
CSRF_FIELD = "csrf_token"
# Reachable without a user: the login itself, its stylesheet, and the supervisor's health check.
OPEN_PATHS = ("/login", "/static/", "/healthz")
# Open paths that never show who is logged in, so their requests skip the session look-up.
ANONYMOUS_PATHS = ("/static/", "/healthz")

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


def start_session(request: Request, token: str) -> None:
    """Put a new stored session's `token` in the cookie, with nothing from before carried over
    (a fresh CSRF token too)."""
    request.session.clear()
    request.session[SESSION_TOKEN] = token
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)


def session_token(request: Request) -> str | None:
    token = request.session.get(SESSION_TOKEN)
    return token if isinstance(token, str) and token else None


# -- failed logins ------------------------------------------------------------------------------


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class _FailureLedger:
    """Recent failures per key (one user name, or one address); the `capacity` most recent keys."""

    def __init__(self, limit: int, limits: LoginLimits, capacity: int) -> None:
        self.limit = limit
        self.window = limits.failure_window_minutes * 60
        self.lockout = limits.lockout_seconds
        self.max_lockout = limits.max_lockout_seconds
        self.capacity = capacity
        self._entries: OrderedDict[str, _Failures] = OrderedDict()

    def wait(self, key: str, now: float) -> float:
        entry = self._current(key, now)
        return max(0.0, entry.locked_until - now) if entry else 0.0

    def add(self, key: str, now: float) -> None:
        entry = self._current(key, now) or _Failures()
        entry.count += 1
        entry.last = now
        if entry.count >= self.limit:
            # The exponent is bounded so the float cannot overflow; the cap is reached long before.
            doublings = min(entry.count - self.limit, 32)
            entry.locked_until = now + min(self.max_lockout, self.lockout * 2**doublings)
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            # Memory stays bounded whatever names an attacker tries; the oldest go first.
            self._entries.popitem(last=False)

    def forgive(self, key: str, now: float) -> None:
        """Take back one failure (an attempt counted when it began that did not fail)."""
        entry = self._current(key, now)
        if entry is None:
            return
        entry.count -= 1
        if entry.count <= 0:
            del self._entries[key]
        elif entry.count < self.limit:
            entry.locked_until = 0.0

    def clear(self, key: str) -> None:
        self._entries.pop(key, None)

    def _current(self, key: str, now: float) -> _Failures | None:
        entry = self._entries.get(key)
        if entry is not None and now - entry.last > self.window and now >= entry.locked_until:
            del self._entries[key]
            return None
        return entry


class LoginThrottle:
    """Failed logins per user name and per client address, with a doubling lockout.

    The state is in this dashboard process's memory: a restart forgets it, and each process
    counts on its own. After `LoginLimits.max_failures_per_account` failures for a name (or
    ``max_failures_per_address`` from an address) logins are refused for ``lockout_seconds``,
    doubled by each failure after that, up to ``max_lockout_seconds``; failures are forgotten
    ``failure_window_minutes`` after the last one. An attempt counts as a failure when it begins,
    so parallel attempts cannot slip past the limit, and is forgiven if it succeeds, which also
    clears the name's failures. Attempts refused while locked out do not count, so a lockout
    ends however often someone knocks.
    """

    def __init__(
        self,
        limits: LoginLimits,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = 10_000,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._accounts = _FailureLedger(limits.max_failures_per_account, limits, capacity)
        self._addresses = _FailureLedger(limits.max_failures_per_address, limits, capacity)

    def begin(self, account: str | None, address: str) -> int:
        """0 with the attempt counted, or the whole seconds to wait (nothing counted).

        `account` is None for a name that cannot exist: only the address counts then.
        """
        with self._lock:
            now = self._clock()
            wait = self._addresses.wait(address, now)
            if account is not None:
                wait = max(wait, self._accounts.wait(account, now))
            if wait > 0:
                return max(1, math.ceil(wait))
            self._addresses.add(address, now)
            if account is not None:
                self._accounts.add(account, now)
            return 0

    def succeeded(self, account: str, address: str) -> None:
        """The attempt was right: the name starts afresh, the address gets this attempt back."""
        with self._lock:
            self._accounts.clear(account)
            self._addresses.forgive(address, self._clock())

    def abandoned(self, account: str | None, address: str) -> None:
        """The attempt was not checked (the server was busy): it does not count."""
        with self._lock:
            now = self._clock()
            self._addresses.forgive(address, now)
            if account is not None:
                self._accounts.forgive(account, now)


# -- password checks ----------------------------------------------------------------------------


class PasswordChecksBusy(Exception):
    """Too many password checks are running or waiting; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many password checks at once; retry after {retry_after} s")


class PasswordCheckGate:
    """Runs password checks in worker threads, `concurrency` at a time, `queue` more waiting.

    Argon2 takes its memory (64 MiB by default) for each check, so unbounded parallel logins
    take the process's memory with them; a check beyond the queue is refused at once
    (`PasswordChecksBusy`) instead of waiting. Call `run` from the event loop only.
    """

    def __init__(self, concurrency: int, queue: int) -> None:
        self.concurrency = concurrency
        self.queue = queue
        self._limiter = CapacityLimiter(concurrency)
        self._admitted = 0

    async def run(self, check: Callable[[], T]) -> T:
        if self._admitted >= self.concurrency + self.queue:
            raise PasswordChecksBusy(retry_after=1)
        self._admitted += 1
        try:
            # Not cancellable: a check holds its slot until its thread is done with the memory.
            return await anyio.to_thread.run_sync(check, limiter=self._limiter)
        finally:
            self._admitted -= 1


# -- sessions -----------------------------------------------------------------------------------


class SessionKeeper:
    """The stored sessions of local logins (`users.SESSIONS`) and when they end.

    A session ends at logout, `lifetime` after the login, after `idle` without a request, when
    its user is removed, and when the user's password is set again (sessions older than the user
    record are void). An ended session is deleted when it is next presented, and every login
    deletes the expired ones. The methods block on the index: call them in a worker thread.
    """

    # The last-seen time is written at most this often, not on every page.
    TOUCH_EVERY = timedelta(minutes=1)

    def __init__(
        self,
        index: DocumentStore,
        lifetime: timedelta,
        idle: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.index = index
        self.lifetime = lifetime
        self.idle = idle
        self._clock = clock
        # A last-seen write must not bring back a session that a logout is deleting.
        self._lock = threading.Lock()

    def open(self, user: str) -> str:
        """A new session of `user`; returns the token for the cookie."""
        now = self._clock()
        expired = [s.id for s in list_sessions(self.index) if self._expired(s, now)]
        if expired:
            self.index.delete_documents(SESSIONS, expired)
            log.info("deleted expired dashboard sessions count=%d", len(expired))
        return open_session(self.index, user, now)

    def user_of(self, token: str) -> str | None:
        """The user of the session with `token`, or None when there is none (or it has ended)."""
        now = self._clock()
        session = find_session(self.index, token)
        if session is None:
            return None
        user = find_user(self.index, session.user)
        if self._expired(session, now) or user is None or session.created_at < user.created_at:
            self.close(token)
            return None
        if now - session.last_seen_at >= self.TOUCH_EVERY:
            with self._lock:
                if find_session(self.index, token) is not None:
                    touched = session.model_copy(update={"last_seen_at": now})
                    self.index.put_documents(SESSIONS, [(session.id, touched)])
        return session.user

    def close(self, token: str) -> None:
        with self._lock:
            self.index.delete_documents(SESSIONS, [session_id(token)])

    def _expired(self, session: DashboardSession, now: datetime) -> bool:
        return now - session.created_at > self.lifetime or now - session.last_seen_at > self.idle


# -- middleware ---------------------------------------------------------------------------------


class AccessMiddleware:
    """Admits a request with a user (see the module docstring) and puts it in ``state.user``."""

    def __init__(
        self, app: ASGIApp, settings: DashboardSettings, sessions: SessionKeeper | None
    ) -> None:
        self.app = app
        self.settings = settings
        self.sessions = sessions
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies]
        secret = settings.proxy_secret
        self.proxy_secret = secret.get_secret_value().encode() if secret is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if self.settings.auth == "proxy":
            user, refusal = self._proxy_user(request)
        elif scope["path"].startswith(ANONYMOUS_PATHS):
            user, refusal = None, None
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
        problem = self._not_from_proxy(request, peer)
        if problem:
            # The header could be forged by anyone who reaches the port directly.
            log.warning("refused a request from %s: %s", peer or "?", problem)
            msg = "This dashboard is only reachable through the organisation's login proxy.\n"
            return None, PlainTextResponse(msg, status_code=403)
        name = request.headers.get(self.settings.proxy_user_header, "")
        if not name:
            msg = "Not logged in: the login proxy did not name a user.\n"
            return None, PlainTextResponse(msg, status_code=401)
        if not is_valid_name(name):
            # Never the name itself in the log: it may hold markup or control characters.
            digest = hashlib.sha256(name.encode(errors="replace")).hexdigest()[:12]
            log.warning(
                "refused a user name from the login proxy: not an allowed name "
                "length=%d sha256=%s peer=%s",
                len(name),
                digest,
                peer or "?",
            )
            msg = "The login proxy sent a user name that is not allowed.\n"
            return None, PlainTextResponse(msg, status_code=403)
        return name, None

    def _not_from_proxy(self, request: Request, peer: str) -> str | None:
        """Why the request cannot be from the login proxy, or None when it proved it is."""
        if self.proxies:
            try:
                trusted = any(ipaddress.ip_address(peer) in net for net in self.proxies)
            except ValueError:
                trusted = False
            if not trusted:
                return "not a trusted proxy address"
        if self.proxy_secret is not None:
            given = request.headers.get(self.settings.proxy_secret_header, "")
            if not hmac.compare_digest(given.encode(errors="replace"), self.proxy_secret):
                return f"no valid {self.settings.proxy_secret_header} header"
        return None

    async def _session_user(self, request: Request) -> str | None:
        token = session_token(request)
        if token is None or self.sessions is None:
            return None
        user = await run_in_threadpool(self.sessions.user_of, token)
        if user is None:
            request.session.pop(SESSION_TOKEN, None)
        return user

    @staticmethod
    def _to_login(request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/"
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


class SecurityHeadersMiddleware:
    """Adds the headers every response of the dashboard carries, and over https the `Secure`
    flag on cookies and `Strict-Transport-Security`.

    A request counts as https when it came over https or when the dashboard's public address
    (`public_https`: ``organisation.dashboard_url``) is https, the TLS being done by a proxy.
    `secure_cookies` True or False overrides that for the cookies.
    """

    HEADERS: tuple[tuple[str, str], ...] = (
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        # Links to the platforms must not tell them the dashboard's addresses.
        ("Referrer-Policy", "no-referrer"),
    )

    def __init__(
        self,
        app: ASGIApp,
        *,
        public_https: bool = False,
        secure_cookies: bool | None = None,
        hsts_seconds: int = 0,
    ) -> None:
        self.app = app
        self.public_https = public_https
        self.secure_cookies = secure_cookies
        self.hsts_seconds = hsts_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")
        https = scope.get("scheme") == "https" or self.public_https
        secure = https if self.secure_cookies is None else self.secure_cookies

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                if secure:
                    message["headers"] = [_secure_cookie(h) for h in message.get("headers", [])]
                headers = MutableHeaders(scope=message)
                for name, value in self.HEADERS:
                    headers.setdefault(name, value)
                if https and self.hsts_seconds:
                    headers.setdefault("Strict-Transport-Security", f"max-age={self.hsts_seconds}")
                if not static:
                    # Pages hold members of the public's posts: keep them out of shared caches
                    # and the browser's disk cache.
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secure_cookie(header: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    name, value = header
    if name.lower() != b"set-cookie":
        return header
    if any(part.strip().lower() == b"secure" for part in value.split(b";")):
        return header
    return name, value + b"; secure"
