"""Finders for personal identifiers in free text: NHS numbers, UK phone numbers, e-mail
addresses, postcodes and home addresses, dates of birth.

Each finder returns `Span`s (start, end and the matched text) so the policy rules can report the
exact evidence. Everything here is offline and pure: regular expressions plus the `phonenumbers`
library's metadata. The case-folding helpers (`fold_case`, `folded_pattern`) are shared with the
other rule modules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import phonenumbers
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher, PhoneNumberType

_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)

# Case folding that keeps every character where it was, so offsets found in the folded text are
# offsets in the original (str.lower() can change the length: "İ" becomes two characters).
_FOLD_TABLE = str.maketrans(
    {chr(c): chr(c + 32) for c in (*range(0x41, 0x5B), *range(0xC0, 0xDF)) if c != 0xD7}
)
_ESCAPES_AND_GROUP_NAMES = re.compile(r"\\.|\(\?P<\w+>|\(\?P=\w+\)")
_UPPER_CASE = re.compile(r"[A-Z]")


def fold_case(text: str) -> str:
    """`text` in lower case (Latin letters), the same length, for the folded patterns."""
    return text.translate(_FOLD_TABLE)


def folded_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a lower-case pattern to run on `fold_case` text.

    Matching folded text without re.IGNORECASE is several times faster with Python's engine,
    which is what keeps the rules above a thousand posts a second. A capital letter in the
    pattern could never match, so it is refused.
    """
    bare = _ESCAPES_AND_GROUP_NAMES.sub("", pattern)
    capital = _UPPER_CASE.search(bare)
    if capital:
        msg = f"a folded pattern must be lower case; found {capital.group(0)!r} in {pattern!r}"
        raise ValueError(msg)
    return re.compile(pattern)


_DIGIT = re.compile(r"\d")


