"""Data protection: the one-year retention and the erasure of a person's posts on request.

Both work through the index port, so they act the same on SQLite and on Elasticsearch. An erasure
is logged (when, how many items, a keyed hash of the handle) so the Trust can show that it honoured
a request, without the log itself keeping who asked or what was erased. The hash is an HMAC with a
key of the Trust's (``dashboard.erasure_key``, or one made once in the data folder): a plain hash
of a handle is reversed by hashing a list of handles, a keyed one is not without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, Field

from socmon.index.port import Collection, Index, author_handle
from socmon.records import Record, utcnow
from socmon.settings import Settings

"""The document collection where each erasure is logged."""
KEY_FILE = "erasure.key"

log = logging.getLogger(__name__)


class Erasure(Record):
    """The log entry of one data-subject erasure: that it happened, never what was erased."""

    erased_at: AwareDatetime
    items: int = Field(ge=0, description="posts and alerts deleted")
    author_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="HMAC-SHA256 of the normalised handle with the erasure key: lets a later "
        "request for the same handle be recognised without storing the handle",
    )


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


def erase_author(index: Index, handle: str, key: bytes, now: datetime | None = None) -> Erasure:
    """Delete the author's posts and the alerts quoting them, then log the erasure.

    The log entry is written after the deletion, so a crash in between leaves the data erased
    and the erasure unlogged (run it again: it finds nothing and logs zero), never the reverse.
    """
    if not author_handle(handle):
        msg = "an erasure needs the author's handle, got an empty one"
        raise ValueError(msg)
    erased_at = now or utcnow()
    items = index.erase_author(handle)
    entry = Erasure(erased_at=erased_at, items=items, author_sha256=handle_hash(handle, key))
    doc_id = f"{erased_at.strftime('%Y%m%dT%H%M%S%fZ')}-{entry.author_sha256[:12]}"
    index.put_documents(ERASURES, [(doc_id, entry)])
    log.info(
        "erasure done: erased_at=%s items=%d author_sha256=%s",
        erased_at.isoformat(),
        items,
        entry.author_sha256,
    )
    return entry
