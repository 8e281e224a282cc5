"""A small, known index for the dashboard tests: posts (one with a breach), deliveries, a user.

Times are relative to now, so "today" and the 30-day chart have something to show whatever
day the tests run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from dashboards.web.users import add_user
from socmon.index.port import Index
from socmon.records import Breach, Classification, Delivery, EnrichedPost
from socmon.settings import Settings, load_settings
from tests.factories import make_delivery, make_post

USER = "alice.jones"
PASSWORD = "correct horse battery staple"
MATERNITY_USER = "grace.okafor"
"""A department user: sees the maternity posts only."""
ESTATES_USER = "sam.estates"
"""A department user: sees the estates posts only."""
BREACH_TEXT = (
    "Lovely to see Jane Smith home from ward 7 after her stroke. "
    "Her NHS number 943 476 5919 is on the form <b>today</b>!"
)
EVIDENCE = "943 476 5919"
LINE_MANAGER = "head.of.midwifery@northbrook.nhs.example"


@dataclass(frozen=True)
class Seeded:
    """The keys of the posts the tests look for."""

    breach: str = "twitter:breach1"
    parking: str = "twitter:parking1"
    midwife: str = "facebook:midwife1"
    old: str = "twitter:old1"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def write_config(folder: Path, **dashboard: object) -> Path:
    """A config file with a short register and taxonomy, data in `folder` (for the CLI too)."""
    review = (now() - timedelta(days=20)).date().isoformat()
    config = {
        "data_dir": str(folder),
        "organisation": {"name": "Northbrook Hospitals NHS Foundation Trust"},
        "departments": [
            {"id": "maternity", "name": "Maternity", "keywords": ["midwife"]},
            {"id": "estates", "name": "Estates and parking", "keywords": ["parking"]},
            {"id": "wards", "name": "Wards", "keywords": ["ward"]},
        ],
        "accounts": [
            {
                "platform": "twitter",
                "handle": "NorthbrookMaternity",
                "team": "Maternity",
                "owner": "Grace Okafor",
                "line_manager": "Head of Midwifery",
                "expected_interval_days": 7,
                "last_review": review,
            },
            {
                "platform": "facebook",
                "handle": "NorthbrookHospitals",
                "team": "Communications",
                "owner": "Tom Evans",
                "expected_interval_days": 7,
                "last_review": review,
            },
        ],
        "dashboard": dashboard,
    }
    path = folder / "socmon.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def dashboard_settings(folder: Path, **dashboard: object) -> Settings:
    return load_settings(write_config(folder, **dashboard))


def breach_post(created_at: datetime) -> EnrichedPost:
    start = BREACH_TEXT.index(EVIDENCE)
    post = make_post(
        "breach1",
        text=BREACH_TEXT,
        kind="official_post",
        account="NorthbrookMaternity",
        author="NorthbrookMaternity",
        created_at=created_at,
    )
    return post.model_copy(
        update={
            "classification": Classification(
                sentiment="compliment",
                confidence=0.71,
                departments=("wards",),
                breaches=(
                    Breach(
                        rule="nhs_number",
                        severity="high",
                        evidence=EVIDENCE,
                        start=start,
                        end=start + len(EVIDENCE),
                    ),
                ),
                reason="NHS number in an official post; a patient named with clinical detail",
                model="rules-test",
            )
        }
    )


def seed(index: Index) -> Seeded:
    """Fill a set-up, empty index; returns the keys of the posts of interest."""
    t = now()
    keys = Seeded()
    posts = [
        breach_post(t - timedelta(minutes=30)),
        make_post(
            "parking1",
            text="Paid £12 for parking and the car park barrier was broken for an hour",
            account="NorthbrookNHS",
            author="@driver_dan",
            sentiment="concern",
            departments=("estates",),
            created_at=t - timedelta(hours=1),
        ),
        make_post(
            "midwife1",
            platform="facebook",
            text="The midwife who looked after me was wonderful, thank you",
            account="NorthbrookHospitals",
            author="Amira K",
            kind="comment",
            sentiment="compliment",
            departments=("maternity",),
            created_at=t - timedelta(days=2),
        ),
        make_post(
            "old1",
            text="Waited six hours on the ward for a bed",
            account="NorthbrookNHS",
            author="@long_wait",
            sentiment="concern",
            departments=("wards",),
            created_at=t - timedelta(days=40),
        ),
    ]
    posts += [
        make_post(
            f"filler{i}",
            text=f"Question number {i} about visiting times",
            account="NorthbrookNHS",
            author=f"@visitor{i}",
            sentiment="neutral",
            created_at=t - timedelta(days=i % 25, hours=2),
        )
        for i in range(12)
    ]
    index.upsert_posts(posts)
    index.record_deliveries(
        [
            Delivery(
                alert_id=f"policy_breach:{keys.breach}",
                alert_kind="policy_breach",
                recipient=LINE_MANAGER,
                channel="email",
                result="sent",
                delivered_at=t - timedelta(minutes=25),
            ),
            make_delivery(
                f"concern:{keys.parking}",
                "estates@northbrook.nhs.example",
                "teams",
                delivered_at=t - timedelta(minutes=50),
            ),
        ]
    )
    add_user(index, USER, PASSWORD)
    add_user(index, MATERNITY_USER, PASSWORD, role="department", department="maternity")
    add_user(index, ESTATES_USER, PASSWORD, role="department", department="estates")
    return keys
