"""Sentiment of a post for the communications team: compliment, concern or neutral.

The default model is a linear classifier over TF-IDF word and character n-grams plus a few
features from the VADER sentiment lexicon, stored as plain numpy arrays (vocabulary, idf weights,
lexicon, coefficients) in an ``.npz`` with a JSON sidecar, so a model file does not depend on the
scikit-learn version that trained it. ``LinearTextModel`` is the shared machinery; the
abusive-language model (``abuse.py``) uses it too. How it was trained and how well it does:
``train.py`` and ``eval/results.md``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import scipy.sparse as sp
import sklearn
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
    lexicon_weight: float = 0.0  # 0: no lexicon block

    def to_json(self) -> dict[str, Any]:
        return {
            "word_ngrams": list(self.word_ngrams),
            "char_ngrams": list(self.char_ngrams),
            "word_min_df": self.word_min_df,
            "char_min_df": self.char_min_df,
            "max_word_features": self.max_word_features,
            "max_char_features": self.max_char_features,
            "char_weight": self.char_weight,
            "lexicon_weight": self.lexicon_weight,
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
            lexicon_weight=float(data.get("lexicon_weight", 0.0)),
        )


LEXICON_FILE = MODELS_DIR / "lexicon" / "vader_lexicon.tsv"
# from VADER: words that flip the valence of the next three words, and by how much
NEGATIONS = frozenset(
    (
        "aint",
        "arent",
        "cannot",
        "cant",
        "couldnt",
        "didnt",
        "doesnt",
        "dont",
        "hadnt",
        "hasnt",
        "havent",
        "isnt",
        "mightnt",
        "mustnt",
        "neither",
        "neednt",
        "never",
        "none",
        "nope",
        "nor",
        "not",
        "nothing",
        "nowhere",
        "shant",
        "shouldnt",
        "wasnt",
        "werent",
        "without",
        "wont",
        "wouldnt",
        "rarely",
        "seldom",
        "despite",
        "no",
    )
)
NEGATION_SCALE = -0.74
# from VADER: degree adverbs that strengthen (+) or soften (-) the next sentiment word
BOOSTERS = {
    **dict.fromkeys(
        (
            "very",
            "really",
            "so",
            "extremely",
            "absolutely",
            "incredibly",
            "totally",
            "completely",
            "truly",
            "super",
            "highly",
            "especially",
            "exceptionally",
            "utterly",
            "most",
            "fully",
            "hugely",
            "thoroughly",
            "deeply",
            "particularly",
            "amazingly",
        ),
        0.293,
    ),
    **dict.fromkeys(
        ("slightly", "somewhat", "barely", "hardly", "marginally", "partly", "occasionally"),
        -0.293,
    ),
}
LEXICON_FEATURES = (
    "positive",
    "negative",
    "compound",
    "has_sentiment_word",
    "question",
    "exclamation",
    "length",
    "negation",
)
_PUNCTUATION = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'


@dataclass(frozen=True)
class Lexicon:
    """A word -> valence (-4..4) lexicon turned into a few dense features (VADER-like rules)."""

    valence: dict[str, float]

    @classmethod
    def read(cls, path: Path = LEXICON_FILE) -> Lexicon:
        valence: dict[str, float] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or not line.strip():
                continue
            word, value = line.split("\t")[:2]
            valence.setdefault(word.lower(), float(value))
        return cls(valence)

    def to_arrays(self) -> dict[str, np.ndarray]:
        words = sorted(self.valence)
        return {
            "lexicon_words": np.array(words, dtype=np.str_),
            "lexicon_valence": np.array([self.valence[w] for w in words], dtype=np.float32),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Lexicon:
        words = arrays["lexicon_words"].tolist()
        values = arrays["lexicon_valence"].tolist()
        return cls({str(w): float(v) for w, v in zip(words, values, strict=True)})

    def features(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, the columns of ``LEXICON_FEATURES``."""
        out = np.zeros((len(texts), len(LEXICON_FEATURES)), dtype=np.float32)
        valence = self.valence
        for row, raw in enumerate(texts):
            text = normalise(raw)
            tokens = text.split()
            scored: list[float] = []  # the valence of each sentiment word, in order
            but_at = -1  # index in ``scored`` of the first word after "but"
            hits = 0
            negated_until = -1
            boost = 0.0
            saw_negation = False
            for i, token in enumerate(tokens):
                value = valence.get(token)
                if value is None:
                    token = token.strip(_PUNCTUATION)
                    value = valence.get(token)
                bare = token.replace("'", "").replace("’", "")
                if bare in NEGATIONS:
                    negated_until = i + 3
                    saw_negation = True
                    continue
                if bare == "but":
                    but_at = len(scored)
                    continue
                if bare in BOOSTERS:
                    boost = BOOSTERS[bare]
                    continue
                if value is None:
                    boost = 0.0
                    continue
                hits += 1
                # an intensifier right before moves the valence away from (or towards) zero
                value += boost if value > 0 else -boost
                boost = 0.0
                if i <= negated_until:
                    value *= NEGATION_SCALE
                scored.append(value)
            if but_at >= 0:
                # VADER: what follows "but" weighs more than what precedes it
                scored = [v * (0.5 if j < but_at else 1.5) for j, v in enumerate(scored)]
            positive = sum(v for v in scored if v > 0)
            negative = -sum(v for v in scored if v < 0)
            total = positive - negative
            out[row] = (
                np.log1p(positive),
                np.log1p(negative),
                total / np.sqrt(total * total + 15.0),
                1.0 if hits else 0.0,
                1.0 if "?" in text else 0.0,
                1.0 if "!" in text else 0.0,
                np.log1p(len(tokens)) / 4.0,
                1.0 if saw_negation else 0.0,
            )
        return out


