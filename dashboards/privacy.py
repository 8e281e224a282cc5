"""Data protection in the index: the erasure of a person's posts on request.

Works through the index port, so it acts the same on SQLite and on Elasticsearch: the person's
posts, the alerts quoting them and their deliveries, the dead letters naming them, and the
corrections people made of those posts (`dashboards.web.feedback.CORRECTIONS`) are deleted; then
the erasure is logged (`socmon.erasure.Erasure`: when, how many, a keyed hash of the handle), which
also keeps the person from coming back on a replay. The outbox file is alerting's, erased by the
`socmon erase` command that calls this.
"""

from __future__ import annotations

import logging
from datetime import datetime

from dashboards.web.feedback import CORRECTIONS
from socmon.erasure import Erasure, record_erasure
from socmon.index.port import Erased, Index, author_handle
from socmon.records import utcnow

log = logging.getLogger(__name__)


def erase_author(
    index: Index, handle: str, key: bytes, now: datetime | None = None
) -> tuple[Erasure, Erased]:
    """Delete everything the index holds of the author, then log the erasure.

    The log entry is written after the deletion, so a crash in between leaves the data erased
    and the erasure unlogged (run it again: it finds nothing and logs zero), never the reverse.
    """
    if not author_handle(handle):
        msg = "an erasure needs the author's handle, got an empty one"
        raise ValueError(msg)
    erased_at = now or utcnow()
    erased = index.erase_author(handle)
    keys = set(erased.post_keys)
    corrections = [
        correction.doc_id
        for correction in index.get_documents(CORRECTIONS)
        if correction.post_key in keys
    ]
    removed = index.delete_documents(CORRECTIONS, corrections) if corrections else 0
    entry = record_erasure(index, handle, key, erased.items + removed, erased_at)
    log.info(
        "erasure done: erased_at=%s items=%d author_sha256=%s",
        erased_at.isoformat(),
        entry.items,
        entry.author_sha256,
    )
    return entry, erased
