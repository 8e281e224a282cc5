"""Data protection: the one-year retention and the erasure of a person's posts on request.

Both work through the index port, so they act the same on SQLite and on Elasticsearch. An erasure
is logged (when, how many items, a hash of the handle) so the Trust can show that it honoured a
request, without the log itself keeping who asked or what was erased.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from pydantic import AwareDatetime, Field

from socmon.index.port import Index
from socmon.index.sqlite import author_handle
from socmon.records import Record, utcnow

ERASURES = "erasures"
"""The document collection where each erasure is logged."""

# A fixed prefix, so the hash of a handle here cannot be matched against hashes that other
# systems keep of the same handle.
_HASH_DOMAIN = "socmon-erasure:"

log = logging.getLogger(__name__)


class Erasure(Record):
    """The log entry of one data-subject erasure: that it happened, never what was erased."""

    erased_at: AwareDatetime
    items: int = Field(ge=0, description="posts and alerts deleted")
    author_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="hash of the normalised handle: lets a later request for the same handle "
        "be recognised without storing the handle",
    )


def handle_hash(handle: str) -> str:
    """SHA-256 of the handle as erasure matches it (no ``@``, case-folded)."""
    return hashlib.sha256(f"{_HASH_DOMAIN}{author_handle(handle)}".encode()).hexdigest()


def erase_author(index: Index, handle: str, now: datetime | None = None) -> Erasure:
    """Delete the author's posts and the alerts quoting them, then log the erasure.

    The log entry is written after the deletion, so a crash in between leaves the data erased
    and the erasure unlogged (run it again: it finds nothing and logs zero), never the reverse.
    """
    if not author_handle(handle):
        msg = "an erasure needs the author's handle, got an empty one"
        raise ValueError(msg)
    erased_at = now or utcnow()
    items = index.erase_author(handle)
    entry = Erasure(erased_at=erased_at, items=items, author_sha256=handle_hash(handle))
    doc_id = f"{erased_at.strftime('%Y%m%dT%H%M%S%fZ')}-{entry.author_sha256[:12]}"
    index.put_documents(ERASURES, [(doc_id, entry)])
    log.info(
        "erasure done: erased_at=%s items=%d author_sha256=%s",
        erased_at.isoformat(),
        items,
        entry.author_sha256,
    )
    return entry
