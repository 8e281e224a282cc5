"""The one poll lifecycle of the platform connectors: checkpoint in, pages walked, `Fetched` out.

Every platform source does the same on each poll: read its checkpoint, walk pages of the API
from there, turn each item into a `Post` (or a dead letter saying why it cannot be one), and tell
the runner where to resume and when to come back. `PagedSource.poll` does that once for all of
them; a platform module fills in what differs:

- ``cursor_type``: its checkpoint as a typed `Cursor` (``parse`` the stored string, ``dump`` it);
- ``pages(start)``: its paging. It makes the requests, keeps only the items that are new since
  `start`, and yields a `Page` per answer: those items, the cursor to save once they are safely
  in Kafka, a wait the platform asked for, and whether nothing comes after it (``last``);
- ``to_post(item)``: one item to a `Post` (or None to skip it on purpose), raising `Rejected` with
  the reason when it cannot be one; ``origin(item, position)`` says where a dead letter came from.

Which items are new and where the cursor moves are platform rules (X's ``since_id``, Mastodon's
``min_id``, Bluesky's cursor and floor, the Graph API's creation times), so they stay in the
platform module; what happens to an item, to a rate limit and to the runner's `Fetched` is here.

`EngagementRefresh` is the other lifecycle: a source that, when due, reads the official accounts'
recent posts (and high-engagement mentions) again, so their counts reach the index afresh.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, Generic, Protocol, Self, TypeVar

from ingest.connector import CheckResult, Connector, Fetched, RateLimited
from ingest.connectors.common import (
    HotMention,
    HotMentions,
    RefreshCheckpoint,
    RefreshSchedule,
    Rejected,
)
from socmon.deadletters import dead_letter
from socmon.records import DeadLetter, Post, utcnow

log = logging.getLogger(__name__)


class Cursor(ABC):
    """A source's checkpoint as a value: the runner stores `dump()` and hands it to `parse`.

    The string format is what users already have saved in their checkpoint file, so a cursor
    type may add fields but must keep reading what it wrote before.
    """

    @classmethod
    @abstractmethod
    def parse(cls, checkpoint: str | None, source: str) -> Self:
        """The cursor saved as `checkpoint` (None: the source was never polled) for `source`."""

    @abstractmethod
    def dump(self) -> str | None:
        """The checkpoint to save; None when there is nothing to record yet."""


ItemT = TypeVar("ItemT")
CursorT = TypeVar("CursorT", bound=Cursor)


@dataclass(frozen=True)
class Page(Generic[ItemT, CursorT]):
    """One answer of the platform, reduced to what the poll needs."""

    items: Sequence[ItemT]  # only the items that are new since the poll's checkpoint
    cursor: CursorT  # where to resume once this page (and every page before it) is in Kafka
    retry_after: float | None = None  # the platform's rate limit asks to wait this long
    last: bool = False  # nothing comes after this page now (a `pages` that just ends says so too)
    rejects: Sequence[DeadLetter] = ()  # dead letters the answer itself carries (X's errors)


class PagedSource(Connector, Generic[ItemT, CursorT]):
    """A platform source polled page by page from a typed checkpoint (see the module docstring)."""

    cursor_type: type[CursorT]

    max_pages: int | None = None
    """Pages one poll reads at most (None: until `pages` ends). A poll that stops at this budget
    is not exhausted: the runner polls again at once, from the cursor of the last page read."""

    keeps_pages_when_rate_limited = False
    """Whether a rate limit after the first page keeps the pages already read, resuming from the
    last page's cursor. Only right for cursors that can resume mid-walk (Mastodon's ``min_id``
    reads forwards, Bluesky saves its page cursor); a source that pages backwards from the newest
    item (X, the Graph API) would skip the pages it has not read, so there the limit fails the
    whole poll and the next one starts again from the old checkpoint."""

    malformed: tuple[type[Exception], ...] = (KeyError, TypeError, AttributeError, ValueError)
    """Exceptions of `to_post` that mean "this item has an unexpected shape": they dead-letter the
    item as ``unexpected item: ...`` instead of failing the poll, so one odd item from a platform
    never stops the others. `Rejected` always dead-letters."""

    hot_mentions: HotMentions | None = None
    """Where the posts of this source with high engagement are noted for the platform's refresh
    source (None: not refreshed, e.g. the official accounts' own posts, refreshed anyway)."""

    @abstractmethod
    def pages(self, start: CursorT) -> Iterator[Page[ItemT, CursorT]]:
        """The pages after `start`, each with the cursor reached so far.

        Lazy: a page is requested only when the poll asks for it, after it has taken every item
        of the page before, and never beyond `max_pages`.
        """

    @abstractmethod
    def to_post(self, item: ItemT) -> Post | None:
        """`item` as a `Post`; None skips it on purpose; raises `Rejected` to dead-letter it."""

    @abstractmethod
    def origin(self, item: ItemT, position: int) -> str:
        """Where a dead letter of `item` came from (`position`: its place on its page)."""

    def raw(self, item: ItemT) -> Any:
        """What a dead letter of `item` carries: the item as the platform sent it."""
        return item

    def poll(self, checkpoint: str | None) -> Fetched:
        start = self.cursor_type.parse(checkpoint, self.name)
        cursor = start
        posts: list[Post] = []
        rejects: list[DeadLetter] = []
        retry_after: float | None = None
        pages_read = 0
        ended = False  # the source has nothing more right now (not just the page budget spent)
        try:
            # islice stops before requesting a page beyond the budget.
            for page in islice(self.pages(start), self.max_pages):
                pages_read += 1
                for position, item in enumerate(page.items):
                    result = self._normalise(item, position)
                    if isinstance(result, Post):
                        posts.append(result)
                        if self.hot_mentions is not None:
                            self.hot_mentions.note(result)
                    elif result is not None:
                        rejects.append(result)
                rejects.extend(page.rejects)
                cursor = page.cursor
                if page.retry_after is not None:
                    retry_after = page.retry_after
                if page.last:
                    ended = True
                    break
            else:
                ended = pages_read != self.max_pages  # `pages` ran out before the budget did
        except RateLimited as exc:
            if pages_read == 0 or not self.keeps_pages_when_rate_limited:
                raise
            ended, retry_after = True, exc.retry_after
        return Fetched(
            posts,
            rejects,
            # Nothing new to record keeps the checkpoint exactly as it was.
            checkpoint=cursor.dump() or checkpoint,
            # A source that must wait anyway is done for now, even with pages left.
            exhausted=ended or retry_after is not None,
            retry_after=retry_after,
        )

    def _normalise(
        self, item: ItemT, position: int, to_post: Callable[[ItemT], Post | None] | None = None
    ) -> Post | DeadLetter | None:
        """`to_post` (or another way to read `item`), with a rejected or malformed item turned
        into its dead letter."""
        dead_lettered: tuple[type[Exception], ...] = (Rejected, *self.malformed)
        try:
            return (to_post or self.to_post)(item)
        except dead_lettered as exc:
            reason = str(exc) if isinstance(exc, Rejected) else f"unexpected item: {exc!r}"
            return dead_letter("ingest", self.origin(item, position), self.raw(item), reason)


def collect(results: Iterator[Post | DeadLetter | None]) -> tuple[list[Post], list[DeadLetter]]:
    """Normalised items split into posts and dead letters (a skipped item is neither)."""
    posts: list[Post] = []
    rejects: list[DeadLetter] = []
    for result in results:
        if isinstance(result, Post):
            posts.append(result)
        elif result is not None:
            rejects.append(result)
    return posts, rejects


Moment = TypeVar("Moment", datetime, int)
"""A time as a platform gives it: a datetime, or milliseconds since the epoch."""


class NewestSeen(Generic[Moment]):
    """What a cursor of "the newest time produced, and the ids produced at exactly that time"
    does: platforms give times to the second (or millisecond), so the ids at the boundary tell a
    new item of that time from one already produced, and a restart neither repeats nor misses.
    The cursor (a dataclass) declares both fields."""

    newest: Moment | None
    ids_at_newest: set[str]

    def is_new(self, item_id: str, at: Moment) -> bool:
        if self.newest is None or at > self.newest:
            return True
        return at == self.newest and item_id not in self.ids_at_newest

    def advance(self, item_id: str, at: Moment) -> None:
        if self.newest is None or at > self.newest:
            self.newest, self.ids_at_newest = at, {item_id}
        elif at == self.newest:
            self.ids_at_newest.add(item_id)


class Named(Protocol):
    name: str


class Timeline(Named, Protocol):
    """An official account's source whose posts can be read again from a moment."""

    def since(self, moment: datetime) -> Iterator[Post | DeadLetter | None]: ...


M = TypeVar("M", bound=Named)
"""The sources of one platform's mentions: a refresh normalises a mention it read again by id
with the source that first read it."""


class EngagementRefresh(Connector, Generic[M]):
    """A platform's engagement refresh (``<platform>:engagement``): every `schedule.every` it
    reads the official accounts' posts of the last `schedule.window` again, and the
    high-engagement mentions its platform's sources noted (`HotMentions`), and returns them
    again: same key, fresh counts (the index keeps the latest post, and the people's work on it).

    Its checkpoint (`RefreshCheckpoint`) is the time of the last refresh and the mentions to
    refresh: a poll before the next refresh is due returns nothing and calls no API, so the
    runner may poll it as often as every other source.
    """

    def __init__(
        self,
        name: str,
        schedule: RefreshSchedule,
        own: Sequence[Timeline] = (),
        mention_sources: Sequence[M] = (),
        hot_mentions: HotMentions | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.name = name
        self.schedule = schedule
        self.own = list(own)
        self.by_name: dict[str, M] = {source.name: source for source in mention_sources}
        self.hot_mentions = hot_mentions
        self.clock = clock

    def official_posts(self, since: datetime) -> tuple[list[Post], list[DeadLetter]]:
        """The official accounts' posts written since `since`, with their counts now: each of
        `own` read again from `since`."""
        return collect(item for source in self.own for item in source.since(since))

    def mentions(self, hot: Sequence[HotMention]) -> tuple[list[Post], list[DeadLetter]]:
        """`hot` read again by id, where the platform allows a cheap look-up (default: not)."""
        return [], []

    def lookups(
        self, hot: Sequence[HotMention], size: int
    ) -> Iterator[tuple[list[str], dict[str, M]]]:
        """The ids of the `hot` mentions whose source this refresh knows, `size` at a time, each
        batch with the source that read each id (which normalises it again)."""
        known = [m for m in hot if m.source in self.by_name]
        found_by = {m.post_id: self.by_name[m.source] for m in known}
        for start in range(0, len(known), size):
            yield [m.post_id for m in known[start : start + size]], found_by

    @property
    def timelines(self) -> Sequence[str]:
        """The names of the sources whose posts are refreshed (for `check`)."""
        return [source.name for source in self.own]

    def poll(self, checkpoint: str | None) -> Fetched:
        now = self.clock()
        since = now - self.schedule.window
        noted = self.hot_mentions.mentions if self.hot_mentions is not None else []
        state = RefreshCheckpoint.parse(checkpoint, self.name).with_mentions(noted, since)
        if state.refreshed_at is not None and now < state.refreshed_at + self.schedule.every:
            # Not due: only the mentions noted since are recorded.
            return Fetched(checkpoint=state.dump() or checkpoint, exhausted=True)
        posts, rejects = self.official_posts(since)
        if state.hot:
            hot_posts, hot_rejects = self.mentions(state.hot)
            posts, rejects = posts + hot_posts, rejects + hot_rejects
        log.info(
            "source=%s refreshed the counts of %d posts (%d mentions) since %s",
            self.name,
            len(posts),
            len(state.hot),
            since.isoformat(),
        )
        done = RefreshCheckpoint(now, state.hot)
        return Fetched(posts, rejects, checkpoint=done.dump(), exhausted=True)

    def check(self) -> CheckResult:
        """No call of its own: it reads what the sources it names read, and they are checked."""
        every = self.schedule.every.total_seconds() / 60
        window = self.schedule.window.total_seconds() / 3600
        detail = (
            f"reads the posts of the last {window:g} h again every {every:g} min, through "
            f"the same endpoints as {', '.join(self.timelines) or 'no source'}"
        )
        return CheckResult(self.name, ok=True, detail=detail)
