"""Settings of the connectors (`connectors:` in the config file).

Credentials are `SecretStr` and come only from the environment, e.g.
``SOCMON_CONNECTORS__TWITTER__BEARER_TOKEN``. The official accounts each connector watches come
from the register (`accounts:`), the searches from the ``search_queries`` here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from socmon.config import Section


class ReplaySource(Section):
    path: Path


class TwitterSettings(Section):
    """X/Twitter API v2 through tweepy."""

    enabled: bool = False
    bearer_token: SecretStr | None = None
    search_queries: list[str] = []


class FacebookSettings(Section):
    """Facebook Pages and Instagram business accounts through facebook-sdk (Graph API)."""

    enabled: bool = False
    page_access_token: SecretStr | None = None
    graph_api_version: str = Field(default="v23.0", pattern=r"^v\d+\.\d+$")


class BlueskySettings(Section):
    """Bluesky through atproto."""

    enabled: bool = False
    service_url: str = "https://bsky.social"
    handle: str | None = None
    app_password: SecretStr | None = None
    search_queries: list[str] = []


class MastodonSettings(Section):
    """Mastodon through Mastodon.py."""

    enabled: bool = False
    api_base_url: str | None = None
    access_token: SecretStr | None = None
    search_queries: list[str] = []


class ConnectorSettings(Section):
    replay: list[ReplaySource] = []
    poll_interval_seconds: float = Field(default=60.0, gt=0)
    twitter: TwitterSettings = TwitterSettings()
    facebook: FacebookSettings = FacebookSettings()
    bluesky: BlueskySettings = BlueskySettings()
    mastodon: MastodonSettings = MastodonSettings()
