"""What the connectors on plain httpx share (LinkedIn, Care Opinion): one TLS context per
process, which answers are retried, and how long a 429 asks to wait."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any

import certifi
import httpx
from tenacity import retry_if_exception_type

from ingest.connector import SourceUnavailable
from ingest.connectors.common import ApiCallRecorder, api_retrying, retry_policy
from socmon.config.connectors import ApiClientSettings


@cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings httpx would build (certifi's CA bundle), made once per process: building
    them takes a noticeable part of a second, and every client would otherwise do it again."""
    return ssl.create_default_context(cafile=certifi.where())


class ServerError(Exception):
    """A 5xx answer: retried, then `SourceUnavailable`."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


TRANSIENT = (ServerError, httpx.TimeoutException, httpx.NetworkError)


def retry_after_seconds(headers: Mapping[str, str], default: float) -> float:
    """The wait a 429 asks for: ``Retry-After`` in seconds or as an HTTP date, else `default`."""
    raw = headers.get("retry-after")
    if not raw:
        return default
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return default
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def counted_get(
    client: httpx.Client,
    on_api_call: ApiCallRecorder | None,
    source: str,
    path: str,
    **options: Any,
) -> httpx.Response:
    """``GET path``, telling `on_api_call` (the metrics) how it went: the status, ``timeout`` or
    ``error``. A 5xx raises `ServerError` (retried by the caller), a network failure its own
    httpx error; any other answer is returned for the caller to read."""
    try:
        response = client.get(path, **options)
    except httpx.TimeoutException:
        if on_api_call is not None:
            on_api_call(source, "timeout")
        raise
    except httpx.TransportError:
        if on_api_call is not None:
            on_api_call(source, "error")
        raise
    if on_api_call is not None:
        on_api_call(source, str(response.status_code))
    if response.status_code >= 500:
        raise ServerError(response.status_code)
    return response


def retried(
    send: Callable[[], httpx.Response],
    settings: ApiClientSettings,
    what: str,
    where: str,
    sleep: Callable[[float], None],
) -> httpx.Response:
    """`send()` with the bounded retries of `settings` for 5xx answers and network failures
    (each failed try logged with `where`); after the last one, `SourceUnavailable` naming `what`
    (the platform and endpoint)."""
    retrying = api_retrying(
        retry_policy(settings), retry_if_exception_type(TRANSIENT), where, sleep=sleep
    )
    attempts = settings.max_retries + 1
    try:
        return retrying(send)
    except ServerError as exc:
        msg = f"{what} kept failing ({exc}) after {attempts} attempts; trying again next poll"
        raise SourceUnavailable(msg) from exc
    except httpx.TransportError as exc:
        msg = (
            f"{what} did not answer after {attempts} attempts ({type(exc).__name__}); "
            "trying again next poll"
        )
        raise SourceUnavailable(msg) from exc
