"""The phrase tables of the sample generator, read from ``phrases.yaml`` beside this module.

The words of the sample are data, not code: ``phrases.yaml`` holds the mentions per department,
the special mentions (other languages, urgent ones), the official posts, the replies, the
comments, and the little things that make a post look like a person wrote it (typos, emoji,
hashtags, names). This module turns it into the typed tables that `tools.sample.generate` uses
and refuses a file that does not have the expected shape.

Mentions and comments are written as tables, one entry per post, starting with a mark::

    + compliment   - concern   ? neutral

Indented lines continue the entry. ``=> dept ...`` at the end adds departments besides the
table's own; ``[photo]`` at the end attaches a photo. Slots: ``{site} {ward} {name} {hours}``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

PHRASES_PATH: Path = Path(__file__).with_name("phrases.yaml")
MARKS = {"+": "compliment", "-": "concern", "?": "neutral"}
SENTIMENTS: tuple[str, ...] = tuple(MARKS.values())


@dataclass(frozen=True)
class Spec:
    """One post to compose: the words and what we intend it to be."""

    text: str
    sentiment: str
    departments: tuple[str, ...] = ()
    lang: str = "en"
    urgent: bool = False
    abusive: bool = False
    photo: bool = False
    platform: str | None = None
    account: str | None = None
    earliest_day: float = 0.0  # days after the start of the window
    latest_day: float = 30.0


@dataclass(frozen=True)
class Official:
    """A post by an official account; ``day`` pins it to a date in October 2026."""

    account: str
    text: str
    departments: tuple[str, ...] = ()
    breaches: tuple[str, ...] = ()
    photo: bool = False
    day: int | None = None


@dataclass(frozen=True)
class Reply:
    """A reply to an official post on twitter; the handle is put in front by the generator."""

    account: str
    text: str
    sentiment: str
    abusive: bool = False
    departments: tuple[str, ...] = ()
    to: str | None = None  # a phrase of the official post it answers (default: any of them)


@dataclass(frozen=True)
class Phrases:
    """Everything in ``phrases.yaml``, typed."""

    slots: dict[str, tuple[str, ...]]
    mentions: tuple[Spec, ...]  # the department tables, in file order
    special_mentions: tuple[Spec, ...]
    comments: tuple[Spec, ...]
    official_posts: tuple[Official, ...]
    replies: tuple[Reply, ...]
    typos: tuple[tuple[str, str], ...]
    hashtags: dict[str, tuple[str, ...]]
    emoji: dict[str, tuple[str, ...]]
    local_handles: tuple[str, ...]
    first_names: tuple[str, ...]
    surnames: tuple[str, ...]
    mastodon_hosts: tuple[str, ...]


def parse_table(block: str, departments: tuple[str, ...] = ()) -> list[Spec]:
    """Read one phrase table (see the module docstring) into specs."""
    entries: list[str] = []
    for line in block.strip("\n").splitlines():
        if line[:1] in MARKS:
            entries.append(line)
        elif line.startswith("  ") and entries:
            entries[-1] += " " + line.strip()
        elif line.strip():
            msg = f"bad phrase table line: {line!r}"
            raise ValueError(msg)
    specs = []
    for entry in entries:
        mark, body = entry[0], entry[2:].strip()
        body, _, extra = body.partition(" => ")
        photo = body.endswith(" [photo]")
        body = body.removesuffix(" [photo]")
        specs.append(Spec(body, MARKS[mark], departments + tuple(extra.split()), photo=photo))
    return specs


def load_phrases(path: Path = PHRASES_PATH) -> Phrases:
    """Read and check ``phrases.yaml``; ValueError says where a value has the wrong shape."""
    data = _mapping(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
    slots = _mapping(data.get("slots"), "slots")
    mentions = _mapping(data.get("mentions"), "mentions")
    typos = _list(data.get("typos"), "typos")
    return Phrases(
        slots={k: _strings(v, f"slots.{k}") for k, v in slots.items()},
        mentions=tuple(
            spec
            for dept, block in mentions.items()
            for spec in parse_table(_string(block, f"mentions.{dept}"), (dept,))
        ),
        special_mentions=tuple(
            _spec(entry, f"special_mentions[{i}]")
            for i, entry in enumerate(_list(data.get("special_mentions"), "special_mentions"))
        ),
        comments=tuple(parse_table(_string(data.get("comments"), "comments"))),
        official_posts=tuple(
            _official(account, entry, f"official_posts.{account}[{i}]")
            for account, posts in _mapping(data.get("official_posts"), "official_posts").items()
            for i, entry in enumerate(_list(posts, f"official_posts.{account}"))
        ),
        replies=tuple(
            _reply(entry, f"replies[{i}]")
            for i, entry in enumerate(_list(data.get("replies"), "replies"))
        ),
        typos=tuple(_pair(v, f"typos[{i}]") for i, v in enumerate(typos)),
        hashtags=_by_sentiment(data.get("hashtags"), "hashtags"),
        emoji=_by_sentiment(data.get("emoji"), "emoji"),
        local_handles=_strings(data.get("local_handles"), "local_handles"),
        first_names=_strings(data.get("first_names"), "first_names"),
        surnames=_strings(data.get("surnames"), "surnames"),
        mastodon_hosts=_strings(data.get("mastodon_hosts"), "mastodon_hosts"),
    )


# --------------------------------------------------------------------------------------------
# Shape checks: YAML gives `Any`; these give the types above or say where the file is wrong.
# --------------------------------------------------------------------------------------------


def _bad(where: str, wanted: str, value: object) -> ValueError:
    return ValueError(f"phrases.yaml: {where} should be {wanted}, not {value!r}")


def _mapping(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _bad(where, "a mapping", value)
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(where, "a list", value)
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _bad(where, "a string", value)
    return value


def _strings(value: object, where: str) -> tuple[str, ...]:
    return tuple(_string(v, f"{where}[{i}]") for i, v in enumerate(_list(value, where)))


def _pair(value: object, where: str) -> tuple[str, str]:
    items = _strings(value, where)
    if len(items) != 2:
        raise _bad(where, "a pair of strings", value)
    return items[0], items[1]


def _flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(where, "true or false", value)
    return value


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(where, "a number", value)
    return float(value)


def _sentiment(value: object, where: str) -> str:
    if value not in SENTIMENTS:
        raise _bad(where, f"one of {', '.join(SENTIMENTS)}", value)
    return str(value)


def _by_sentiment(value: object, where: str) -> dict[str, tuple[str, ...]]:
    table = {k: _strings(v, f"{where}.{k}") for k, v in _mapping(value, where).items()}
    if set(table) != set(SENTIMENTS):
        raise _bad(where, f"keyed by {', '.join(SENTIMENTS)}", sorted(table))
    return table


def _entry(value: object, where: str, allowed: set[str]) -> dict[str, Any]:
    entry = _mapping(value, where)
    unknown = set(entry) - allowed
    if unknown:
        raise _bad(where, f"made of {', '.join(sorted(allowed))}", sorted(unknown))
    return entry


def _spec(value: object, where: str) -> Spec:
    e = _entry(value, where, {f.name for f in fields(Spec)})
    return Spec(
        text=_string(e.get("text"), f"{where}.text"),
        sentiment=_sentiment(e.get("sentiment"), f"{where}.sentiment"),
        departments=_strings(e.get("departments", []), f"{where}.departments"),
        lang=_string(e.get("lang", "en"), f"{where}.lang"),
        urgent=_flag(e.get("urgent", False), f"{where}.urgent"),
        abusive=_flag(e.get("abusive", False), f"{where}.abusive"),
        photo=_flag(e.get("photo", False), f"{where}.photo"),
        platform=_optional(e.get("platform"), f"{where}.platform"),
        account=_optional(e.get("account"), f"{where}.account"),
        earliest_day=_number(e.get("earliest_day", 0.0), f"{where}.earliest_day"),
        latest_day=_number(e.get("latest_day", 30.0), f"{where}.latest_day"),
    )


def _official(account: str, value: object, where: str) -> Official:
    e = _entry(value, where, {f.name for f in fields(Official)} - {"account"})
    return Official(
        account=account,
        text=_string(e.get("text"), f"{where}.text"),
        departments=_strings(e.get("departments", []), f"{where}.departments"),
        breaches=_strings(e.get("breaches", []), f"{where}.breaches"),
        photo=_flag(e.get("photo", False), f"{where}.photo"),
        day=_day(e.get("day"), f"{where}.day"),
    )


def _reply(value: object, where: str) -> Reply:
    e = _entry(value, where, {f.name for f in fields(Reply)})
    return Reply(
        account=_string(e.get("account"), f"{where}.account"),
        text=_string(e.get("text"), f"{where}.text"),
        sentiment=_sentiment(e.get("sentiment"), f"{where}.sentiment"),
        abusive=_flag(e.get("abusive", False), f"{where}.abusive"),
        departments=_strings(e.get("departments", []), f"{where}.departments"),
        to=_optional(e.get("to"), f"{where}.to"),
    )


def _day(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 31:
        raise _bad(where, "a day of October (1 to 31)", value)
    return value


def _optional(value: object, where: str) -> str | None:
    return None if value is None else _string(value, where)
