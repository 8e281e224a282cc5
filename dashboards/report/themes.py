"""Top themes of a month's concerns: the words and word pairs most concerns share.

Counted per post (a word said five times in one rant counts once), so a theme is what many
people raised, not what one person repeated. Word pairs come first when enough posts share them,
since "car park" says more than "car" and "park" apart.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# Function words, and words every post to a hospital uses, that say nothing about the theme.
_STOPWORD_TEXT = """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further get got had hadn't has hasn't have
    haven't having he her here hers herself him himself his how i i'd i'll i'm i've if in into is
    isn't it it's its itself just let's me more most much my myself no nor not now of off on once
    only or other ought our ours ourselves out over own really same she should shouldn't so some
    still such than that that's the their theirs them themselves then there there's these they
    they're this those through to too under until up us very was wasn't we we're were weren't
    what when where which while who whom why will with won't would wouldn't you you're your yours
    yourself yourselves again always ever even every yet today yesterday tomorrow day days week
    one two three ive im dont cant wont didnt isnt wasnt thats theres
    thanks thank please hi hello anyone anybody someone know think going want need said say
    nhs hospital hospitals trust
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_TOKEN = re.compile(r"[a-z][a-z'&]*[a-z]|[a-z]")
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+")


@dataclass(frozen=True)
class Theme:
    """A word or word pair and how many posts use it."""

    term: str
    posts: int


def words(text: str) -> list[str]:
    """Lower-case words of a post, without links, handles, hashtags, numbers or stop words."""
    cleaned = _NOISE.sub(" ", text.lower().replace("’", "'"))
    return [w for w in _TOKEN.findall(cleaned) if w not in STOPWORDS and len(w) > 2]


def top_themes(
    texts: Iterable[str], limit: int = 10, min_posts: int = 2, ignore: Iterable[str] = ()
) -> list[Theme]:
    """The `limit` terms used by the most posts (at least `min_posts`), pairs before words.

    `ignore` holds further words to leave out (the organisation's name, its handles). A word
    already inside a chosen pair is dropped when it adds no post beyond the pair's.
    """
    ignored = {w.lower().lstrip("@#") for w in ignore}
    singles: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for text in texts:
        tokens = [w for w in words(text) if w not in ignored]
        singles.update(set(tokens))
        pairs.update({f"{a} {b}" for a, b in itertools.pairwise(tokens) if a != b})
    chosen: list[Theme] = [
        Theme(term, count) for term, count in _ranked(pairs) if count >= min_posts
    ][:limit]
    covered = {word: theme.posts for theme in chosen for word in theme.term.split()}
    for term, count in _ranked(singles):
        if len(chosen) >= limit or count < min_posts:
            break
        if count > covered.get(term, 0):
            chosen.append(Theme(term, count))
    return sorted(chosen, key=lambda theme: (-theme.posts, theme.term))[:limit]


def _ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    # most posts first, then alphabetical, so a report is the same every time it is rendered
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
