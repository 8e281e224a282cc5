"""The named themes of the monthly report (the data file and the matching) and the masking of
personal data in the posts it quotes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboards.report.masking import mask_personal_data
from dashboards.report.themes import (
    ThemeDefinition,
    ThemesFileError,
    load_themes,
    named_themes,
    normalise,
    quote,
    shorten,
)
from tests.factories import make_post

OCT = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


# -- masking --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call me on 07700 900123 please", "call me on [phone] please"),
        ("call me on 07700900123", "call me on [phone]"),
        ("ring +44 7700 900123 now", "ring [phone] now"),
        ("home (0161) 496 0000", "home [phone]"),
        ("my NHS number is 943 476 5919.", "my NHS number is [NHS number]."),
        ("NHS no 9434765919", "NHS no [NHS number]"),
        ("nhs 943-476-5919", "nhs [NHS number]"),
        ("a typo 943 476 5918 still", "a typo [NHS number] still"),
        ("hospital number 1234567", "hospital number [phone]"),
        ("mail jo.bloggs+nhs@example.co.uk now", "mail [e-mail] now"),
        ("@jo_bloggs99 saw it", "@[user] saw it"),
        ("ask @jo@mastodon.social or @jo.bsky.social", "ask @[user] or @[user]"),
        ("see https://t.co/abc123?x=1 and www.example.com/x", "see [link] and [link]"),
        ("I live at NB2 7QT", "I live at [postcode]"),
    ],
)
def test_personal_data_is_masked(text: str, masked: str) -> None:
    assert mask_personal_data(text) == masked


def test_ordinary_numbers_and_our_own_handles_are_kept() -> None:
    text = "@NorthbrookNHS waited 6 hours on Ward 12 on 12/10/2026 at 10:30, £4.50 for 24/7 parking"
    assert mask_personal_data(text, keep_handles=["northbrooknhs"]) == text
    assert mask_personal_data(text).startswith("@[user] waited 6 hours")


def test_a_quote_is_masked_shortened_and_without_emoji() -> None:
    text = "On hold for 55 mins 😠 call 07700 900123 " + "and then nothing " * 30
    quoted = quote(text, length=60)
    assert quoted.startswith("On hold for 55 mins call [phone] and then")
    assert quoted.endswith("…")
    assert len(quoted) <= 60
    assert "😠" not in quoted
    assert shorten("short  text\nhere") == "short text here"


# -- the themes file -------------------------------------------------------------------------------


def test_the_bundled_themes_are_named_patient_experience_topics() -> None:
    themes = load_themes()
    ids = [theme.id for theme in themes]
    assert len(ids) == len(set(ids)) >= 10
    for wanted in ("waiting_times", "communication", "staff_attitude", "appointments"):
        assert wanted in ids
    assert all(theme.keywords and theme.name[0].isupper() for theme in themes)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("themes: [", "not valid YAML"),
        ("nothing: here", "non-empty list under 'themes'"),
        ("themes:\n  - id: a\n    keywords: [x]", "needs an id and a name"),
        ("themes:\n  - id: a\n    name: A\n    keywords: []", "needs a list of keywords"),
        (
            "themes:\n  - {id: a, name: A, keywords: [x]}\n  - {id: a, name: B, keywords: [y]}",
            "used twice",
        ),
    ],
)
def test_a_broken_themes_file_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ThemesFileError, match=problem):
        load_themes(text)


def test_keywords_match_whole_words_prefixes_and_any_one_word() -> None:
    theme = ThemeDefinition("t", "T", ("cancel*", "took * hours", "car park", "wait"))
    assert theme.hits(normalise("Appointment CANCELLED again")) == 1
    assert theme.hits(normalise("it took 4 hours")) == 1
    assert theme.hits(normalise("the car-park is full")) == 1
    assert theme.hits(normalise("the #wait was long")) == 1  # a hashtag reads as a word
    assert theme.hits(normalise("awaiting news, carpark")) == 0  # not inside other words
    assert theme.hits(normalise("@wait_less https://x.com/wait")) == 0  # handles, links


def test_themes_count_posts_once_each_with_the_change_and_examples() -> None:
    definitions = (
        ThemeDefinition("waiting", "Waiting", ("wait*",)),
        ThemeDefinition("parking", "Parking", ("parking", "car park")),
        ThemeDefinition("food", "Food", ("food",)),
    )

    def concern(n: int, text: str, **fields: object) -> object:
        return make_post(
            f"c{n}",
            text=text,
            sentiment="concern",
            created_at=OCT + timedelta(hours=n),
            **fields,  # type: ignore[arg-type]
        )

    now = [
        concern(1, "waited and waited, waiting still", departments=("emergency",)),
        concern(2, "no parking, car park full, waited an hour", departments=("estates",)),
        concern(3, "wait times are a disgrace you idiots", abusive=True),
        concern(4, "nothing about any theme"),
        concern(0, "parking charges again", departments=("estates",)),
    ]
    before = [concern(9, "parking again")]
    summary = named_themes(
        now,  # type: ignore[arg-type]
        before,  # type: ignore[arg-type]
        definitions,
        {"emergency": "A&E", "estates": "Estates"},
        examples=1,
    )
    assert (summary.concerns, summary.unmatched) == (5, 1)
    assert [(t.id, t.posts, t.posts_before) for t in summary.themes] == [
        ("waiting", 3, 0),
        ("parking", 2, 1),
    ]
    waiting, parking = summary.themes
    assert waiting.departments == (("A&E", 1), ("Estates", 1))
    assert parking.departments == (("Estates", 2),)
    # the newest that is not abusive; then a post not quoted yet, though it is older
    assert [e.text for e in waiting.examples] == ["no parking, car park full, waited an hour"]
    assert [e.text for e in parking.examples] == ["parking charges again"]
