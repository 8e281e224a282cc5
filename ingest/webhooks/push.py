"""What one push from a platform becomes: posts, dead letters, the events deliberately ignored
(deletions, reactions, event types socmon does not read), and the Instagram mentions whose text
must still be fetched. Also the register lookup that turns a platform's account id into the
official handle the polling connectors use."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from socmon.config.governance import OfficialAccount
from socmon.deadletters import dead_letter
from socmon.records import DeadLetter, Platform, Post


class Malformed(ValueError):
    """A signed body that is not a push at all (not JSON, no entries); the message is the reason
    the whole body is dead-lettered."""


@dataclass(frozen=True)
class MentionRef:
    """An Instagram @mention: the webhook carries only ids, the text is fetched afterwards."""

    ig_user_id: str
    handle: str
    media_id: str
    comment_id: str | None
    origin: str

    @property
    def ids(self) -> dict[str, str | None]:
        """What a dead letter keeps when the fetch fails, so nothing is silently lost."""
        return {
            "ig_user_id": self.ig_user_id,
            "media_id": self.media_id,
            "comment_id": self.comment_id,
        }


@dataclass
class Push:
    """The result of reading one signed payload."""

    posts: list[Post] = field(default_factory=list)
    rejects: list[DeadLetter] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    """One reason label per event not turned into a post (``deleted``, ``reaction``...)."""
    mentions: list[MentionRef] = field(default_factory=list)

    def reject(self, origin: str, item: Any, reason: str) -> None:
        self.rejects.append(dead_letter("ingest", origin, item, reason))


@dataclass(frozen=True)
class Accounts:
    """The register's active accounts, by platform id and by handle (case-insensitive)."""

    by_id: dict[tuple[str, str], str]
    by_handle: dict[tuple[str, str], str]

    @classmethod
    def of(cls, accounts: Iterable[OfficialAccount]) -> Accounts:
        by_id: dict[tuple[str, str], str] = {}
        by_handle: dict[tuple[str, str], str] = {}
        for account in accounts:
            if account.status != "active":
                continue
            handle = account.handle.lstrip("@")
            by_handle[(account.platform, handle.lower())] = handle
            if account.platform_id:
                by_id[(account.platform, account.platform_id)] = handle
        return cls(by_id, by_handle)

    def handle_of(self, platform: Platform, platform_id: str) -> str | None:
        return self.by_id.get((platform, platform_id))

    def handle_named(self, platform: Platform, name: str) -> str | None:
        return self.by_handle.get((platform, name.lstrip("@").lower()))


def unix_time(value: Any) -> datetime | None:
    """A platform's Unix time (seconds; milliseconds when it is that large) or ISO 8601 text,
    as an aware datetime; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 100_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo is not None else None
    return None
