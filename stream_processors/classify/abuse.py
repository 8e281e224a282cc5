"""Abusive language in a post (insults, profanity aimed at people, hate): a yes/no with a score.

Same machinery as the sentiment model (``LinearTextModel``), with the two classes
``not_abusive`` and ``abusive`` and a decision threshold stored with the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from stream_processors.classify.sentiment import (
    MODELS_DIR,
    ModelFileError,
    TaskModel,
    TextModel,
    cue_reason,
    load_text_model,
)

ABUSE_CLASSES = ("not_abusive", "abusive")
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class AbuseResult:
    """Whether a post is abusive, the model's probability that it is, and the words behind it."""

    abusive: bool
    score: float
    reason: str


class AbuseModel(TaskModel):
    """Flags abusive posts; ``predict`` works on batches."""

    def __init__(self, model: TextModel) -> None:
        if tuple(model.classes) != ABUSE_CLASSES:
            msg = f"an abuse model needs the classes {ABUSE_CLASSES}, not {model.classes}"
            raise ModelFileError(msg)
        super().__init__(model)
        self.threshold = float(model.metadata.get("threshold", DEFAULT_THRESHOLD))

    def scores(self, texts: Sequence[str]) -> list[float]:
        """The probability that each text is abusive."""
        if len(texts) == 0:
            return []
        probabilities, _ = self._model.probabilities(texts)
        return [float(p) for p in probabilities[:, 1]]

    def predict(self, texts: Sequence[str]) -> list[AbuseResult]:
        if len(texts) == 0:
            return []
        probabilities, x = self._model.probabilities(texts)
        results = []
        for row, score in enumerate(probabilities[:, 1].tolist()):
            abusive = score >= self.threshold
            words = self._model.top_words(x, row, 1 if abusive else 0)
            reason = cue_reason("abusive" if abusive else "not abusive", words)
            results.append(AbuseResult(abusive=abusive, score=round(score, 4), reason=reason))
        return results

    def save(self, path: str | Path) -> Path:
        self._model.metadata["threshold"] = self.threshold
        return super().save(path)

    @classmethod
    def load(cls, path: str | Path) -> AbuseModel:
        return cls(load_text_model(path))


@lru_cache(maxsize=1)
def load_default() -> AbuseModel:
    """The committed default model, loaded once per process."""
    return AbuseModel.load(MODELS_DIR / "abuse")
