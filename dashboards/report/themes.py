"""Themes of a month's concerns, named: waiting times, communication, parking and the like.

The themes and their keywords are data (``themes.yaml`` beside this module), so the
communications team can change them without touching code. A concern counts once in each theme
whose keywords it uses; a theme comes with the departments it touches most and a few example
posts, with personal data masked (`dashboards.report.masking`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

import emoji
import yaml

from dashboards.report.masking import mask_personal_data
from socmon.records import EnrichedPost

THEMES_FILE = "themes.yaml"
EXAMPLE_LENGTH = 220  # characters of a quoted post: two lines of the printed page
_NOISE = re.compile(r"https?://\S+|www\.\S+|(?<![\w@])@[\w.\-]+")
_WORD = "[a-z0-9&'£.]"


class ThemesFileError(ValueError):
    """The themes file is not what the report expects; the message says what is wrong."""


@dataclass(frozen=True)
class ThemeDefinition:
    """A named theme and the keywords that put a post in it."""

    id: str
    name: str
    keywords: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # compiled once per definition (frozen: set the way dataclasses themselves do)
        object.__setattr__(self, "patterns", tuple(_keyword_pattern(k) for k in self.keywords))

    def hits(self, normalised: str) -> int:
        """How many of the keywords `normalised` text (see `normalise`) uses."""
        return sum(1 for pattern in self.patterns if pattern.search(normalised))


@dataclass(frozen=True)
class Example:
    """A post quoted for a theme: its masked, shortened text, when and where."""

    text: str
    created_at: datetime
    platform: str


@dataclass(frozen=True)
class Theme:
    """A theme of the month's concerns: how many raised it (and the month before), the
    departments those posts were about most, and example posts."""

    id: str
    name: str
    posts: int
    posts_before: int
    departments: tuple[tuple[str, int], ...]
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class ThemeSummary:
    """The themes with at least one post, most raised first, and the concerns in none."""

    themes: list[Theme]
    concerns: int
    unmatched: int


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    parts = []
    for word in keyword.lower().split():
        if word == "*":
            parts.append(f"{_WORD}+")
        elif word.endswith("*"):
            parts.append(re.escape(word[:-1]) + f"{_WORD}*")
        else:
            parts.append(re.escape(word))
    return re.compile(r"(?<![a-z0-9&])" + r"[\s\-/,]+".join(parts) + r"(?![a-z0-9&])")


def normalise(text: str) -> str:
    """Lower case, without links or @handles, with hashtags read as words: what keywords match."""
    text = text.lower().replace("’", "'").replace("‘", "'")
    return _NOISE.sub(" ", text).replace("#", " ")


def load_themes(text: str | None = None) -> tuple[ThemeDefinition, ...]:
    """The theme definitions of the bundled ``themes.yaml``, or of `text` in the same form."""
    if text is None:
        text = resources.files("dashboards.report").joinpath(THEMES_FILE).read_text("utf-8")
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"{THEMES_FILE} is not valid YAML: {exc}"
        raise ThemesFileError(msg) from exc
    entries = data.get("themes") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        msg = f"{THEMES_FILE} must hold a non-empty list under 'themes'"
        raise ThemesFileError(msg)
    definitions: list[ThemeDefinition] = []
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            msg = f"{THEMES_FILE}: theme {position} is not a mapping of id, name and keywords"
            raise ThemesFileError(msg)
        ident, name, keywords = entry.get("id"), entry.get("name"), entry.get("keywords")
        if not isinstance(ident, str) or not isinstance(name, str) or not ident or not name:
            msg = f"{THEMES_FILE}: theme {position} needs an id and a name"
            raise ThemesFileError(msg)
        if (
            not isinstance(keywords, list)
            or not keywords
            or not all(isinstance(k, str) and k.strip() for k in keywords)
        ):
            msg = f"{THEMES_FILE}: theme {ident!r} needs a list of keywords (words or phrases)"
            raise ThemesFileError(msg)
        if any(d.id == ident for d in definitions):
            msg = f"{THEMES_FILE}: theme id {ident!r} is used twice"
            raise ThemesFileError(msg)
        definitions.append(ThemeDefinition(ident, name, tuple(k.strip() for k in keywords)))
    return tuple(definitions)


def quote(text: str, keep_handles: Iterable[str] = (), length: int = EXAMPLE_LENGTH) -> str:
    """A post as the report quotes it: personal data masked, emoji left out (a printed page
    has no font for most of them, and they would print as empty boxes), shortened."""
    return shorten(emoji.replace_emoji(mask_personal_data(text, keep_handles), replace=""), length)


def shorten(text: str, length: int = EXAMPLE_LENGTH) -> str:
    """`text` on one line, cut at a word boundary to at most `length` characters, with "…"."""
    flat = " ".join(text.split())
    if len(flat) <= length:
        return flat
    cut = flat[: length - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-") + "…"


def named_themes(
    concerns: Sequence[EnrichedPost],
    concerns_before: Iterable[EnrichedPost],
    definitions: Sequence[ThemeDefinition],
    department_names: Mapping[str, str],
    keep_handles: Iterable[str] = (),
    examples: int = 2,
) -> ThemeSummary:
    """Sort the month's concerns (and the month before's, for the change) into the themes.

    Examples are chosen among the posts that are neither abusive nor urgent (an urgent post
    is listed with its handling elsewhere, and abuse is not quoted to a board): the ones using
    most of the theme's keywords, newest first, each post quoted under one theme at most.
    """
    kept = tuple(keep_handles)
    before = Counter(
        definition.id
        for post in concerns_before
        for definition in definitions
        if definition.hits(normalise(post.post.text))
    )
    texts = {post.key: normalise(post.post.text) for post in concerns}
    quoted: set[str] = set()
    themes: list[Theme] = []
    matched: set[str] = set()
    for definition in definitions:
        scored = [(definition.hits(texts[post.key]), post) for post in concerns]
        posts = [(hits, post) for hits, post in scored if hits]
        if not posts:
            continue
        matched |= {post.key for _, post in posts}
        departments = Counter(
            department_names.get(department, department)
            for _, post in posts
            for department in post.classification.departments
        )
        candidates = sorted(
            (
                (hits, post)
                for hits, post in posts
                if not post.classification.abusive and not post.classification.urgent
            ),
            key=lambda item: (
                item[1].key in quoted,
                -item[0],
                -item[1].classification.confidence,
                -item[1].post.created_at.timestamp(),
                item[1].key,
            ),
        )
        chosen = [post for _, post in candidates[:examples]]
        quoted |= {post.key for post in chosen}
        themes.append(
            Theme(
                id=definition.id,
                name=definition.name,
                posts=len(posts),
                posts_before=before.get(definition.id, 0),
                departments=tuple(sorted(departments.items(), key=lambda kv: (-kv[1], kv[0]))[:3]),
                examples=tuple(
                    Example(
                        text=quote(post.post.text, kept),
                        created_at=post.post.created_at,
                        platform=post.post.platform,
                    )
                    for post in chosen
                ),
            )
        )
    order = {definition.id: n for n, definition in enumerate(definitions)}
    themes.sort(key=lambda theme: (-theme.posts, order[theme.id]))
    return ThemeSummary(themes, len(concerns), len(concerns) - len(matched))
