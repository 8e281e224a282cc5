"""Personal data taken out of the posts the monthly report quotes as examples.

The report goes to a board and may be forwarded, so a quoted post keeps its words but not what
identifies or reaches a person: handles (other than our own accounts'), e-mail addresses, links,
NHS numbers, phone numbers, postcodes and any other long run of digits. Phone numbers are found
with the `phonenumbers` library (Google's libphonenumber metadata); the rest with patterns that
err towards masking too much, since a masked date costs nothing and a leaked number costs a lot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from phonenumbers import Leniency, PhoneNumberMatcher

EMAIL = "[e-mail]"
LINK = "[link]"
HANDLE = "@[user]"
NHS_NUMBER = "[NHS number]"
PHONE = "[phone]"
NUMBER = "[number]"
POSTCODE = "[postcode]"

_EMAIL = re.compile(r"[\w.%+\-]+@(?:[\w\-]+\.)+[A-Za-z]{2,}")
_LINK = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
# A handle: @ not inside a word (so not an e-mail address), then the platform's characters;
# Mastodon and Bluesky handles carry a domain (@name@server, @name.bsky.social).
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_](?:[\w.\-]*\w)?(?:@(?:[\w\-]+\.)+\w+)?")
# Ten digits in 3-3-4 with one separator or none, whatever the check digit: a mistyped NHS
# number is still the start of one.
_NHS_NUMBER = re.compile(r"(?<![\d+])\d{3}([ \-]?)\d{3}\1\d{4}(?!\d)")
# What is left that looks like a number someone could be found by: seven digits or more,
# spaces, dots, hyphens and brackets allowed between them (a phone number the matcher missed,
# a hospital number, a bank card).
_LONG_NUMBER = re.compile(r"(?<!\w)\+?\(?\d(?:[\s.\-()]{0,2}\d){6,}")
_POSTCODE = re.compile(
    r"\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-HJKPSTUW\d]?)\s?\d[ABD-HJLNP-UW-Z]{2}\b", re.IGNORECASE
)


def _handle_key(handle: str) -> str:
    return handle.strip().lstrip("@").casefold()


def mask_personal_data(text: str, keep_handles: Iterable[str] = (), region: str = "GB") -> str:
    """`text` with personal data replaced by a bracketed word (``[phone]``, ``@[user]``...).

    `keep_handles` are handles left as written: the organisation's own accounts, which are
    public and say which account a post was aimed at.
    """
    kept = {_handle_key(handle) for handle in keep_handles}
    text = _LINK.sub(LINK, text)
    text = _HANDLE.sub(lambda m: m.group(0) if _handle_key(m.group(0)) in kept else HANDLE, text)
    text = _EMAIL.sub(EMAIL, text)
    text = _NHS_NUMBER.sub(NHS_NUMBER, text)
    text = _mask_phone_numbers(text, region)
    text = _LONG_NUMBER.sub(NUMBER, text)
    return _POSTCODE.sub(POSTCODE, text)


def _mask_phone_numbers(text: str, region: str) -> str:
    # every possible number, valid or not: a well-formed made-up number still reads as someone's
    found = [(m.start, m.end) for m in PhoneNumberMatcher(text, region, leniency=Leniency.POSSIBLE)]
    for start, end in reversed(found):
        text = text[:start] + PHONE + text[end:]
    return text
