"""What the platform connectors share: text clean-up, building a `Post` or rejecting the item,
retry limits, and picking a platform's accounts from the register."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import tenacity
from pydantic import ValidationError

from socmon.config.connectors import ApiClientSettings
from socmon.config.governance import OfficialAccount
from socmon.records import Post, describe_validation_error

log = logging.getLogger(__name__)

# Zero-width space, word joiner and BOM hide words ("A&E") from keyword rules; the zero-width
# joiner and non-joiner stay, since emoji sequences and Urdu/Persian spelling need them.
STRIPPED_CHARACTERS = dict.fromkeys(map(ord, "\u200b\u2060\ufeff"))

ApiCallRecorder = Callable[[str, str], None]
"""Called with (source, HTTP status or "timeout") after every API request: feeds the metrics."""


class Rejected(ValueError):
    """One item cannot become a `Post`; the message is the dead letter's reason."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of 5xx answers and time-outs: `attempts` tries, exponential wait capped."""

    attempts: int = 3
    wait_initial: float = 1.0
    wait_max: float = 30.0


def retry_policy(settings: ApiClientSettings) -> RetryPolicy:
    """The retry limits a platform's settings ask for (`max_retries` after the first try)."""
    return RetryPolicy(
        attempts=settings.max_retries + 1,
        wait_initial=settings.retry_backoff_seconds,
        wait_max=60.0,
    )


def clean_text(text: str) -> str:
    """Post text as classifiers should see it; lone surrogates (unencodable) are rejected."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        msg = f"text has an unpaired surrogate at position {exc.start} (not valid Unicode)"
        raise Rejected(msg) from exc
    return unicodedata.normalize("NFC", text.translate(STRIPPED_CHARACTERS))


def validated_post(values: Mapping[str, Any], what: str | None = None) -> Post:
    """`values` as a `Post`; a value the record refuses rejects the item, naming it (`what`)."""
    try:
        return Post.model_validate(values)
    except ValidationError as exc:
        detail = describe_validation_error(exc)
        raise Rejected(f"{what}: {detail}" if what else detail) from exc


def active_accounts(accounts: Iterable[OfficialAccount], platform: str) -> list[OfficialAccount]:
    """The register's active accounts on `platform`."""
    return [a for a in accounts if a.platform == platform and a.status == "active"]


def _describe(exc: BaseException | None) -> str:
    return str(exc) if exc is not None else ""


def api_retrying(
    policy: RetryPolicy,
    retry: tenacity.retry_base,
    where: str,
    *,
    describe: Callable[[BaseException | None], str] = _describe,
    sleep: Callable[[float], None] | None = None,
) -> tenacity.Retrying:
    """Bounded retries of one API call: `policy.attempts` tries with capped exponential waits,
    each failed try logged with `where` (say which source and endpoint; never a token)."""
    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts),
        wait=tenacity.wait_exponential(multiplier=policy.wait_initial, max=policy.wait_max),
        retry=retry,
        reraise=True,
        sleep=sleep or tenacity.nap.sleep,
        before_sleep=lambda state: log.warning(
            "%s attempt=%d failed, retrying: %s",
            where,
            state.attempt_number,
            describe(state.outcome.exception() if state.outcome else None),
        ),
    )
