"""The webhook receiver: a small Starlette app the platforms push to.

``/webhooks/meta``: Meta's subscription check (``GET``, the verify token) and its pushes
(``POST``, signed with ``X-Hub-Signature-256``) for Page ``feed`` and Instagram ``comments`` and
``mentions``. ``/webhooks/x``: X's CRC challenge (``GET ?crc_token=``) and its Activity API
events (``POST``, signed with ``x-twitter-webhooks-signature``). ``/healthz`` says it is up.

A push is answered 200 only after the broker acknowledged what it brought (posts to
``socmon.posts.raw``, anything malformed to the dead-letter topic), and 503 when the broker did
not, so the platform sends it again: a disconnect loses nothing. The send runs in a worker
thread; the event loop never waits on Kafka. A body is read only up to 1 MB (413 beyond) and its
signature is checked before a byte of it is parsed (401 when wrong, with a one-line log that
never holds the body or a secret).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ingest.webhooks.mentions import MentionFetcher, MentionUnavailable
from ingest.webhooks.meta import meta_push, parse_body
from ingest.webhooks.push import Accounts, Malformed, MentionRef, Push
from ingest.webhooks.signatures import (
    meta_signature_valid,
    verify_token_matches,
    x_crc_response,
    x_signature_valid,
)
from ingest.webhooks.sink import PostSink, SinkUnavailable
from ingest.webhooks.x import x_push
from socmon.deadletters import dead_letter
from socmon.metrics import Metrics, WebhookMetrics
from socmon.records import DeadLetter, Post
from socmon.settings import Settings

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000
"""The largest push read (bytes). Meta batches at most 1,000 changes and X sends one event per
request, far below this; anything larger is refused (413) before it is buffered."""
META_PATH = "/webhooks/meta"
X_PATH = "/webhooks/x"
META_SIGNATURE = "x-hub-signature-256"
X_SIGNATURE = "x-twitter-webhooks-signature"
# Meta's hub.challenge is a number; anything else is not echoed back.
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TooLarge(Exception):
    """The body is over `MAX_BODY`."""


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The raw body, read chunk by chunk and given up on past `limit` (`TooLarge`)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return bytes(body)


def reason_label(reason: str) -> str:
    """A small label set for the dead-letter metric: the reason's first words, not its details."""
    for start, label in (
        ("not valid JSON", "invalid_json"),
        ("missing field", "missing_field"),
        ("withheld", "withheld"),
        ("mention could not be read", "not_available"),
    ):
        if reason.startswith(start):
            return label
    if "is not an active" in reason:
        return "unregistered"
    return "invalid_value"