def has_digit(text: str) -> bool:
    """Cheap gate for the finders that need a number (NHS numbers, dates, phones, addresses)."""
    return _DIGIT.search(text) is not None


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of the text: ``text[start:end] == value``."""

    start: int
    end: int
    value: str


def nhs_check_digit(nine_digits: str) -> int | None:
    """The modulus-11 check digit that follows the first nine digits of an NHS number.

    None when the arithmetic gives 10: no number starting with those nine digits is ever issued.
    ValueError unless `nine_digits` is exactly nine ASCII digits.
    """
    if len(nine_digits) != 9 or not nine_digits.isascii() or not nine_digits.isdigit():
        msg = f"an NHS number starts with nine digits, not {nine_digits!r}"
        raise ValueError(msg)
    total = sum(int(d) * w for d, w in zip(nine_digits, _NHS_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid_nhs_number(digits: str) -> bool:
    """True when `digits` is a 10-digit NHS number whose modulus-11 check digit is right.

    Spaces and hyphens are ignored (``"943 476 5919"`` is accepted). A number made of one digit
    repeated (``"1111111111"``) passes the arithmetic but is a placeholder, never issued.
    """
    compact = digits.replace(" ", "").replace("-", "")
    if len(compact) != 10 or not compact.isascii() or not compact.isdigit():
        return False
    if len(set(compact)) == 1:
        return False
    check = nhs_check_digit(compact[:9])
    return check is not None and check == int(compact[9])


# 3-3-4 with one consistent optional separator, or ten digits run together; never part of a
# longer run of digits (a card or account number).
_NHS_CANDIDATE = re.compile(r"(?<![\d+])(?:\d{3}([ \-]?)\d{3}\1\d{4})(?![\d])")


def find_nhs_numbers(text: str) -> list[Span]:
    """NHS numbers with a valid check digit, in the order they appear."""
    found: list[Span] = []
    if not has_digit(text):
        return found
    for m in _NHS_CANDIDATE.finditer(text):
        value = m.group(0)
        if not is_valid_nhs_number(value):
            continue
        # A ten-digit run starting with 0 that is a valid UK phone number is a phone number.
        if value[0] == "0" and _is_valid_gb_number(value):
            continue
        found.append(Span(m.start(), m.end(), value))
    return found


def _is_valid_gb_number(value: str) -> bool:
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)


# Numbers a person can be reached on. Freephone, shared-cost, premium-rate and 03 (UAN)
# numbers belong to organisations and helplines, so publishing them is not a privacy breach.
_PERSONAL_PHONE_TYPES = frozenset(
    {
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.PERSONAL_NUMBER,
        PhoneNumberType.VOIP,
        PhoneNumberType.PAGER,
    }
)
# The matcher is pure Python and the slowest finder here, so it only runs on text that has
# seven digits close together (the shortest UK subscriber number).
_SEVEN_DIGITS = re.compile(r"\d(?:[\s\-().]{0,2}\d){6}")


def _personal(number: phonenumbers.PhoneNumber, written: str) -> bool:
    """A number a person can be reached on. A well-formed UK mobile or geographic number that
    is not allocated (Ofcom's ranges for drama, such as 07700 900xxx, or a typo) still reads as
    someone's number to whoever sees the post, so it counts by its form."""
    if phonenumbers.is_valid_number(number):
        return phonenumbers.number_type(number) in _PERSONAL_PHONE_TYPES
    national = str(number.national_number)
    dialled = written.lstrip("(").replace(" ", "")
    return (
        number.country_code == 44
        and len(national) == 10
        and national[0] in "127"
        and dialled.startswith(("0", "+44", "0044"))
    )


def normalise_phone_number(number: str, region: str = "GB") -> str:
    """The E.164 form of `number` (``"+441134960000"``); ValueError if it is not a number."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException as exc:
        msg = f"not a phone number: {number!r} ({exc})"
        raise ValueError(msg) from exc
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def find_phone_numbers(
    text: str, allowed: Iterable[str] = (), region: str = "GB"
) -> Iterator[Span]:
    """Valid phone numbers a person could be reached on, except the E.164 numbers in `allowed`."""
    if not _SEVEN_DIGITS.search(text):
        return
    allowed_set = frozenset(allowed)
    for match in PhoneNumberMatcher(text, region, leniency=Leniency.POSSIBLE):
        number = match.number
        if not _personal(number, match.raw_string):
            continue
        if phonenumbers.format_number(number, PhoneNumberFormat.E164) in allowed_set:
            continue
        yield Span(match.start, match.end, match.raw_string)


_EMAIL = re.compile(
    r"(?<![\w.@+\-])([A-Za-z0-9][A-Za-z0-9._%+\-]*)@((?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,})(?![\w@])"
)
# "jane.smith [at] gmail [dot] com" and "jane at gmail dot com": written to dodge scrapers,
# still an address.
_EMAIL_OBFUSCATED = folded_pattern(
    r"(?<![\w.])([a-z0-9][a-z0-9._\-]*)\s*(?:\[at\]|\(at\)|\sat\s)\s*"
    r"((?:[a-z0-9\-]+\s*(?:\[dot\]|\(dot\)|\sdot\s)\s*)+"
    r"(?:com|net|org|co\s*(?:\[dot\]|\(dot\)|\sdot\s)\s*uk|uk))\b"
)
_DOT_WORD = folded_pattern(r"\s*(?:\[dot\]|\(dot\)|\sdot\s)\s*")


def _domain_allowed(domain: str, allowed: Iterable[str]) -> bool:
    domain = domain.lower().rstrip(".")
    return any(domain == d or domain.endswith("." + d) for d in allowed)


def find_email_addresses(
    text: str, allowed_domains: Iterable[str] = (), folded: str | None = None
) -> list[Span]:
    """E-mail addresses (plain or written with [at]/[dot]) outside the allowed domains.

    A domain is allowed when it is one of `allowed_domains` or a subdomain of one
    (``northbrook.nhs.uk`` is allowed by ``nhs.uk``).
    """
    allowed = [d.lower().lstrip("@.") for d in allowed_domains]
    found = []
    if "@" in text:
        for m in _EMAIL.finditer(text):
            if not _domain_allowed(m.group(2), allowed):
                found.append(Span(m.start(), m.end(), m.group(0)))
    folded = fold_case(text) if folded is None else folded
    if "dot" in folded:
        for m in _EMAIL_OBFUSCATED.finditer(folded):
            domain = _DOT_WORD.sub(".", m.group(2))
            if not _domain_allowed(domain, allowed):
                found.append(Span(m.start(), m.end(), text[m.start() : m.end()]))
    return sorted(found, key=lambda s: s.start)


# Royal Mail format: outward code (area, district) and inward code (sector, unit). The inward
# unit letters never include C, I, K, M, O or V.
POSTCODE = r"(?:[A-PR-UWYZ][A-HK-Y]?\d[A-HJKPSTUW\d]?|GIR)\s?\d[ABD-HJLNP-UW-Z]{2}"
_POSTCODE_RE = re.compile(rf"\b{POSTCODE}\b", re.IGNORECASE)

_STREET_WORDS = (
    "Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|Drive|Crescent|Cres|Way|Gardens|Gdns|Terrace"
    "|Place|Court|Grove|Walk|Mews|Row|Hill|View|Square|Sq|Parade|Rise|Green|Vale|Boulevard"
    "|Gate|Wharf|Yard|Park|Fold|Croft|Meadow|Meadows|Chase|Drove|Wynd|Brow"
)
# A house number and a street: "12 Acacia Avenue", "Flat 3, 12a Mill Lane". Street-name words
# must be capitalised, which keeps "12 months on the road" out.
_HOUSE_AND_STREET = (
    r"(?:(?:Flat|Apartment|Apt|Unit)\s+\d{1,4}[A-Za-z]?,?\s+)?"
    r"(?<![\w£$€#/.:-])\d{1,4}[A-Za-z]?,?\s+(?:[A-Z][\w'’\-]*\s+){1,3}"
    rf"(?:{_STREET_WORDS})\b\.?"
)
# Words that put a number in front of a street without it being a house number.
_NOT_A_HOUSE = folded_pattern(
    r"(?:bus|route|number|no\.?|ward|bed|room|level|floor|gate|platform|junction|exit|year"
    r"|page|aged?|bay|car|door|stop|service|line|week|day)\s*$"
)
_ADDRESS_WITH_POSTCODE = re.compile(
    rf"{_HOUSE_AND_STREET}[,\s\w'’\-]{{0,60}}?\b(?P<postcode>{POSTCODE})\b",
)
# After "lives at" the words are plainly an address, so the street may be in any case.
_ADDRESS_DECLARED = folded_pattern(
    r"\b(?:lives|living|lived|staying|stays|resides|residing|home address(?:\s+is)?"
    r"|address\s+is|address:)\s+(?:at\s+)?"
    r"(?P<address>(?:(?:flat|apartment|apt|unit)\s+\d{1,4}[a-z]?,?\s+)?"
    r"\d{1,4}[a-z]?,?\s+(?:[a-z][\w'’\-]*\s+){1,3}"
    rf"(?:{_STREET_WORDS.lower()})\b\.?)"
)


def normalise_postcode(postcode: str) -> str:
    """Upper case without spaces, the form allow-lists are compared in."""
    return re.sub(r"\s+", "", postcode).upper()


def find_home_addresses(
    text: str, allowed_postcodes: Iterable[str] = (), folded: str | None = None
) -> list[Span]:
    """House number, street and postcode close together, or an address someone "lives at".

    Addresses whose postcode is in `allowed_postcodes` (the organisation's own sites) are skipped.
    """
    found: list[Span] = []
    if not has_digit(text):
        return found
    folded = fold_case(text) if folded is None else folded
    allowed = {normalise_postcode(p) for p in allowed_postcodes}
    for m in _ADDRESS_WITH_POSTCODE.finditer(text):
        if normalise_postcode(m.group("postcode")) in allowed:
            continue
        if _NOT_A_HOUSE.search(folded, max(0, m.start() - 12), m.start()):
            continue
        found.append(Span(m.start(), m.end(), m.group(0)))
    for m in _ADDRESS_DECLARED.finditer(folded):
        if any(s.start <= m.start("address") < s.end for s in found):
            continue
        found.append(Span(m.start(), m.end(), text[m.start() : m.end()]))
    return sorted(found, key=lambda s: s.start)


_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
# A full date, with a year: a day and month alone do not identify anyone.
_DATE = folded_pattern(
    r"(?<![\d/.\-])(?:\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})(?![\d/.\-]\d)"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS},?\s+(?:\d{{4}}|'?\d{{2}})"
    rf"|{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})(?!\d)"
)
_DOB_TRIGGER = folded_pattern(
    r"\b(?:d\.?o\.?b\b\.?|date\s+of\s+birth|birth\s*date|born\s+on|birthday\s+is)"
)
# "The NHS was born on 5 July 1948": organisations have birthdays too.
_ORGANISATION_BORN = folded_pattern(
    r"\b(?:nhs|trust|hospital|service|charity|unit|clinic|department|scheme|campaign|project"
    r"|initiative|idea|app|website|team)(?:'s)?\s+(?:was\s+)?$"
)
_SENTENCE_END = re.compile(r"[.!?]\s|\n")


def find_dates_of_birth(text: str, folded: str | None = None) -> list[Span]:
    """A date of birth: "DOB", "date of birth" or "born on" within a few words of a full date.

    The span runs from the trigger to the end of the date (or from the date to the trigger,
    for "12/03/1956 (DOB)").
    """
    if not has_digit(text):
        return []
    folded = fold_case(text) if folded is None else folded
    triggers = list(_DOB_TRIGGER.finditer(folded))
    if not triggers:
        return []
    dates = list(_DATE.finditer(folded))
    found = []
    for trig in triggers:
        if trig.group(0).startswith("born") and _ORGANISATION_BORN.search(
            folded, max(0, trig.start() - 30), trig.start()
        ):
            continue
        for date in dates:
            if 0 <= date.start() - trig.end() <= 30:
                between = text[trig.end() : date.start()]
            elif 0 <= trig.start() - date.end() <= 5:
                between = text[date.end() : trig.start()]
            else:
                continue
            if _SENTENCE_END.search(between):
                continue
            start, end = min(trig.start(), date.start()), max(trig.end(), date.end())
            found.append(Span(start, end, text[start:end]))
            break
    return found
