"""Settings of the connectors (`connectors:` in the config file).

Credentials are `SecretStr` and come only from the environment, e.g.
``SOCMON_CONNECTORS__TWITTER__BEARER_TOKEN``. The official accounts each connector watches come
from the register (`accounts:`), the searches from the ``search_queries`` here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from socmon.config import Section

# The Graph API version socmon is written and tested against. v27.0 is the newest version Meta
# lists on its changelog (https://developers.facebook.com/docs/graph-api/changelog/versions/,
# November 2026); a version stays available for about two years after its successor appears.
# Raise it here, or per deployment with SOCMON_CONNECTORS__FACEBOOK__GRAPH_API_VERSION, when Meta
# announces the end of this one.
GRAPH_API_VERSION = "v27.0"

XTier = Literal["pay_per_use", "basic", "pro", "enterprise"]
"""The X API access the organisation pays for. Since 2026 new developer accounts are on
pay-per-use: every post read (mentions, timelines, counts) is billed, so push (the Activity API's
webhooks) is the main path and polling only fills gaps."""
X_TIER: XTier = "pay_per_use"


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
    tier: XTier = X_TIER
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
    jetstream_url: str | None = Field(
        default="wss://jetstream2.us-east.bsky.network/subscribe",
        description="Bluesky's Jetstream (WebSocket) for the official accounts' posts and the "
        "replies to them as they are written; empty: polling only",
    )
    jetstream_all_posts: bool = Field(
        default=True,
        description="subscribe to every new post of the network and keep the replies to and "
        "mentions of the official accounts (about 2 GB a day); false: only the accounts' own "
        "posts (wantedDids), replies and mentions by polling only",
    )


class MastodonSettings(Section):
    """Mastodon through Mastodon.py."""

    enabled: bool = False
    api_base_url: str | None = None
    access_token: SecretStr | None = None
    search_queries: list[str] = []
    streaming: bool = Field(
        default=True,
        description="follow the user:notification stream (mentions as they happen); polling "
        "fills any gap after a disconnect",
    )


class YouTubeSettings(ApiClientSettings):
    """YouTube Data API v3 through the official Google API client: comments on the channels'
    videos, and each channel's last upload for the weekly activity sweep."""

    enabled: bool = False
    api_key: SecretStr | None = None
    comment_lookback_days: float = Field(
        default=14.0,
        gt=0,
        description="replies are looked for in the comment threads started in the last N days",
    )
    page_size: int = Field(default=100, ge=1, le=100, description="comment threads per page")
    # The Data API has a daily quota (10,000 units by default), not a per-minute rate limit: each
    # source polls on its own slower schedule so a handful of channels stays well inside it.
    comment_poll_minutes: float = Field(
        default=5.0, gt=0, description="how often each channel's comments are read"
    )
    max_comment_pages: int = Field(
        default=20, ge=1, le=100, description="comment-thread pages one poll reads at most"
    )
    daily_quota_units: int = Field(
        default=10_000,
        ge=1,
        description="quota units a day socmon may spend (the project's quota, or its share)",
    )
    rate_limit_backoff_seconds: float = Field(
        default=300.0, gt=0, description="wait after a short-term rateLimitExceeded answer"
    )


class LinkedInSettings(ApiClientSettings):
    """LinkedIn organisation pages through the Community Management REST API (httpx)."""

    enabled: bool = False
    access_token: SecretStr | None = None
    api_version: str = Field(
        default="202611", pattern=r"^\d{6}$", description="the LinkedIn-Version header, YYYYMM"
    )
    page_size: int = Field(default=50, ge=1, le=100)
    max_pages: int = Field(
        default=5, ge=1, le=50, description="pages of posts (or of one post's comments) per poll"
    )
    comment_lookback_days: float = Field(
        default=7.0, gt=0, description="comments are read on the posts of the last N days"
    )
    rate_limit_backoff_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="wait after a 429 without Retry-After (LinkedIn's limits are per day)",
    )


class CareOpinionSettings(ApiClientSettings):
    """Care Opinion (API v2): patients' stories about the organisation's services, and whether
    the organisation has responded."""

    enabled: bool = False
    subscription_key: SecretStr | None = None
    api_base_url: str = "https://www.careopinion.org.uk/api/v2"
    organisations: list[str] = Field(
        default=[], description="the NACS codes of the organisation (or its services) to follow"
    )
    requests_per_second: float = Field(
        default=5.0, gt=0, le=5.0, description="Care Opinion allows 5 requests per second"
    )
    page_size: int = Field(default=100, ge=1, le=100)
    max_pages: int = Field(default=10, ge=1, le=100, description="pages of stories per poll")
    response_watch_days: float = Field(
        default=14.0,
        gt=0,
        description="a story not yet answered by the organisation is read again for N days after "
        "it was published, so the index learns when it is answered",
    )
    rate_limit_backoff_seconds: float = Field(
        default=60.0, gt=0, description="wait after a 429 that gives no Retry-After"
    )


class WebhookSettings(Section):
    """`socmon webhooks`: the receiver the platforms push to (Meta Page and Instagram webhooks,
    X Activity API events). It must be reachable over HTTPS from the internet: put it behind a
    reverse proxy (deploy/README.md)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=1, le=65535)
    meta_app_secret: SecretStr | None = None
    meta_verify_token: SecretStr | None = None
    x_consumer_secret: SecretStr | None = None
    send_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="how long a push waits for the broker's acknowledgement before answering "
        "503 (the platform then sends it again); X wants an answer within a few seconds",
    )


class ConnectorSettings(Section):
    replay: list[ReplaySource] = []
    poll_interval_seconds: float = Field(default=60.0, gt=0)
    twitter: TwitterSettings = TwitterSettings()
    facebook: FacebookSettings = FacebookSettings()
    bluesky: BlueskySettings = BlueskySettings()
    mastodon: MastodonSettings = MastodonSettings()
    youtube: YouTubeSettings = YouTubeSettings()
    linkedin: LinkedInSettings = LinkedInSettings()
    careopinion: CareOpinionSettings = CareOpinionSettings()
    webhooks: WebhookSettings = WebhookSettings()
    engagement_refresh_minutes: float = Field(
        default=15.0,
        gt=0,
        description="how often the counts of recent official posts are read again",
    )
    engagement_refresh_hours: float = Field(
        default=48.0,
        gt=0,
        description="official posts younger than this have their counts refreshed",
    )

    def live_platforms(self) -> list[str]:
        """The platforms read for real: enabled with their credentials (polled, or streamed),
        and Bluesky's Jetstream, which needs none. The webhook receiver is not among them: it
        runs as a process of its own (`socmon webhooks`)."""
        credentials = {
            "twitter": (self.twitter.enabled, self.twitter.bearer_token),
            "facebook": (self.facebook.enabled, self.facebook.page_access_token),
            "bluesky": (self.bluesky.enabled, self.bluesky.app_password),
            "mastodon": (self.mastodon.enabled, self.mastodon.access_token),
            "youtube": (self.youtube.enabled, self.youtube.api_key),
            "linkedin": (self.linkedin.enabled, self.linkedin.access_token),
            "careopinion": (self.careopinion.enabled, self.careopinion.subscription_key),
        }
        live = [name for name, (enabled, secret) in credentials.items() if enabled and secret]
        if self.bluesky.enabled and self.bluesky.jetstream_url and "bluesky" not in live:
            live.append("bluesky")  # Jetstream needs no credentials (the register's DIDs)
        return live
