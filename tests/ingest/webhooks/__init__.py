"""The webhook receiver: signatures, the platforms' recorded payloads through Starlette's
TestClient, the Graph API read of Instagram mentions, and the real broker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from socmon.settings import KafkaSettings, Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"

PAGE = "104836251234567"
IG_USER = "17841400000000001"
X_USER = "1354209856418488320"
APP_SECRET = "meta-app-secret-that-must-never-be-logged"
VERIFY_TOKEN = "socmon-verify-token-3f9a"
CONSUMER_SECRET = "x-consumer-secret-that-must-never-be-logged"
PAGE_TOKEN = "EAAG-page-token-that-must-never-be-printed"


def raw_fixture(name: str) -> bytes:
    """A recorded push exactly as the platform sent it (the signature covers these bytes)."""
    return (FIXTURES / name).read_bytes()


def receiver_settings(kafka: KafkaSettings | None = None, **hooks: Any) -> Settings:
    """Both platforms configured, the register's three official accounts with their ids."""
    webhooks = {
        "meta_app_secret": APP_SECRET,
        "meta_verify_token": VERIFY_TOKEN,
        "x_consumer_secret": CONSUMER_SECRET,
        **hooks,
    }
    facebook = {
        "page_access_token": PAGE_TOKEN,
        "retry_backoff_seconds": 0,
        "max_retries": 2,
    }
    accounts = [
        {"platform": "facebook", "handle": "NorthbrookHospitals", "platform_id": PAGE},
        {"platform": "instagram", "handle": "northbrookhospitals", "platform_id": IG_USER},
        {"platform": "twitter", "handle": "@NorthbrookNHS", "platform_id": X_USER},
    ]
    return Settings(
        kafka=kafka or KafkaSettings(),
        connectors={"webhooks": webhooks, "facebook": facebook},
        accounts=[{**a, "team": "Comms"} for a in accounts],
    )
