"""Write the bundled synthetic sample (``sample.jsonl``) and its answer key (``expected.jsonl``).

``socmon up`` replays ``sample.jsonl`` when no platform credentials are configured, so a new user
sees the whole pipeline work at once; tests and demos compare what the pipeline decides with
``expected.jsonl``. Everything is made up from the phrase tables in ``phrases.yaml`` (read by
`tools.sample.phrases`) for the fictional Northbrook Hospitals NHS Foundation Trust (no real
dataset, no network). The output is deterministic: one ``random.Random(2026)`` and nothing else,
so running this again gives the same bytes (a test checks that). This is a development tool: it
is not installed with the package, only the two files it writes are. From the repository root::

    python -m tools.sample            # rewrites socmon/sample/sample.jsonl and expected.jsonl
    python -m tools.sample --out /tmp/sample.jsonl   # expected.jsonl goes beside it

What the sample holds (30 days ending 2026-10-31T18:00:00Z, roughly in time order but not
strictly sorted, as connectors deliver it):

- mentions of the Trust by the public (kind ``mention``): compliments, concerns and neutral
  questions or chatter (about 35/35/30 %), at least 6 for each of the 15 departments of the
  default config, a few in Welsh, Polish and Urdu, and a handful of urgent ones (self-harm,
  safeguarding of a child and of a vulnerable adult, a threat against staff, patient records
  found in a car park, a missing confused patient);
- replies to official posts (kind ``reply``): 15 abusive ones (insults, trolling, harassment of
  staff; no slurs) and a few ordinary ones;
- comments on the Facebook posts of NorthbrookHospitals (kind ``comment``);
- official posts (kind ``official_post``) by the three registered accounts: NorthbrookNHS
  (twitter) and NorthbrookHospitals (facebook) post at least every 4 days over the whole window;
  NorthbrookMaternity (twitter) posts in the first 10 days only and then goes quiet. 14 of the
  official posts breach the social media policy, one for each rule id in `BREACH_RULES`.
  NHS numbers are in the 999 range that is never issued to patients, and pass the modulus-11
  check; phone numbers are Ofcom drama numbers (07700 900xxx, 0113 496 0xxx); the e-mail
  address uses example.com and the postcode area NB does not exist.

Malformed lines, at fixed 1-based line numbers (`MALFORMED_LINES`), for the dead-letter path:

- line 17: not JSON (a truncated object);
- line 88: no ``text``;
- line 150: no ``created_at``;
- line 233: unknown ``kind`` (``retweet``);
- line 301: ``created_at`` is not a date (``last Tuesday, 14:05``).

``expected.jsonl`` has one object per valid line, in file order: ``key`` (``platform:id``),
``line``, ``category`` (`CATEGORIES`), ``sentiment``, ``departments``, ``urgent``, ``abusive``,
``breaches`` (rule ids) and ``lang``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from socmon.sample import EXPECTED_PATH, SAMPLE_PATH
from stream_processors.classify.pii import nhs_check_digit
from tools.sample.phrases import Spec, load_phrases

SEED = 2026
WINDOW_END = datetime(2026, 10, 31, 18, 0, tzinfo=UTC)
WINDOW_START = WINDOW_END - timedelta(days=30)
BST_ENDS = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # UK clocks go back: 02:00 BST on 25 Oct

NHS = "NorthbrookNHS"
HOSPITALS = "NorthbrookHospitals"
MATERNITY = "NorthbrookMaternity"
OFFICIAL_PLATFORM = {NHS: "twitter", HOSPITALS: "facebook", MATERNITY: "twitter"}
FACEBOOK_PAGE_ID = "100064582913377"
MATERNITY_ACTIVE_DAYS = 9.0  # NorthbrookMaternity posts only in these first days of the window

MALFORMED_LINES: dict[int, str] = {
    17: "not JSON (truncated object)",
    88: "missing text",
    150: "missing created_at",
    233: "unknown kind",
    301: "created_at is not a date",
}

BREACH_RULES: tuple[str, ...] = (
    "personal_data",
    "nhs_number",
    "phone_number",
    "email_address",
    "postal_address",
    "date_of_birth",
    "patient_identifiable",
    "confidential",
    "offensive",
    "criticising_service_users",
    "political",
    "commercial",
    "media_consent",
    "credentials",
)
CATEGORIES: tuple[str, ...] = (
    "mention",
    "urgent_mention",
    "comment",
    "reply",
    "abusive_reply",
    "official_post",
    "official_breach",
)
TEXT_LIMITS = {"twitter": 280, "bluesky": 300, "mastodon": 500, "instagram": 2200}

PHRASES = load_phrases()  # the words: phrases.yaml beside this module


# --------------------------------------------------------------------------------------------
# Composition.
# --------------------------------------------------------------------------------------------


def nhs_number(rng: random.Random) -> str:
    """A 10-digit NHS number in the never-issued 999 range whose modulus-11 check digit is valid.

    The check digit comes from the policy rules' own `nhs_check_digit`, so the breach posts carry
    numbers that the NHS-number finder of the pipeline recognises.
    """
    while True:
        nine = "999" + "".join(str(rng.randrange(10)) for _ in range(6))
        check = nhs_check_digit(nine)
        if check is None:
            continue  # no valid check digit: such numbers are never issued
        s = f"{nine}{check}"
        return f"{s[:3]} {s[3:6]} {s[6:]}"


def fill_slots(rng: random.Random, text: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: rng.choice(PHRASES.slots[m.group(1)]), text)


def misspell(rng: random.Random, text: str) -> str:
    """Swap one or two words for a common misspelling or texting shorthand."""
    present = [(w, t) for w, t in PHRASES.typos if re.search(rf"\b{re.escape(w)}\b", text)]
    for word, typo in rng.sample(present, min(len(present), rng.choice((1, 2)))):
        text = re.sub(rf"\b{re.escape(word)}\b", typo, text, count=1)
    return text


def compose(rng: random.Random, spec: Spec, platform: str, account: str) -> str:
    """Dress a phrase as a post: slots, typos, case, emoji, hashtags and the @handle."""
    text = fill_slots(rng, spec.text)
    if spec.lang == "en" and not spec.urgent:
        if rng.random() < 0.22:
            text = misspell(rng, text)
        if rng.random() < 0.3:
            text += " " + rng.choice(PHRASES.emoji[spec.sentiment])
        if rng.random() < 0.2:
            tags = rng.sample(PHRASES.hashtags[spec.sentiment], rng.choice((1, 2)))
            text += " " + " ".join(tags)
        if spec.sentiment == "concern" and rng.random() < 0.1:
            text += f" cc @{rng.choice(PHRASES.local_handles)}"
    if platform == "facebook":
        if rng.random() < 0.3:
            text = f"@{account} {text}"
    elif platform == "instagram":
        text = f"{text} @{account.lower()}"
    elif rng.random() < 0.6:
        text = f"@{account} {text}"
    else:
        text = f"{text} @{account}"
    if spec.lang == "en" and not spec.urgent and rng.random() < 0.15:
        text = text.lower()
    return text


@dataclass
class Item:
    """One line of the sample with its expectations."""

    platform: str
    post_id: str
    kind: str
    account: str
    author: str
    text: str
    created_at: datetime
    url: str | None
    photo: bool
    category: str
    sentiment: str
    departments: tuple[str, ...] = ()
    urgent: bool = False
    abusive: bool = False
    breaches: tuple[str, ...] = ()
    lang: str = "en"

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.post_id}"

    def line(self) -> dict[str, Any]:
        """The replay line: exactly the documented fields."""
        obj: dict[str, Any] = {
            "platform": self.platform,
            "id": self.post_id,
            "kind": self.kind,
            "account": self.account,
            "author": self.author,
            "text": self.text,
            "created_at": timestamp(self.created_at, self.platform),
        }
        if self.url is not None:
            obj["url"] = self.url
        if self.photo:
            obj["media"] = [{"type": "photo"}]
        return obj

    def expected(self, line_no: int) -> dict[str, Any]:
        return {
            "key": self.key,
            "line": line_no,
            "category": self.category,
            "sentiment": self.sentiment,
            "departments": list(self.departments),
            "urgent": self.urgent,
            "abusive": self.abusive,
            "breaches": list(self.breaches),
            "lang": self.lang,
        }


def timestamp(t: datetime, platform: str) -> str:
    """ISO 8601 the way each platform writes it (Facebook in UK local time with its offset)."""
    if platform == "facebook":
        offset = timedelta(hours=1) if t < BST_ENDS else timedelta(0)
        suffix = "+01:00" if offset else "+00:00"
        return (t + offset).replace(tzinfo=None).isoformat(timespec="seconds") + suffix
    if platform == "instagram":
        return t.replace(tzinfo=None).isoformat(timespec="seconds") + "+00:00"
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def uk_time(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """A UK wall-clock time on a day of October 2026, in UTC."""
    t = datetime(2026, 10, day, hour, minute, second, tzinfo=UTC)
    return t - timedelta(hours=1) if t < BST_ENDS + timedelta(hours=1) else t


class Ids:
    """Platform-shaped ids and urls, unique per platform."""

    B32 = "234567abcdefghijklmnopqrstuvwxyz"
    B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: dict[str, set[str]] = {}

    def _unique(self, platform: str, make: Callable[[], str]) -> str:
        seen = self.seen.setdefault(platform, set())
        while (value := make()) in seen:
            pass
        seen.add(value)
        return value

    def make(self, platform: str, t: datetime, parent: str | None = None) -> str:
        ms = (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
        rng = self.rng
        if platform == "twitter":  # a snowflake: milliseconds since the Twitter epoch << 22
            return self._unique(
                platform, lambda: str(((ms - 1288834974657) << 22) | rng.getrandbits(22))
            )
        if platform == "facebook":  # owner_object, or post_comment for a comment
            owner = parent or str(rng.randrange(10**14, 10**15))
            return self._unique(platform, lambda: f"{owner}_{rng.randrange(10**14, 10**15)}")
        if platform == "instagram":
            return self._unique(platform, lambda: str(rng.randrange(10**18, 10**19)))
        if platform == "bluesky":  # a TID: microseconds << 10 | clock id, base32-sortable

            def tid() -> str:
                n = ((ms * 1000 + rng.randrange(1000)) << 10) | rng.randrange(32)
                return "".join(self.B32[(n >> (5 * i)) & 31] for i in reversed(range(13)))

            return self._unique(platform, tid)
        return self._unique(platform, lambda: str((ms << 16) | rng.getrandbits(16)))

    def url(self, platform: str, post_id: str, author: str) -> str:
        if platform == "twitter":
            return f"https://x.com/{author}/status/{post_id}"
        if platform == "facebook":
            return f"https://www.facebook.com/{post_id}"
        if platform == "instagram":
            code = "".join(self.rng.choice(self.B64) for _ in range(11))
            return f"https://www.instagram.com/p/{code}/"
        if platform == "bluesky":
            return f"https://bsky.app/profile/{author}/post/{post_id}"
        user, _, host = author.partition("@")
        return f"https://{host}/@{user}/{post_id}"


class Authors:
    """Made-up member-of-the-public handles, some of whom post more than once."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: dict[str, list[str]] = {}

    def pick(self, platform: str) -> str:
        used = self.used.setdefault(platform, [])
        if used and self.rng.random() < 0.15:
            return self.rng.choice(used)
        rng = self.rng
        first, last = rng.choice(PHRASES.first_names), rng.choice(PHRASES.surnames)
        if platform == "facebook":
            handle = f"{first}.{last}.{rng.randrange(1, 99)}"
        elif platform == "bluesky":
            handle = f"{first}{last}.bsky.social"
        elif platform == "mastodon":
            handle = f"{first}_{last}@{rng.choice(PHRASES.mastodon_hosts)}"
        elif platform == "instagram":
            handle = rng.choice((f"{first}.{last}", f"{first}_{rng.randrange(80, 99)}x"))
        else:
            handle = rng.choice(
                (
                    f"{first}{rng.randrange(1, 99)}",
                    f"{first.title()}{last.title()}",
                    f"{first}_{last[0]}{rng.randrange(70, 99)}",
                    f"{first}{last[0]}_{rng.randrange(1988, 2006)}",
                    f"{first.title()}InNorthbrook",
                    f"{last}y_{first}",
                )
            )
        used.append(handle)
        return handle


