"""Who has been erased on request, kept so that they stay erased.

An erasure (`socmon erase`) deletes a person's posts everywhere socmon keeps them, then logs an
`Erasure`: when, how many items, and a keyed hash of the handle, never the handle or what was
erased. The stream worker reads those hashes (`ErasedAuthors`) and dead-letters a post by an
erased author as "erased on request", without its text, so a replay or a re-poll cannot bring
the person back.

The hash is an HMAC with a key of the Trust's (``dashboard.erasure_key``, or one made once in
the data folder): a plain hash of a handle is reversed by hashing a list of handles, a keyed one
is not without the key. Every process that erases or suppresses must use the same key: in a
deployment without a shared data folder, set ``SOCMON_DASHBOARD__ERASURE_KEY`` for all of them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, Field

from socmon.index.port import Collection, DocumentStore, author_handle
from socmon.records import Record
from socmon.settings import Settings

KEY_FILE = "erasure.key"
ERASED_ON_REQUEST = "erased on request"
"""The dead-letter reason of a post by an erased author (the dead letter holds only its key)."""


class Erasure(Record):
    """The log entry of one data-subject erasure: that it happened, never what was erased."""

    erased_at: AwareDatetime
    items: int = Field(ge=0, description="records deleted: posts, alerts, deliveries, dead letters")
    author_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="HMAC-SHA256 of the normalised handle with the erasure key: lets a later "
        "request for the same handle be recognised, and the author's posts suppressed, without "
        "storing the handle",
    )

    @property
    def doc_id(self) -> str:
        return f"{self.erased_at.strftime('%Y%m%dT%H%M%S%fZ')}-{self.author_sha256[:12]}"


ERASURES = Collection("erasures", Erasure)


def handle_hash(handle: str, key: bytes) -> str:
    """HMAC-SHA256 of the handle as erasure matches it (no ``@``, case-folded)."""
    if not key:
        msg = "the erasure hash needs a key"
        raise ValueError(msg)
    return hmac.new(key, author_handle(handle).encode(), hashlib.sha256).hexdigest()


def erasure_key(settings: Settings) -> bytes:
    """The configured key, else the one kept in the data folder (made the first time)."""
    if settings.dashboard.erasure_key is not None:
        return settings.dashboard.erasure_key.get_secret_value().encode()
    path = Path(settings.data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: two processes making it at once keep one key, not two
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    key = path.read_text().strip()
    if not key:
        msg = f"the erasure key file {path} is empty; delete it to make a new one"
        raise ValueError(msg)
    return key.encode()


def record_erasure(
    documents: DocumentStore, handle: str, key: bytes, items: int, erased_at: datetime
) -> Erasure:
    """Log that `handle` was erased (`items` records): from now on its posts are suppressed."""
    entry = Erasure(erased_at=erased_at, items=items, author_sha256=handle_hash(handle, key))
    documents.put_documents(ERASURES, [(entry.doc_id, entry)])
    return entry


class ErasedAuthors:
    """Is this author erased? The logged hashes, re-read from the index at most every `ttl` s.

    Re-reading keeps a long-running worker in step with an erasure made by another process; the
    collection is small (one document per request), so a read is one short query.
    """

    def __init__(
        self,
        documents: DocumentStore,
        key: bytes,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._documents = documents
        self._key = key
        self._ttl = ttl
        self._clock = clock
        self._hashes: frozenset[str] = frozenset()
        self._read_at: float | None = None

    def __contains__(self, author: object) -> bool:
        if not isinstance(author, str) or not author_handle(author):
            return False
        now = self._clock()
        if self._read_at is None or now - self._read_at >= self._ttl:
            entries = self._documents.get_documents(ERASURES)
            self._hashes = frozenset(entry.author_sha256 for entry in entries)
            self._read_at = now
        return bool(self._hashes) and handle_hash(author, self._key) in self._hashes
