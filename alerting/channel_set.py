"""The set of channels in use: `build_channels` makes each channel the routing table names, once,
from the settings. It sits above the implementations (`alerting.channels`, `alerting.email`,
`alerting.webhooks`), which know nothing of it."""

from __future__ import annotations

from alerting.channels import Channel, FileChannel
from alerting.email import EmailChannel
from alerting.webhooks import SignedWebhookChannel, SlackChannel, TeamsChannel
from socmon.settings import Settings


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The channels the routing table uses, each built once from the settings."""
    cfg = settings.alerting
    channels: dict[str, Channel] = {}
    for name in cfg.channels_in_use():
        if name == "file":
            channels[name] = FileChannel(settings.outbox_path)
        elif name == "email":
            channels[name] = EmailChannel(cfg.smtp, cfg.directory)
        elif name == "teams" and cfg.teams.webhook_url is not None:
            channels[name] = TeamsChannel(cfg.teams.webhook_url, cfg.teams.timeout_seconds)
        elif name == "slack" and cfg.slack.webhook_url is not None:
            channels[name] = SlackChannel(cfg.slack.webhook_url, cfg.slack.timeout_seconds)
        elif name == "webhook" and cfg.webhook.url is not None and cfg.webhook.secret is not None:
            channels[name] = SignedWebhookChannel(cfg.webhook)
    return channels
