"""Public text made inert for Slack mrkdwn, Teams card markdown and a terminal."""

from __future__ import annotations

import re

from socmon.safe_text import slack_escape, teams_markdown_escape, terminal_safe

HOSTILE = (
    "<!channel> <!here> <https://evil.example|Open in the dashboard> [click](https://evil.example)"
)


def test_slack_escape_turns_mentions_and_links_into_text():
    escaped = slack_escape(HOSTILE)
    assert "<" not in escaped
    assert ">" not in escaped
    assert escaped.startswith("&lt;!channel&gt; &lt;!here&gt; &lt;https://evil.example|Open")


def test_slack_escape_escapes_the_ampersand_first_so_an_entity_stays_as_written():
    assert slack_escape("A&E &lt;") == "A&amp;E &amp;lt;"
    assert slack_escape("Thanks to the ward, 10/10") == "Thanks to the ward, 10/10"


def test_teams_markdown_escape_leaves_no_link_list_or_emphasis():
    escaped = teams_markdown_escape(HOSTILE + " **bold** _it_ # head\n- item\n1. one\n> quote")
    # a markdown link needs an unescaped ] followed by an unescaped (
    assert not re.search(r"(?<!\\)\]\s*(?<!\\)\(", escaped)
    assert "\\[click\\]\\(https://evil\\.example\\)" in escaped
    assert "\\*\\*bold\\*\\*" in escaped
    assert "\\_it\\_" in escaped
    assert "\n\\- item\n1\\. one\n\\> quote" in escaped
    assert "\\<\\!channel\\>" in escaped


def test_teams_markdown_escape_escapes_a_backslash_so_it_cannot_undo_an_escape():
    assert teams_markdown_escape("\\[x]") == "\\\\\\[x\\]"
    assert teams_markdown_escape("Thank you all") == "Thank you all"


def test_terminal_safe_removes_escape_sequences_whole():
    assert terminal_safe("\x1b]0;owned\x07\x1b[2Jbob") == "bob"
    assert terminal_safe("\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\") == "link"
    assert terminal_safe("\x1b[31;1mred\x1b[0m \x9b2Jc1 \x1bcreset \x1b(Bcharset") == (
        "red c1 reset charset"
    )


def test_terminal_safe_removes_control_characters_but_newline_and_tab():
    assert terminal_safe("a\tb\nc\rd\x00e\x08f\x7fg\x85h\x07") == "a\tb\ncdefgh"


def test_terminal_safe_removes_bidi_overrides_and_isolates():
    text = "@bob\u202e\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069cba"
    assert terminal_safe(text) == "@bobcba"
    assert terminal_safe("Diolch yn fawr 🙂 «merci» ‘ok’") == "Diolch yn fawr 🙂 «merci» ‘ok’"
