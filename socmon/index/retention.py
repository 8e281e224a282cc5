"""Retention: records are kept for `index.retention_days` (one year by default), then deleted.

Shared by `socmon retention apply` and the stream worker, which applies it every few hours
(idempotent, so running it often costs nothing but a query).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from socmon.index.port import Index
from socmon.settings import IndexSettings

log = logging.getLogger(__name__)


def retention_cutoff(settings: IndexSettings, now: datetime) -> datetime:
    """The moment before which records are deleted: ``retention_days`` before `now`."""
    if now.tzinfo is None or now.utcoffset() is None:
        msg = f"now must be timezone-aware, got the naive time {now.isoformat()}"
        raise ValueError(msg)
    return now - timedelta(days=settings.retention_days)


def apply_retention(index: Index, settings: IndexSettings, now: datetime) -> int:
    """Delete posts, alerts, deliveries and dead letters older than the retention period.

    Returns how many records were deleted. Idempotent: running it twice deletes nothing more, so
    a scheduler may run it as often as it likes (daily is enough for a one-year period).
    """
    cutoff = retention_cutoff(settings, now)
    deleted = index.delete_older_than(cutoff)
    log.info("retention applied: cutoff=%s deleted=%d", cutoff.isoformat(), deleted)
    return deleted
