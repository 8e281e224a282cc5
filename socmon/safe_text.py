"""Public text made inert for where it is shown: Slack mrkdwn, Teams card markdown, a terminal.

A post's text and author are written by anyone; in an alert they are data, never markup. HTML
needs nothing here: Jinja2 autoescapes it.
"""

from __future__ import annotations

import re

# Slack's own rule (api.slack.com/reference/surfaces/formatting#escaping): only these three
# are control characters of mrkdwn; escaped, ``<!channel>`` and ``<url|label>`` are just text.
_SLACK = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})

# Adaptive Card TextBlocks (and FactSet titles and values) read a CommonMark subset: bold,
# italic, lists and ``[title](url)`` links. CommonMark lets any ASCII punctuation be escaped
# with a backslash, so the characters of that subset are, and ``<``/``>`` for good measure.
_TEAMS_MARKDOWN = re.compile(r"([\\*_\[\]()#+\-.!`<>])")

# Terminal control: escape sequences whole (so no ``]0;title`` is left behind), then any
# other C0/C1 control character but newline and tab, and the bidi embeddings and isolates
# that make a line read differently from what it holds.
_TERMINAL_STRING = re.compile(  # OSC, DCS, SOS, PM, APC: up to BEL or the string terminator
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
)
_TERMINAL_CSI = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]")
_TERMINAL_ESCAPE = re.compile(r"\x1b[ -/]*[0-~]")
_TERMINAL_CHARACTER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def slack_escape(text: str) -> str:
    """`text` for a Slack ``mrkdwn`` field or message ``text``: ``&``, ``<`` and ``>`` as
    entities, so no mention, broadcast or link can be made from it."""
    return text.translate(_SLACK)


def teams_markdown_escape(text: str) -> str:
    """`text` for an Adaptive Card TextBlock or Fact: every markdown character backslashed, so
    it shows as written and makes no link, list or emphasis."""
    return _TEAMS_MARKDOWN.sub(r"\\\1", text)


def terminal_safe(text: str) -> str:
    """`text` for a terminal: escape sequences and control characters (but newline and tab)
    removed, and the Unicode bidi overrides and isolates."""
    for pattern in (_TERMINAL_STRING, _TERMINAL_CSI, _TERMINAL_ESCAPE, _TERMINAL_CHARACTER):
        text = pattern.sub("", text)
    return text
