"""Sentiment of a post for the communications team: compliment, concern or neutral.

The default model is a linear classifier over TF-IDF word and character n-grams, stored as plain
numpy arrays (vocabulary, idf weights, coefficients) in an ``.npz`` with a JSON sidecar, so a model
file does not depend on the scikit-learn version that trained it. ``LinearTextModel`` is the shared
machinery; the abusive-language model (``abuse.py``) uses it too.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from socmon.records import SENTIMENTS, Sentiment

MODELS_DIR = Path(__file__).resolve().parent / "models"
FORMAT_VERSION = 1
ARRAYS_FILE = "model.npz"
META_FILE = "model.json"

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_REPEAT = re.compile(r"(\w)\1{2,}")


class ModelFileError(RuntimeError):
    """A model folder is missing, unreadable or of a format this code cannot load."""


def normalise(text: str) -> str:
    """Lower-case, unescape HTML, mask URLs and handles, squeeze letters repeated 3+ times."""
    text = html.unescape(text).lower()
    text = _URL.sub(" httpurl ", text)
    text = _MENTION.sub(" @user ", text)
    return _REPEAT.sub(r"\1\1", text)


@dataclass(frozen=True)
class FeatureSpec:
    """How the text features are built; stored in the JSON sidecar."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    word_min_df: int = 2
    char_min_df: int = 3
    max_word_features: int | None = 60_000
    max_char_features: int | None = 120_000
    char_weight: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "word_ngrams": list(self.word_ngrams),
            "char_ngrams": list(self.char_ngrams),
            "word_min_df": self.word_min_df,
            "char_min_df": self.char_min_df,
            "max_word_features": self.max_word_features,
            "max_char_features": self.max_char_features,
            "char_weight": self.char_weight,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(
            word_ngrams=(int(data["word_ngrams"][0]), int(data["word_ngrams"][1])),
            char_ngrams=(int(data["char_ngrams"][0]), int(data["char_ngrams"][1])),
            word_min_df=int(data["word_min_df"]),
            char_min_df=int(data["char_min_df"]),
            max_word_features=data.get("max_word_features"),
            max_char_features=data.get("max_char_features"),
            char_weight=float(data.get("char_weight", 1.0)),
        )