def mention_time(rng: random.Random, spec: Spec) -> datetime:
    """A time in the window, mostly in waking hours."""
    while True:
        t = WINDOW_START + timedelta(days=rng.uniform(spec.earliest_day, spec.latest_day))
        if t.hour < 6 and rng.random() < 0.8:
            t += timedelta(hours=rng.uniform(6, 12))
        t = t.replace(microsecond=rng.randrange(1000) * 1000)
        if WINDOW_START < t < WINDOW_END:
            return t


def official_times(rng: random.Random, n: int, first_day: float, last_day: float) -> list[datetime]:
    """``n`` working-hours times spread evenly between two points of the window (in days)."""
    times = []
    step = (last_day - first_day) / n
    for i in range(n):
        local = WINDOW_START + timedelta(days=first_day + (i + 0.5) * step + rng.uniform(-0.2, 0.2))
        t = uk_time(local.day, rng.randrange(8, 18), rng.randrange(60), rng.randrange(60))
        times.append(min(max(t, WINDOW_START + timedelta(hours=1)), WINDOW_END))
    return times


def pick_platform(rng: random.Random, spec: Spec) -> str:
    if spec.platform:
        return spec.platform
    r = rng.random()
    if r < 0.58:
        return "twitter"
    if r < 0.92:
        return "facebook"
    return "instagram" if r < 0.95 else "bluesky" if r < 0.975 else "mastodon"


