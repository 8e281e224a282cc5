"""The post text with the policy breaches' evidence marked, every character escaped.

The text comes from the public, so nothing of it is ever trusted as markup: it is cut into
plain segments and marked segments, and each is escaped on its own. Offsets that do not fit the
text (a rule bug, an edited post) fall back to finding the evidence string; a breach that cannot
be placed is still listed on the page, only not marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from socmon.records import Breach


@dataclass(frozen=True)
class Span:
    """Characters [start, end) of the text and the rules whose evidence they are."""

    start: int
    end: int
    rules: tuple[str, ...]


def locate(text: str, breach: Breach) -> tuple[int, int] | None:
    """Where the breach's evidence is in `text`: its offsets if they agree, else a search."""
    start, end = breach.start, breach.end
    if 0 <= start < end <= len(text) and (
        not breach.evidence or text[start:end] == breach.evidence
    ):
        return start, end
    if breach.evidence:
        found = text.find(breach.evidence)
        if found >= 0:
            return found, found + len(breach.evidence)
    return None


def merge_spans(text: str, breaches: Sequence[Breach]) -> list[Span]:
    """Non-overlapping spans in text order; overlapping evidence is merged into one mark."""
    placed = sorted(
        (where[0], where[1], breach.rule)
        for breach in breaches
        if (where := locate(text, breach)) is not None
    )
    spans: list[Span] = []
    for start, end, rule in placed:
        if spans and start < spans[-1].end:
            last = spans[-1]
            rules = last.rules if rule in last.rules else (*last.rules, rule)
            spans[-1] = Span(last.start, max(last.end, end), rules)
        else:
            spans.append(Span(start, end, (rule,)))
    return spans


def highlight(text: str, breaches: Sequence[Breach]) -> Markup:
    """HTML of `text` with each piece of evidence in a ``<mark>`` naming its rules."""
    out: list[str] = []
    cursor = 0
    for span in merge_spans(text, breaches):
        out.append(str(escape(text[cursor : span.start])))
        rules = ", ".join(span.rules)
        out.append(
            f'<mark class="evidence" title="{escape(rules)}" data-rules="{escape(rules)}">'
            f"{escape(text[span.start : span.end])}</mark>"
        )
        cursor = span.end
    out.append(str(escape(text[cursor:])))
    return Markup("".join(out))
