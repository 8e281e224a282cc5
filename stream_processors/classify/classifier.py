"""The whole classification of one post: sentiment, urgency, departments, abuse, policy breaches.

A plain object (text in, `Classification` out) used by the enrich agent, `socmon classify` and
batch re-scoring. Models are loaded once, when the classifier is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from socmon.records import Classification, Media, PostKind
from socmon.settings import Department, Settings
from stream_processors.classify.abuse import AbuseModel
from stream_processors.classify.abuse import load_default as load_abuse
from stream_processors.classify.departments import DepartmentMatcher
from stream_processors.classify.policy import check_policy
from stream_processors.classify.sentiment import SentimentModel
from stream_processors.classify.sentiment import load_default as load_sentiment
from stream_processors.classify.urgency import detect_urgent


@dataclass(frozen=True)
class PostText:
    """What the classifier looks at: the text, what kind of post it is, its media."""

    text: str
    kind: PostKind = "mention"
    media: Sequence[Media] = ()


class PostClassifier:
    """Combines the learned models with the rule-based checks."""

    def __init__(
        self,
        departments: Sequence[Department],
        sentiment: SentimentModel | None = None,
        abuse: AbuseModel | None = None,
    ) -> None:
        self.departments = DepartmentMatcher(departments)
        self.sentiment = sentiment or load_sentiment()
        self.abuse = abuse or load_abuse()
        self.name = f"{self.sentiment.name}+{self.abuse.name}"

    @classmethod
    def from_settings(cls, settings: Settings) -> PostClassifier:
        """The departments and the models the config names (``classifier:``), else the bundled
        models."""
        chosen = settings.classifier
        sentiment = SentimentModel.load(chosen.sentiment_model) if chosen.sentiment_model else None
        abuse = AbuseModel.load(chosen.abuse_model) if chosen.abuse_model else None
        return cls(settings.departments, sentiment=sentiment, abuse=abuse)

    def classify(self, item: PostText) -> Classification:
        return self.classify_many([item])[0]

    def classify_many(self, items: Sequence[PostText]) -> list[Classification]:
        """Classify a batch (the models are vectorised, so batches are much faster)."""
        texts = [item.text for item in items]
        sentiments = self.sentiment.predict(texts)
        abuses = self.abuse.predict(texts)
        results = []
        for item, sent, abuse in zip(items, sentiments, abuses, strict=True):
            urgent = detect_urgent(item.text)
            breaches = check_policy(item.text, item.media) if item.kind == "official_post" else []
            reasons = [sent.reason]
            if urgent.urgent:
                reasons.append(f"urgent ({urgent.category}): {urgent.evidence!r}")
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
