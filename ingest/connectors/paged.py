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
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Generic, Self, TypeVar

from ingest.connector import Connector, Fetched, RateLimited
from ingest.connectors.common import Rejected
from socmon.deadletters import dead_letter
from socmon.records import DeadLetter, Post


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

    def _normalise(self, item: ItemT, position: int) -> Post | DeadLetter | None:
        """`to_post`, with a rejected or malformed item turned into its dead letter."""
        dead_lettered: tuple[type[Exception], ...] = (Rejected, *self.malformed)
        try:
            return self.to_post(item)
        except dead_lettered as exc:
            reason = str(exc) if isinstance(exc, Rejected) else f"unexpected item: {exc!r}"
            return dead_letter("ingest", self.origin(item, position), self.raw(item), reason)
