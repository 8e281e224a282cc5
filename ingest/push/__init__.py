"""Push sources: platforms that send posts as they are written, beside the polled connectors.

- `source`: what a push source is (`PushSource.receive` yields `Received` frames of one
  connection; `Disconnected` and `StopSource` say what went wrong);
- `runner`: `PushRunner`, a thread per source, batches produced and checkpoints saved after the
  broker's acks, reconnects with capped back-off;
- `jetstream`: Bluesky's Jetstream (WebSocket); `mastodon_stream`: Mastodon's
  ``user:notification`` stream (server-sent events), gaps filled by a poll.

`push_sources(settings)` is what the composition root calls: the sources the settings ask for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ingest.connectors.common import ApiCallRecorder, active_accounts
from ingest.push.source import Disconnected, PushSource, Received, StopSource
from ingest.registry import Notice
from socmon.settings import Settings

__all__ = ["Disconnected", "PushSource", "Received", "StopSource", "push_sources"]

log = logging.getLogger(__name__)


def _log_notice(notice: Notice) -> None:
    (log.warning if notice.problem else log.info)("%s", notice.text)


def push_sources(
    settings: Settings,
    on_api_call: ApiCallRecorder | None = None,
    notify: Callable[[Notice], None] = _log_notice,
) -> list[PushSource]:
    """The push sources the settings ask for: Jetstream when Bluesky is enabled with a
    ``jetstream_url`` and an official account with a DID; Mastodon's stream when Mastodon is
    enabled with ``streaming`` and its credentials. What is skipped is said through `notify`."""
    return [*_jetstream(settings, notify), *_mastodon(settings, on_api_call, notify)]


def _jetstream(settings: Settings, notify: Callable[[Notice], None]) -> list[PushSource]:
    conf = settings.connectors.bluesky
    if not conf.enabled or not conf.jetstream_url:
        return []
    dids: dict[str, str] = {}
    for account in active_accounts(settings.accounts, "bluesky"):
        handle = account.handle.lstrip("@")
        if account.platform_id and account.platform_id.startswith("did:"):
            dids[account.platform_id] = handle
        else:
            notify(
                Notice(
                    f"bluesky jetstream: account {handle!r} has no DID as platform_id in the "
                    "register (Jetstream names authors by DID); add it (https://bsky.social/xrpc/"
                    f"com.atproto.identity.resolveHandle?handle={handle}). Polled only until then",
                    problem=True,
                )
            )
    if not dids:
        notify(Notice("bluesky jetstream: no official account with a DID; not started"))
        return []
    from ingest.push.jetstream import JetstreamSource

    return [JetstreamSource(conf.jetstream_url, dids, all_posts=conf.jetstream_all_posts)]


def _mastodon(
    settings: Settings, on_api_call: ApiCallRecorder | None, notify: Callable[[Notice], None]
) -> list[PushSource]:
    conf = settings.connectors.mastodon
    if not conf.enabled or not conf.streaming:
        return []
    if not conf.api_base_url or conf.access_token is None:
        notify(
            Notice(
                "mastodon streaming: SOCMON_CONNECTORS__MASTODON__API_BASE_URL or __ACCESS_TOKEN "
                "is not set; not started",
                problem=True,
            )
        )
        return []
    from ingest.connectors.mastodon import MastodonApi
    from ingest.push.mastodon_stream import MastodonStreamSource

    api = MastodonApi(conf.api_base_url, conf.access_token)
    api.on_api_call = on_api_call
    return [MastodonStreamSource(api, active_accounts(settings.accounts, "mastodon"))]
