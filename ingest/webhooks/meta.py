"""Meta's webhooks read into posts: the Page ``feed`` field (posts and comments by others on an
official Page) and Instagram's ``comments`` and ``mentions`` fields.

Every post gets the key the polling connectors of `ingest.connectors.facebook` give the same
item (``facebook:<comment id>``, ``facebook:<page id>_<post id>``, ``instagram:<id>``), so an
item pushed and later polled is one document. The payload format is Meta's Webhooks reference
(``{"object": "page", "entry": [{"id", "time", "changes": [{"field", "value"}]}]}``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ingest.connectors.common import Rejected, clean_text, validated_post
from ingest.connectors.facebook import UNKNOWN_AUTHOR
from ingest.webhooks.push import Accounts, Malformed, MentionRef, Push, unix_time
from socmon.records import Media, Post, PostKind

# Feed items that are posts on the Page (a visitor's or the Page's own); comments are "comment".
POST_ITEMS = frozenset({"status", "post", "photo", "video", "share"})
ADDED = frozenset({"add", "edited", "edit"})
DELETED = frozenset({"remove", "hide", "delete"})


def parse_body(body: bytes) -> Any:
    """The JSON of a signed body; `Malformed` when it is not JSON."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"not valid JSON: {exc}"
        raise Malformed(msg) from exc


def meta_push(payload: Any, accounts: Accounts) -> Push:
    """Every change of a Meta payload: a post, a dead letter, an ignored event or a mention."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("entry"), list):
        msg = "missing field: entry (not a Meta webhook payload)"
        raise Malformed(msg)
    push = Push()
    kind = payload.get("object")
    if kind not in ("page", "instagram"):
        push.ignored.extend("object" for _ in payload["entry"])
        return push
    for entry in payload["entry"]:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("changes", []), list):
            push.reject("webhooks:meta entry", entry, "missing field: changes (not a list)")
            continue
        if kind == "page":
            _page_entry(entry, accounts, push)
        else:
            _instagram_entry(entry, accounts, push)
    return push


def _page_entry(entry: Mapping[str, Any], accounts: Accounts, push: Push) -> None:
    page_id = str(entry.get("id", ""))
    handle = accounts.handle_of("facebook", page_id)
    for position, change in enumerate(entry.get("changes", [])):
        value = change.get("value") if isinstance(change, Mapping) else None
        origin = f"webhooks:facebook page {page_id or '?'} change {_item_id(value) or position}"
        if not isinstance(value, Mapping) or change.get("field") != "feed":
            push.ignored.append("field")
            continue
        if handle is None:
            reason = (
                f"Facebook Page {page_id or '?'} is not an active facebook account with that "
                "platform_id in the register; add it, or unsubscribe the Page from the app"
            )
            push.reject(origin, change, reason)
            continue
        verb, item = value.get("verb"), value.get("item")
        if verb in DELETED:
            push.ignored.append("deleted")
        elif verb not in ADDED:
            push.ignored.append("verb")
        elif item == "comment":
            _add(push, origin, change, lambda v=value: _fb_comment(v, page_id, handle))
        elif item in POST_ITEMS:
            _add(push, origin, change, lambda v=value: _fb_post(v, page_id, handle))
        else:
            push.ignored.append("reaction" if item in ("reaction", "like") else "item")


def _item_id(value: Any) -> str:
    if not isinstance(value, Mapping):
        return ""
    return str(value.get("comment_id") or value.get("post_id") or value.get("id") or "")


def _add(push: Push, origin: str, raw: Any, build: Any) -> None:
    """`build()` as a post of `push`, or the change as a dead letter with the reason."""
    try:
        push.posts.append(build())
    except Rejected as exc:
        push.reject(origin, raw, str(exc))


def _created(value: Mapping[str, Any], key: str) -> datetime:
    created = unix_time(value.get(key))
    if created is None:
        msg = f"missing field: {key}" if key not in value else f"invalid {key}: {value.get(key)}"
        raise Rejected(msg)
    return created


def _required(value: Mapping[str, Any], key: str) -> str:
    found = value.get(key)
    if found in (None, ""):
        msg = f"missing field: {key}"
        raise Rejected(msg)
    return str(found)


def _fb_comment(value: Mapping[str, Any], page_id: str, handle: str) -> Post:
    """A comment or reply on a Page post, as `FacebookComments` reads it from the Graph API."""
    comment_id = _required(value, "comment_id")
    post_id = _required(value, "post_id")
    author = value.get("from") or {}
    parent = str(value.get("parent_id") or post_id)
    kind: PostKind = "reply" if parent != post_id else "comment"
    if str(author.get("id")) == page_id:
        kind = "official_post"  # the Page's own answers are official content (policy checks)
    permalink = (value.get("post") or {}).get("permalink_url")
    url = None
    if isinstance(permalink, str) and "?" not in permalink:
        url = f"{permalink}?comment_id={comment_id.rsplit('_', 1)[-1]}"
    return validated_post(
        {
            "platform": "facebook",
            "post_id": comment_id,
            "kind": kind,
            "account": handle,
            "author": author.get("name") or UNKNOWN_AUTHOR,
            "text": clean_text(str(value.get("message") or "")),
            "created_at": _created(value, "created_time"),
            "url": url,
            "in_reply_to": parent,
            "source": f"facebook:webhook:{handle}",
        }
    )


def _fb_post(value: Mapping[str, Any], page_id: str, handle: str) -> Post:
    """A post on the Page: a visitor's (a mention, as `FacebookVisitorPosts`) or its own."""
    post_id = _required(value, "post_id")
    author = value.get("from") or {}
    kind: PostKind = "official_post" if str(author.get("id")) == page_id else "mention"
    photos = [*value.get("photos", [])] or ([value["link"]] if value.get("item") == "photo" else [])
    media = tuple(Media(type="photo", url=str(url)) for url in photos if url)
    if value.get("item") == "video" and value.get("link"):
        media = (Media(type="video", url=str(value["link"])),)
    return validated_post(
        {
            "platform": "facebook",
            "post_id": post_id,
            "kind": kind,
            "account": handle,
            "author": author.get("name") or UNKNOWN_AUTHOR,
            "text": clean_text(str(value.get("message") or "")),
            "created_at": _created(value, "created_time"),
            "url": (value.get("post") or {}).get("permalink_url"),
            "media": media,
            "source": f"facebook:webhook:{handle}",
        }
    )