def _word_vectorizer(
    spec: FeatureSpec, vocabulary: dict[str, int] | None = None
) -> TfidfVectorizer:
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


def _char_vectorizer(
    spec: FeatureSpec, vocabulary: dict[str, int] | None = None
) -> TfidfVectorizer:
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
    lexicon: Lexicon | None = None
    word_terms: list[str] = field(default_factory=list)

    @classmethod
    def fit(
        cls, texts: Sequence[str], spec: FeatureSpec, lexicon: Lexicon | None = None
    ) -> TextFeatures:
        word = _word_vectorizer(spec).fit(texts)
        char = _char_vectorizer(spec).fit(texts)
        if spec.lexicon_weight and lexicon is None:
            lexicon = Lexicon.read()
        return cls._frozen(spec, word, char, lexicon if spec.lexicon_weight else None)

    @classmethod
    def _frozen(
        cls,
        spec: FeatureSpec,
        word: TfidfVectorizer,
        char: TfidfVectorizer,
        lexicon: Lexicon | None,
    ) -> TextFeatures:
        word_terms = [""] * len(word.vocabulary_)
        for term, index in word.vocabulary_.items():
            word_terms[index] = term
        return cls(spec=spec, word=word, char=char, lexicon=lexicon, word_terms=word_terms)

    @property
    def n_word(self) -> int:
        return len(self.word_terms)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        blocks = [self.word.transform(texts)]
        char = self.char.transform(texts)
        if self.spec.char_weight != 1.0:
            char = char * self.spec.char_weight
        blocks.append(char)
        if self.lexicon is not None:
            dense = self.lexicon.features(texts) * self.spec.lexicon_weight
            blocks.append(sp.csr_matrix(dense))
        return sp.hstack(blocks, format="csr")

    def to_arrays(self) -> dict[str, np.ndarray]:
        char_terms = [""] * len(self.char.vocabulary_)
        for term, index in self.char.vocabulary_.items():
            char_terms[index] = term
        arrays = {
            "word_terms": np.array(self.word_terms, dtype=np.str_),
            "word_idf": self.word.idf_.astype(np.float32),
            "char_terms": np.array(char_terms, dtype=np.str_),
            "char_idf": self.char.idf_.astype(np.float32),
        }
        if self.lexicon is not None:
            arrays.update(self.lexicon.to_arrays())
        return arrays

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
        lexicon = Lexicon.from_arrays(arrays) if "lexicon_words" in arrays else None
        return cls._frozen(spec, word, char, lexicon)


