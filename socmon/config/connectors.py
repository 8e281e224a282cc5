"""Settings of the connectors (`connectors:` in the config file).

Credentials are `SecretStr` and come only from the environment, e.g.
``SOCMON_CONNECTORS__TWITTER__BEARER_TOKEN``. The official accounts each connector watches come
from the register (`accounts:`), the searches from the ``search_queries`` here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from socmon.config import Section

# The Graph API version socmon is written and tested against. v26.0 is the newest version Meta
# lists on its changelog (https://developers.facebook.com/docs/graph-api/changelog/versions/,
# introduced 29 July 2026, no end date announced); a version stays available for about two
# years after its successor appears. Raise it here, or per deployment with
# SOCMON_CONNECTORS__FACEBOOK__GRAPH_API_VERSION, when Meta announces the end of this one.
GRAPH_API_VERSION = "v26.0"


class ReplaySource(Section):
    path: Path


class ApiClientSettings(Section):
    """What every platform client shares: time-outs and the bounded retries of server errors."""

    request_timeout_seconds: float = Field(default=20.0, gt=0)
    max_retries: int = Field(
        default=3, ge=0, le=10, description="retries of a 5xx or a time-out before giving up"
    )
    retry_backoff_seconds: float = Field(
        default=2.0, ge=0, description="first back-off; doubles each retry, capped at 60 s"
    )
    initial_lookback_hours: float = Field(
        default=24.0,
        gt=0,
        description="how far back the first poll of a source reads (no checkpoint yet)",
    )


class TwitterSettings(ApiClientSettings):
    """X/Twitter API v2 through tweepy (an app-only bearer token)."""

    enabled: bool = False
    bearer_token: SecretStr | None = None
    search_queries: list[str] = []
    max_results: int = Field(default=100, ge=5, le=100, description="tweets per page")


class FacebookSettings(ApiClientSettings):
    """Facebook Pages and Instagram business accounts through facebook-sdk (Graph API)."""

    enabled: bool = False
    page_access_token: SecretStr | None = None
    graph_api_version: str = Field(default=GRAPH_API_VERSION, pattern=r"^v\d+\.\d+$")
    page_size: int = Field(default=50, ge=1, le=100, description="items per page (`limit`)")
    comment_lookback_days: float = Field(
        default=7.0,
        gt=0,
        description="comments are read on the page's posts and media of the last N days",
    )
    rate_limit_backoff_seconds: float = Field(
        default=600.0,
        gt=0,
        description="wait after a rate-limit error whose usage headers give no time to regain",
    )


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

    def live_platforms(self) -> list[str]:
        """The platforms that are enabled and have their credentials (so are polled for real)."""
        credentials = {
            "twitter": (self.twitter.enabled, self.twitter.bearer_token),
            "facebook": (self.facebook.enabled, self.facebook.page_access_token),
            "bluesky": (self.bluesky.enabled, self.bluesky.app_password),
            "mastodon": (self.mastodon.enabled, self.mastodon.access_token),
        }
        return [name for name, (enabled, secret) in credentials.items() if enabled and secret]
