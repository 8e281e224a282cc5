"""Instagram @mentions: the webhook says only where (media id, comment id); the text is read from
the Graph API (facebook-sdk, the configured version and the page token) after the push was
answered, with bounded retries. What cannot be read becomes a dead letter with the ids.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import facebook
import requests
import tenacity
from pydantic import ValidationError

from ingest.connectors.common import (
    ApiCallRecorder,
    Rejected,
    api_retrying,
    clean_text,
    retry_policy,
    validated_post,
)
from ingest.connectors.facebook import (
    IG_MEDIA_FIELDS,
    TOKEN_ENV,
    TRANSIENT_CODES,
    UNKNOWN_AUTHOR,
    make_graph_api,
)
from ingest.webhooks.push import MentionRef, unix_time
from socmon.config.connectors import FacebookSettings
from socmon.records import Media, Post

log = logging.getLogger(__name__)

# IG Comment fields the mentioned_comment edge gives (no author: Meta does not share it there).
MENTIONED_COMMENT_FIELDS = "id,text,timestamp,media{id,permalink}"


class MentionUnavailable(Exception):
    """A mention's text could not be read; the message is the dead letter's reason."""


def _describe(exc: BaseException | None) -> str:
    """An error for the log without the request URL, which carries the token in its query."""
    if exc is None or isinstance(exc, facebook.GraphAPIError):
        return str(exc)
    return type(exc).__name__


class MentionFetcher:
    """Reads the mentioned comment or caption of a `MentionRef` into a `Post`."""

    def __init__(
        self,
        settings: FacebookSettings,
        on_api_call: ApiCallRecorder | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._on_api_call = on_api_call
        self._sleep = sleep
        self._status: int | None = None
        self._graph: facebook.GraphAPI | None = None
        if settings.page_access_token is not None:
            session = requests.Session()
            session.hooks["response"].append(self._remember)
            self._graph = make_graph_api(
                settings.page_access_token.get_secret_value(),
                settings.graph_api_version,
                settings.request_timeout_seconds,
                session,
            )

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._status = response.status_code

    def fetch(self, ref: MentionRef) -> Post:
        """The mention as a post; `MentionUnavailable` (with the reason) when it cannot be read."""
        if self._graph is None:
            msg = f"no page access token to read the mention with: set {TOKEN_ENV}"
            raise MentionUnavailable(msg)
        if ref.comment_id:
            edge = "mentioned_comment"
            fields = f"{edge}.comment_id({ref.comment_id}){{{MENTIONED_COMMENT_FIELDS}}}"
        else:
            edge = "mentioned_media"
            fields = f"{edge}.media_id({ref.media_id}){{{IG_MEDIA_FIELDS}}}"
        source = f"instagram:webhook:{ref.handle}"
        retrying = api_retrying(
            retry_policy(self.settings),
            tenacity.retry_if_exception(self._transient),
            f"source={source} edge='GET /{{ig-user-id}}?fields={edge}'",
            describe=_describe,
            sleep=self._sleep,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self._status = None
                    try:
                        node = self._graph.get_object(ref.ig_user_id, fields=fields)
                    except (facebook.GraphAPIError, requests.RequestException) as exc:
                        self._record(source, exc)
                        raise
                    self._record(source, None)
        except facebook.GraphAPIError as exc:
            msg = (
                f"Graph API {edge} ({self.settings.graph_api_version}) refused the read "
                f"(HTTP {self._status}, code {exc.code}: {exc.message})"
            )
            raise MentionUnavailable(msg) from exc
        except requests.RequestException as exc:
            msg = (
                f"Graph API {edge} did not answer after {self.settings.max_retries + 1} "
                f"attempts ({type(exc).__name__})"
            )
            raise MentionUnavailable(msg) from exc
        found = node.get(edge) if isinstance(node, dict) else None
        if not isinstance(found, dict):
            msg = f"Graph API {edge}: no {edge} in the answer (deleted, or hidden from this token)"
            raise MentionUnavailable(msg)
        try:
            return self._post(ref, found, source)
        except (Rejected, ValidationError) as exc:
            msg = f"Graph API {edge}: {exc}"
            raise MentionUnavailable(msg) from exc

    def _post(self, ref: MentionRef, found: dict[str, Any], source: str) -> Post:
        if ref.comment_id:
            media = found.get("media") or {}
            values: dict[str, Any] = {
                "post_id": str(found.get("id") or ref.comment_id),
                "text": clean_text(str(found.get("text") or "")),
                "author": found.get("username") or UNKNOWN_AUTHOR,
                "url": media.get("permalink"),
                "in_reply_to": str(media.get("id") or ref.media_id),
            }
        else:
            kind = {"IMAGE": "photo", "VIDEO": "video"}.get(str(found.get("media_type")), "other")
            values = {
                # The key InstagramMentions (the tags edge) gives the same media when polled.
                "post_id": str(found.get("id") or ref.media_id),
                "text": clean_text(str(found.get("caption") or "")),
                "author": found.get("username") or UNKNOWN_AUTHOR,
                "url": found.get("permalink"),
                "media": (Media.model_validate({"type": kind, "url": found.get("media_url")}),),
            }
        created = unix_time(found.get("timestamp"))
        if created is None:
            msg = f"missing or invalid field: timestamp ({found.get('timestamp')!r})"
            raise Rejected(msg)
        return validated_post(
            {
                **values,
                "platform": "instagram",
                "kind": "mention",
                "account": ref.handle,
                "created_at": created,
                "source": source,
            }
        )

    def _transient(self, exc: BaseException) -> bool:
        if isinstance(exc, requests.Timeout | requests.ConnectionError):
            return True
        if isinstance(exc, facebook.GraphAPIError):
            return (self._status or 0) >= 500 or exc.code in TRANSIENT_CODES
        return False

    def _record(self, source: str, exc: BaseException | None) -> None:
        if self._on_api_call is None:
            return
        if self._status is not None:
            self._on_api_call(source, str(self._status))
        elif exc is not None:
            self._on_api_call(source, "timeout")