def _instagram_entry(entry: Mapping[str, Any], accounts: Accounts, push: Push) -> None:
    ig_user_id = str(entry.get("id", ""))
    handle = accounts.handle_of("instagram", ig_user_id)
    for position, change in enumerate(entry.get("changes", [])):
        value = change.get("value") if isinstance(change, Mapping) else None
        field = change.get("field") if isinstance(change, Mapping) else None
        if not isinstance(value, Mapping) or field not in ("comments", "mentions"):
            push.ignored.append("field")
            continue
        what = value.get("id") or value.get("comment_id") or value.get("media_id") or position
        origin = f"webhooks:instagram account {ig_user_id or '?'} {field} {what}"
        if handle is None:
            reason = (
                f"Instagram account {ig_user_id or '?'} is not an active instagram account with "
                "that platform_id in the register; add it, or remove it from the app"
            )
            push.reject(origin, change, reason)
        elif field == "comments":
            _add(push, origin, change, lambda v=value: _ig_comment(v, entry, handle))
        elif not value.get("media_id"):
            push.reject(origin, change, "missing field: media_id")
        else:
            comment_id = value.get("comment_id")
            push.mentions.append(
                MentionRef(
                    ig_user_id=ig_user_id,
                    handle=handle,
                    media_id=str(value["media_id"]),
                    comment_id=str(comment_id) if comment_id else None,
                    origin=origin,
                )
            )


def _ig_comment(value: Mapping[str, Any], entry: Mapping[str, Any], handle: str) -> Post:
    """A comment or reply on the account's media, as `InstagramComments` reads it.

    The webhook carries no creation time of its own: the entry's ``time`` (when Meta sent it,
    seconds after the comment) stands in until the next poll reads the comment's ``timestamp``.
    """
    comment_id = _required(value, "id")
    author = (value.get("from") or {}).get("username") or UNKNOWN_AUTHOR
    media_id = (value.get("media") or {}).get("id")
    parent = value.get("parent_id")
    kind: PostKind = "reply" if parent else "comment"
    if str(author).lower() == handle.lower():
        kind = "official_post"
    return validated_post(
        {
            "platform": "instagram",
            "post_id": comment_id,
            "kind": kind,
            "account": handle,
            "author": author,
            "text": clean_text(str(value.get("text") or "")),
            "created_at": _created(entry, "time"),
            "in_reply_to": str(parent or media_id) if (parent or media_id) else None,
            "source": f"instagram:webhook:{handle}",
        }
    )
