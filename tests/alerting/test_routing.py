"""The routing table: the policy's defaults, per-department rows, and nothing ever dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerting.routing import RoutingError, check_routes, route_alert
from socmon.config.alerting import default_routes
from socmon.settings import ConfigError, load_settings
from tests.alerting.helpers import make_settings
from tests.factories import make_post_alert

SETTINGS = load_settings()
COMMS = "communications@northbrook.nhs.example"
PS = "patient-services@northbrook.nhs.example"


def told(decision, when="now"):
    return [(t.recipient, t.channel) for t in decision.targets if t.when == when]


def test_the_bundled_table_is_the_policy_default():
    assert SETTINGS.alerting.routes == default_routes()


def test_a_concern_goes_now_to_the_department_and_patient_services():
    decision = route_alert(make_post_alert("concern", ("maternity",)), SETTINGS)
    assert told(decision) == [("maternity@northbrook.nhs.example", "file"), (PS, "file")]
    assert decision.digest() == []
    assert decision.unrouted == ()


def test_a_compliment_waits_for_the_daily_digest_of_its_department():
    decision = route_alert(make_post_alert("compliment", ("maternity",)), SETTINGS)
    assert decision.now() == []
    assert [(t.recipient, t.department) for t in decision.digest()] == [
        ("maternity@northbrook.nhs.example", "maternity"),
        (PS, "maternity"),
    ]


def test_a_concern_about_no_department_goes_to_communications_and_says_why():
    decision = route_alert(make_post_alert("concern", ()), SETTINGS)
    assert told(decision) == [(COMMS, "file"), (PS, "file")]
    assert decision.unrouted == ("no department recognised",)
    assert "communications team stands in" in decision.targets[0].why


def test_a_department_without_a_contact_falls_back_to_communications(tmp_path):
    base = load_settings()
    departments = [
        d.model_copy(update={"contact": None}) if d.id == "estates" else d for d in base.departments
    ]
    settings = base.model_copy(update={"departments": departments})
    decision = route_alert(make_post_alert("concern", ("estates",)), settings)
    assert [t.recipient for t in decision.now()] == [COMMS, PS]
    assert decision.unrouted == ("department estates has no contact",)


def test_a_breach_goes_to_the_owner_their_line_manager_and_communications():
    alert = make_post_alert("policy_breach", (), post_kind="official_post")
    assert [t.recipient for t in route_alert(alert, SETTINGS).now()] == [
        "Priya Shah",
        "Director of Communications",
        COMMS,
    ]


def test_a_breach_on_an_account_whose_owner_left_goes_to_communications_instead():
    accounts = [a.model_copy(update={"owner_left": True}) for a in SETTINGS.accounts]
    settings = SETTINGS.model_copy(update={"accounts": accounts})
    decision = route_alert(
        make_post_alert("policy_breach", (), post_kind="official_post"), settings
    )
    assert [t.recipient for t in decision.now()] == [COMMS, "Director of Communications"]
    assert decision.unrouted == ("no account owner registered for NorthbrookNHS",)


def test_urgent_alerts_reach_the_on_call_channel_as_well():
    got = [
        t.recipient for t in route_alert(make_post_alert("urgent", ("emergency",)), SETTINGS).now()
    ]
    assert got == [
        "ed-managers@northbrook.nhs.example",
        PS,
        COMMS,
        "comms-on-call@northbrook.nhs.example",
    ]


def test_a_department_row_replaces_the_general_row_for_that_department_only(tmp_path):
    settings = make_settings(
        tmp_path,
        routes=[r.model_dump() for r in default_routes()]
        + [
            {
                "kind": "compliment",
                "department": "maternity",
                "to": ["department", "head.midwifery@northbrook.nhs.example"],
                "when": "now",
            }
        ],
    )
    maternity = route_alert(make_post_alert("compliment", ("maternity",)), settings)
    assert [t.recipient for t in maternity.now()] == [
        "maternity@northbrook.nhs.example",
        "head.midwifery@northbrook.nhs.example",
    ]
    assert maternity.digest() == []  # the general row (digest, patient services) is replaced
    wards = route_alert(make_post_alert("compliment", ("wards",)), settings)
    assert [t.when for t in wards.targets] == ["digest", "digest"]


def test_the_same_person_on_the_same_channel_appears_once_and_now_beats_digest(tmp_path):
    settings = make_settings(
        tmp_path,
        routes=[
            {"kind": "compliment", "to": ["patient_services"], "when": "digest"},
            {"kind": "compliment", "to": ["patient_services", "department"], "when": "now"},
        ],
    )
    decision = route_alert(make_post_alert("compliment", ("maternity", "maternity")), settings)
    assert [(t.recipient, t.when) for t in decision.targets] == [
        (PS, "now"),
        ("maternity@northbrook.nhs.example", "now"),
    ]


def test_a_kind_without_any_route_goes_to_communications_never_dropped(tmp_path):
    settings = make_settings(
        tmp_path, routes=[{"kind": "concern", "to": ["department"], "when": "now"}]
    )
    decision = route_alert(make_post_alert("spike", ()), settings)
    assert told(decision) == [(COMMS, "file")]
    assert decision.unrouted == ("no route for spike",)


def test_a_route_for_an_unknown_department_is_a_configuration_error(tmp_path):
    settings = make_settings(
        tmp_path, routes=[{"kind": "concern", "department": "maternty", "to": ["department"]}]
    )
    with pytest.raises(RoutingError, match="maternty"):
        check_routes(settings)


def test_routing_to_teams_without_its_webhook_url_is_refused_at_start_up(tmp_path):
    with pytest.raises(ConfigError, match="SOCMON_ALERTING__TEAMS__WEBHOOK_URL"):
        make_settings(tmp_path, default_channels=["file", "teams"])


def test_a_webhook_secret_written_in_the_config_file_is_refused(tmp_path: Path):
    config = tmp_path / "socmon.yaml"
    config.write_text("alerting:\n  webhook:\n    secret: hunter2\n")
    with pytest.raises(ConfigError, match="SOCMON_ALERTING__WEBHOOK__SECRET") as caught:
        load_settings(config)
    assert "hunter2" not in str(caught.value)


def test_the_smtp_password_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCMON_ALERTING__SMTP__PASSWORD", "from-env")
    settings = load_settings()
    assert settings.alerting.smtp.password is not None
    assert settings.alerting.smtp.password.get_secret_value() == "from-env"
    assert "from-env" not in repr(settings.alerting)


def _quiet_account_alert(escalated: bool):
    from socmon.records import Alert

    return Alert(
        alert_id="inactive_account:twitter:NorthbrookMaternity:2026-11-02",
        kind="inactive_account",
        summary="@NorthbrookMaternity has not posted for 24 days",
        account="NorthbrookMaternity",
        platform="twitter",
        escalated=escalated,
    )


def test_a_quiet_account_without_a_post_reaches_its_owner_but_not_yet_the_line_manager():
    decision = route_alert(_quiet_account_alert(escalated=False), SETTINGS)
    why = " ".join(t.why for t in decision.targets)
    assert "account owner of @NorthbrookMaternity" in why
    assert "line manager" not in why
    assert decision.unrouted == ()


def test_a_quiet_account_still_quiet_a_week_later_reaches_the_line_manager_too():
    decision = route_alert(_quiet_account_alert(escalated=True), SETTINGS)
    why = " ".join(t.why for t in decision.targets)
    assert "account owner of @NorthbrookMaternity" in why
    assert "line manager of @NorthbrookMaternity" in why


def test_an_unsure_concern_goes_now_to_communications_only():
    decision = route_alert(make_post_alert("unsure_concern", ("maternity",)), SETTINGS)
    assert [recipient for recipient, _ in told(decision)] == [COMMS]
    assert decision.digest() == []


def test_a_misspelt_role_is_a_configuration_error_naming_the_fix(tmp_path):
    settings = make_settings(tmp_path, routes=[{"kind": "abuse", "to": ["comunications"]}])
    with pytest.raises(RoutingError, match=r"routes\[0\]\.to: 'comunications'.*'communications'"):
        check_routes(settings)


def test_addresses_and_directory_names_are_accepted_in_to(tmp_path):
    settings = make_settings(
        tmp_path,
        directory={"Head of Estates": "estates-head@northbrook.nhs.example"},
        routes=[{"kind": "abuse", "to": ["press@northbrook.nhs.example", "Head of Estates"]}],
    )
    check_routes(settings)
