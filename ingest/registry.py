"""Which connectors run: the replay files, plus every enabled platform that has credentials.

The composition root of the connectors: settings in, the list of sources out. A platform that is
disabled or has no credentials is skipped with a one-line notice; a configured source that cannot
be polled (enabled without credentials, no platform_id where one is needed) is a notice marked
as a problem: `socmon ingest` prints it and goes on, `socmon connectors check` fails on it.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.connector import Connector
from ingest.connectors.common import ApiCallRecorder
from ingest.connectors.replay import ReplayConnector
from socmon.settings import Settings

log = logging.getLogger(__name__)

OTHER_PLATFORMS = ("bluesky", "mastodon", "youtube", "linkedin", "careopinion")
"""The platforms whose module builds its own sources: ``ingest.connectors.<name>.from_settings``."""


@dataclass(frozen=True)
class Notice:
    """One line about the configuration: a platform skipped, or a source that cannot run."""

    text: str
    problem: bool = False


def _log_notice(notice: Notice) -> None:
    (log.warning if notice.problem else log.info)("%s", notice.text)


def build_connectors(
    settings: Settings,
    replay: Sequence[Path] = (),
    on_api_call: ApiCallRecorder | None = None,
    notify: Callable[[Notice], None] = _log_notice,
) -> list[Connector]:
    """The replay sources (`replay` then `connectors.replay`) and the platform sources."""
    paths = [*replay, *(s.path for s in settings.connectors.replay)]
    connectors: list[Connector] = [ReplayConnector(p) for p in paths]
    connectors += _twitter(settings, on_api_call, notify)
    connectors += _facebook(settings, on_api_call, notify)
    for platform in OTHER_PLATFORMS:
        connectors += _other_platform(settings, platform, on_api_call, notify)
    return connectors


def _active_accounts(settings: Settings, platform: str) -> list[tuple[str, str | None]]:
    return [
        (a.handle.lstrip("@"), a.platform_id)
        for a in settings.accounts
        if a.platform == platform and a.status == "active"
    ]


def _twitter(
    settings: Settings, on_api_call: ApiCallRecorder | None, notify: Callable[[Notice], None]
) -> list[Connector]:
    twitter = settings.connectors.twitter
    if not twitter.enabled:
        notify(Notice("twitter: disabled (connectors.twitter.enabled is false); skipped"))
        return []
    if twitter.bearer_token is None:
        notify(
            Notice(
                "twitter: enabled but SOCMON_CONNECTORS__TWITTER__BEARER_TOKEN is not set; skipped",
                problem=True,
            )
        )
        return []
    accounts = _active_accounts(settings, "twitter")
    if not accounts and not twitter.search_queries:
        notify(
            Notice(
                "twitter: enabled, but no active twitter account in the register and no "
                "connectors.twitter.search_queries; nothing to poll",
                problem=True,
            )
        )
        return []
    from ingest.connectors.common import RefreshSchedule
    from ingest.connectors.twitter import twitter_sources

    return twitter_sources(
        twitter, accounts, on_api_call, refresh=RefreshSchedule.of(settings.connectors)
    )


def _facebook(
    settings: Settings, on_api_call: ApiCallRecorder | None, notify: Callable[[Notice], None]
) -> list[Connector]:
    fb = settings.connectors.facebook
    if not fb.enabled:
        notify(Notice("facebook/instagram: disabled (connectors.facebook.enabled); skipped"))
        return []
    if fb.page_access_token is None:
        notify(
            Notice(
                "facebook/instagram: enabled but SOCMON_CONNECTORS__FACEBOOK__PAGE_ACCESS_TOKEN "
                "is not set; skipped",
                problem=True,
            )
        )
        return []
    where = {
        "facebook": "the Page id (the Page's About → Page transparency, or GET /me?fields=id "
        "with the page token)",
        "instagram": "the Instagram business account id (GET /{page-id}?fields="
        "instagram_business_account)",
    }
    ids: dict[str, list[tuple[str, str]]] = {"facebook": [], "instagram": []}
    for platform in ids:
        for handle, platform_id in _active_accounts(settings, platform):
            if platform_id:
                ids[platform].append((handle, platform_id))
            else:
                notify(
                    Notice(
                        f"{platform}: account {handle!r} has no platform_id in the register; "
                        f"add {where[platform]} as its platform_id. Not polled until then",
                        problem=True,
                    )
                )
    if not ids["facebook"] and not ids["instagram"]:
        notify(
            Notice(
                "facebook/instagram: enabled, but no active facebook or instagram account with a "
                "platform_id in the register; nothing to poll",
                problem=True,
            )
        )
        return []
    from ingest.connectors.common import RefreshSchedule
    from ingest.connectors.facebook import facebook_sources

    return facebook_sources(
        fb,
        ids["facebook"],
        ids["instagram"],
        on_api_call,
        refresh=RefreshSchedule.of(settings.connectors),
    )


def _other_platform(
    settings: Settings,
    platform: str,
    on_api_call: ApiCallRecorder | None,
    notify: Callable[[Notice], None],
) -> list[Connector]:
    """Each module builds its own sources from the settings (and says what it skips)."""
    if not getattr(settings.connectors, platform).enabled:
        notify(Notice(f"{platform}: disabled (connectors.{platform}.enabled is false); skipped"))
        return []
    # Imported only when enabled: the client libraries are slow to import.
    module = importlib.import_module(f"ingest.connectors.{platform}")
    if platform == "youtube":  # channels without a channel id: a problem `connectors check` shows
        for text in module.channels_of(settings.accounts)[1]:
            notify(Notice(text, problem=True))
    sources: list[Connector] = module.from_settings(settings, on_api_call)
    return sources
