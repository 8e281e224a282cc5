"""The register: the register file (and its errors), and the configuration merged with the
reviews, closures and ownership changes stored in a real SQLite index."""

from __future__ import annotations

from datetime import date

import pytest

from socmon.index.sqlite import SqliteIndex
from socmon.register import (
    AccountClosure,
    AccountReview,
    OwnershipChange,
    Register,
    UnknownAccount,
    load_register,
    record_closure,
    record_ownership_change,
    record_review,
)
from socmon.settings import ConfigError, load_settings
from tests.stream_processors.governance.helpers import account

REGISTER = """\
- platform: instagram
  handle: NorthbrookCharity
  team: Charity
  owner: Sam Reed
  line_manager: Head of Fundraising
  approved_on: 2024-02-01
  expected_interval_days: 14
  last_review: 2026-09-01
"""


def write_config(tmp_path, register_text: str, register_path: str = "register.yaml"):
    (tmp_path / "register.yaml").write_text(register_text)
    config = tmp_path / "socmon.yaml"
    config.write_text(
        f"governance:\n  register_file: {register_path}\n"
        "accounts:\n  - {platform: twitter, handle: NorthbrookNHS, team: Communications}\n"
    )
    return config


def test_the_register_file_adds_its_accounts_relative_to_the_config_file(tmp_path):
    settings = load_settings(write_config(tmp_path, REGISTER))
    assert [a.handle for a in settings.accounts] == ["NorthbrookNHS", "NorthbrookCharity"]
    charity = settings.accounts[1]
    assert (charity.owner, charity.expected_interval_days) == ("Sam Reed", 14)
    assert settings.account("instagram", "@northbrookcharity") == charity


def test_a_wrong_field_in_the_register_file_names_the_file_the_entry_and_the_field(tmp_path):
    config = write_config(tmp_path, REGISTER.replace("14", "every fortnight"))
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    text = str(err.value)
    assert str(tmp_path / "register.yaml") in text
    assert "entry 1 (instagram @NorthbrookCharity)" in text
    assert "field expected_interval_days" in text
    assert "integer" in text


def test_an_unknown_field_in_the_register_file_is_an_error(tmp_path):
    config = write_config(tmp_path, REGISTER + "  ownr: Someone\n")
    with pytest.raises(ConfigError, match=r"entry 1 .*field ownr: Extra inputs"):
        load_settings(config)


def test_a_missing_required_field_is_named(tmp_path):
    config = write_config(tmp_path, "- {platform: twitter, handle: NorthbrookJobs}\n")
    with pytest.raises(ConfigError, match=r"entry 1 \(twitter @NorthbrookJobs\): field team"):
        load_settings(config)


def test_a_register_file_that_is_not_a_list_is_refused(tmp_path):
    config = write_config(tmp_path, "accounts: []\n")
    with pytest.raises(ConfigError, match="must be a YAML list of accounts, not a mapping"):
        load_settings(config)


def test_a_missing_register_file_is_named(tmp_path):
    config = write_config(tmp_path, REGISTER, register_path="elsewhere.yaml")
    with pytest.raises(ConfigError, match=r"elsewhere\.yaml: cannot read the register file"):
        load_settings(config)


def test_an_account_in_both_the_config_and_the_register_file_is_refused(tmp_path):
    twice = "- {platform: twitter, handle: northbrooknhs, team: Communications}\n"
    with pytest.raises(ConfigError, match="twitter @northbrooknhs is already registered in"):
        load_settings(write_config(tmp_path, twice))


def test_an_unknown_time_zone_is_refused(tmp_path):
    config = tmp_path / "socmon.yaml"
    config.write_text("governance:\n  timezone: Europe/Londn\n")
    with pytest.raises(ConfigError, match=r"governance\.timezone.*unknown time zone"):
        load_settings(config)


def test_the_bundled_configuration_sweeps_on_monday_morning_in_london():
    governance = load_settings().governance
    assert (governance.sweep_weekday, governance.sweep_time.hour) == ("monday", 9)
    assert governance.timezone == "Europe/London"
    assert (governance.review_interval_months, governance.escalation_after_days) == (3, 7)


def test_recorded_reviews_closures_and_ownership_changes_change_the_register(tmp_path):
    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    try:
        accounts = [account(), account("NorthbrookNHS", team="Communications")]
        record_review(
            index,
            AccountReview(
                platform="twitter",
                handle="northbrookmaternity",
                reviewed_on=date(2026, 10, 20),
                reviewer="Communications",
            ),
        )
        record_ownership_change(
            index,
            OwnershipChange(
                platform="twitter",
                handle="NorthbrookMaternity",
                changed_on=date(2026, 10, 21),
                changed_by="Communications",
                owner_left=True,
            ),
        )
        record_closure(
            index,
            AccountClosure(
                platform="twitter",
                handle="NorthbrookNHS",
                closed_on=date(2026, 10, 22),
                closed_by="Communications",
                reason="merged into the Trust account",
            ),
        )
        register = load_register(accounts, index)
    finally:
        index.close()
    maternity = register.find("NorthbrookMaternity")
    assert maternity.last_review == date(2026, 10, 20)
    assert maternity.owner_left is True
    assert register.find("twitter:northbrooknhs").status == "closed"
    assert [a.handle for a in register.active] == ["NorthbrookMaternity"]
    assert [line for _, line in register.history(maternity)] == [
        "reviewed by Communications",
        "owner has left (by Communications)",
    ]


def test_a_new_owner_replaces_one_who_left():
    left = OwnershipChange(
        platform="twitter",
        handle="NorthbrookMaternity",
        changed_on=date(2026, 10, 1),
        changed_by="Comms",
        owner_left=True,
    )
    new = OwnershipChange(
        platform="twitter",
        handle="NorthbrookMaternity",
        changed_on=date(2026, 10, 5),
        changed_by="Comms",
        owner="Ada Jones",
    )
    merged = Register.merge([account()], ownership_changes=[new, left]).find("NorthbrookMaternity")
    assert (merged.owner, merged.owner_left) == ("Ada Jones", False)


def test_an_older_review_does_not_move_the_last_review_back():
    review = AccountReview(
        platform="twitter", handle="NorthbrookMaternity", reviewed_on=date(2025, 1, 1), reviewer="X"
    )
    merged = Register.merge([account()], reviews=[review]).find("NorthbrookMaternity")
    assert merged.last_review == date(2026, 9, 15)


def test_an_ownership_change_that_changes_nothing_is_refused():
    with pytest.raises(ValueError, match="needs a new owner"):
        OwnershipChange(
            platform="twitter", handle="x", changed_on=date(2026, 10, 1), changed_by="Comms"
        )


def test_an_ambiguous_or_unknown_handle_says_which_accounts_exist():
    register = Register.merge([account("Northbrook"), account("Northbrook", platform="facebook")])
    with pytest.raises(UnknownAccount, match="several platforms"):
        register.find("Northbrook")
    with pytest.raises(UnknownAccount, match="registered: twitter:Northbrook"):
        register.find("Southbrook")
    assert register.find("facebook:@northbrook").platform == "facebook"