def pick_account(rng: random.Random, spec: Spec, platform: str) -> str:
    if spec.account:
        return spec.account
    if platform in ("facebook", "instagram"):
        return HOSPITALS
    if platform == "twitter" and "maternity" in spec.departments and rng.random() < 0.5:
        return MATERNITY
    return NHS


def build_mentions(rng: random.Random, ids: Ids, authors: Authors) -> list[Item]:
    specs = [*PHRASES.mentions, *PHRASES.special_mentions]
    items = []
    for spec in specs:
        platform = pick_platform(rng, spec)
        account = pick_account(rng, spec, platform)
        text = compose(rng, spec, platform, account)
        if len(text) > TEXT_LIMITS.get(platform, 10_000):
            platform, account = "facebook", HOSPITALS
            text = compose(rng, spec, platform, account)
        t = mention_time(rng, spec)
        author = authors.pick(platform)
        post_id = ids.make(platform, t)
        url = ids.url(platform, post_id, author) if rng.random() > 0.05 else None
        items.append(
            Item(
                platform=platform,
                post_id=post_id,
                kind="mention",
                account=account,
                author=author,
                text=text,
                created_at=t,
                url=url,
                photo=spec.photo,
                category="urgent_mention" if spec.urgent else "mention",
                sentiment=spec.sentiment,
                departments=spec.departments,
                urgent=spec.urgent,
                abusive=spec.abusive,
                lang=spec.lang,
            )
        )
    return items