@dataclass
class LinearTextModel:
    """Text features times a weight matrix: one row of coefficients per class."""

    name: str
    classes: tuple[str, ...]
    features: TextFeatures
    coef: np.ndarray  # (n_classes, n_features); a binary model keeps one row for class 1
    intercept: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    _margins: np.ndarray | None = field(default=None, init=False, repr=False)

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
        if self._margins is None:
            self._margins = self._word_margins()
        return self._margins[class_index]

    def _word_margins(self) -> np.ndarray:
        """Per class, how much each word feature favours it; computed once, used for reasons."""
        words = self.coef[:, : self.features.n_word].astype(np.float32)
        if words.shape[0] == 1:
            return np.vstack([-words[0], words[0]])
        # margin over the mean of the other classes: what sets this class apart
        total = words.sum(axis=0)
        return (words - (total - words) / (words.shape[0] - 1)).astype(np.float32)

    def save(self, path: str | Path) -> Path:
        """Write ``model.npz`` and ``model.json`` into the folder ``path`` (created if missing)."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = self.features.to_arrays()
        arrays["coef"] = self.coef.astype(np.float32)
        arrays["intercept"] = self.intercept.astype(np.float32)
        np.savez_compressed(folder / ARRAYS_FILE, **arrays)  # type: ignore[arg-type]
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
        try:
            features = TextFeatures.from_arrays(FeatureSpec.from_json(meta["features"]), arrays)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # the arrays are plain numpy; only the vectoriser rebuilt around them depends on
            # scikit-learn, so a failure here is a version the code was not written for
            trained_with = meta.get("trained_with", {})
            msg = (
                f"cannot rebuild the model in {folder} ({exc!r}); it was trained with "
                f"scikit-learn {trained_with.get('scikit-learn', '?')}, this is scikit-learn "
                f"{sklearn.__version__}. Retrain it with `socmon train` or install that version."
            )
            raise ModelFileError(msg) from exc
        return cls(
            name=str(meta["name"]),
            classes=tuple(meta["classes"]),
            features=features,
            coef=arrays["coef"],
            intercept=arrays["intercept"],
            metadata={k: v for k, v in meta.items() if k not in {"features", "format_version"}},
        )


class TextModel(Protocol):
    """What the task wrappers need of a model (``LinearTextModel``)."""

    name: str
    classes: tuple[str, ...]
    metadata: dict[str, Any]

    def probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, Any]: ...

    def top_words(self, x: Any, row: int, class_index: int, k: int = 3) -> list[str]: ...

    def save(self, path: str | Path) -> Path: ...


def load_text_model(path: str | Path) -> TextModel:
    """The linear model in a folder."""
    return LinearTextModel.load(path)


@dataclass(frozen=True)
class SentimentResult:
    """The sentiment of one post, how sure the model is, and the words that decided it."""

    label: Sentiment
    confidence: float
    reason: str


class TaskModel:
    """What the task wrappers (sentiment here, ``abuse.AbuseModel``) share: the model underneath
    and saving it."""

    def __init__(self, model: TextModel) -> None:
        self._model = model
        self.name = model.name

    @property
    def text_model(self) -> TextModel:
        return self._model

    @property
    def linear(self) -> LinearTextModel:
        if not isinstance(self._model, LinearTextModel):
            msg = f"{self.name} is not a linear model"
            raise TypeError(msg)
        return self._model

    @property
    def metadata(self) -> dict[str, Any]:
        return self._model.metadata

    def save(self, path: str | Path) -> Path:
        return self._model.save(path)


def cue_reason(verdict: str, words: Sequence[str]) -> str:
    """The reason given with a label: the verdict and the words that pushed towards it."""
    if not words:
        return f"{verdict}: no strong cue words"
    return f"{verdict}: " + ", ".join(f"'{w}'" for w in words)


class SentimentModel(TaskModel):
    """Classifies posts as compliment, concern or neutral; ``predict`` works on batches."""

    def __init__(self, model: TextModel) -> None:
        if set(model.classes) != set(SENTIMENTS):
            msg = f"a sentiment model needs the classes {SENTIMENTS}, not {model.classes}"
            raise ModelFileError(msg)
        super().__init__(model)

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        if len(texts) == 0:
            return []
        probabilities, x = self._model.probabilities(texts)
        best = probabilities.argmax(axis=1)
        results = []
        for row, class_index in enumerate(best.tolist()):
            label = cast(Sentiment, self._model.classes[class_index])
            words = self._model.top_words(x, row, class_index)
            results.append(
                SentimentResult(
                    label=label,
                    confidence=round(float(probabilities[row, class_index]), 4),
                    reason=cue_reason(label, words),
                )
            )
        return results

    @classmethod
    def load(cls, path: str | Path) -> SentimentModel:
        return cls(load_text_model(path))


@lru_cache(maxsize=1)
def load_default() -> SentimentModel:
    """The committed default model, loaded once per process."""
    return SentimentModel.load(MODELS_DIR / "sentiment")
