"""Routing follows the register in effect: an owner or line manager recorded with `socmon accounts
owner` (stored in the real SQLite index) is who hears about the account from then on, in alerts
delivered now, in the daily digest and in `routes explain`; the old owner is not told."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from typer.testing import CliRunner

from socmon.records import Alert
from socmon.register import REFRESH_SECONDS, OwnershipChange, record_ownership_change
from socmon_app.cli import app
from stream_processors.governance.job import run_sweep
from tests.alerting.helpers import make_harness, make_settings, outbox_rows
from tests.factories import make_post_alert

COMMS = "communications@northbrook.nhs.example"
OLD_OWNER, NEW_OWNER = "Grace Okafor", "Ada Jones"  # of twitter @NorthbrookMaternity
# Monday 19 October 2026, 09:00 in London: a sweep of the default schedule.
SWEEP_AT = datetime(2026, 10, 19, 8, 0, tzinfo=UTC)


def accounts_owner(tmp_path, account: str, *options: str) -> None:
    """`socmon accounts owner …`, as the communications team runs it."""
    args = ["accounts", "owner", account, "--by", "Comms", *options, "--data-dir", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output


def account_alert(kind, account: str = "NorthbrookMaternity", escalated: bool = False) -> Alert:
    """An alert of the weekly sweep: about an account, without a post."""
    return Alert(
        alert_id=f"{kind}:twitter:{account.lower()}:2026-10-19",
        kind=kind,
        summary=f"@{account} needs attention",
        account=account,
        platform="twitter",
        escalated=escalated,
    )


def told(settings, alert_id: str) -> list[str]:
    return [row["recipient"] for row in outbox_rows(settings) if alert_id in row["alert_ids"]]


def test_a_quiet_account_reaches_the_owner_recorded_with_accounts_owner_not_the_old_one(
    tmp_path,
):
    settings = make_settings(tmp_path)
    accounts_owner(tmp_path, "NorthbrookMaternity", "--owner", NEW_OWNER)
    harness = make_harness(settings)
    quiet = account_alert("inactive_account", escalated=True)
    harness.delivery.handle([quiet])
    assert told(settings, quiet.alert_id) == [NEW_OWNER, COMMS, "Head of Midwifery"]


def test_a_breach_in_an_official_post_goes_to_the_new_owner_not_the_old_one(tmp_path):
    settings = make_settings(tmp_path)
    harness = make_harness(settings)
    record_ownership_change(
        harness.index,
        OwnershipChange(
            platform="twitter",
            handle="NorthbrookMaternity",
            changed_on=date(2026, 10, 1),
            changed_by="Comms",
            owner=NEW_OWNER,
            line_manager="Deputy Head of Midwifery",
        ),
    )
    breach = make_post_alert(
        "policy_breach", (), post_kind="official_post", account="NorthbrookMaternity"
    )
    harness.delivery.handle([breach])
    assert told(settings, breach.alert_id) == [NEW_OWNER, "Deputy Head of Midwifery", COMMS]
    assert OLD_OWNER not in told(settings, breach.alert_id)


def test_a_handover_goes_to_the_new_line_manager_and_the_leaver_hears_nothing_more(tmp_path):
    settings = make_settings(tmp_path)
    accounts_owner(
        tmp_path, "NorthbrookMaternity", "--left", "--line-manager", "Deputy Head of Midwifery"
    )
    harness = make_harness(settings)
    handover, quiet = account_alert("handover"), account_alert("inactive_account")
    harness.delivery.handle([handover, quiet])
    assert told(settings, handover.alert_id) == ["Deputy Head of Midwifery", COMMS]
    # An owner who left is no one to tell: the communications team stands in.
    assert told(settings, quiet.alert_id) == [COMMS]
    assert harness.delivery.route(quiet).unrouted == (
        "no account owner registered for NorthbrookMaternity",
    )


def test_the_sweep_and_routing_agree_on_the_new_owner(tmp_path):
    settings = make_settings(tmp_path)
    accounts_owner(tmp_path, "NorthbrookMaternity", "--owner", NEW_OWNER)
    harness = make_harness(settings)
    # No post on record: both registered accounts are reported quiet.
    alerts = [a for a in run_sweep(settings, harness.index, SWEEP_AT) if a.kind != "review_due"]
    maternity = next(a for a in alerts if a.account == "NorthbrookMaternity")
    assert f"owner: {NEW_OWNER}" in maternity.summary
    harness.delivery.handle(alerts)
    assert told(settings, maternity.alert_id) == [NEW_OWNER, COMMS]


def test_a_running_delivery_sees_an_owner_change_within_a_minute(tmp_path):
    clock = [1000.0]
    settings = make_settings(tmp_path)
    harness = make_harness(settings, monotonic=lambda: clock[0])
    quiet = account_alert("inactive_account")
    assert [t.recipient for t in harness.delivery.route(quiet).now()] == [OLD_OWNER, COMMS]
    accounts_owner(tmp_path, "NorthbrookMaternity", "--owner", NEW_OWNER)
    clock[0] += REFRESH_SECONDS - 1  # the copy read a moment ago still stands
    assert [t.recipient for t in harness.delivery.route(quiet).now()] == [OLD_OWNER, COMMS]
    clock[0] += 1
    harness.delivery.handle([quiet])
    assert told(settings, quiet.alert_id) == [NEW_OWNER, COMMS]


def test_the_review_reminder_in_the_daily_digest_goes_to_the_new_owner(tmp_path):
    settings = make_settings(tmp_path, digest={"at": "08:00", "catch_up_days": 1})
    accounts_owner(tmp_path, "NorthbrookMaternity", "--owner", NEW_OWNER)
    harness = make_harness(settings)
    review = account_alert("review_due").model_copy(
        update={"created_at": datetime(2026, 10, 19, 8, 0, tzinfo=UTC)}
    )
    harness.delivery.handle([review])
    assert told(settings, review.alert_id) == []  # the digest carries it
    harness.delivery.digest_scheduler().send_day(date(2026, 10, 20))
    assert sorted(told(settings, review.alert_id)) == [NEW_OWNER, COMMS]


def test_routes_explain_names_the_new_owner(tmp_path):
    accounts_owner(tmp_path, "NorthbrookNHS", "--owner", NEW_OWNER)
    result = CliRunner().invoke(
        app,
        [
            "routes",
            "explain",
            "--text",
            "Thanks to our patient, NHS number 943 476 5919, for the lovely card",
            "--kind",
            "official_post",
            "--account",
            "NorthbrookNHS",
            "--json",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    breach = next(a for a in json.loads(result.output)["alerts"] if a["kind"] == "policy_breach")
    assert [t["recipient"] for t in breach["targets"]] == [
        NEW_OWNER,
        "Director of Communications",
        COMMS,
    ]