def build_official(rng: random.Random, ids: Ids) -> list[Item]:
    fills = {
        "nhs_number": nhs_number(rng),
        "mobile": f"07700 900{rng.randrange(1000):03d}",
        "landline": f"0113 496 0{rng.randrange(1000):03d}",
    }
    plan = {NHS: (0.0, 30.0), HOSPITALS: (0.0, 30.0), MATERNITY: (0.2, MATERNITY_ACTIVE_DAYS)}
    items = []
    for account, (first_day, last_day) in plan.items():
        posts = [p for p in PHRASES.official_posts if p.account == account]
        floating = [p for p in posts if p.day is None]
        rng.shuffle(floating)
        times = official_times(rng, len(floating), first_day, last_day)
        scheduled = list(zip(floating, times, strict=True))
        for p in posts:
            if p.day is not None:
                scheduled.append((p, uk_time(p.day, rng.randrange(8, 17), rng.randrange(60))))
        platform = OFFICIAL_PLATFORM[account]
        for post, t in scheduled:
            post_id = ids.make(platform, t, FACEBOOK_PAGE_ID if platform == "facebook" else None)
            text = re.sub(r"\{(\w+)\}", lambda m: fills[m.group(1)], post.text)
            items.append(
                Item(
                    platform=platform,
                    post_id=post_id,
                    kind="official_post",
                    account=account,
                    author=account,
                    text=text,
                    created_at=t,
                    url=ids.url(platform, post_id, account),
                    photo=post.photo,
                    category="official_breach" if post.breaches else "official_post",
                    sentiment="neutral",
                    departments=post.departments,
                    breaches=post.breaches,
                )
            )
    return items


