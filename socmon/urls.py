"""URLs as they may be shown: in a message, a log line or a page."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit, urlunsplit

# The hosts each platform's own post links live on (what the connectors build or the APIs
# return as permalinks). Mastodon is missing on purpose: every instance has its own host.
PLATFORM_HOSTS: dict[str, frozenset[str]] = {
    "twitter": frozenset({"x.com", "www.x.com", "twitter.com", "www.twitter.com"}),
    "facebook": frozenset({"facebook.com", "www.facebook.com", "m.facebook.com"}),
    "instagram": frozenset({"instagram.com", "www.instagram.com"}),
    "bluesky": frozenset({"bsky.app"}),
    "youtube": frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be"}),
    "linkedin": frozenset({"linkedin.com", "www.linkedin.com"}),
    "careopinion": frozenset({"careopinion.org.uk", "www.careopinion.org.uk"}),
}
ANY_HOST_PLATFORMS = frozenset({"mastodon"})


def without_credentials(url: str) -> str:
    """The URL with any user and password removed (``https://u:p@host:9200`` ->
    ``https://host:9200``)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def _plain(url: str) -> bool:
    """No whitespace, control or invisible format character (bidi overrides, zero widths) and
    no backslash, which browsers read as ``/`` and `urlsplit` does not."""
    return not any(
        ch.isspace() or ch == "\\" or unicodedata.category(ch) in ("Cc", "Cf") for ch in url
    )


def original_link(url: str | None, platform: str) -> str | None:
    """`url` if it is safe to offer as a link to the original post on `platform`, else None.

    A post's URL comes from the platform (or a replay file) and is not ours: it is offered only
    when it is ``https:`` on one of the platform's own hosts (any host for Mastodon), with no
    user name, port or invisible character, so a ``javascript:`` link or a look-alike host never
    becomes a button, an e-mail link or the dashboard's "Original" link.
    """
    if not url or not _plain(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed ``[`` of an IPv6 host
        return None
    host = parts.hostname
    # the whole network location must be the host: no user info, no port, nothing else
    if parts.scheme != "https" or not host or parts.netloc.lower() != host:
        return None
    if platform in ANY_HOST_PLATFORMS or host in PLATFORM_HOSTS.get(platform, frozenset()):
        return url
    return None
