"""Which departments a post is about, from the keywords, aliases and sites in the configuration.

`DepartmentMatcher` compiles every department's terms into one regular expression, so a post is
scanned once however many departments there are. Keywords and sites match in any case; aliases
are short acronyms ("ED", "A&E") and match only as written, so "ed" in a sentence does not count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from socmon.settings import Department

# Letters inside a word: a keyword must not start or end in the middle of one. Hashtags ("#")
# and punctuation ("A&E.") are boundaries.
_BOUNDARY_BEFORE = r"(?<![^\W_])"
_BOUNDARY_AFTER = r"(?![^\W_])"
_HASHTAG = re.compile(r"#(\w+)")
# Split CamelCase and letter-digit joins inside hashtags: "#MaternityMatters" -> "Maternity
# Matters", "#NHSHeroes" -> "NHS Heroes", "#Ward7" -> "Ward 7".
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)")
_APOSTROPHES = "'’"


def _term_pattern(term: str) -> str:
    """A regex for one term: flexible spaces, hyphens, apostrophes and "&", optional plural."""
    words = re.split(r"[\s\-]+", term.strip())
    parts = []
    for word in words:
        piece = ""
        for ch in word:
            if ch in _APOSTROPHES:
                piece += "['’]"
            elif ch == "&":
                piece += r"\s*&\s*"
            else:
                piece += re.escape(ch)
        parts.append(piece)
    # After a one-letter word the gap may vanish: "x-ray", "x ray" and "xray" are one keyword.
    pattern = parts[0]
    for previous, piece in zip(words, parts[1:], strict=False):
        pattern += (r"[\s\-]*" if len(previous) == 1 else r"[\s\-]+") + piece
    last = words[-1]
    # Plurals of the last word; possessives need nothing, the apostrophe is a boundary.
    if last[-1:].isalpha() and len(last) > 1:
        if last.endswith("y") and last[-2] not in "aeiou":
            pattern = pattern[:-1] + "(?:y|ies)"
        elif last.endswith(("s", "x", "ch", "sh")):
            pattern += "(?:es)?"
        else:
            pattern += "s?"
    return pattern


# What a matched piece of text is looked up by: no spaces, hyphens or apostrophes, one kind of
# "&". "X-Rays" and "xrays" both become "xrays"; plurals are stripped at lookup.
_SEPARATORS = re.compile(r"[\s\-'’]+")


def _lookup_key(text: str) -> str:
    return _SEPARATORS.sub("", text)


def _singulars(key: str) -> tuple[str, ...]:
    """The key and the singular forms it may be a plural of ("pharmacies" -> "pharmacy")."""
    forms = [key]
    if key.endswith("ies"):
        forms.append(key[:-3] + "y")
    if key.endswith("es"):
        forms.append(key[:-2])
    if key.endswith("s"):
        forms.append(key[:-1])
    return tuple(forms)


class DepartmentMatcher:
    """Finds the departments a text mentions, in the order they first appear."""

    def __init__(self, departments: Sequence[Department]) -> None:
        # Keywords and sites are looked up case-folded, aliases exactly as written. A term listed
        # by two departments maps to both.
        self._by_folded_key: dict[str, list[str]] = {}
        self._by_exact_key: dict[str, list[str]] = {}
        any_case: dict[str, int] = {}
        as_written: dict[str, int] = {}
        for dept in departments:
            for term in (*dept.keywords, *dept.sites):
                term = term.strip()
                if term:
                    key = _lookup_key(term.casefold())
                    _add(self._by_folded_key, key, dept.id)
                    any_case[_term_pattern(term.casefold())] = len(term)
            for alias in dept.aliases:
                alias = alias.strip()
                if alias:
                    _add(self._by_exact_key, _lookup_key(alias), dept.id)
                    as_written[_term_pattern(alias)] = len(alias)
        # One regular expression for every term. No capture groups: with a group per term
        # Python's engine is twenty times slower, so a match is mapped back through its key.
        alternatives = []
        if any_case:
            alternatives.append(f"(?i:{_alternation(any_case)})")
        if as_written:
            alternatives.append(_alternation(as_written))
        self._regex: re.Pattern[str] | None = (
            re.compile(f"{_BOUNDARY_BEFORE}(?:{'|'.join(alternatives)}){_BOUNDARY_AFTER}")
            if alternatives
            else None
        )

    def match(self, text: str) -> list[str]:
        """Department ids mentioned in `text`, each once, in order of first mention."""
        if self._regex is None:
            return []
        if "#" in text:
            text = _HASHTAG.sub(lambda m: "# " + _CAMEL.sub(" ", m.group(1)), text)
        found: dict[str, None] = {}
        for m in self._regex.finditer(text):
            for dept_id in self._departments_for(m.group(0)):
                found.setdefault(dept_id, None)
        return list(found)

    def _departments_for(self, matched: str) -> list[str]:
        ids: list[str] = []
        exact = _lookup_key(matched)
        folded = exact.casefold()
        for form in _singulars(exact):
            ids += self._by_exact_key.get(form, ())
        for form in _singulars(folded):
            ids += self._by_folded_key.get(form, ())
        return list(dict.fromkeys(ids))


def _add(index: dict[str, list[str]], key: str, dept_id: str) -> None:
    ids = index.setdefault(key, [])
    if dept_id not in ids:
        ids.append(dept_id)


def _alternation(patterns: dict[str, int]) -> str:
    """The patterns as alternatives, longest term first.

    Python takes the first alternative that matches, not the longest, so "children's ward" must
    come before "ward" to win at the same position.
    """
    return "|".join(sorted(patterns, key=lambda p: (-patterns[p], p)))
