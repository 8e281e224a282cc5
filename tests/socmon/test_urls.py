"""URLs as they may be shown: credentials hidden, and only a platform's own links offered."""

from __future__ import annotations

import pytest

from socmon.urls import original_link, without_credentials


def test_without_credentials_drops_the_user_and_password_and_keeps_the_port():
    assert without_credentials("https://u:p@es.example:9200/x") == "https://es.example:9200/x"
    assert without_credentials("https://es.example:9200") == "https://es.example:9200"


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        # the shapes the connectors build or the platforms return as permalinks
        ("https://x.com/NorthbrookNHS/status/1897000000000000001", "twitter"),
        ("https://twitter.com/NorthbrookNHS/status/1", "twitter"),
        ("https://www.facebook.com/123_456", "facebook"),
        ("https://facebook.com/ExampleNHSTrust/posts/10158-77", "facebook"),
        ("https://m.facebook.com/story.php?story_fbid=1&id=2", "facebook"),
        ("https://www.instagram.com/p/Cabc_123-xy/", "instagram"),
        ("https://bsky.app/profile/northbrook.bsky.social/post/3kabcdefghij2", "bluesky"),
        ("https://toot.wales/@northbrook/113000000000000001", "mastodon"),
        ("https://mastodon.social/@nhs/1", "mastodon"),
        ("HTTPS://X.COM/a/status/1", "twitter"),  # scheme and host are case-insensitive
    ],
)
def test_a_platforms_own_https_link_is_offered_as_it_is(url, platform):
    assert original_link(url, platform) == url


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("javascript:alert(1)", "twitter"),
        ("JAVASCRIPT:alert(1)", "twitter"),
        (" javascript:alert(1)", "twitter"),
        ("\tjavascript:alert(1)", "mastodon"),
        ("java\nscript:alert(1)", "mastodon"),
        ("data:text/html,<script>alert(1)</script>", "facebook"),
        ("vbscript:msgbox(1)", "instagram"),
        ("http://x.com/a/status/1", "twitter"),  # not https
        ("http://toot.wales/@a/1", "mastodon"),  # any host for Mastodon, but https only
        ("//x.com/a/status/1", "twitter"),  # no scheme
        ("https://user@x.com/a/status/1", "twitter"),
        ("https://x.com:pass@evil.example/", "twitter"),
        ("https://user@toot.wales/@a/1", "mastodon"),
        ("https://x.com.evil.example/a/status/1", "twitter"),
        ("https://evilx.com/a/status/1", "twitter"),
        ("https://evil.example/a", "facebook"),  # a Facebook post linking elsewhere
        ("https://x.com/a/status/1", "facebook"),  # another platform's host
        ("https://x.com:8443/a/status/1", "twitter"),
        ("https://x.com/a\n/status/1", "twitter"),
        ("https://x.com/a/status/1\r\n", "twitter"),
        (" https://x.com/a/status/1", "twitter"),
        ("https://x.com/a b", "twitter"),
        ("https://x.com/\u202egnp.exe", "twitter"),  # a bidi override
        ("https://x.com\\@evil.example/", "twitter"),  # browsers read \ as /
        ("https://evil.example\\.x.com/", "twitter"),
        ("https://[::1/", "mastodon"),  # unparseable
        ("https:///a/1", "mastodon"),  # no host
        ("https:toot.wales/@a/1", "mastodon"),
        ("https://x.com/a/status/1", "myspace"),  # a platform with no known hosts
        ("", "twitter"),
        (None, "twitter"),
    ],
)
def test_anything_else_is_no_link(url, platform):
    assert original_link(url, platform) is None