def _word_vectorizer(spec: FeatureSpec, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(
        preprocessor=normalise,
        analyzer="word",
        token_pattern=r"(?u)@?\b\w[\w']*\b|[!?]",
        ngram_range=spec.word_ngrams,
        min_df=spec.word_min_df,
        max_features=spec.max_word_features,
        sublinear_tf=True,
        vocabulary=vocabulary,
        dtype=np.float32,
    )


def _char_vectorizer(spec: FeatureSpec, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(
        preprocessor=normalise,
        analyzer="char_wb",
        ngram_range=spec.char_ngrams,
        min_df=spec.char_min_df,
        max_features=spec.max_char_features,
        sublinear_tf=True,
        vocabulary=vocabulary,
        dtype=np.float32,
    )


@dataclass
class TextFeatures:
    """Word and character TF-IDF blocks, stacked side by side."""

    spec: FeatureSpec
    word: TfidfVectorizer
    char: TfidfVectorizer
    word_terms: list[str] = field(default_factory=list)

    @classmethod
    def fit(cls, texts: Sequence[str], spec: FeatureSpec) -> TextFeatures:
        word = _word_vectorizer(spec).fit(texts)
        char = _char_vectorizer(spec).fit(texts)
        return cls._frozen(spec, word, char)

    @classmethod
    def _frozen(cls, spec: FeatureSpec, word: TfidfVectorizer, char: TfidfVectorizer) -> TextFeatures:
        word_terms = [""] * len(word.vocabulary_)
        for term, index in word.vocabulary_.items():
            word_terms[index] = term
        return cls(spec=spec, word=word, char=char, word_terms=word_terms)

    @property
    def n_word(self) -> int:
        return len(self.word_terms)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        blocks = [self.word.transform(texts)]
        char = self.char.transform(texts)
        if self.spec.char_weight != 1.0:
            char = char * self.spec.char_weight
        blocks.append(char)
        return sp.hstack(blocks, format="csr")

    def to_arrays(self) -> dict[str, np.ndarray]:
        char_terms = [""] * len(self.char.vocabulary_)
        for term, index in self.char.vocabulary_.items():
            char_terms[index] = term
        return {
            "word_terms": np.array(self.word_terms, dtype=np.str_),
            "word_idf": self.word.idf_.astype(np.float32),
            "char_terms": np.array(char_terms, dtype=np.str_),
            "char_idf": self.char.idf_.astype(np.float32),
        }

    @classmethod
    def from_arrays(cls, spec: FeatureSpec, arrays: dict[str, np.ndarray]) -> TextFeatures:
        word = _word_vectorizer(
            spec, {str(t): i for i, t in enumerate(arrays["word_terms"].tolist())}
        )
        word.idf_ = arrays["word_idf"].astype(np.float64)
        char = _char_vectorizer(
            spec, {str(t): i for i, t in enumerate(arrays["char_terms"].tolist())}
        )
        char.idf_ = arrays["char_idf"].astype(np.float64)
        return cls._frozen(spec, word, char)


@dataclass
class LinearTextModel:
    """Text features times a weight matrix: one row of coefficients per class."""

    name: str
    classes: tuple[str, ...]
    features: TextFeatures
    coef: np.ndarray  # (n_classes, n_features); a binary model keeps one row for class 1
    intercept: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, sp.csr_matrix]:
        """Class probabilities (n_texts, n_classes) and the feature matrix they came from."""
        x = self.features.transform(list(texts))
        scores = np.asarray(x @ self.coef.T) + self.intercept
        if len(self.classes) == 2 and self.coef.shape[0] == 1:
            positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.column_stack([1.0 - positive, positive]), x
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True), x

    def top_words(self, x: sp.csr_matrix, row: int, class_index: int, k: int = 3) -> list[str]:
        """The word n-grams of one text that pushed it most towards ``class_index``."""
        start, end = x.indptr[row], x.indptr[row + 1]
        columns = x.indices[start:end]
        values = x.data[start:end]
        in_words = columns < self.features.n_word
        columns, values = columns[in_words], values[in_words]
        if columns.size == 0:
            return []
        weights = self._class_weights(class_index)[columns]
        contribution = values * weights
        order = np.argsort(-contribution)
        words: list[str] = []
        for i in order:
            if contribution[i] <= 0 or len(words) >= k:
                break
            term = self.features.word_terms[columns[i]]
            # a bigram whose words are already listed adds nothing for a reader
            if any(term in w or w in term for w in words):
                continue
            words.append(term)
        return words

    def _class_weights(self, class_index: int) -> np.ndarray:
        if self.coef.shape[0] == 1:
            sign = 1.0 if class_index == 1 else -1.0
            return cast(np.ndarray, sign * self.coef[0])
        # margin over the mean of the other classes: what sets this class apart
        others = np.delete(self.coef, class_index, axis=0).mean(axis=0)
        return cast(np.ndarray, self.coef[class_index] - others)

    def save(self, path: str | Path) -> Path:
        """Write ``model.npz`` and ``model.json`` into the folder ``path`` (created if missing)."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = self.features.to_arrays()
        arrays["coef"] = self.coef.astype(np.float32)
        arrays["intercept"] = self.intercept.astype(np.float32)
        np.savez_compressed(folder / ARRAYS_FILE, **arrays)
        meta = {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "classes": list(self.classes),
            "features": self.features.spec.to_json(),
            **{k: v for k, v in self.metadata.items() if k not in {"name", "classes"}},
        }
        (folder / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        return folder

    @classmethod
    def load(cls, path: str | Path) -> LinearTextModel:
        folder = Path(path)
        meta_path, arrays_path = folder / META_FILE, folder / ARRAYS_FILE
        if not meta_path.is_file() or not arrays_path.is_file():
            msg = f"no model in {folder}: expected {META_FILE} and {ARRAYS_FILE}"
            raise ModelFileError(msg)
        meta = json.loads(meta_path.read_text())
        version = meta.get("format_version")
        if version != FORMAT_VERSION:
            msg = (
                f"model in {folder} has format_version {version}; this code reads version "
                f"{FORMAT_VERSION}. Retrain it with `socmon train` or update socmon."
            )
            raise ModelFileError(msg)
        with np.load(arrays_path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        features = TextFeatures.from_arrays(FeatureSpec.from_json(meta["features"]), arrays)
        return cls(
            name=str(meta["name"]),
            classes=tuple(meta["classes"]),
            features=features,
            coef=arrays["coef"],
            intercept=arrays["intercept"],
            metadata={k: v for k, v in meta.items() if k not in {"features", "format_version"}},
        )


@dataclass(frozen=True)
class SentimentResult:
    """The sentiment of one post, how sure the model is, and the words that decided it."""

    label: Sentiment
    confidence: float
    reason: str


class SentimentModel:
    """Classifies posts as compliment, concern or neutral; ``predict`` works on batches."""

    def __init__(self, model: LinearTextModel) -> None:
        if set(model.classes) != set(SENTIMENTS):
            msg = f"a sentiment model needs the classes {SENTIMENTS}, not {model.classes}"
            raise ModelFileError(msg)
        self._model = model
        self.name = model.name

    @property
    def linear(self) -> LinearTextModel:
        return self._model

    @property
    def metadata(self) -> dict[str, Any]:
        return self._model.metadata

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        if len(texts) == 0:
            return []
        probabilities, x = self._model.probabilities(texts)
        best = probabilities.argmax(axis=1)
        results = []
        for row, class_index in enumerate(best.tolist()):
            label = cast(Sentiment, self._model.classes[class_index])
            words = self._model.top_words(x, row, class_index)
            if words:
                reason = f"{label}: " + ", ".join(f"'{w}'" for w in words)
            else:
                reason = f"{label}: no strong cue words"
            results.append(
                SentimentResult(
                    label=label,
                    confidence=round(float(probabilities[row, class_index]), 4),
                    reason=reason,
                )
            )
        return results

    def save(self, path: str | Path) -> Path:
        return self._model.save(path)

    @classmethod
    def load(cls, path: str | Path) -> SentimentModel:
        return cls(LinearTextModel.load(path))


@lru_cache(maxsize=1)
def load_default() -> SentimentModel:
    """The committed default model, loaded once per process."""
    return SentimentModel.load(MODELS_DIR / "sentiment")
