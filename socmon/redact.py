"""Secrets never shown: `Redactor` replaces every configured secret in a text with ``[redacted]``,
and `install_log_redaction` applies it to every log line of a socmon process.

A remote server may quote what it was sent (an error body echoing the Authorization header or the
login JSON, a 404 page naming the webhook's URL), and such a text ends up in a log line, a
delivery's detail or a dead letter's reason. Whatever socmon logs, stores or shows of a remote
error goes through a `Redactor` first.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from pydantic import BaseModel, SecretBytes, SecretStr

REDACTED = "[redacted]"

MIN_SECRET_LENGTH = 6
"""Secret values shorter than this are not redacted: a value that short would match ordinary
words and numbers all over the logs (every "admin", every "2026"), and no real token, app
password or webhook URL is that short."""

_MIN_BASE64_CORE = 8  # characters of base64 that only the secret decides (48 bits): no chance hit
# The characters of a base64 word (standard or URL-safe): a match is widened to the whole word.
_BASE64_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")
_URLSAFE = str.maketrans("+/", "-_")
# A quote clipped to a length may end with "…" or "..." after the first part of a secret.
_CLIP_MARKS = " \t\r\n.…"


def secret_values(settings: BaseModel) -> Iterator[str]:
    """Every `SecretStr` (or `SecretBytes`) value set in `settings`, at any depth: in nested
    sections, lists and mappings. Generic, so a secret added to the settings later is covered."""
    for name in type(settings).model_fields:
        yield from _secrets_in(getattr(settings, name))


def _secrets_in(value: Any) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, SecretBytes):
        yield value.get_secret_value().decode("utf-8", "replace")
    elif isinstance(value, BaseModel):
        yield from secret_values(value)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _secrets_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets_in(item)


def _quotable_parts(value: str) -> set[str]:
    """`value`, and for a URL also the parts a server quotes without the host: its path and
    query (a webhook's path is its credential), and a password in it."""
    parts = {value}
    url = urlsplit(value)
    if url.scheme in ("http", "https") and url.netloc:
        path_and_query = url.path + (f"?{url.query}" if url.query else "")
        parts |= {path_and_query, url.path, url.path.lstrip("/"), url.query}
        if url.password:
            parts.add(url.password)
    return {part for part in parts if len(part) >= MIN_SECRET_LENGTH}


def _encodings(text: str) -> set[str]:
    """`text` as it is and percent-encoded (in a URL's path or query, or in a form body)."""
    return {text, quote(text), quote(text, safe=""), quote_plus(text)}


def _base64_cores(text: str) -> set[str]:
    """What every base64 encoding that contains `text` contains, whatever comes before it: for
    each of the three byte alignments, the characters that only `text`'s bytes decide. So
    ``user:password`` in HTTP Basic credentials, or an SMTP AUTH PLAIN string, is found from
    the password alone."""
    data = text.encode()
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        # The first group mixes in the bytes before (unless aligned); a last partial group,
        # the bytes after.
        core = encoded[4 if offset else 0 : (offset + len(data)) // 3 * 4]
        if len(core) >= _MIN_BASE64_CORE:
            cores |= {core, core.translate(_URLSAFE)}
    return cores


def _alternation(words: Iterable[str]) -> re.Pattern[str] | None:
    # Longest first: the whole URL is replaced before its path could be.
    ordered = sorted(set(words), key=lambda w: (-len(w), w))
    return re.compile("|".join(map(re.escape, ordered))) if ordered else None


class Redactor:
    """Replaces each secret in a text with ``[redacted]``: as it is, percent-encoded, inside a
    base64 word (HTTP Basic credentials), and, for a URL, its path and query on their own.

    A text clipped to a length (an error body cut at 200 characters) may end with only the first
    part of a secret: that part is replaced too. Values shorter than `MIN_SECRET_LENGTH` are
    ignored (see there).
    """

    def __init__(self, secrets: Iterable[str | SecretStr | None] = ()) -> None:
        plain: set[str] = set()
        cores: set[str] = set()
        for secret in secrets:
            value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
            if not value:
                continue
            for part in _quotable_parts(value):
                plain |= _encodings(part)
                cores |= _base64_cores(part)
        self._plain = _alternation(plain)
        self._base64 = _alternation(cores)
        # For a clipped tail: per secret form, the lengths of its prefixes by their last
        # character, longest first (a clipped text is checked against its own last character).
        self._prefixes: list[tuple[str, dict[str, list[int]]]] = []
        for form in sorted(plain, key=len, reverse=True):
            ends: dict[str, list[int]] = {}
            for length in range(len(form) - 1, MIN_SECRET_LENGTH - 1, -1):
                ends.setdefault(form[length - 1], []).append(length)
            self._prefixes.append((form, ends))

    @classmethod
    def from_settings(cls, settings: BaseModel) -> Redactor:
        """A redactor of every secret set in `settings` (the whole `Settings`, or one section)."""
        return cls(secret_values(settings))

    def __bool__(self) -> bool:
        """Whether there is any secret to redact."""
        return self._plain is not None

    def redact(self, text: str) -> str:
        """`text` with every secret replaced by ``[redacted]``."""
        if self._plain is None or not text:
            return text
        text = self._plain.sub(REDACTED, text)
        if self._base64 is not None:
            text = self._redact_base64(text, self._base64)
        return self._redact_clipped_tail(text)

    @staticmethod
    def _redact_base64(text: str, cores: re.Pattern[str]) -> str:
        # Each match is widened by hand to its whole base64 word (with its padding): a pattern
        # with a leading [A-Za-z0-9+/]* would backtrack over every long word of a text.
        pieces: list[str] = []
        done = 0
        for match in cores.finditer(text):
            start, end = match.span()
            if start < done:
                continue
            while start > done and text[start - 1] in _BASE64_CHARACTERS:
                start -= 1
            while end < len(text) and text[end] in _BASE64_CHARACTERS:
                end += 1
            while end < len(text) and text[end] == "=":
                end += 1
            pieces += [text[done:start], REDACTED]
            done = end
        return "".join(pieces) + text[done:] if pieces else text

    def _redact_clipped_tail(self, text: str) -> str:
        body = text.rstrip(_CLIP_MARKS)
        if not body:
            return text
        longest = 0
        for form, ends in self._prefixes:
            for length in ends.get(body[-1], ()):
                if length <= longest:
                    break
                if body.endswith(form[:length]):
                    longest = length
                    break
        if not longest:
            return text
        return body[:-longest] + REDACTED + text[len(body) :]


_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Rewrites a log record so that its final message, exception text and stack carry no
    secret (the arguments are merged into the message first). Never drops a record."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError) as exc:
            # The handler would print the raw arguments with its own error: show them redacted.
            message = f"{record.msg} {record.args!r} (unformattable log message: {exc})"
        record.msg, record.args = self.redactor.redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        return True


class _RedactedRecords:
    """A log record factory: the records of `base`, each redacted as it is made."""

    def __init__(self, base: Callable[..., logging.LogRecord], redacting: RedactingFilter) -> None:
        self.base = base
        self.redacting = redacting

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.base(*args, **kwargs)
        self.redacting.filter(record)
        return record


def install_log_redaction(redactor: Redactor) -> None:
    """From now on, every log record this process makes is redacted by `redactor`.

    The redaction happens when a record is made (the log record factory), not in a handler: the
    root handlers are replaced after start-up by Faust's worker, and uvicorn adds its own, so a
    filter on today's handlers would miss their lines. Installing again replaces the redactor;
    one with nothing to redact removes the hook.
    """
    current = logging.getLogRecordFactory()
    base = current.base if isinstance(current, _RedactedRecords) else current
    if redactor:
        logging.setLogRecordFactory(_RedactedRecords(base, RedactingFilter(redactor)))
    else:
        logging.setLogRecordFactory(base)
