"""The whole classification of one post: sentiment, urgency, departments, abuse, policy breaches.

A plain object (text in, `Classification` out) used by the enrich agent, `socmon classify` and
batch re-scoring. Models are loaded once, when the classifier is built.

Two designs, chosen with ``classifier.model``:

- ``encoder`` (the default): the fine-tuned text encoder (``encoder.py``) judges sentiment,
  abuse, urgency and the policy rules that need understanding; rules keep only what is exact
  (NHS numbers with their check digit, phone numbers, e-mail and postal addresses, dates of birth,
  credentials, names with clinical detail), because they give the evidence span, and the urgent
  phrase rules stay as a second net under the model.
- ``fast``: the linear n-gram models and the phrase rules, four to five times faster and much
  less accurate on posts unlike their training cases (see README, Classifier quality).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from socmon.records import Breach, Classification, Media, PostKind
from socmon.settings import Department, Settings
from stream_processors.classify.abuse import AbuseModel
from stream_processors.classify.abuse import load_default as load_abuse
from stream_processors.classify.departments import DepartmentMatcher
from stream_processors.classify.encoder import POLICY_RULES, EncoderModel, Judgement
from stream_processors.classify.encoder import load_default as load_encoder
from stream_processors.classify.policy import RULES, PolicyRules
from stream_processors.classify.sentiment import SentimentModel
from stream_processors.classify.sentiment import load_default as load_sentiment
from stream_processors.classify.urgency import UrgentResult, detect_urgent

# Policy rules the encoder judges; the other rules are exact patterns. The offensive rule's slur
# list is exact too, so both it and the model can find an offensive post (the list gives a span).
JUDGED_RULES = frozenset(POLICY_RULES)
PHRASE_RULES_REPLACED = JUDGED_RULES - {"offensive"}


@dataclass(frozen=True)
class PostText:
    """What the classifier looks at: the text, what kind of post it is, its media."""

    text: str
    kind: PostKind = "mention"
    media: Sequence[Media] = ()


class PostClassifier:
    """Combines the judgement model with the exact rules (or, ``fast``, the linear models with
    the phrase rules)."""

    def __init__(
        self,
        departments: Sequence[Department],
        sentiment: SentimentModel | None = None,
        abuse: AbuseModel | None = None,
        *,
        encoder: EncoderModel | None = None,
        fast: bool = False,
        policy: PolicyRules | None = None,
        concern_sure: float | None = None,
    ) -> None:
        self.departments = DepartmentMatcher(departments)
        self.policy = policy or PolicyRules()
        if fast:
            self.sentiment: SentimentModel | None = sentiment or load_sentiment()
            self.abuse: AbuseModel | None = abuse or load_abuse()
            self.encoder: EncoderModel | None = None
            self.name = f"{self.sentiment.name}+{self.abuse.name}"
            self.concern_sure = 0.0
        else:
            self.sentiment = self.abuse = None
            self.encoder = encoder or load_encoder()
            self.name = self.encoder.name
            self.concern_sure = (
                concern_sure if concern_sure is not None else self.encoder.thresholds.concern_sure
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> PostClassifier:
        """The departments, the organisation's published contacts and the model the config
        names (``classifier:``)."""
        chosen = settings.classifier
        policy = policy_rules(settings)
        if chosen.model == "fast":
            sentiment = (
                SentimentModel.load(chosen.sentiment_model) if chosen.sentiment_model else None
            )
            abuse = AbuseModel.load(chosen.abuse_model) if chosen.abuse_model else None
            return cls(settings.departments, sentiment, abuse, fast=True, policy=policy)
        encoder = EncoderModel(chosen.encoder_model) if chosen.encoder_model else None
        return cls(
            settings.departments, encoder=encoder, policy=policy, concern_sure=chosen.concern_sure
        )

    def classify(self, item: PostText) -> Classification:
        return self.classify_many([item])[0]

    def classify_many(self, items: Sequence[PostText]) -> list[Classification]:
        """Classify a batch (the models are vectorised, so batches are much faster)."""
        if self.encoder is None:
            return self._classify_fast(items)
        judgements = self.encoder.judge([item.text for item in items])
        return [self._from_judgement(item, j) for item, j in zip(items, judgements, strict=True)]

    def _from_judgement(self, item: PostText, j: Judgement) -> Classification:
        encoder = self.encoder
        assert encoder is not None
        t = encoder.thresholds
        label = j.sentiment_label
        confidence = j.sentiment[label]
        reasons = [_because(label, confidence, j.evidence("sentiment", label))]
        unsure = label == "concern" and confidence < self.concern_sure
        if unsure:
            reasons.append(f"unsure (below {self.concern_sure:.0%}): for communications to check")
        urgent_p = 1.0 - j.urgent["none"]
        model_urgent = urgent_p >= t.urgent
        rule = detect_urgent(item.text)
        if model_urgent:
            category = j.urgent_category
            words = j.evidence("urgent", category)
            reasons.append(
                f"urgent ({category}, {urgent_p:.0%}): " + ", ".join(repr(w) for w in words)
            )
        elif rule.urgent:
            reasons.append(_rule_reason(rule))
        abusive = j.abusive >= t.abusive
        if abusive:
            words = j.evidence("abusive", "abusive")
            reasons.append(f"abusive ({j.abusive:.0%}): " + ", ".join(repr(w) for w in words))
        breaches: list[Breach] = []
        if item.kind == "official_post":
            breaches = [
                b
                for b in self.policy.check(item.text, item.media)
                if b.rule not in PHRASE_RULES_REPLACED
            ]
            found = {b.rule for b in breaches}
            for rule_id, p in j.policy.items():
                if p >= t.policy and rule_id not in found:
                    breaches.append(
                        _judged_breach(item.text, rule_id, j.evidence("policy", rule_id))
                    )
            breaches.sort(key=lambda b: (b.start, b.end))
            if breaches:
                reasons.append("policy: " + ", ".join(sorted({b.rule for b in breaches})))
        return Classification(
            sentiment=label,
            confidence=round(float(confidence), 4),
            urgent=model_urgent or rule.urgent,
            departments=tuple(self.departments.match(item.text)),
            abusive=abusive,
            breaches=tuple(breaches),
            unsure=unsure,
            reason="; ".join(r for r in reasons if r),
            model=self.name,
        )

    def _classify_fast(self, items: Sequence[PostText]) -> list[Classification]:
        assert self.sentiment is not None
        assert self.abuse is not None
        texts = [item.text for item in items]
        sentiments = self.sentiment.predict(texts)
        abuses = self.abuse.predict(texts)
        results = []
        for item, sent, abuse in zip(items, sentiments, abuses, strict=True):
            urgent = detect_urgent(item.text)
            breaches = (
                self.policy.check(item.text, item.media) if item.kind == "official_post" else []
            )
            reasons = [sent.reason]
            if urgent.urgent:
                reasons.append(_rule_reason(urgent))
            if abuse.abusive:
                prefix = "" if abuse.reason.startswith("abusive") else "abusive: "
                reasons.append(prefix + abuse.reason)
            if breaches:
                rules = ", ".join(sorted({b.rule for b in breaches}))
                reasons.append(f"policy: {rules}")
            results.append(
                Classification(
                    sentiment=sent.label,
                    confidence=round(float(sent.confidence), 4),
                    urgent=urgent.urgent,
                    departments=tuple(self.departments.match(item.text)),
                    abusive=abuse.abusive,
                    breaches=tuple(breaches),
                    reason="; ".join(r for r in reasons if r),
                    model=self.name,
                )
            )
        return results


def policy_rules(settings: Settings) -> PolicyRules:
    """The policy rules with the organisation's published contacts allowed."""
    contacts = settings.organisation.published_contacts
    return PolicyRules(
        allowed_phone_numbers=contacts.phone_numbers,
        allowed_email_domains=contacts.email_domains,
        allowed_postcodes=contacts.postcodes,
    )


def _because(label: str, confidence: float, words: Sequence[str]) -> str:
    cue = ", ".join(repr(w) for w in words)
    return f"{label} ({confidence:.0%})" + (f": {cue}" if cue else "")


def _rule_reason(result: UrgentResult) -> str:
    return f"urgent ({result.category}): {result.evidence!r}"


def _judged_breach(text: str, rule: str, words: Sequence[str]) -> Breach:
    """A breach the model judged: its evidence is the span from the first to the last of the
    words that moved the decision most, found in the post's own text (the whole post if they
    cannot be found, e.g. words spelt from emoji)."""
    lowered = text.lower()
    spans = []
    for word in words:
        at = lowered.find(word.lower())
        if at >= 0:
            spans.append((at, at + len(word)))
    start, end = (min(a for a, _ in spans), max(b for _, b in spans)) if spans else (0, len(text))
    return Breach(rule=rule, severity=RULES[rule], evidence=text[start:end], start=start, end=end)
