"""The register cache that alert routing reads: refreshed from the real SQLite index once its copy
is a minute old, and never silently back to the configuration when the index cannot be read."""

from __future__ import annotations

from datetime import date

import pytest

from socmon.index.port import IndexUnavailable
from socmon.index.sqlite import SqliteIndex
from socmon.register import (
    AccountClosure,
    OwnershipChange,
    RegisterCache,
    record_closure,
    record_ownership_change,
)
from tests.stream_processors.governance.helpers import account


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def new_owner(name: str) -> OwnershipChange:
    return OwnershipChange(
        platform="twitter",
        handle="NorthbrookMaternity",
        changed_on=date(2026, 10, 1),
        changed_by="Comms",
        owner=name,
    )


@pytest.fixture
def index(tmp_path):
    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    yield index
    index.close()


def test_recorded_changes_appear_once_the_copy_is_a_minute_old(index):
    ticks = Ticks()
    cache = RegisterCache([account()], index, monotonic=ticks)
    assert cache.current().get("twitter", "@northbrookmaternity").owner == "Grace Okafor"
    record_ownership_change(index, new_owner("Ada Jones"))
    record_closure(
        index,
        AccountClosure(
            platform="twitter",
            handle="NorthbrookMaternity",
            closed_on=date(2026, 10, 2),
            closed_by="Comms",
            reason="merged into the Trust account",
        ),
    )
    ticks.now += 59
    assert cache.current().get("twitter", "NorthbrookMaternity").owner == "Grace Okafor"
    ticks.now += 1
    found = cache.current().get("twitter", "NorthbrookMaternity")
    assert (found.owner, found.status) == ("Ada Jones", "closed")


def test_an_unreadable_index_keeps_the_last_copy_until_the_next_refresh(index, caplog):
    ticks = Ticks()
    cache = RegisterCache([account()], index, monotonic=ticks)
    record_ownership_change(index, new_owner("Ada Jones"))
    assert cache.current().get("twitter", "NorthbrookMaternity").owner == "Ada Jones"
    index.close()
    ticks.now += 60
    assert cache.current().get("twitter", "NorthbrookMaternity").owner == "Ada Jones"
    assert "register not refreshed" in caplog.text


def test_without_a_copy_an_unreadable_index_is_an_error_not_the_configured_owner(tmp_path):
    closed = SqliteIndex(tmp_path / "socmon.db")
    closed.close()
    with pytest.raises(IndexUnavailable):
        RegisterCache([account()], closed).current()