def after(rng: random.Random, parent: datetime, max_hours: float) -> datetime:
    room = min(max_hours * 3600, (WINDOW_END - parent).total_seconds())
    return parent + timedelta(seconds=rng.uniform(min(120, room / 2), room))


def build_replies(
    rng: random.Random, ids: Ids, authors: Authors, official: list[Item]
) -> list[Item]:
    items = []
    for reply in PHRASES.replies:
        parents = [
            o
            for o in official
            if o.account == reply.account and (reply.to is None or reply.to in o.text)
        ]
        parent = rng.choice(parents)
        t = after(rng, parent.created_at, 18)
        author = authors.pick("twitter")
        post_id = ids.make("twitter", t)
        items.append(
            Item(
                platform="twitter",
                post_id=post_id,
                kind="reply",
                account=reply.account,
                author=author,
                text=f"@{reply.account} {reply.text}",
                created_at=t,
                url=ids.url("twitter", post_id, author),
                photo=False,
                category="abusive_reply" if reply.abusive else "reply",
                sentiment=reply.sentiment,
                departments=reply.departments,
                abusive=reply.abusive,
            )
        )
    return items


def build_comments(
    rng: random.Random, ids: Ids, authors: Authors, official: list[Item]
) -> list[Item]:
    """Comments under the page's routine posts, on the same topic where the comment has one."""
    parents = [o for o in official if o.account == HOSPITALS and not o.breaches]
    count = dict.fromkeys((p.post_id for p in parents), 0)
    items = []
    for spec in PHRASES.comments:
        fitting = [p for p in parents if set(p.departments) & set(spec.departments)]
        if not fitting:
            fitting = [p for p in parents if not p.departments] or parents
        fewest = min(count[p.post_id] for p in fitting)
        parent = rng.choice([p for p in fitting if count[p.post_id] == fewest])
        count[parent.post_id] += 1
        t = after(rng, parent.created_at, 30)
        author = authors.pick("facebook")
        post_id = ids.make("facebook", t, parent.post_id.split("_")[1])
        text = fill_slots(rng, spec.text)
        if rng.random() < 0.2:
            text = misspell(rng, text)
        items.append(
            Item(
                platform="facebook",
                post_id=post_id,
                kind="comment",
                account=HOSPITALS,
                author=author,
                text=text,
                created_at=t,
                url=ids.url("facebook", post_id, author),
                photo=False,
                category="comment",
                sentiment=spec.sentiment,
                departments=spec.departments,
            )
        )
    return items


def shuffle_a_little(rng: random.Random, items: list[Item]) -> list[Item]:
    """Time order, with some neighbours less than six hours apart swapped (as fetched)."""
    items = sorted(items, key=lambda it: (it.created_at, it.key))
    for i in range(1, len(items)):
        close = items[i].created_at - items[i - 1].created_at < timedelta(hours=6)
        if close and rng.random() < 0.12:
            items[i - 1], items[i] = items[i], items[i - 1]
    return items


