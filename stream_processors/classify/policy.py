"""Policy rules for the organisation's own posts: what an official account must not publish.

`check_policy(text, media)` returns one `Breach` per finding, with the rule id, its severity and
the exact evidence (``text[start:end] == evidence``). The rules are heuristics written for review
by a person, not verdicts: they favour catching a breach over staying quiet, and each has near
misses in tests/data/policy_cases.yaml that it must not fire on.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from socmon.records import Breach, Media, Severity
from stream_processors.classify import pii, word_lists
from stream_processors.classify.pii import Span, folded_pattern

# Rule ids and their default severities, in the order the rules run.
RULES: dict[str, Severity] = {
    "nhs_number": "high",
    "phone_number": "medium",
    "email_address": "medium",
    "postal_address": "medium",
    "date_of_birth": "high",
    "patient_identifiable": "high",
    "confidential": "medium",
    "offensive": "high",
    "criticising_service_users": "medium",
    "political": "medium",
    "commercial": "low",
    "media_consent": "high",
    "credentials": "high",
}

# Staff e-mail addresses on these domains are the organisation's, not personal.
DEFAULT_ORGANISATION_DOMAINS: tuple[str, ...] = ("nhs.net", "nhs.uk")

# A sentence ends at ., ! or ? followed by a space (but not after a title such as "Mr.") or at a
# line break. Runs on folded text, like every pattern built with `folded_pattern`.
_SENTENCE_BREAK = folded_pattern(
    r"(?<!\bmr)(?<!\bmrs)(?<!\bms)(?<!\bdr)(?<!\bst)(?<!\bno)[.!?]+(?:\s|$)|\n"
)


def _sentence_around(folded: str, start: int, end: int) -> str:
    """The (folded) sentence holding ``folded[start:end]``."""
    left = 0
    for m in _SENTENCE_BREAK.finditer(folded, 0, start):
        left = m.end()
    right_match = _SENTENCE_BREAK.search(folded, end)
    right = right_match.start() if right_match else len(folded)
    return folded[left:right]


def _spans(pattern: re.Pattern[str], searched: str, text: str) -> list[Span]:
    """Matches of `pattern` in `searched` (the text or its folded form), quoted from `text`."""
    return [Span(m.start(), m.end(), text[m.start() : m.end()]) for m in pattern.finditer(searched)]


def _inside_any(span: Span, pattern: re.Pattern[str], searched: str) -> bool:
    """True when `span` lies inside a match of `pattern` (an innocent context)."""
    return any(m.start() <= span.start and span.end <= m.end() for m in pattern.finditer(searched))


def _outermost(spans: Iterable[Span]) -> list[Span]:
    """Spans in text order, leaving out any that lies inside another."""
    ordered = sorted(spans, key=lambda s: (s.start, -s.end))
    kept: list[Span] = []
    for span in ordered:
        if kept and span.end <= kept[-1].end:
            continue
        kept.append(span)
    return kept


def _alternation(fragments: Iterable[str]) -> str:
    return "|".join(f"(?:{f})" for f in fragments)


# ---------------------------------------------------------------- patient_identifiable
_TITLES = r"(?:Mr|Mrs|Ms|Miss|Mx|Master)\.?"
_NAME_WORD = r"[A-Z][a-z][a-zA-Z'’\-]*"
# Words that follow a first name without being a surname: "Florence Ward", "Grace Unit".
_NOT_SURNAMES = (
    "Ward|Wing|Unit|Centre|Center|Hospital|House|Suite|Day|Week|Street|Road|Lane|Building|Court"
    "|Clinic|Team|Trust|Foundation|Award|Awards|Appeal|Fund|Room|Theatre|Lodge"
)
# Names are recognised by their capitals, so this one runs on the text as written.
_PERSON_NAME = re.compile(
    rf"\b{_TITLES}\s+(?:{_NAME_WORD}\s+){{0,2}}{_NAME_WORD}"
    rf"|\b(?:{'|'.join(word_lists.FIRST_NAMES)})\s+(?!(?:{_NOT_SURNAMES})\b){_NAME_WORD}"
    rf"|\b{_NAME_WORD}\s+(?!(?:{_NOT_SURNAMES})\b){_NAME_WORD}(?=,?\s*\(\d{{1,3}}\)|,\s*\d{{1,3}},)"
)
_CLINICAL_DETAIL = folded_pattern(
    r"\b(?:with|has|had|having|suffering (?:from|with)|diagnosed with|treated for|recovering from"
    r"|died (?:of|from)|admitted (?:with|for)|being treated for|battling|fighting|living with"
    r"|undergoing|tested positive for|caught|survived|beat)\s+"
    r"(?:(?:a|an|his|her|their|suspected|severe|terminal|advanced|stage \d|early|late|sudden)\s+)*"
    r"(?:[a-z\-]+\s+)?"
    rf"(?:{word_lists.CONDITIONS})\b"
    # "ward 7", "ward 7a", "ward b"; "ward off" is not a place.
    r"|\b(?:on|in|to|onto) ward\s+(?:\d+[a-z]?|[a-z])\b"
    r"|\bin (?:bed|bay)\s+\d+"
    r"|\bin (?:icu|itu|intensive care|hdu|high dependency|resus|the mortuary)\b"
    r"|\bhad (?:his|her|their) (?:[\w\-]+\s+){0,2}(?:surgery|operation|op|amputation|transplant"
    r"|biopsy|chemo(?:therapy)?|radiotherapy|c-section|caesarean|procedure|stitches|replacement)\b"
    r"|\b(?:was|were|has been|have been|got|is being|is) (?:admitted|discharged|readmitted"
    r"|resuscitated|intubated|sectioned|ventilated)\b"
    r"|\bpassed away\b|\bdied\b"
    r"|\bis (?:critical|in a (?:critical|serious|stable) condition|on dialysis|on a ventilator"
    r"|receiving (?:end of life|palliative) care)\b"
    r"|\bhad a (?:stroke|heart attack|seizure|fit|fall|miscarriage|stillbirth|cardiac arrest)\b"
    r"|\bgave birth\b"
)
_STAFF_BEFORE_NAME = folded_pattern(
    r"\b(?:dr|doctor|prof|professor|sister|nurse|matron|consultant|surgeon|midwife|sir|dame"
    r"|cllr|councillor|minister|secretary|lord|lady|rev|reverend|director|chief|colleague"
    r"|volunteer|manager|chaplain|porter|physio|physiotherapist|paramedic|student|apprentice"
    r"|executive|chair|governor|mp)\b\.?,?\s*$"
)
_STAFF_AFTER_NAME = folded_pattern(
    r"\s*,?\s*(?:(?:our|a|the|lead|senior|staff|specialist|charge|ward|deputy|clinical|head"
    r"|chief|advanced|student|trainee|healthcare|theatre)\s+)*(?:nurse|sister|manager|matron"
    r"|consultant|midwife|doctor|surgeon|physio\w*|porter|volunteer|hca|assistant|receptionist"
    r"|director|lead|chaplain|pharmacist|radiographer|paramedic|practitioner|therapist)\b"
)
_STAFF_SENTENCE = folded_pattern(
    r"\b(?:worked|works|working|retir\w*|years of service|colleagues?|volunteers?|volunteering"
    r"|award|nominated|joined (?:us|the team)|joins (?:us|the team)|shift|staff)\b"
)
_CONSENT = folded_pattern(
    r"\bwith (?:(?:their|his|her|the|kind|full|written|parental|parents'?|parent's|family's"
    r"|families'|guardian's|patient's|patients')\s+)*(?:permission|consent)\b"
    r"|\bconsent (?:was |has been |had been )?(?:given|obtained|received|granted|recorded)\b"
    r"|\b(?:gave|given|granted|kindly gave|kindly given) (?:us )?(?:their |his |her |full )?"
    r"(?:permission|consent)\b"
    r"|\bshared with consent\b|\bpermission to (?:share|post|use|film|photograph)\b"
    r"|\bconsented\b|\bused with permission\b"
)
_NEGATED_BEFORE = folded_pattern(r"(?:\bnot|n't|\bnever|\bwithout|\bno)\s+(?:\w+\s+)?$")


def _has_consent(folded: str) -> bool:
    for m in _CONSENT.finditer(folded):
        if not _NEGATED_BEFORE.search(folded, max(0, m.start() - 20), m.start()):
            return True
    return False


def _is_staff_name(folded: str, name: re.Match[str], sentence: str) -> bool:
    if _STAFF_BEFORE_NAME.search(folded, max(0, name.start() - 30), name.start()):
        return True
    if _STAFF_AFTER_NAME.match(folded, name.end()):
        return True
    return bool(_STAFF_SENTENCE.search(sentence))


def find_patient_identifiable(text: str, folded: str | None = None) -> list[Span]:
    """A person's name in the same sentence as clinical detail about them.

    A name is a title and surname ("Mrs Smith"), a known first name and a surname, or any two
    capitalised words followed by an age ("John Brown (65)"). Staff names (a role next to the
    name, or a sentence about work) and posts that record consent are left out.
    """
    folded = pii.fold_case(text) if folded is None else folded
    clinical = list(_CLINICAL_DETAIL.finditer(folded))
    if not clinical:
        return []
    names = list(_PERSON_NAME.finditer(text))
    if not names or _has_consent(folded):
        return []
    found: list[Span] = []
    for detail in clinical:
        for name in names:
            if name.end() <= detail.start():
                start, end = name.start(), detail.end()
            elif detail.end() <= name.start():
                start, end = detail.start(), name.end()
            else:
                continue
            if end - start > 120 or _SENTENCE_BREAK.search(folded, start, end):
                continue
            if _is_staff_name(folded, name, _sentence_around(folded, start, end)):
                continue
            if any(s.start <= start < s.end for s in found):
                continue
            found.append(Span(start, end, text[start:end]))
            break
    return found


# ---------------------------------------------------------------- confidential
_CONFIDENTIAL = folded_pattern(
    r"\b(?:not|hasn't|haven't|hasn’t|haven’t|has not|have not|isn't|is not|wasn't|was not)"
    r"\s+(?:been\s+|yet\s+(?:been\s+)?)?(?:officially\s+|publicly\s+|formally\s+)?"
    r"(?:announced|made public|public|confirmed publicly)(?:\s+yet)?\b"
    r"|\bbefore (?:it(?:'s| is| gets)|they(?:'re| are)|we|it's) (?:officially |formally )?"
    r"(?:announced|public|go public|made public)\b"
    r"|\bahead of the (?:official |formal )?announcement\b"
    r"|\b(?:for\s+)?internal\s+(?:use\s+|circulation\s+|eyes\s+)?only\b"
    r"|\bnot for (?:sharing|publication|circulation|public (?:release|consumption))\b"
    r"|\b(?:strictly\s+|highly\s+)?confidential\b"
    r"|\b(?:please\s+|pls\s+)?(?:don't|don’t|do not|dont)\s+(?:share|repost|retweet|forward"
    r"|tell anyone|spread (?:this|it))\b"
    r"|\bkeep (?:this|it) (?:quiet|to yourselves?|between us|under wraps|hush)\b"
    r"|\bunder wraps\b|\bhush[- ]hush\b|\boff the record\b|\bbetween (?:you and me|ourselves)\b"
    r"|\bembargo(?:ed)?\b"
    r"|\bleaked (?:document|memo|e-?mail|plans?|report|minutes)\b"
    r"|\bcontract (?:negotiations?|talks)\b|\bnegotiat\w+ (?:the |a |our |their |new )?contract\b"
    r"|\b(?:secret|unannounced) (?:plans?|proposals?|deal|merger|restructure)\b"
    r"|\b(?:haven't|haven’t|have not|hasn't|has not) been told yet\b"
    r"|\b(?:plans?|planning|proposals?) to (?:close|shut|cut|axe|merge|downgrade|scrap|outsource"
    r"|privatise|sell off)\b"
    r"|\b(?:bid|tender) (?:price|value|amount|figures?)\b"
    r"|\byou didn'?t hear (?:it|this) from me\b"
)
# "Free, confidential advice", "your details are kept confidential": promises, not secrets.
_CONFIDENTIAL_INNOCENT = folded_pattern(
    r"\b(?:free,?\s+(?:and\s+)?|kept\s+|keep\s+|remains?\s+|treated\s+as\s+|stays?\s+|always\s+"
    r"|completely\s+|totally\s+|entirely\s+|strictly\s+)confidential\b"
    r"|\bprivate\s*(?:/|and|&)\s*confidential\b"
    r"|\bconfidential,?\s+(?:and\s+)?(?:helpline|line|service|advice|support|listening|counselling"
    r"|chat|space|conversations?|testing|tests?|free|sexual|waste|bins?|shredding|reporting|way"
    r"|manner|environment|non-judg(?:e)?mental|clinic|appointments?|drop-in|help)\b"
    r"|\b(?:don't|don’t|do not|dont)\s+share\s+(?:your|personal|any personal|misinformation|fake"
    r"|unverified|photos? of (?:other )?patients|pictures of patients|patient|bank|login)\b"
)
_PLANS_MADE_PUBLIC = folded_pattern(
    r"\bconsultation\b|\bannounced\b|\bpublished\b|\bhave your say\b|\bpublic meeting\b"
)


def find_confidential(text: str, folded: str | None = None) -> list[Span]:
    """Internal or unannounced matters: embargoes, contract talks, plans not yet public."""
    folded = pii.fold_case(text) if folded is None else folded
    found = []
    for span in _spans(_CONFIDENTIAL, folded, text):
        if _inside_any(span, _CONFIDENTIAL_INNOCENT, folded):
            continue
        if folded.startswith(("plan", "proposal"), span.start) and _PLANS_MADE_PUBLIC.search(
            _sentence_around(folded, span.start, span.end)
        ):
            continue
        found.append(span)
    return found


# ---------------------------------------------------------------- offensive
_OFFENSIVE = folded_pattern(
    r"(?<![\w])(?:"
    + _alternation(t for terms in word_lists.OFFENSIVE_TERMS.values() for t in terms)
    + "|"
    + _alternation(word_lists.DISCRIMINATORY_PHRASES)
    + r")(?![\w])"
)
_OFFENSIVE_BENIGN = folded_pattern(_alternation(word_lists.BENIGN_CONTEXTS))


def find_offensive(text: str, folded: str | None = None) -> list[Span]:
    """Slurs and discriminatory language (see `word_lists.OFFENSIVE_TERMS`), minus innocent uses."""
    folded = pii.fold_case(text) if folded is None else folded
    return [
        s for s in _spans(_OFFENSIVE, folded, text) if not _inside_any(s, _OFFENSIVE_BENIGN, folded)
    ]


# ---------------------------------------------------------------- criticising_service_users
_CRITICISING = folded_pattern(
    r"(?<![\w])(?:"
    r"you (?:clearly|obviously|evidently) (?:didn't|didn’t|did not|don't|don’t|do not"
    r"|haven't|haven’t|have not|can't|can’t|cannot|weren't|aren't|have no)\b[^.!?\n]{0,40}"
    r"|did you (?:even|actually) (?:read|bother|listen)\b"
    r"|(?:learn to|can't you|can’t you|try to) read\b"
    r"|stop (?:lying|moaning|whinging|whining|complaining|making things up|spreading lies"
    r"|exaggerating)\b"
    r"|(?:you're|you’re|you are) (?:lying|a liar|wrong|being ridiculous|ridiculous|pathetic"
    r"|deluded|an idiot|clueless|rude|a time[- ]waster|making it up|making this up)\b"
    r"|people like you\b|you people\b"
    r"|(?:it's|it’s|it is|it was|that's|that’s|that is) (?:all )?your (?:own )?fault\b"
    r"|you (?:only )?have (?:only )?yourself to blame\b"
    r"|you(?:'ve| have) only got yourself to blame\b"
    r"|if you had (?:bothered|listened|read|turned up|actually)\b"
    r"|you should have (?:listened|read|turned up|come earlier|known better|bothered)\b"
    r"|get your facts (?:straight|right)\b"
    # "Grow up!" as a retort, not "watch them grow up".
    r"|(?:(?<=^)|(?<=[.!?,] )|(?<=[.!?,]))(?:oh\s+)?(?:just\s+)?grow up\b"
    r"|get a life\b|get over it\b|shut up\b"
    r"|nobody (?:cares|believes you|asked you)\b"
    r"|how dare you\b|time[- ]wasters?\b"
    r"|(?:you )?should be ashamed of yourself\b"
    r"|don't be (?:ridiculous|silly|stupid|daft)\b"
    r"|what part of [^.!?\n]{1,30} (?:don't|do you not) you understand\b"
    r"|(?:idiots?|morons?) like you\b"
    r")"
)
# "People like you make our work worthwhile."
_WARM_SENTENCE = folded_pattern(
    r"\b(?:thank\w*|grateful|inspir\w*|amazing|brilliant|wonderful|heroes|hero|worthwhile"
    r"|save lives|proud|support\w*|donat\w*|volunteer\w*|kind|kindness|difference)\b"
)


def find_criticising_service_users(text: str, folded: str | None = None) -> list[Span]:
    """Arguing with, blaming or belittling a member of the public."""
    folded = pii.fold_case(text) if folded is None else folded
    found = []
    for span in _spans(_CRITICISING, folded, text):
        if folded[span.start : span.end] in ("people like you", "you people") and (
            _WARM_SENTENCE.search(_sentence_around(folded, span.start, span.end))
        ):
            continue
        found.append(span)
    return found


# ---------------------------------------------------------------- political
_PARTIES = (
    r"tor(?:y|ies)|lib ?dems?|liberal democrats?|reform uk|snp|plaid cymru|ukip|sinn f[eé]in"
    r"|green party|labour party|conservative party|conservatives"
)
_POLITICAL = folded_pattern(
    r"(?<![\w#])(?:"
    rf"(?:{_PARTIES})\b"
    # "labour" and "reform" are ordinary words too; after "vote" they are parties.
    r"|(?:vote|voting|voted) (?:for )?(?:the )?(?:labour|conservatives?|tory|tories|greens?"
    r"|lib dems?|snp|plaid|ukip)\b"
    r"|(?:don't|don’t|do not|never) vote\b"
    r"|vote (?:them|the government|this government|the tories|labour|the conservatives) out\b"
    r"|get the (?:tories|government|labour|conservatives) out\b"
    r"|(?:who|how) to vote\b|use your vote (?:to|against|for)\b"
    r"|vote (?:against|to (?:remove|kick out|get rid of))\b"
    r"|canvass(?:ing|ed)?\b|leaflet(?:ing|ting) for\b"
    r"|campaign(?:ing|ed)? (?:for|against) (?:the )?(?:labour|conservative|tory|tories|reform"
    r"|greens?|lib dems?|government|candidate|party|mp)\b"
    r"|join (?:us|me|the|our) (?:on the |at the )?(?:march|protest|rally|demo|picket)"
    r"(?: line)?\b"
    r"|sign (?:the|this|our|my) petition\b"
    r"|(?:march|protest|rally|demo) against (?:the )?(?:government|cuts|privatisation"
    r"|austerity)\b"
    r"|(?:the |this |our )?government(?:'s|’s)?\s+(?:is\s+|are\s+|has\s+|have\s+)?(?:been\s+)?"
    r"(?:useless|incompetent|a disgrace|disgraceful|shameful|corrupt|clueless|lying|liars"
    r"|destroying|killing|failing|failed|betrayed|cruel|heartless|pathetic|a joke|to blame)\b"
    r"|(?:blame|thanks to|thank) (?:the|this) government\b"
    r"|(?:government|tory|labour) (?:cuts|austerity|incompetence|lies|chaos|sleaze)\b"
    r"|austerity\b"
    r"|privatis(?:ation|ing) (?:of )?(?:the |our )?nhs\b"
    r"|(?:selling|sell|sold) off (?:the |our )?nhs\b"
    r"|(?:(?:starmer|sunak|johnson|truss|farage|badenoch|streeting|corbyn|reeves)"
    r"|(?:the )?(?:prime minister|pm|health secretary|chancellor))"
    r"\s+(?:is|was|should|must|has|needs to)\s+(?:a |an )?(?:liar|disgrace|useless|incompetent"
    r"|resign|go|clueless|destroying|ruining|a joke|ashamed)\b"
    r")"
    r"|#(?:vote\w+|toriesout|gtto|\w+out\b)"
)
# Party names that are ordinary words in lower case ("labour ward", "conservative management")
# count only when capitalised and followed by a political noun.
_POLITICAL_AS_WRITTEN = re.compile(
    r"\bDUP\b"
    r"|\b(?:Labour|Conservative|Reform|Green|Lib Dem) (?:government|MPs?|leader|councillors?"
    r"|candidate|manifesto|cuts|voters?|supporters?|member|party|policies|policy)\b"
    r"|\b[Vv]ot(?:e|ing|ed) (?:for )?(?:the )?Reform\b"
)


def find_political(text: str, folded: str | None = None) -> list[Span]:
    """Party names, voting advice, campaigning and opinions on the government."""
    folded = pii.fold_case(text) if folded is None else folded
    return _outermost(
        [*_spans(_POLITICAL, folded, text), *_spans(_POLITICAL_AS_WRITTEN, text, text)]
    )


# ---------------------------------------------------------------- commercial
_COMMERCIAL = folded_pattern(
    # One word-start check for all the word alternatives, rather than a \b in each: Python's
    # engine tries every alternative at every position otherwise.
    r"(?<![\w])(?:"
    r"(?:discount|promo|promotional|voucher|coupon|referral) code\b"
    r"|(?:get|save|enjoy|for|extra|take|with)\s+\d{1,2}\s?% off\b"
    r"|\d{1,2}\s?% off (?:all|everything|your|orders|at|when|with|using|today|now|selected)\b"
    r"|my (?:side (?:business|hustle|gig)|(?:small |online |own |little |new )?business"
    r"|(?:online |etsy |new |little )?shop|etsy|salon)\b"
    r"|(?:affiliate|referral) links?\b|amzn\.to/\S+"
    r"|(?:dm|message|pm|inbox) me (?:for|to order|to buy|for prices|for details)\b"
    r"|join my team\b|work from home opportunity\b|passive income\b|be your own boss\b"
    r"|earn £?\d[\d,]*\S* (?:a|per) (?:week|month|day)\b"
    r"|(?:herbalife|forever living|younique|juice plus|arbonne|avon|utility warehouse|scentsy"
    r"|tropic skincare|nutrimetics|doterra|young living)\b"
    r"|(?:order|buy|get) yours (?:now|today|here)\b|buy now\b|shop now\b"
    r"|free delivery on (?:all )?orders\b|prices start(?:ing)? (?:at|from)\b"
    r")"
    r"|#(?:ad|sponsored|gifted|affiliate|spon)\b"
)
# A link with an affiliate tag. Run only on text with an "=", since trying it at every position
# costs more than all the other commercial patterns together.
_AFFILIATE_LINK = folded_pattern(r"(?<!\S)\S*?[?&](?:tag|aff|affid|affiliate)=\S+")
# A code to type in is written in capitals ("NHS20"); that is what tells it from "code blue".
_DISCOUNT_CODE = re.compile(
    r"\b(?:[Dd]iscount|[Pp]romo|[Pp]romotional|[Vv]oucher|[Cc]oupon|[Rr]eferral) [Cc]ode"
    r"\s*[:\-]?\s*[A-Z0-9]*[A-Z][A-Z0-9]{2,}\b"
    r"|\b[Uu]se (?:[Mm]y |[Tt]he )?[Cc]ode\s*[:\-]?\s*[A-Z0-9]*[A-Z][A-Z0-9]{2,}\b"
)


def find_commercial(text: str, folded: str | None = None) -> list[Span]:
    """Promotion of a private business: discount codes, side businesses, affiliate links."""
    folded = pii.fold_case(text) if folded is None else folded
    spans = [*_spans(_COMMERCIAL, folded, text), *_spans(_DISCOUNT_CODE, text, text)]
    if "=" in folded:
        spans += _spans(_AFFILIATE_LINK, folded, text)
    return _outermost(spans)


# ---------------------------------------------------------------- media_consent
_AT_RISK_PEOPLE = folded_pattern(
    r"\b(?:" + _alternation((*word_lists.CHILDREN, *word_lists.VULNERABLE_ADULTS)) + r")\b"
)
_NOT_PEOPLE = folded_pattern(r"\b(?:" + _alternation(word_lists.NOT_PEOPLE) + r")")
# Types that can show a person; "other" (a document, a link card) cannot.
_IMAGE_TYPES = frozenset({"photo", "video", "animated_gif"})


def find_media_without_consent(
    text: str, media: Sequence[Media], folded: str | None = None
) -> list[Span]:
    """Children or adults at risk mentioned beside a photo or video, with no consent recorded.

    The evidence is the first mention of them (the image itself is not in the text).
    """
    if not any(m.type in _IMAGE_TYPES for m in media):
        return []
    folded = pii.fold_case(text) if folded is None else folded
    for span in _spans(_AT_RISK_PEOPLE, folded, text):
        if _inside_any(span, _NOT_PEOPLE, folded):
            continue
        if _has_consent(folded):
            return []
        return [span]
    return []


# ---------------------------------------------------------------- credentials
# Words that follow "password is" in advice rather than in a disclosure.
_NOT_A_SECRET = (
    r"never|not|your|our|the|a|an|important|case[- ]sensitive|too|weak|strong|required|incorrect"
    r"|wrong|expired|changing|reset|personal|private|secret|safe|only|still|now|being|set|stored"
    r"|encrypted|needed|available|sent|different|unique|easy|hard|long|short|in|on|at|for|and"
    r"|or|to|what|how|something|shared|compromised|protected|yours|given|changed|provided"
    r"|displayed|printed|below|above|key|vital|essential"
)
_SECRET_VALUE = rf"(?!(?:{_NOT_A_SECRET})\b)['\"“‘]?[^\s'\"”’]{{3,}}"
_CREDENTIALS = folded_pattern(
    r"\b(?:the\s+)?(?:wi-?fi\s+|guest\s+|admin\s+|shared\s+|new\s+|team\s+)?"
    r"(?:password|passcode|passphrase|pwd|pw)s?\s*(?:is|=|:|-|for [\w ]{1,25}?(?: is|:))\s*"
    + _SECRET_VALUE
    + r"|\bpin (?:code |number )?(?:is|=|:)\s*\d{4,6}\b"
    r"|\b(?:door|keypad|key ?safe|keysafe|alarm|access|entry|gate|lock|lockbox|cupboard)\s+"
    r"code\s*(?:is|:|=|-)?\s*\d{3,8}\b"
    r"|\b(?:login|log-in|log in|username|user name|user ?id)\s*(?:details\s*)?"
    r"(?:is|are|:|=)\s*"
    + _SECRET_VALUE
    + r"(?:\s*(?:and|&|,|/)?\s*(?:the\s+)?(?:password|pw|pwd)\s*(?:is|:|=)?\s*[^\s'\"”’]{3,})?"
    r"|\blog ?in details\s*(?:are|:|below|here|attached)"
)
# "PIN 4432": the capitals tell a PIN from a pin.
_PIN_AS_WRITTEN = re.compile(r"\bPIN(?:\s+(?:code|number))?\s*(?:is|=|:)?\s*\d{4,6}\b")


def find_credentials(text: str, folded: str | None = None) -> list[Span]:
    """Passwords, PINs, door and key-safe codes, login details written out."""
    folded = pii.fold_case(text) if folded is None else folded
    return _outermost([*_spans(_CREDENTIALS, folded, text), *_spans(_PIN_AS_WRITTEN, text, text)])


Finder = Callable[[str, str, Sequence[Media]], Iterable[Span]]


class PolicyRules:
    """The policy rules with the organisation's allow-lists.

    `allowed_phone_numbers` are the organisation's own numbers (switchboard, helplines), in any
    format the GB region parses; `allowed_email_domains` its e-mail domains (subdomains count);
    `allowed_postcodes` the postcodes of its own sites. `severities` overrides default severities.
    """

    def __init__(
        self,
        *,
        allowed_phone_numbers: Iterable[str] = (),
        allowed_email_domains: Iterable[str] = DEFAULT_ORGANISATION_DOMAINS,
        allowed_postcodes: Iterable[str] = (),
        severities: Mapping[str, Severity] | None = None,
    ) -> None:
        self.allowed_phone_numbers = frozenset(
            pii.normalise_phone_number(n) for n in allowed_phone_numbers
        )
        self.allowed_email_domains = tuple(d.lower() for d in allowed_email_domains)
        self.allowed_postcodes = frozenset(pii.normalise_postcode(p) for p in allowed_postcodes)
        unknown = sorted(set(severities or {}) - set(RULES))
        if unknown:
            msg = f"unknown policy rule(s) in severities: {', '.join(unknown)}"
            raise ValueError(msg)
        self.severities: dict[str, Severity] = {**RULES, **(severities or {})}
        # Each finder gets the text, its case-folded copy (made once per post) and the media.
        self._finders: dict[str, Finder] = {
            "nhs_number": lambda t, _f, _m: pii.find_nhs_numbers(t),
            "phone_number": lambda t, _f, _m: pii.find_phone_numbers(t, self.allowed_phone_numbers),
            "email_address": lambda t, f, _m: pii.find_email_addresses(
                t, self.allowed_email_domains, f
            ),
            "postal_address": lambda t, f, _m: pii.find_home_addresses(
                t, self.allowed_postcodes, f
            ),
            "date_of_birth": lambda t, f, _m: pii.find_dates_of_birth(t, f),
            "patient_identifiable": lambda t, f, _m: find_patient_identifiable(t, f),
            "confidential": lambda t, f, _m: find_confidential(t, f),
            "offensive": lambda t, f, _m: find_offensive(t, f),
            "criticising_service_users": lambda t, f, _m: find_criticising_service_users(t, f),
            "political": lambda t, f, _m: find_political(t, f),
            "commercial": lambda t, f, _m: find_commercial(t, f),
            "media_consent": lambda t, f, m: find_media_without_consent(t, m, f),
            "credentials": lambda t, f, _m: find_credentials(t, f),
        }

    def check(self, text: str, media: Sequence[Media] = ()) -> list[Breach]:
        """Every breach in one official post, ordered by position in the text."""
        breaches: list[Breach] = []
        nhs_spans: list[Span] = []
        folded = pii.fold_case(text)
        for rule, finder in self._finders.items():
            for span in finder(text, folded, media):
                # A valid NHS number is reported once, as the graver finding.
                if rule == "phone_number" and any(
                    n.start < span.end and span.start < n.end for n in nhs_spans
                ):
                    continue
                if rule == "nhs_number":
                    nhs_spans.append(span)
                breaches.append(
                    Breach(
                        rule=rule,
                        severity=self.severities[rule],
                        evidence=span.value,
                        start=span.start,
                        end=span.end,
                    )
                )
        breaches.sort(key=lambda b: (b.start, b.end))
        return breaches


def check_policy(text: str, media: Sequence[Media] = ()) -> list[Breach]:
    """`PolicyRules().check` with the default allow-lists (NHS e-mail domains only)."""
    return _default_rules().check(text, media)


@functools.cache
def _default_rules() -> PolicyRules:
    # Built once and shared: a PolicyRules is never changed after construction.
    return PolicyRules()
