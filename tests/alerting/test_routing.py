"""The first routing table: departments and Patient Services, never dropped."""

from __future__ import annotations

from alerting.routing import recipients_for
from socmon.records import Alert
from socmon.settings import load_settings
from tests.stream_processors.test_route import enriched

SETTINGS = load_settings()


def alert(kind, departments=(), post_kind="mention"):
    post = enriched(kind=post_kind).post
    return Alert(
        alert_id=f"{kind}:x",
        kind=kind,
        summary="s",
        departments=departments,
        account=post.account,
        post=post,
    )


def addresses(a):
    return [r.address for r in recipients_for(a, SETTINGS)]


def test_a_concern_goes_to_the_department_and_patient_services():
    assert addresses(alert("concern", ("maternity",))) == [
        "maternity@northbrook.nhs.example",
        "patient-services@northbrook.nhs.example",
    ]


def test_a_concern_about_no_known_department_goes_to_communications():
    got = addresses(alert("concern", ()))
    assert got[0] == "communications@northbrook.nhs.example"
    assert "patient-services@northbrook.nhs.example" in got


def test_a_breach_goes_to_the_owner_their_line_manager_and_communications():
    got = addresses(alert("policy_breach", post_kind="official_post"))
    assert got == [
        "Priya Shah",
        "Director of Communications",
        "communications@northbrook.nhs.example",
    ]


def test_urgent_alerts_also_reach_communications():
    got = addresses(alert("urgent", ("emergency",)))
    assert "ed-managers@northbrook.nhs.example" in got
    assert "communications@northbrook.nhs.example" in got


def test_no_recipient_appears_twice():
    got = addresses(alert("concern", ("maternity", "maternity")))
    assert len(got) == len(set(got))
