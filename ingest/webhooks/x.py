"""X Activity API events read into posts: ``post.mention.create`` (someone @mentions an official
account) and ``post.reply.create`` (a direct reply to one of its posts).

An event is an envelope ``{"data": {"event_uuid", "filter": {"user_id"}, "event_type", "tag",
"payload", "includes"}}`` whose ``payload`` is a v2 Post object and whose ``includes`` holds the
users (and posts) it refers to (docs.x.com/x-api/activity/event-payloads). The post gets the key
`ingest.connectors.twitter` gives the same tweet (``twitter:<id>``), and the same fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.connectors.common import Rejected, clean_text, validated_post
from ingest.webhooks.push import Accounts, Malformed, Push
from socmon.records import Media, Post, PostKind

MENTION = "post.mention.create"
REPLY = "post.reply.create"
MEDIA_TYPES = {"photo", "video", "animated_gif"}


def x_push(payload: Any, accounts: Accounts) -> Push:
    """Every event of an X delivery: a post, a dead letter, or an ignored event type."""
    data = payload.get("data") if isinstance(payload, Mapping) else None
    found = data if isinstance(data, list) else [data]
    events: list[Mapping[str, Any]] = [e for e in found if isinstance(e, Mapping)]
    if not events or len(events) != len(found):
        msg = "missing field: data (not an X Activity API event)"
        raise Malformed(msg)
    push = Push()
    for event in events:
        event_type = event.get("event_type")
        if event_type not in (MENTION, REPLY):
            push.ignored.append("deleted" if event_type == "post.delete" else "event_type")
            continue
        tweet = event.get("payload")
        tweet_id = tweet.get("id", "?") if isinstance(tweet, Mapping) else "?"
        origin = f"webhooks:twitter {event_type} tweet {tweet_id}"
        try:
            push.posts.append(_post(event, accounts))
        except Rejected as exc:
            push.reject(origin, event, str(exc))
    return push


def _users(includes: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The included users by id; X sends each one bare or wrapped in ``{"data": {...}}``."""
    users: dict[str, Mapping[str, Any]] = {}
    for user in includes.get("users") or []:
        if isinstance(user, Mapping) and isinstance(user.get("data"), Mapping):
            user = user["data"]
        if isinstance(user, Mapping) and user.get("id"):
            users[str(user["id"])] = user
    return users


def _post(event: Mapping[str, Any], accounts: Accounts) -> Post:
    tweet = event.get("payload")
    if not isinstance(tweet, Mapping) or not tweet.get("id"):
        msg = "missing field: payload.id"
        raise Rejected(msg)
    raw_includes = event.get("includes")
    includes: Mapping[str, Any] = raw_includes if isinstance(raw_includes, Mapping) else {}
    users = _users(includes)
    own_id = str((event.get("filter") or {}).get("user_id") or "")
    handle = accounts.handle_of("twitter", own_id)
    if handle is None and own_id in users:
        handle = accounts.handle_named("twitter", str(users[own_id].get("username", "")))
    if handle is None:
        msg = (
            f"X user {own_id or '?'} of the subscription is not an active twitter account in the "
            "register; add it (with platform_id) or delete the subscription"
        )
        raise Rejected(msg)
    withheld = tweet.get("withheld")
    if withheld:
        where = ", ".join(withheld.get("country_codes", [])) or "some countries"
        why = "a copyright claim" if withheld.get("copyright") else "a legal demand"
        msg = f"withheld in {where} after {why}"
        raise Rejected(msg)
    author = users.get(str(tweet.get("author_id")))
    if author is None:
        msg = f"missing field: author (user {tweet.get('author_id')} not in includes.users)"
        raise Rejected(msg)
    text = (tweet.get("note_tweet") or {}).get("text") or tweet.get("text")
    if text is None:
        msg = "missing field: text"
        raise Rejected(msg)
    replied_to = next(
        (r["id"] for r in tweet.get("referenced_tweets", []) if r.get("type") == "replied_to"),
        None,
    )
    # As TwitterMentions decides: a reply to the account is a reply, anything else a mention.
    kind: PostKind = "mention"
    if event.get("event_type") == REPLY or str(tweet.get("in_reply_to_user_id")) == own_id:
        kind = "reply"
    media_by_key = {
        m["media_key"]: m
        for m in includes.get("media") or []
        if isinstance(m, Mapping) and "media_key" in m
    }
    media = [
        Media(
            type=m["type"] if m.get("type") in MEDIA_TYPES else "other",
            url=m.get("url") or m.get("preview_image_url"),
            alt_text=m.get("alt_text"),
        )
        for key in (tweet.get("attachments") or {}).get("media_keys", [])
        if (m := media_by_key.get(key)) is not None
    ]
    tweet_id = str(tweet["id"])
    username = author.get("username")
    return validated_post(
        {
            "platform": "twitter",
            "post_id": tweet_id,
            "kind": kind,
            "account": handle,
            "author": username or author.get("name") or str(author["id"]),
            "text": clean_text(str(text)),
            "created_at": tweet.get("created_at"),
            "url": f"https://x.com/{username or 'i'}/status/{tweet_id}",
            "media": tuple(media),
            "lang": tweet.get("lang"),
            "in_reply_to": replied_to,
            "source": f"twitter:webhook:{handle}",
        }
    )
