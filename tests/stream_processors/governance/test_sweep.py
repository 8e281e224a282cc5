"""The pure sweep: register, last posts and the week's breaches in, alerts out."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from socmon.register import Register
from stream_processors.governance.sweep import (
    ESCALATED_SUFFIX,
    SweepPolicy,
    add_months,
    find_inactive,
    sweep,
)
from tests.stream_processors.governance.helpers import SWEEP_AT, account, official_post


def quiet_for(days: float) -> dict[tuple[str, str], datetime]:
    return {("twitter", "NorthbrookMaternity"): SWEEP_AT - timedelta(days=days)}


def kinds(alerts) -> list[str]:
    return [a.kind for a in alerts]


def test_an_account_quiet_for_eight_days_raises_one_inactive_alert_for_the_owner():
    alerts = sweep(Register.merge([account()]), quiet_for(8), [], SWEEP_AT)
    assert kinds(alerts) == ["inactive_account"]
    alert = alerts[0]
    assert alert.alert_id == "inactive_account:twitter:northbrookmaternity:2026-10-19"
    assert alert.account == "NorthbrookMaternity"
    assert "8 days" in alert.summary
    assert "Grace Okafor" in alert.summary
    assert "escalated" not in alert.summary


def test_still_quiet_a_week_later_the_line_manager_is_added():
    alerts = sweep(Register.merge([account()]), quiet_for(15), [], SWEEP_AT)
    assert kinds(alerts) == ["inactive_account"]
    assert alerts[0].alert_id.endswith("2026-10-19" + ESCALATED_SUFFIX)
    assert "escalated to Head of Midwifery" in alerts[0].summary


def test_fourteen_days_is_not_yet_a_week_past_the_first_reminder():
    alerts = sweep(Register.merge([account()]), quiet_for(14), [], SWEEP_AT)
    assert not alerts[0].alert_id.endswith(ESCALATED_SUFFIX)


def test_a_post_within_the_expected_interval_clears_the_alert():
    assert sweep(Register.merge([account()]), quiet_for(6.9), [], SWEEP_AT) == []


def test_the_expected_interval_is_per_account():
    monthly = account(expected_interval_days=30)
    assert sweep(Register.merge([monthly]), quiet_for(20), [], SWEEP_AT) == []
    assert kinds(sweep(Register.merge([monthly]), quiet_for(31), [], SWEEP_AT)) == [
        "inactive_account"
    ]


def test_the_same_sweep_twice_gives_the_same_alert_ids():
    register = Register.merge([account(), account("NorthbrookNHS", owner_left=True)])
    last = quiet_for(9) | {("twitter", "northbrooknhs"): SWEEP_AT - timedelta(days=20)}
    first = sweep(register, last, [], SWEEP_AT)
    again = sweep(register, last, [], SWEEP_AT + timedelta(hours=3))
    assert [a.alert_id for a in first] == [a.alert_id for a in again]
    assert len({a.alert_id for a in first}) == len(first) == 3


def test_handles_match_whatever_their_case_or_at_sign():
    last = {("twitter", "@NORTHBROOKMATERNITY"): SWEEP_AT - timedelta(days=1)}
    assert sweep(Register.merge([account()]), last, [], SWEEP_AT) == []


def test_an_account_with_no_post_on_record_asks_the_owner_without_escalating():
    alerts = sweep(Register.merge([account()]), {}, [], SWEEP_AT)
    assert kinds(alerts) == ["inactive_account"]
    assert "no post on record" in alerts[0].summary
    assert not alerts[0].alert_id.endswith(ESCALATED_SUFFIX)


def test_a_newly_approved_account_has_one_interval_to_start_posting():
    fresh = account(approved_on=date(2026, 10, 15))
    assert find_inactive(fresh, None, SWEEP_AT, SweepPolicy()) is None


def test_an_owner_who_left_raises_a_handover():
    alerts = sweep(Register.merge([account(owner_left=True)]), quiet_for(1), [], SWEEP_AT)
    assert kinds(alerts) == ["handover"]
    assert "Grace Okafor has left" in alerts[0].summary
    assert "passwords" in alerts[0].summary


def test_an_account_without_an_owner_raises_a_handover():
    alerts = sweep(Register.merge([account(owner=None)]), quiet_for(1), [], SWEEP_AT)
    assert kinds(alerts) == ["handover"]
    assert "no owner" in alerts[0].summary


def test_a_review_older_than_three_months_is_due():
    stale = account(last_review=date(2026, 7, 18))
    alerts = sweep(Register.merge([stale]), quiet_for(1), [], SWEEP_AT)
    assert kinds(alerts) == ["review_due"]
    assert "2026-07-18" in alerts[0].summary


def test_a_review_within_three_months_is_not_due():
    recent = account(last_review=date(2026, 7, 20))
    assert sweep(Register.merge([recent]), quiet_for(1), [], SWEEP_AT) == []


def test_a_never_reviewed_account_is_due():
    alerts = sweep(Register.merge([account(last_review=None)]), quiet_for(1), [], SWEEP_AT)
    assert kinds(alerts) == ["review_due"]


def test_months_are_calendar_months_clamped_to_the_month_end():
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 10, 19), 3) == date(2027, 1, 19)


def test_the_weeks_breaches_are_summarised_for_the_owner():
    posts = [
        official_post("NorthbrookMaternity", SWEEP_AT - timedelta(days=2), breaches=("pii",)),
        official_post(
            "NorthbrookMaternity", SWEEP_AT - timedelta(days=3), breaches=("pii", "political")
        ),
        official_post("NorthbrookMaternity", SWEEP_AT - timedelta(days=9), breaches=("pii",)),
        official_post("NorthbrookMaternity", SWEEP_AT - timedelta(days=1)),
    ]
    alerts = sweep(Register.merge([account()]), quiet_for(1), posts, SWEEP_AT)
    assert kinds(alerts) == ["policy_breach"]
    assert alerts[0].alert_id == "policy_breach:week:twitter:northbrookmaternity:2026-10-19"
    assert "2 posts" in alerts[0].summary
    assert "pii ×2" in alerts[0].summary
    assert "political ×1" in alerts[0].summary


def test_a_closed_account_raises_nothing():
    closed = account(status="closed", owner=None, last_review=None)
    assert sweep(Register.merge([closed]), {}, [], SWEEP_AT) == []


def test_the_sweep_date_is_the_local_date():
    # 23:30 UTC on Sunday 18 October is 00:30 on Monday in London.
    late = datetime.fromisoformat("2026-10-18T23:30:00+00:00")
    alerts = sweep(Register.merge([account()]), {}, [], late)
    assert alerts[0].alert_id.endswith(":2026-10-19")


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        sweep(Register.merge([account()]), {}, [], datetime(2026, 10, 19, 9))