@dataclass
class Receiver:
    """What the routes share: the secrets, the register, where posts go, and the counters."""

    settings: Settings
    accounts: Accounts
    sink: PostSink
    fetcher: MentionFetcher
    metrics: Metrics
    webhook_metrics: WebhookMetrics

    # --- Meta ---------------------------------------------------------------------------

    async def meta_verify(self, request: Request) -> Response:
        """Meta's subscription check: echo ``hub.challenge`` if the verify token is ours."""
        token = self.settings.connectors.webhooks.meta_verify_token
        params = request.query_params
        challenge = params.get("hub.challenge", "")
        if (
            token is not None
            and params.get("hub.mode") == "subscribe"
            and verify_token_matches(token.get_secret_value(), params.get("hub.verify_token"))
            and CHALLENGE.fullmatch(challenge)
        ):
            self._count("meta", "verified")
            return PlainTextResponse(challenge)
        self._count("meta", "refused")
        log.warning("webhook platform=meta subscription check refused: wrong verify token or mode")
        return PlainTextResponse("verification failed", status_code=403)

    async def meta_event(self, request: Request) -> Response:
        secret = self.settings.connectors.webhooks.meta_app_secret
        assert secret is not None  # the route exists only with the secret

        def read(body: bytes) -> Push:
            return meta_push(parse_body(body), self.accounts)

        return await self._push(
            request,
            "meta",
            lambda body: meta_signature_valid(
                secret.get_secret_value(), body, request.headers.get(META_SIGNATURE)
            ),
            META_SIGNATURE,
            read,
        )

    # --- X ------------------------------------------------------------------------------

    async def x_crc(self, request: Request) -> Response:
        """X's challenge-response check: the HMAC of ``crc_token`` with the consumer secret."""
        secret = self.settings.connectors.webhooks.x_consumer_secret
        assert secret is not None
        crc_token = request.query_params.get("crc_token")
        if not crc_token:
            self._count("twitter", "refused")
            return PlainTextResponse("crc_token is missing", status_code=400)
        self._count("twitter", "verified")
        return JSONResponse(x_crc_response(secret.get_secret_value(), crc_token))

    async def x_event(self, request: Request) -> Response:
        secret = self.settings.connectors.webhooks.x_consumer_secret
        assert secret is not None

        def read(body: bytes) -> Push:
            return x_push(parse_body(body), self.accounts)

        return await self._push(
            request,
            "twitter",
            lambda body: x_signature_valid(
                secret.get_secret_value(), body, request.headers.get(X_SIGNATURE)
            ),
            X_SIGNATURE,
            read,
        )

    # --- shared -------------------------------------------------------------------------

    async def _push(
        self,
        request: Request,
        platform: str,
        signed: Callable[[bytes], bool],
        header: str,
        read: Callable[[bytes], Push],
    ) -> Response:
        try:
            body = await read_body(request)
        except TooLarge:
            self._count(platform, "too_large")
            log.warning("webhook platform=%s refused: body over %d bytes", platform, MAX_BODY)
            return PlainTextResponse("body too large", status_code=413)
        if not signed(body):
            self._count(platform, "bad_signature")
            why = "signature does not match" if request.headers.get(header) else "no signature"
            log.warning("webhook platform=%s refused: %s (header %s)", platform, why, header)
            return PlainTextResponse("invalid signature", status_code=401)
        try:
            push = read(body)
        except Malformed as exc:
            push = Push()
            push.reject(f"webhooks:{platform} body", body, str(exc))
        try:
            await run_in_threadpool(self.sink.deliver, push.posts, push.rejects)
        except SinkUnavailable as exc:
            self._count(platform, "broker_unavailable")
            log.error(
                "webhook platform=%s answered 503, the platform will retry: %s", platform, exc
            )
            return PlainTextResponse("broker unavailable, send again later", status_code=503)
        self._count(platform, "accepted")
        self._produced(push.posts, push.rejects)
        for reason in push.ignored:
            self.webhook_metrics.ignored.labels(platform, reason).inc()
        task = BackgroundTask(self.fetch_mentions, push.mentions) if push.mentions else None
        return PlainTextResponse("ok", background=task)

    def fetch_mentions(self, refs: Sequence[MentionRef]) -> None:
        """After the answer: read each mention's text (bounded retries) and produce it, or its
        ids as a dead letter with the reason. Runs in a worker thread."""
        posts: list[Post] = []
        rejects: list[DeadLetter] = []
        for ref in refs:
            try:
                posts.append(self.fetcher.fetch(ref))
            except MentionUnavailable as exc:
                reason = f"mention could not be read: {exc}"
                rejects.append(dead_letter("ingest", ref.origin, ref.ids, reason))
        try:
            self.sink.deliver(posts, rejects)
        except SinkUnavailable as exc:
            # Meta has had its 200 and will not send these again; the poll of the tags edge
            # finds tagged media, the log keeps the ids of the rest.
            self.webhook_metrics.mention_fetches.labels("lost").inc(len(refs))
            ids = ", ".join(f"{r.media_id}/{r.comment_id or '-'}" for r in refs)
            log.error("webhook instagram mentions not produced (media/comment %s): %s", ids, exc)
            return
        self.webhook_metrics.mention_fetches.labels("ok").inc(len(posts))
        self.webhook_metrics.mention_fetches.labels("failed").inc(len(rejects))
        self._produced(posts, rejects)

    def _produced(self, posts: Sequence[Post], rejects: Sequence[DeadLetter]) -> None:
        for post in posts:
            self.metrics.items_out.labels("ingest", post.platform).inc()
            self.metrics.connector_fetched.labels(post.source).inc()
        for reject in rejects:
            self.metrics.deadletters.labels("ingest", reason_label(reject.reason)).inc()

    def _count(self, platform: str, result: str) -> None:
        self.webhook_metrics.requests.labels(platform, result).inc()


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


def create_app(
    settings: Settings,
    sink: PostSink,
    metrics: Metrics,
    webhook_metrics: WebhookMetrics,
    fetcher: MentionFetcher | None = None,
) -> Starlette:
    """The receiver app; a platform whose secret is not set has no route (404)."""
    hooks = settings.connectors.webhooks
    if fetcher is None:
        fetcher = MentionFetcher(
            settings.connectors.facebook,
            on_api_call=lambda source, status: metrics.connector_api_calls.labels(
                source, status
            ).inc(),
        )
    receiver = Receiver(
        settings, Accounts.of(settings.accounts), sink, fetcher, metrics, webhook_metrics
    )
    routes = [Route("/healthz", healthz, methods=["GET"])]
    handlers: list[tuple[str, str, Callable[[Request], Awaitable[Response]]]] = []
    if hooks.meta_app_secret is not None:
        handlers += [
            ("GET", META_PATH, receiver.meta_verify),
            ("POST", META_PATH, receiver.meta_event),
        ]
    if hooks.x_consumer_secret is not None:
        handlers += [("GET", X_PATH, receiver.x_crc), ("POST", X_PATH, receiver.x_event)]
    routes += [Route(path, handler, methods=[method]) for method, path, handler in handlers]
    return Starlette(routes=routes)