def malformed_line(line_no: int, rng: random.Random, ids: Ids, near: datetime) -> str:
    """The broken line that goes at ``line_no`` (see `MALFORMED_LINES`)."""
    post_id = ids.make("twitter", near)
    author = f"{rng.choice(PHRASES.first_names)}{rng.randrange(1, 99)}"
    obj: dict[str, Any] = {
        "platform": "twitter",
        "id": post_id,
        "kind": "mention",
        "account": NHS,
        "author": author,
        "text": "@NorthbrookNHS waited 4 hours in a&e with my lad and still nobody has seen him",
        "created_at": timestamp(near, "twitter"),
        "url": f"https://x.com/{author}/status/{post_id}",
    }
    if line_no == 17:
        return json.dumps(obj, ensure_ascii=False)[:150]
    if line_no == 88:
        del obj["text"]
    elif line_no == 150:
        del obj["created_at"]
    elif line_no == 233:
        obj["kind"] = "retweet"
    elif line_no == 301:
        obj["created_at"] = "last Tuesday, 14:05"
    return json.dumps(obj, ensure_ascii=False)


def build() -> tuple[list[str], list[str]]:
    """The sample lines and the expected lines (without newlines)."""
    rng = random.Random(SEED)
    ids, authors = Ids(rng), Authors(rng)
    official = build_official(rng, ids)
    items = build_mentions(rng, ids, authors)
    items += official
    items += build_replies(rng, ids, authors, official)
    items += build_comments(rng, ids, authors, official)
    items = shuffle_a_little(rng, items)

    sample: list[str] = []
    expected: list[str] = []
    pending = iter(items)
    total = len(items) + len(MALFORMED_LINES)
    for line_no in range(1, total + 1):
        if line_no in MALFORMED_LINES:
            near = items[min(line_no - 1, len(items) - 1)].created_at
            sample.append(malformed_line(line_no, rng, ids, near))
            continue
        item = next(pending)
        sample.append(json.dumps(item.line(), ensure_ascii=False))
        expected.append(json.dumps(item.expected(line_no), ensure_ascii=False))
    return sample, expected


def summary(expected: Sequence[str]) -> str:
    """Counts per category, sentiment and department, for humans."""
    rows = [json.loads(line) for line in expected]
    by_category = Counter(r["category"] for r in rows)
    mentions = [r for r in rows if r["category"] in ("mention", "urgent_mention")]
    by_sentiment = Counter(r["sentiment"] for r in mentions)
    by_department = Counter(d for r in mentions for d in r["departments"])
    parts = [
        "categories: " + ", ".join(f"{k}={v}" for k, v in sorted(by_category.items())),
        "mention sentiments: " + ", ".join(f"{k}={v}" for k, v in sorted(by_sentiment.items())),
        "mentions per department: "
        + ", ".join(f"{k}={v}" for k, v in sorted(by_department.items())),
    ]
    return "\n".join(parts)


def write(out: Path, expected_out: Path) -> tuple[int, int]:
    sample, expected = build()
    out.parent.mkdir(parents=True, exist_ok=True)
    expected_out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"{line}\n" for line in sample), encoding="utf-8", newline="\n")
    expected_out.write_text(
        "".join(f"{line}\n" for line in expected), encoding="utf-8", newline="\n"
    )
    return len(sample), len(expected)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.sample",
        description=__doc__.split("\n\n")[0],
        epilog="By default it rewrites the copies bundled in the socmon package "
        "(socmon/sample/sample.jsonl and expected.jsonl), which `socmon up` replays when no "
        "platform credentials are set. The output is the same bytes every time.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=SAMPLE_PATH,
        help="the sample to write: one replay line per post, a few malformed "
        "(default: socmon/sample/sample.jsonl)",
    )
    parser.add_argument(
        "--expected",
        type=Path,
        default=None,
        help="the answer key to write: what each valid line is meant to be "
        "(default: expected.jsonl beside --out)",
    )
    parser.add_argument("--summary", action="store_true", help="print counts per category")
    args = parser.parse_args(argv)
    expected_out = args.expected or args.out.with_name(EXPECTED_PATH.name)
    n_sample, n_expected = write(args.out, expected_out)
    print(f"wrote {n_sample} lines to {args.out} and {n_expected} to {expected_out}")
    if args.summary:
        print(summary(expected_out.read_text(encoding="utf-8").splitlines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
