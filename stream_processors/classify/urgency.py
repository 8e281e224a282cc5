"""Urgent posts: someone at risk now (self-harm, safeguarding, violence, a clinical emergency) or
patients' data exposed. These go to a person at once, not to the daily digest.

`detect_urgent(text)` is a set of phrase rules per category, checked in order of how grave the
category is. Figurative uses ("this queue is killing me", "dying for a coffee") and negations
("I'm not suicidal") are cut out by the patterns themselves or by a short list of innocent
contexts; tests/data/urgency_cases.yaml holds the cases each must fire on and the near misses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from stream_processors.classify.pii import fold_case, folded_pattern

UrgentCategory = Literal[
    "self_harm", "safeguarding", "violence", "clinical_emergency", "data_breach"
]
CATEGORIES: tuple[UrgentCategory, ...] = (
    "self_harm",
    "safeguarding",
    "violence",
    "clinical_emergency",
    "data_breach",
)

# Apostrophes come straight or curly from phones; every "'" below also accepts "’".
_A = "['’]"


def _rx(pattern: str) -> re.Pattern[str]:
    """A lower-case pattern for folded text (see `pii.folded_pattern`), either apostrophe."""
    return folded_pattern(pattern.replace("'", _A))


@dataclass(frozen=True, slots=True)
class UrgentResult:
    """Whether a post needs a person now; `category` and `evidence` say why."""

    urgent: bool
    category: UrgentCategory | None = None
    evidence: str = ""


NOT_URGENT = UrgentResult(urgent=False)

_PERSON = (
    r"(?:he|she|they|i|my (?:\w+ ){0,2}(?:\w+)|a (?:man|woman|lady|guy|patient|child|boy|girl"
    r"|baby|kid|person|gentleman|pensioner)|an (?:elderly|old) (?:man|woman|lady|gentleman)"
    r"|someone|somebody|the patient|this (?:man|woman|lady|guy|patient))"
)

_SELF_HARM = _rx(
    r"\b(?:want|wanna|going|gonna|plan(?:ning)?|ready|tempted|decided) to (?:end it all"
    r"|end my life|end things|kill myself|die|take my (?:own )?life|hurt myself|disappear forever)"
    r"|\bkill(?:ing)? myself\b"
    r"|\bend(?:ing)? it all\b|\bend(?:ing)? my (?:own )?life\b|\btake my (?:own )?life\b"
    r"|\bno (?:reason|point) (?:to live|in living|living|going on)\b"
    r"|\bnothing (?:left )?to live for\b"
    r"|\b(?:i'm|i am|feeling|feel|been|getting) (?:really |so |very )?suicidal\b"
    r"|\bsuicidal (?:thoughts|feelings)\b|\bthoughts of suicide\b"
    r"|\b(?:i've|i have|i've been|i have been|been|keep|started) (?:self[- ]?harm(?:ing|ed)?"
    r"|cutting myself|hurting myself|burning myself)\b"
    r"|\b(?:i've|i have|i) (?:just )?(?:taken|took|swallowed) (?:an overdose"
    r"|all my (?:pills|tablets)|a (?:load|bunch|handful) of (?:pills|tablets))"
    r"|\bdon't want to (?:be here|live|wake up|exist) any ?more\b"
    r"|\b(?:everyone|they|my family|the world)(?:'d| would) be better off without me\b"
    r"|\bbetter off dead\b|\bcan't go on (?:any ?more|like this)\b"
    r"|\bwant to die\b|\bwish i (?:was|were) dead\b|\bwrote (?:a|my) suicide note\b"
)
_SELF_HARM_INNOCENT = _rx(
    r"\b(?:kill(?:ing)?|killed) myself (?:laughing|with laughter)\b"
    r"|\bwant to die (?:of|from) (?:embarrassment|shame|laughter|laughing|boredom)\b"
    r"|\bwant to die (?:happy|at home|peacefully|with dignity)\b"
    r"|\b(?:not|never|isn't|wasn't|no longer) (?:been |feeling |feel )?suicidal\b"
    r"|\b(?:don't|do not|didn't|never|won't|wouldn't) (?:want to |wanna |going to )?"
    r"(?:kill myself|end it all|end my life|take my (?:own )?life|want to die)\b"
    r"|\bi'm not going to (?:kill myself|end it all|end my life)\b"
)

_SAFEGUARDING = _rx(
    r"\bbeing (?:hurt|hit|beaten|abused|neglected|starved|locked in|touched)"
    r" (?:at home|by (?:his|her|their|my) (?:\w+ ){0,2}\w+)"
    r"|\b(?:(?:he|she|they|my (?:\w+ )?(?:dad|mum|father|mother|stepdad|stepmum|partner|husband"
    r"|wife|boyfriend|girlfriend|carer|brother|uncle)) (?:hits|beats|hurts|chokes|kicks|punches|"
    r"burns|abuses|touches) (?:me|us|her|him|them|the (?:kids|children|baby)|my (?:\w+ )?"
    r"(?:son|daughter|kids|children|baby|mum|dad|nan|gran)))\b"
    r"|\b(?:child|children|kids?|baby|toddler|little (?:boy|girl)|\w+-year-old)"
    r"(?: (?:next door|upstairs|downstairs|over the road|across the road|down the road))?"
    r"(?: (?:is|was|are|were|keeps being|keep being|being|has been|have been|gets|get))?"
    r" (?:left )?(?:home )?(?:alone|unattended|on (?:his|her|their) own)"
    r"(?! (?:time|together))\b"
    r"|\bleft (?:the|a|his|her|their|my) (?:\w+ )?(?:kids?|child(?:ren)?|baby|toddler|twins)"
    r" (?:home )?(?:alone|unattended|in the car|on (?:his|her|their) own)\b"
    r"|\bvulnerable (?:adult|person|man|woman|patient|resident)s? (?:is |was |are |were |being |"
    r"has been |have been )?(?:being )?(?:abused|neglected|exploited|hit|assaulted|mistreated"
    r"|left)\b"
    r"|\b(?:i'm|i am) (?:scared|afraid|frightened|too scared) to go home\b"
    r"|\b(?:not|don't feel) safe at home\b"
    r"|\b(?:staff|carers?|nurses?|care workers?|someone) (?:hit|slapped|pushed|abused|kicked"
    r"|shoved|punched|assaulted|mistreated|restrained|tied) (?:my|a|the|an) (?:\w+ )?"
    r"(?:dad|mum|mother|father|nan|gran|grandad|grandma|grandmother|grandfather|son|daughter"
    r"|brother|sister|husband|wife|resident|patient|child)\b"
    r"|\b(?:is|was|are|were|being|been) (?:sexually )?(?:abused|groomed|assaulted|trafficked)"
    r" (?:by|at)\b"
    r"|\bno one (?:is )?feeding (?:him|her|them|the (?:kids|children|baby))\b"
    r"|\b(?:bruises|burns|marks) (?:all )?(?:over|on) (?:his|her|their)"
    r" (?:body|arms|face|back|legs)"
)
_SAFEGUARDING_INNOCENT = _rx(
    r"\bhome alone \d|\bwatch(?:ing|ed)? home alone\b"
    r"|\bcan leave (?:the|a|your) (?:\w+ )?(?:kids?|child(?:ren)?|baby) (?:alone|home alone)\b"
    r"|\bnever leave (?:the|a|your) (?:\w+ )?(?:kids?|child(?:ren)?|baby)"
)

_THREAT_VERBS = (
    r"(?:hurt|kill|stab|batter|punch|smash|kick|beat|hit|shoot|knock|wreck|burn|deck|glass"
    r"|sort (?:\w+ )?out|deal with|teach (?:\w+ )?a lesson|make (?:\w+ )?pay|kick off|torch"
    r"|drag|strangle|slap|bottle|knife|do (?:him|her|them|you) in)"
)
_VIOLENCE = _rx(
    r"\b(?:i'll|i will|i'm gonna|i'm going to|we'll|we will|gonna) come (?:down |over |up )?"
    r"(?:there|to (?:the|your) (?:\w+ ){0,2}\w+|round|in) and (?:\w+ ){0,2}" + _THREAT_VERBS + r"\b"
    r"|\b(?:i'll|i will|i'm gonna|i'm going to|i am going to|going to|gonna|i swear i'll|i'd)"
    r" (?:\w+ )?" + _THREAT_VERBS + r" (?:you|him|her|them|someone|somebody|everyone|anyone"
    r"|the (?:\w+ )?(?:doctor|nurse|receptionist|staff|security|consultant|manager|guard|porter)s?"
    r"|your (?:\w+ )?(?:staff|doctors?|nurses?|receptionists?|managers?)|every(?:one|body)"
    r"|that (?:\w+ )?(?:doctor|nurse|receptionist|woman|man|guy|bitch|bastard))\b"
    r"|\bbring (?:a|my) (?:knife|gun|blade|machete|bat)\b"
    r"|\b(?:bomb|blow up|burn down|torch) (?:the|your) (?:hospital|place|building|a&e|ward)\b"
    r"|\bwatch your backs?\b|\byou(?:'ll| will) (?:regret|pay for) (?:this|it)\b"
    r"|\b(?:there(?:'ll| will) be|i'll cause) (?:blood|violence|trouble)\b"
    r"|\b(?:has|have|had|has got|'ve got|is carrying|was carrying|pulled) (?:a|an) (?:knife|gun"
    r"|machete|weapon|blade)\b"
    r"|\bthreaten(?:ed|ing) to (?:kill|stab|hurt|shoot|attack)\b"
)
_VIOLENCE_INNOCENT = _rx(
    r"\b(?:kill|murder) (?:for|a) (?:a )?(?:coffee|brew|tea|pint|cuppa|sandwich|burger|drink)"
    r"|\bkill (?:time|the pain|two birds)\b|\bkill (?:it|them) with kindness\b"
    r"|\bcome (?:down |over )?(?:there|to the \w+) and (?:\w+ ){0,2}(?:thank|hug|say|see|help)\b"
)

_CONDITIONS = (
    r"(?:chest pains?|can't breathe|cannot breathe|struggling to breathe|difficulty breathing"
    r"|not breathing|bleeding|a head injury|head injury|a seizure|seizures|fitting|a stroke"
    r"|stroke symptoms|heart attack|sepsis|an overdose|overdose|unconscious|unresponsive"
    r"|choking|vomiting blood|a broken (?:\w+)|severe pain|an allergic reaction|anaphylaxis"
    r"|a fever of \d+|a high temperature|turning blue)"
)
_CLINICAL_EMERGENCY = _rx(
    r"\b(?:can't|cannot|can not|couldn't|struggling to|unable to) (?:breathe|catch (?:my|his|her"
    r"|their) breath)\b"
    r"|\b(?:not|isn't|wasn't|stopped) breathing\b"
    r"|\b" + _PERSON + r" (?:has |had |just |has just )?collapsed\b"
    r"|\bcollapsed (?:in|on|at|outside) (?:the )?(?:waiting room|waiting area|corridor|floor"
    r"|car park|toilets?|reception|a&e|queue|ward|street|bus stop|entrance)\b"
    r"|\b" + _CONDITIONS + r" for (?:hours|\d+ hours|over an hour|\w+ hours|days)"
    r"|\b" + _CONDITIONS + r"[^.!?\n]{0,60}(?:no one|nobody|noone|no doctor|no nurse)"
    r"(?: has| have|'s)? (?:seen|checked|come|looked|been)"
    # Present tense only: "has had a stroke" is history, "is having a stroke" is now.
    r"|\b(?:having|is having|'s having|just had|has just had) (?:a )?(?:seizure|fit|heart attack"
    r"|stroke|cardiac arrest"
    r"|anaphylactic shock)\b"
    r"|\b(?:unconscious|unresponsive|turning blue|lips are blue|won't wake up)\b"
    r"|\b(?:bleeding|bleeds) (?:heavily|badly|everywhere|profusely|and won't stop)\b"
    r"|\bwon't stop bleeding\b"
    r"|\b(?:lying|laying) on the floor (?:of|in) (?:the )?(?:waiting room|corridor|a&e|ward|toilet)"
    r"|\b(?:he|she|my \w+|this (?:man|woman|patient)|the patient)(?:'s| is) dying (?:in|on|here"
    r"|right)\b"
    r"|\bneeds? (?:an ambulance|a doctor|help) (?:now|urgently|right now|asap)\b"
)
_CLINICAL_INNOCENT = _rx(
    r"\b(?:couldn't|can't|cannot) breathe (?:for|from|with) (?:laughing|laughter|excitement)"
    r"|\blaughed so (?:hard|much) (?:i|that i) (?:couldn't|could not|can't) breathe\b"
    r"|\b(?:roof|ceiling|wall|building|structure|deal|talks|market|tent|shelf) (?:has |had |just )?"
    r"collapsed\b"
    r"|\b(?:signs|symptoms) of (?:a )?(?:heart attack|stroke|sepsis)\b"
    # First-aid advice: "If someone is unconscious and not breathing, call 999 and start CPR".
    r"|\bif (?:someone|you|they|a person|your \w+|somebody|anyone)\b[^.!?\n]{0,80}"
)

_DATA_BREACH = _rx(
    r"\bfound (?:some |a |a pile of |a box of |a bag of |loads of |a folder of |an? )?"
    r"(?:patients?'? |medical |hospital |nhs )(?:records?|notes|files?|letters?|details|documents"
    r"|paperwork|data)\b"
    r"|\b(?:letters?|documents?|files?|notes|records|results|emails?|paperwork) (?:with|containing"
    r"|showing|that had|had) (?:other |another |someone else's |somebody else's )"
    r"(?:patients?'?s?|person's|people's|patient|woman's|man's)?\s*(?:details|names|information"
    r"|info|results|addresses|nhs numbers|records|data)\b"
    r"|\b(?:sent|gave|given|emailed|posted|texted) (?:me|us|my \w+) (?:someone|somebody|another"
    r" (?:patient|person))(?: else)?(?:'s)? (?:results|letters?|records|details|notes"
    r"|prescription|discharge summary|scan|information|data|paperwork)\b"
    r"|\b(?:got|received|opened) (?:someone|somebody|another (?:patient|person))(?: else)?(?:'s)?"
    r" (?:results|letters?|records|details|notes|prescription|discharge summary|paperwork)\b"
    r"|\b(?:patients?'?|medical) (?:records|notes|files|letters|details) (?:left|lying|dumped"
    r"|thrown|blowing|scattered|found|visible|on display) (?:\w+ ){0,3}"
    r"(?:street|bus|train|car park|skip|bin|pavement|outside|public|desk|window|pub|road"
    r"|unattended|everywhere|around)"
    r"|\b(?:email|text|letter|message)s? (?:meant|intended) for (?:another|someone else"
    r"|a different)\b"
    r"|\bmy (?:records|details|notes|results|information|data) (?:were|have been|has been|was|got)"
    r" (?:leaked|shared|sent|posted|given) (?:to|with|on|online)\b"
    r"|\b(?:this|that|it)(?:'s| is| was) a (?:data|gdpr|privacy|confidentiality) breach\b"
    r"|\bcould see (?:other|another|everyone's) (?:patients?'?s?|people's) (?:details|records"
    r"|names|information|notes|screens?)\b"
    r"|\b(?:screen|computer|whiteboard) (?:showing|with|had) (?:all )?(?:the )?(?:patients?'?"
    r"|other patients?'?|everyone's) (?:names|details|records|information|diagnoses)\b"
)
_DATA_BREACH_INNOCENT = _rx(
    r"\bfound (?:the )?(?:patient|medical|hospital|nhs) (?:records?|notes|files?|letters?"
    r"|details|data) (?:system|app|portal|service|team|process|page|section|easy|useful|helpful"
    r"|very|really|quite|so)\b"
)

_RULES: tuple[tuple[UrgentCategory, re.Pattern[str], re.Pattern[str]], ...] = (
    ("self_harm", _SELF_HARM, _SELF_HARM_INNOCENT),
    ("safeguarding", _SAFEGUARDING, _SAFEGUARDING_INNOCENT),
    ("violence", _VIOLENCE, _VIOLENCE_INNOCENT),
    ("clinical_emergency", _CLINICAL_EMERGENCY, _CLINICAL_INNOCENT),
    ("data_breach", _DATA_BREACH, _DATA_BREACH_INNOCENT),
)


def _overlaps(start: int, end: int, pattern: re.Pattern[str], text: str) -> bool:
    return any(m.start() < end and start < m.end() for m in pattern.finditer(text))


def detect_urgent(text: str) -> UrgentResult:
    """The gravest urgent category the post falls in, with the words that show it.

    Categories are tried in the order of `CATEGORIES`; a match that overlaps an innocent context
    (figurative speech, a negation, health advice) is not counted.
    """
    folded = fold_case(text)
    for category, pattern, innocent in _RULES:
        for m in pattern.finditer(folded):
            if _overlaps(m.start(), m.end(), innocent, folded):
                continue
            evidence = text[m.start() : m.end()]
            return UrgentResult(urgent=True, category=category, evidence=evidence)
    return NOT_URGENT
