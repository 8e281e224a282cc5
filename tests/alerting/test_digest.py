"""The daily digest goes out at the configured local time, also across the clock changes
(Europe/London: BST starts 29 March 2026 at 01:00 UTC and ends 25 October 2026 at 01:00 UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tests.alerting.helpers import make_harness, make_settings, outbox_rows
from tests.factories import make_post_alert

MATERNITY = "maternity@northbrook.nhs.example"
PS = "patient-services@northbrook.nhs.example"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0):
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def scheduler(tmp_path, **digest):
    settings = make_settings(
        tmp_path, digest={"at": "08:00", "catch_up_days": 1, "check_seconds": 0.001} | digest
    )
    harness = make_harness(settings)
    return settings, harness, harness.delivery.digest_scheduler(clock=lambda: utc(2000, 1, 1))


def compliment(post_id: str, at: datetime, departments=("maternity",)):
    return make_post_alert("compliment", departments, post_id=post_id, created_at=at)


def digests(settings) -> dict[str, dict[str, list[str]]]:
    """ref -> recipient -> the alert ids it carried, from the outbox."""
    out: dict[str, dict[str, list[str]]] = {}
    for row in outbox_rows(settings):
        out.setdefault(row["alert_id"], {})[row["recipient"]] = row["alert_ids"]
    return out


def test_the_due_instant_follows_the_clock_change_not_a_fixed_offset(tmp_path):
    _, _, digest = scheduler(tmp_path)
    assert digest.due_at(date(2026, 3, 28)) == utc(2026, 3, 28, 8)  # GMT
    assert digest.due_at(date(2026, 3, 29)) == utc(2026, 3, 29, 7)  # BST from 01:00 UTC
    assert digest.due_at(date(2026, 10, 24)) == utc(2026, 10, 24, 7)  # BST
    assert digest.due_at(date(2026, 10, 25)) == utc(2026, 10, 25, 8)  # GMT again


def test_in_march_the_digest_goes_at_0800_bst_and_covers_a_23_hour_day(tmp_path):
    settings, harness, digest = scheduler(tmp_path)
    harness.index.record_alerts(
        [
            compliment("early", utc(2026, 3, 28, 7, 59)),  # the digest of the 28th
            compliment("a", utc(2026, 3, 28, 8, 0)),  # the first instant of the 29th's day
            compliment("b", utc(2026, 3, 29, 6, 59, 59)),  # 07:59:59 BST: still the 29th's
            compliment("late", utc(2026, 3, 29, 7, 0)),  # 08:00 BST: the 30th's
        ]
    )
    digest.tick(utc(2026, 3, 28, 8, 0))
    assert digests(settings) == {
        "digest:maternity:2026-03-28": {
            MATERNITY: ["compliment:twitter:early"],
            PS: ["compliment:twitter:early"],
        }
    }
    assert digest.tick(utc(2026, 3, 29, 6, 59, 59)) == []  # 07:59:59 BST: not yet
    sent = digest.tick(utc(2026, 3, 29, 7, 0))  # 08:00 BST
    assert {d.alert_id for d in sent} == {"compliment:twitter:a", "compliment:twitter:b"}
    assert digests(settings)["digest:maternity:2026-03-29"] == {
        MATERNITY: ["compliment:twitter:a", "compliment:twitter:b"],
        PS: ["compliment:twitter:a", "compliment:twitter:b"],
    }
    row = next(r for r in outbox_rows(settings) if r["alert_id"].endswith("2026-03-29"))
    assert "compliment: 2" in row["text"]  # the tallies of the day
    assert row["subject"] == "Daily digest for Maternity, Sun 29 Mar 2026: 2 items"


def test_in_october_the_digest_waits_for_0800_gmt_and_covers_a_25_hour_day(tmp_path):
    settings, harness, digest = scheduler(tmp_path)
    harness.index.record_alerts(
        [
            compliment("a", utc(2026, 10, 24, 7, 0)),  # 08:00 BST on the 24th
            compliment("b", utc(2026, 10, 25, 7, 30)),  # 07:30 GMT on the 25th
        ]
    )
    digest.tick(utc(2026, 10, 24, 7, 0))  # the 24th's digest: nothing for it
    assert digests(settings) == {}
    # 08:00 by yesterday's offset (BST) is 07:00 UTC: a fixed offset would send now.
    assert digest.tick(utc(2026, 10, 25, 7, 0)) == []
    assert digest.tick(utc(2026, 10, 25, 7, 59, 59)) == []
    sent = digest.tick(utc(2026, 10, 25, 8, 0))
    assert {d.alert_id for d in sent} == {"compliment:twitter:a", "compliment:twitter:b"}
    assert list(digests(settings)) == ["digest:maternity:2026-10-25"]


def test_a_restarted_worker_never_sends_a_digest_item_twice(tmp_path):
    settings, harness, digest = scheduler(tmp_path)
    harness.index.record_alerts([compliment("a", utc(2026, 3, 28, 12))])
    assert len(digest.tick(utc(2026, 3, 29, 9))) == 2
    again = harness.delivery.digest_scheduler()  # a new process: nothing in memory
    assert again.tick(utc(2026, 3, 29, 9, 5)) == []
    assert len(outbox_rows(settings)) == 2
    assert {d.detail for d in harness.index.deliveries_for("compliment:twitter:a")} == {
        "in the daily digest of 2026-03-29"
    }


def test_an_item_that_arrives_after_its_digest_went_out_is_carried_into_the_next(tmp_path):
    settings, harness, digest = scheduler(tmp_path)
    digest.tick(utc(2026, 3, 29, 7, 0))  # the 29th's digest: empty, nothing sent
    # Raised at 07:59 BST, but reached alerting only after 08:00 (consumer lag).
    harness.index.record_alerts([compliment("lagging", utc(2026, 3, 29, 6, 59))])
    digest.tick(utc(2026, 3, 30, 7, 0))
    assert digests(settings)["digest:maternity:2026-03-30"][MATERNITY] == [
        "compliment:twitter:lagging"
    ]


def test_each_department_gets_its_own_digest_and_no_department_goes_to_communications(tmp_path):
    settings, harness, digest = scheduler(tmp_path, at="17:00")
    at = utc(2026, 6, 1, 10)
    harness.index.record_alerts(
        [
            compliment("m", at, ("maternity",)),
            compliment("w", at + timedelta(minutes=1), ("wards",)),
            compliment("x", at + timedelta(minutes=2), ()),
            make_post_alert("concern", ("wards",), post_id="c", created_at=at),  # sent now, tallied
        ]
    )
    digest.tick(utc(2026, 6, 1, 16, 0))  # 17:00 BST
    got = digests(settings)
    assert got["digest:maternity:2026-06-01"][MATERNITY] == ["compliment:twitter:m"]
    assert got["digest:wards:2026-06-01"]["wards@northbrook.nhs.example"] == [
        "compliment:twitter:w"
    ]
    assert got["digest:none:2026-06-01"]["communications@northbrook.nhs.example"] == [
        "compliment:twitter:x"
    ]
    wards = next(r for r in outbox_rows(settings) if r["alert_id"] == "digest:wards:2026-06-01")
    assert "concern: 1" in wards["text"]
    assert "compliment: 1" in wards["text"]
