"""Sending through a channel with bounded retries and a circuit breaker.

Retries use tenacity: exponential backoff with a cap, the server's ``Retry-After`` honoured when it
asks (up to a limit; beyond it the delivery gives up at once). The breaker is per channel: after
N failed attempts in a row it fails fast for a while, so a dead webhook does not hold up e-mail
behind its retries; after the pause one trial attempt decides whether it closes again.

Why a delivery failed is the channel's error, which may quote the server's answer, and a server
may echo the webhook URL or the credentials it was sent: the reasons a `Dispatcher` hands back
(which become the deliveries' details, the dead letters' reasons and the warnings) are redacted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from alerting.channels import (
    Channel,
    DeliveryFailed,
    DeliveryRefused,
    PartlyDelivered,
    RetryLater,
    UnknownRecipient,
)
from alerting.render import Message
from socmon.config.alerting import CircuitBreakerSettings, RetrySettings
from socmon.metrics import AlertingMetrics
from socmon.redact import Redactor

log = logging.getLogger(__name__)


class CircuitOpen(DeliveryFailed):
    """The channel's circuit breaker is open: not tried, failed at once."""


class CircuitBreaker:
    """Closed → open after `failures` failed attempts in a row → half-open after `reset_seconds`
    (one trial) → closed on success, open again on failure."""

    def __init__(
        self,
        channel: str,
        settings: CircuitBreakerSettings,
        monotonic: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, bool], None] | None = None,
    ) -> None:
        self.channel = channel
        self.settings = settings
        self.monotonic = monotonic
        self.on_change = on_change
        self.state: Literal["closed", "open", "half_open"] = "closed"
        self.failures = 0
        self.opened_at = 0.0

    def allow(self) -> bool:
        if self.state == "open":
            if self.monotonic() - self.opened_at < self.settings.reset_seconds:
                return False
            self.state = "half_open"
        return True

    def retry_in(self) -> float:
        return max(0.0, self.settings.reset_seconds - (self.monotonic() - self.opened_at))

    def success(self) -> None:
        if self.state != "closed":
            log.warning("channel=%s circuit closed: delivering again", self.channel)
            self._notify(False)
        self.state, self.failures = "closed", 0

    def failure(self) -> None:
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.settings.failures:
            if self.state != "open":
                log.warning(
                    "channel=%s circuit open after %d failed attempts: failing fast for %.0f s",
                    self.channel,
                    self.failures,
                    self.settings.reset_seconds,
                )
                self._notify(True)
            self.state, self.opened_at = "open", self.monotonic()

    def _notify(self, is_open: bool) -> None:
        if self.on_change is not None:
            self.on_change(self.channel, is_open)


@dataclass
class SendResult:
    """Who of a group was told, and who was not with the reason."""

    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, DeliveryFailed) and not isinstance(exc, DeliveryRefused | CircuitOpen)


class Dispatcher:
    """Sends a message to a group through one channel; never raises a `DeliveryFailed`.

    `redactor` (made from the settings) takes the secrets out of the reasons of failures.
    """

    def __init__(
        self,
        channel: Channel,
        retry: RetrySettings,
        breaker: CircuitBreaker,
        metrics: AlertingMetrics | None = None,
        sleep: Callable[[float], None] = time.sleep,
        redactor: Redactor | None = None,
    ) -> None:
        self.channel = channel
        self.redactor = redactor or Redactor()
        self.retry = retry
        self.breaker = breaker
        self.metrics = metrics
        self.sleep = sleep
        self._backoff = wait_exponential(
            multiplier=retry.initial_seconds, min=retry.initial_seconds, max=retry.max_seconds
        )

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryLater) and exc.retry_after is not None:
            return exc.retry_after
        return float(self._backoff(state))

    def _stop(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        # Waiting longer than this would hold every other alert up: give up, dead-letter.
        if (
            isinstance(exc, RetryLater)
            and exc.retry_after is not None
            and exc.retry_after > self.retry.max_retry_after_seconds
        ):
            return True
        return bool(stop_after_attempt(self.retry.attempts)(state))

    def _attempt(self, message: Message, recipients: Sequence[str]) -> None:
        if not self.breaker.allow():
            msg = (
                f"{self.channel.name} circuit open after repeated failures; "
                f"trying again in {self.breaker.retry_in():.0f} s"
            )
            raise CircuitOpen(msg)
        try:
            self.channel.send(message, recipients)
        except (UnknownRecipient, PartlyDelivered):
            raise  # a gap in the configuration, not a sign the channel is down
        except DeliveryFailed:
            self.breaker.failure()
            raise
        self.breaker.success()

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if self.metrics is not None:
            self.metrics.retries.labels(self.channel.name).inc()
        log.info(
            "channel=%s attempt=%d failed (%s); retrying",
            self.channel.name,
            state.attempt_number,
            self.redactor.redact(str(exc)),
        )

    def send(self, message: Message, recipients: Sequence[str]) -> SendResult:
        """Try to tell every recipient; the result says who was told and who was not, and why
        (with no secret in the why)."""
        result = self._send(message, recipients)
        result.failed = {who: self.redactor.redact(why) for who, why in result.failed.items()}
        return result

    def _send(self, message: Message, recipients: Sequence[str]) -> SendResult:
        result = SendResult()
        pending: list[str] = []
        for recipient in recipients:
            # Someone the channel has no address for fails alone; the rest of the group is told.
            try:
                self._check_address(recipient)
            except UnknownRecipient as exc:
                result.failed[recipient] = str(exc)
            else:
                pending.append(recipient)
        if not pending:
            return result
        retrying = Retrying(
            stop=self._stop,
            wait=self._wait,
            retry=retry_if_exception(_retryable),
            sleep=self.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            retrying(self._attempt, message, pending)
        except PartlyDelivered as exc:
            result.failed |= exc.refused
            result.sent += [r for r in pending if r not in exc.refused]
            return result
        except DeliveryFailed as exc:
            for recipient in pending:
                result.failed[recipient] = str(exc)
            return result
        result.sent += pending
        return result

    def _check_address(self, recipient: str) -> None:
        address_of = getattr(self.channel, "address_of", None)
        if address_of is not None:
            address_of(recipient)
