"""Which alerts an enriched post raises (routing to people is tested in tests/alerting)."""

from __future__ import annotations

from datetime import UTC, datetime

from socmon.alerts import concern_notice, post_alerts, urgent_alert
from socmon.records import Breach, Classification, EnrichedPost, Post
from stream_processors.alert_rules import alerts_for


def enriched(kind="mention", text="The A&E staff were wonderful", **cls) -> EnrichedPost:
    post = Post(
        platform="twitter",
        post_id="42",
        kind=kind,
        account="NorthbrookNHS",
        author="sam",
        text=text,
        created_at=datetime(2026, 10, 1, tzinfo=UTC),
        source="replay",
    )
    fields = {"sentiment": "neutral", "confidence": 0.9} | cls
    return EnrichedPost(post=post, classification=Classification(**fields))


def test_a_concern_raises_one_concern_alert_with_a_stable_id():
    alerts = alerts_for(enriched(sentiment="concern", departments=("emergency",)))
    assert [(a.kind, a.alert_id) for a in alerts] == [("concern", "concern:twitter:42")]
    assert alerts[0].departments == ("emergency",)
    again = alerts_for(enriched(sentiment="concern", departments=("emergency",)))
    assert [a.alert_id for a in again] == [a.alert_id for a in alerts]


def test_a_compliment_raises_a_compliment_alert():
    assert [a.kind for a in alerts_for(enriched(sentiment="compliment"))] == ["compliment"]


def test_neutral_posts_raise_nothing():
    assert alerts_for(enriched()) == []


def test_an_urgent_concern_raises_both_urgent_and_concern():
    kinds = [a.kind for a in alerts_for(enriched(sentiment="concern", urgent=True))]
    assert kinds == ["urgent", "concern"]


def test_an_abusive_reply_is_reported_as_abuse_not_as_a_concern():
    alerts = alerts_for(enriched(kind="reply", sentiment="concern", abusive=True))
    assert [a.kind for a in alerts] == ["abuse"]


def test_an_official_post_with_a_breach_raises_a_policy_breach_only():
    breach = Breach(rule="nhs_number", severity="high", evidence="9434765919", start=0, end=10)
    alerts = alerts_for(enriched(kind="official_post", sentiment="compliment", breaches=(breach,)))
    assert [a.kind for a in alerts] == ["policy_breach"]
    assert "nhs_number" in alerts[0].summary


def test_a_clean_official_post_raises_nothing():
    assert alerts_for(enriched(kind="official_post", sentiment="compliment")) == []


def test_an_unsure_concern_is_for_communications_to_check_not_the_department():
    alerts = alerts_for(enriched(sentiment="concern", unsure=True, departments=("emergency",)))
    assert [(a.kind, a.alert_id) for a in alerts] == [
        ("unsure_concern", "unsure_concern:twitter:42")
    ]
    assert alerts[0].summary.startswith("Possible concern (unsure)")


def test_the_urgent_alert_of_an_escalation_is_the_one_routing_raises():
    post = enriched(sentiment="concern", urgent=True, departments=("maternity",))
    [routed, _] = alerts_for(post)
    assert urgent_alert(post).model_dump(exclude={"created_at"}) == routed.model_dump(
        exclude={"created_at"}
    )
    assert [a.alert_id for a in post_alerts(post)] == [a.alert_id for a in alerts_for(post)]


def test_a_withdrawn_notice_is_for_the_departments_told_and_named_by_where_the_concern_is():
    names = {"maternity": "Maternity", "outpatients": "Outpatients"}
    withdrawn = enriched(sentiment="neutral", departments=("maternity",))
    notice = concern_notice(withdrawn, told=("maternity",), moved_from=(), by="alice", names=names)
    assert (notice.kind, notice.alert_id, notice.departments) == (
        "withdrawn",
        "withdrawn:twitter:42",
        ("maternity",),
    )
    assert notice.summary == (
        'The concern about the post from twitter @sam ("The A&E staff were wonderful") '
        "was withdrawn by alice"
    )
    moved = enriched(sentiment="concern", departments=("outpatients", "maternity"))
    notice = concern_notice(
        moved, told=("maternity",), moved_from=("maternity",), by="bob", names=names
    )
    assert notice.alert_id == "withdrawn:twitter:42>maternity,outpatients"
    assert notice.departments == ("maternity",)
    assert notice.summary.endswith("was moved from Maternity to Outpatients and Maternity by bob")
    back = concern_notice(
        moved, told=("maternity",), moved_from=("maternity", "outpatients"), by="bob"
    )
    assert back.summary.endswith(
        "was made a concern for outpatients and maternity again by bob"
    )  # without names: the ids
