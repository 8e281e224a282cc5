"""Look-alike accounts: named like the organisation, but not in the register."""

from __future__ import annotations

from datetime import timedelta

from stream_processors.alert_rules import alerts_for
from stream_processors.governance.unregistered import LookalikeAccounts
from tests.stream_processors.governance.helpers import SWEEP_AT, account, mention, official_post

ORGANISATION = "Northbrook Hospitals NHS Foundation Trust"


def lookalikes(*patterns: str) -> LookalikeAccounts:
    return LookalikeAccounts.build(ORGANISATION, patterns, [account("NorthbrookNHS")])


def test_a_handle_containing_a_configured_name_is_a_lookalike():
    detector = lookalikes("Northbrook NHS")
    assert detector.matching_name("Northbrook_NHS_Jobs") == "northbrooknhs"
    assert detector.matching_name("@northbrooknhsjobs") == "northbrooknhs"


def test_a_member_of_the_public_from_the_town_is_not_a_lookalike():
    # The sample has many "<Name>InNorthbrook" members of the public: the town is not the Trust.
    assert lookalikes("Northbrook NHS").matching_name("PriyaInNorthbrook") is None


def test_the_organisations_full_name_matches_without_any_pattern():
    assert lookalikes().matching_name("Northbrook Hospitals NHS Foundation Trust (Jobs)")


def test_an_unregistered_lookalike_raises_one_alert_per_account_whatever_it_posts():
    detector = lookalikes("Northbrook NHS")
    first = alerts_for(mention("NorthbrookNHS_Jobs", SWEEP_AT), detector)
    later = alerts_for(mention("northbrooknhs_jobs", SWEEP_AT + timedelta(days=1)), detector)
    assert [a.kind for a in first] == ["unregistered_account"]
    assert first[0].alert_id == "unregistered_account:twitter:northbrooknhs_jobs"
    assert [a.alert_id for a in later] == [first[0].alert_id]
    assert "not in the register" in first[0].summary
    assert first[0].post is not None


def test_the_registered_account_itself_raises_nothing():
    assert alerts_for(official_post("NorthbrookNHS", SWEEP_AT), lookalikes("Northbrook NHS")) == []


def test_the_same_handle_on_another_platform_is_not_registered():
    alerts = alerts_for(
        mention("NorthbrookNHS", SWEEP_AT, platform="mastodon"), lookalikes("Northbrook NHS")
    )
    assert [a.kind for a in alerts] == ["unregistered_account"]


def test_without_the_register_the_route_raises_no_unregistered_alert():
    assert alerts_for(mention("NorthbrookNHS_Jobs", SWEEP_AT)) == []
