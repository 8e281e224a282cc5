"""Training of the sentiment and abuse models, from the shared corpora or an organisation's labels.

``main_train`` is what ``socmon train`` calls. Training is seeded and deterministic: the same
examples and seed give the same model file.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from socmon.records import SENTIMENTS, Sentiment
from stream_processors.classify.abuse import ABUSE_CLASSES, AbuseModel
from stream_processors.classify.sentiment import (
    LEXICON_FEATURES,
    MODELS_DIR,
    FeatureSpec,
    Lexicon,
    LinearTextModel,
    ModelFileError,
    SentimentModel,
    TextFeatures,
)
from stream_processors.classify.training.examples import (
    FFT_CSV,
    UNRATED_ZERO_TRUSTS,
    default_data_dir,
    feedback_rows,
)
from stream_processors.classify.training.examples import tweeteval as load_tweeteval

# Mapping of the SemEval labels onto ours: a negative tweet to an organisation is a concern.
TWEET_SENTIMENT_LABELS: dict[str, Sentiment] = {
    "0": "concern",
    "1": "neutral",
    "2": "compliment",
}
# tweets are few next to the NHS comments but are the only source of neutral posts
TWEET_WEIGHT = 3.0
ENQUIRIES = 400
# lexicon-labelled tweets: only clear cases, and each worth a third of a hand-labelled comment
PSEUDO_THRESHOLD = 0.5
PSEUDO_WEIGHT = 0.3
SENTIMENT_NAME = "tfidf-lexicon-lr-v2"
ABUSE_NAME = "tfidf-lexicon-nblr-abuse-v2"
Task = Literal["sentiment", "abuse"]


class DataFileError(ValueError):
    """A labelled data file has a line that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class SentimentExample:
    """A text with its sentiment label; ``group`` is where it came from (e.g. the Trust)."""

    text: str
    label: Sentiment
    group: str = ""
    weight: float = 1.0


@dataclass(frozen=True)
class AbuseExample:
    """A text labelled abusive or not; ``group`` is where it came from."""

    text: str
    abusive: bool
    group: str = ""
    weight: float = 1.0


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters of the linear models (chosen on the development data, see evaluate.py)."""

    features: FeatureSpec = field(default_factory=FeatureSpec)
    c: float = 4.0
    class_weight: str | None = "balanced"
    max_iter: int = 3000
    stack_folds: int = 0  # > 1: stack the text model's out-of-fold scores with the lexicon
    stack_c: float = 1.0
    nb_scaling: bool = False  # two classes only: scale n-grams by their log-count ratio


SENTIMENT_CONFIG = TrainingConfig(features=FeatureSpec(lexicon_weight=1.0))
ABUSE_CONFIG = TrainingConfig(features=FeatureSpec(lexicon_weight=1.0), nb_scaling=True)
# HatEval's labels (hate against immigrants and women) are narrower and noisier than OffensEval's:
# at full weight they cost offensive macro-F1, at none the model misses most hate
HATE_WEIGHT = 0.3


# --- the shared corpora -------------------------------------------------------------------------


def load_pxtextmining(data_dir: Path) -> list[SentimentExample]:
    """The NHS Friends and Family Test comments, ``group`` = the Trust."""
    return [
        SentimentExample(text=text, label=label, group=organisation)
        for text, label, organisation in feedback_rows(data_dir / FFT_CSV)
        if label is not None
    ]


def load_tweet_sentiment(data_dir: Path, split: str = "val") -> list[SentimentExample]:
    return [
        SentimentExample(text=t, label=TWEET_SENTIMENT_LABELS[lab], group="tweets")
        for t, lab in load_tweeteval(data_dir, "sentiment", split)
    ]


def load_tweet_abuse(data_dir: Path, task: str, split: str) -> list[AbuseExample]:
    """TweetEval ``offensive`` or ``hate`` as abuse examples (label 1 = abusive)."""
    return [
        AbuseExample(text=t, abusive=lab == "1", group=f"{task}")
        for t, lab in load_tweeteval(data_dir, task, split)
    ]


def split_tweet_sentiment(
    examples: Sequence[SentimentExample],
) -> tuple[list[SentimentExample], list[SentimentExample]]:
    """TweetEval ``sentiment_val`` in two fixed halves: even lines train, odd lines evaluate.

    It is the only tweet sentiment data here; half of it teaches the model what a neutral tweet
    is, the other half is never trained on and measures tweet sentiment.
    """
    return list(examples[0::2]), list(examples[1::2])


# Enquiries are a large share of the posts a Trust receives, and the labelled corpora have almost
# none: the NHS comments answer "how was your care?" and the few neutral tweets are about other
# things. Without these the model reads "is the pharmacy open on Saturday?" as a concern (opening
# hours are a common complaint). Built from templates, so they teach the form of an enquiry.
_ENQUIRY_TEMPLATES = (
    "What time does the {place} open on {day}?",
    "What are the opening hours of the {place} {when}?",
    "Is the {place} open {when}?",
    "Where is the {place}?",
    "How do I get to the {place} from the {other}?",
    "Does anyone know if the {place} is open {when}?",
    "Can I {action} at the {place}?",
    "How do I {action}?",
    "Do I need to {action} before going to the {place}?",
    "Who should I contact to {action}?",
    "Is there parking near the {place}?",
    "What is the phone number for the {place}?",
    "The {place} will be closed {when} for maintenance.",
    "Reminder: the {place} moves to the {other} from {day}.",
    "Visiting times for the {place} are listed on the website.",
    "Are flu jabs available at the {place} {when}?",
    "Any news on when the {place} reopens?",
    "Which entrance is closest to the {place}?",
)
_ENQUIRY_PLACES = (
    "pharmacy",
    "outpatients department",
    "walk-in centre",
    "blood test clinic",
    "x-ray department",
    "maternity unit",
    "children's ward",
    "minor injuries unit",
    "physio department",
    "eye clinic",
    "main reception",
    "GP surgery",
    "dental clinic",
    "hospital shop",
    "sexual health clinic",
    "vaccination centre",
    "car park",
    "chapel",
    "canteen",
    "day surgery unit",
)
_ENQUIRY_OTHERS = ("station", "main entrance", "bus stop", "town centre", "new building")
_ENQUIRY_DAYS = ("Saturday", "Sunday", "Monday", "bank holiday Monday", "Friday")
_ENQUIRY_WHEN = (
    "today",
    "tomorrow",
    "this weekend",
    "on Christmas Eve",
    "over Easter",
    "in the evening",
    "at the weekend",
    "next week",
)
_ENQUIRY_ACTIONS = (
    "book a blood test",
    "change my appointment",
    "get a repeat prescription",
    "register with a GP",
    "request my records",
    "get a fit note",
    "book a covid vaccine",
    "order a parking permit",
    "bring my own medication",
    "refer myself to physio",
)


def synthetic_enquiries(count: int = 400, seed: int = 0) -> list[SentimentExample]:
    """``count`` neutral enquiries and notices, drawn from templates with a seeded generator."""
    rng = np.random.default_rng(seed)

    def pick(options: Sequence[str]) -> str:
        return options[int(rng.integers(len(options)))]

    texts: set[str] = set()
    while len(texts) < count:
        template = pick(_ENQUIRY_TEMPLATES)
        text = template.format(
            place=pick(_ENQUIRY_PLACES),
            other=pick(_ENQUIRY_OTHERS),
            day=pick(_ENQUIRY_DAYS),
            when=pick(_ENQUIRY_WHEN),
            action=pick(_ENQUIRY_ACTIONS),
        )
        if rng.random() < 0.3:
            text = text.lower()
        texts.add(text)
    return [SentimentExample(t, "neutral", group="enquiries") for t in sorted(texts)]


def lexicon_labelled(
    texts: Sequence[str],
    threshold: float = PSEUDO_THRESHOLD,
    weight: float = PSEUDO_WEIGHT,
    lexicon: Lexicon | None = None,
) -> list[SentimentExample]:
    """Unlabelled posts labelled by the sentiment lexicon (distant supervision), at a low weight.

    Only clear cases are kept: a lexicon compound score of at least ``threshold`` (compliment) or
    at most ``-threshold`` (concern), or no sentiment word and no exclamation mark at all
    (neutral). The model learns the vocabulary around the lexicon words in tweets, which the
    1,000 hand-labelled tweets are too few to teach.
    """
    features = (lexicon or Lexicon.read()).features(texts)
    compound = LEXICON_FEATURES.index("compound")
    has_word = LEXICON_FEATURES.index("has_sentiment_word")
    exclamation = LEXICON_FEATURES.index("exclamation")
    examples = []
    for text, row in zip(texts, features, strict=True):
        label: Sentiment | None = None
        if row[compound] >= threshold:
            label = "compliment"
        elif row[compound] <= -threshold:
            label = "concern"
        elif row[has_word] == 0 and row[exclamation] == 0:
            label = "neutral"
        if label is not None:
            examples.append(SentimentExample(text, label, group="lexicon-labelled", weight=weight))
    return examples


def sentiment_training_set(
    feedback: Sequence[SentimentExample],
    tweets: Sequence[SentimentExample],
    tweet_weight: float = TWEET_WEIGHT,
    enquiries: int = ENQUIRIES,
    lexicon_labelled_posts: Sequence[SentimentExample] = (),
) -> list[SentimentExample]:
    """The recipe of the default model: NHS feedback (unrated comments left out) plus tweets.

    Trust B leaves criticality at 0 for comments nobody rated, and those are mostly praise
    ("Friendly and knowledgeable staff."): as "neutral" they teach that praise is neutral, so
    they are left out of training (Trusts A and C together have 3 such rows).
    """
    kept = [e for e in feedback if not (e.group in UNRATED_ZERO_TRUSTS and e.label == "neutral")]
    weighted = [replace(e, weight=e.weight * tweet_weight) for e in tweets]
    synthetic = synthetic_enquiries(enquiries) if enquiries else []
    return kept + weighted + synthetic + list(lexicon_labelled_posts)


def default_sentiment_examples(data_dir: Path | None = None) -> list[SentimentExample]:
    """The default sentiment training set from the shared corpora: NHS comments, half the labelled
    tweets, synthetic enquiries and lexicon-labelled tweets (see ``sentiment_training_set``)."""
    folder = data_dir or default_data_dir()
    tweets_train, _ = split_tweet_sentiment(load_tweet_sentiment(folder, "val"))
    return sentiment_training_set(
        load_pxtextmining(folder),
        tweets_train,
        lexicon_labelled_posts=lexicon_labelled(unlabelled_tweets(folder)),
    )


def unlabelled_tweets(data_dir: Path) -> list[str]:
    """Tweets without a sentiment label: the TweetEval offensive and hate train texts."""
    return [
        text
        for task in ("offensive", "hate")
        for text, _ in load_tweeteval(data_dir, task, "train")
    ]


def default_abuse_examples(data_dir: Path | None = None) -> list[AbuseExample]:
    """The default abuse training set: TweetEval offensive and hate, train splits only."""
    folder = data_dir or default_data_dir()
    hate = [replace(e, weight=HATE_WEIGHT) for e in load_tweet_abuse(folder, "hate", "train")]
    return load_tweet_abuse(folder, "offensive", "train") + hate


# --- an organisation's own labelled files --------------------------------------------------------

_TRUE = {"true", "1", "yes", "abusive"}
_FALSE = {"false", "0", "no", "not_abusive", "not abusive"}


def _sentiment_label(value: object, where: str) -> Sentiment:
    if isinstance(value, str) and value.strip().lower() in SENTIMENTS:
        return cast(Sentiment, value.strip().lower())
    msg = f"{where}: label must be one of {', '.join(SENTIMENTS)}, got {value!r}"
    raise DataFileError(msg)


def _abusive_flag(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str | int) and str(value).strip().lower() in _TRUE | _FALSE:
        return str(value).strip().lower() in _TRUE
    msg = f"{where}: abusive must be true or false, got {value!r}"
    raise DataFileError(msg)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        msg = f"{where}: text must be a non-empty string, got {value!r}"
        raise DataFileError(msg)
    return value


def _jsonl_rows(path: Path) -> Iterable[tuple[str, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            where = f"{path}, line {number}"
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                msg = f"{where}: not valid JSON ({exc.msg})"
                raise DataFileError(msg) from exc
            if not isinstance(row, dict):
                msg = f"{where}: expected a JSON object, got {type(row).__name__}"
                raise DataFileError(msg)
            yield where, row


def _csv_rows(path: Path) -> Iterable[tuple[str, dict[str, Any]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "text" not in reader.fieldnames:
            msg = f"{path}, line 1: the header must name a 'text' column, got {reader.fieldnames}"
            raise DataFileError(msg)
        for row in reader:
            # line_num is the physical line where this record ended (quoted texts may span lines)
            where = f"{path}, line {reader.line_num}"
            if None in row:
                msg = f"{where}: more fields than the header has"
                raise DataFileError(msg)
            yield where, row


def _rows(path: Path) -> Iterable[tuple[str, dict[str, Any]]]:
    if path.suffix.lower() == ".csv":
        return _csv_rows(path)
    if path.suffix.lower() in {".jsonl", ".ndjson", ".json"}:
        return _jsonl_rows(path)
    msg = f"{path}: unknown file type; use .jsonl (JSON Lines) or .csv"
    raise DataFileError(msg)


def read_sentiment_file(path: str | Path) -> list[SentimentExample]:
    """Read JSON Lines ``{"text": ..., "label": "compliment"|"concern"|"neutral"}`` or a CSV
    with the columns text,label."""
    source = Path(path)
    examples = []
    for where, row in _rows(source):
        if "label" not in row or row["label"] is None:
            msg = f"{where}: missing 'label'"
            raise DataFileError(msg)
        examples.append(
            SentimentExample(
                text=_text(row.get("text"), where),
                label=_sentiment_label(row["label"], where),
                group=source.name,
            )
        )
    return examples


def read_abuse_file(path: str | Path) -> list[AbuseExample]:
    """Read ``{"text": ..., "abusive": true}`` lines or a CSV with text and abusive (or label)."""
    source = Path(path)
    examples = []
    for where, row in _rows(source):
        value = row.get("abusive", row.get("label"))
        if value is None:
            msg = f"{where}: missing 'abusive'"
            raise DataFileError(msg)
        examples.append(
            AbuseExample(
                text=_text(row.get("text"), where),
                abusive=_abusive_flag(value, where),
                group=source.name,
            )
        )
    return examples


# --- training --------------------------------------------------------------------------------


def _classifier(c: float, config: TrainingConfig, seed: int) -> LogisticRegression:
    return LogisticRegression(
        C=c, class_weight=config.class_weight, max_iter=config.max_iter, random_state=seed
    )


def _log_count_ratio(
    x: sp.csr_matrix, y: np.ndarray, sample_weight: np.ndarray | None, features: TextFeatures
) -> np.ndarray:
    """NB-SVM scaling (Wang and Manning 2012): each n-gram times how much likelier it is in
    class 1 than in class 0. The lexicon columns are left as they are."""
    weight = np.ones(x.shape[0]) if sample_weight is None else sample_weight
    present = (x > 0).astype(np.float64)
    positive = 1.0 + present.T @ (weight * (y == 1))
    negative = 1.0 + present.T @ (weight * (y == 0))
    ratio = np.log((positive / positive.sum()) / (negative / negative.sum()))
    if features.lexicon is not None:
        ratio[-len(LEXICON_FEATURES) :] = 1.0
    return np.asarray(ratio, dtype=np.float64)


def _fit_stacked(
    x: sp.csr_matrix,
    y: np.ndarray,
    features: TextFeatures,
    config: TrainingConfig,
    seed: int,
    sample_weight: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Text model, then a small model over its out-of-fold scores and the lexicon features.

    The text model's scores on its own training data are overconfident, so the second stage learns
    how much to trust them next to the lexicon from scores on folds it did not see. Both stages
    are linear in the features, so they fold into one coefficient matrix: the saved model is a
    plain linear model.
    """
    n_text = x.shape[1] - len(LEXICON_FEATURES)
    text_x = x[:, :n_text]
    lexicon_x = x[:, n_text:].toarray()
    n_scores = 1 if len(np.unique(y)) == 2 else len(np.unique(y))
    out_of_fold = np.zeros((x.shape[0], n_scores))
    folds = StratifiedKFold(n_splits=config.stack_folds, shuffle=True, random_state=seed)
    for train_rows, test_rows in folds.split(text_x, y):
        fold_model = _classifier(config.c, config, seed)
        fold_weight = None if sample_weight is None else sample_weight[train_rows]
        fold_model.fit(text_x[train_rows], y[train_rows], sample_weight=fold_weight)
        out_of_fold[test_rows] = fold_model.decision_function(text_x[test_rows]).reshape(
            len(test_rows), n_scores
        )
    text_model = _classifier(config.c, config, seed)
    text_model.fit(text_x, y, sample_weight=sample_weight)
    stacker = _classifier(config.stack_c, config, seed)
    stacker.fit(np.hstack([out_of_fold, lexicon_x]), y, sample_weight=sample_weight)
    on_scores = stacker.coef_[:, :n_scores]  # (k, n_scores)
    on_lexicon = stacker.coef_[:, n_scores:]
    coef = np.hstack([on_scores @ text_model.coef_, on_lexicon]).astype(np.float32)
    intercept = (on_scores @ text_model.intercept_ + stacker.intercept_).astype(np.float32)
    return coef, intercept, stacker.classes_


def _fit_linear(
    texts: Sequence[str],
    labels: Sequence[str],
    classes: tuple[str, ...],
    config: TrainingConfig,
    seed: int,
    name: str,
    weights: Sequence[float] | None = None,
) -> LinearTextModel:
    if not texts:
        msg = "cannot train on no examples"
        raise ValueError(msg)
    missing = set(classes) - set(labels)
    if len(set(labels)) < 2:
        msg = f"need at least two classes to train, got only {sorted(set(labels))}"
        raise ValueError(msg)
    features = TextFeatures.fit(texts, config.features)
    x = features.transform(texts)
    y = np.array([classes.index(label) for label in labels])
    sample_weight = None if weights is None else np.asarray(weights, dtype=np.float64)
    if config.stack_folds and features.lexicon is not None:
        coef, intercept, classes_seen = _fit_stacked(x, y, features, config, seed, sample_weight)
    else:
        scale = None
        if config.nb_scaling and len(classes) == 2:
            scale = _log_count_ratio(x, y, sample_weight, features)
            x = x @ sp.diags(scale)
        classifier = _classifier(config.c, config, seed)
        classifier.fit(x, y, sample_weight=sample_weight)
        coef = np.asarray(classifier.coef_, dtype=np.float32)
        if scale is not None:
            coef = (coef * scale).astype(np.float32)  # scaling folded into the weights
        intercept = np.asarray(classifier.intercept_, dtype=np.float32)
        classes_seen = classifier.classes_
    if len(classes) > 2 and missing:
        # a class absent from the training data gets a row that never wins
        full_coef = np.zeros((len(classes), coef.shape[1]), dtype=np.float32)
        full_intercept = np.full(len(classes), -1e3, dtype=np.float32)
        for row, class_index in enumerate(classes_seen):
            full_coef[class_index] = coef[row]
            full_intercept[class_index] = intercept[row]
        coef, intercept = full_coef, full_intercept
    metadata = {
        "seed": seed,
        "trained_examples": len(texts),
        "class_counts": dict(sorted(Counter(labels).items())),
        "c": config.c,
        "class_weight": config.class_weight,
        "stack_folds": config.stack_folds,
        "nb_scaling": config.nb_scaling,
        "trained_with": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "trained_at": time.strftime("%Y-%m-%d"),
    }
    return LinearTextModel(
        name=name,
        classes=classes,
        features=features,
        coef=coef,
        intercept=intercept,
        metadata=metadata,
    )


def train_sentiment(
    examples: Sequence[SentimentExample],
    seed: int = 0,
    config: TrainingConfig | None = None,
    name: str = SENTIMENT_NAME,
) -> SentimentModel:
    """Fit a sentiment model; the same examples and seed give the same model."""
    config = config or SENTIMENT_CONFIG
    linear = _fit_linear(
        [e.text for e in examples],
        [e.label for e in examples],
        SENTIMENTS,
        config,
        seed,
        name,
        [e.weight for e in examples],
    )
    linear.metadata["trained_on"] = dict(sorted(Counter(e.group for e in examples).items()))
    return SentimentModel(linear)


def train_abuse(
    examples: Sequence[AbuseExample],
    seed: int = 0,
    config: TrainingConfig | None = None,
    name: str = ABUSE_NAME,
) -> AbuseModel:
    """Fit an abuse model; the same examples and seed give the same model."""
    config = config or ABUSE_CONFIG
    labels = [ABUSE_CLASSES[int(e.abusive)] for e in examples]
    weights = [e.weight for e in examples]
    linear = _fit_linear(
        [e.text for e in examples], labels, ABUSE_CLASSES, config, seed, name, weights
    )
    linear.metadata["trained_on"] = dict(sorted(Counter(e.group for e in examples).items()))
    return AbuseModel(linear)


# --- command line ---------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socmon train",
        description="Train the judgement model (--model encoder: every task at once, about 45 min "
        "on 2 cores, needs `make transformer`) or one fast model (--task sentiment|abuse).",
    )
    parser.add_argument(
        "--task", choices=["sentiment", "abuse"], help="the fast model to train (not with encoder)"
    )
    parser.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="FILE",
        help="labelled .jsonl or .csv (repeatable); sentiment: text,label; abuse: text,abusive",
    )
    parser.add_argument(
        "--from-shared-data",
        metavar="DIR",
        nargs="?",
        const="",
        default=None,
        help="train on the corpora in DIR too (default: $SOCMON_LABELLED_DATA or ../shared/data)",
    )
    parser.add_argument(
        "--model",
        choices=["encoder", "linear"],
        default="linear",
        help="encoder: the judgement model (the default classifier; needs --out); "
        "linear: a fast model (classifier.model: fast)",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="encoder only: passes over the data (default 2)"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="model folder (default: the committed one; required with --model transformer)",
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main_train(argv: list[str] | None = None) -> int:
    """Train a model from the given files and/or the shared corpora and save it; 0 on success."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.model == "encoder":
        return _train_encoder(args)
    if args.task is None:
        parser.error("--task sentiment|abuse is needed for a linear model")
    task: Task = args.task
    use_shared = args.from_shared_data is not None or not args.data
    shared_dir = Path(args.from_shared_data) if args.from_shared_data else default_data_dir()
    out = Path(args.out) if args.out else MODELS_DIR / task
    started = time.perf_counter()
    try:
        if task == "sentiment":
            sentiment_examples: list[SentimentExample] = []
            if use_shared:
                print(f"reading shared corpora from {shared_dir}", flush=True)
                sentiment_examples += default_sentiment_examples(shared_dir)
            for path in args.data:
                print(f"reading {path}", flush=True)
                sentiment_examples += read_sentiment_file(path)
            counts = Counter(e.label for e in sentiment_examples)
            print(f"training linear sentiment on {len(sentiment_examples)} examples {dict(counts)}")
            model: SentimentModel | AbuseModel = train_sentiment(sentiment_examples, args.seed)
        else:
            abuse_examples: list[AbuseExample] = []
            if use_shared:
                print(f"reading shared corpora from {shared_dir}", flush=True)
                abuse_examples += default_abuse_examples(shared_dir)
            for path in args.data:
                print(f"reading {path}", flush=True)
                abuse_examples += read_abuse_file(path)
            positives = sum(e.abusive for e in abuse_examples)
            print(f"training linear abuse on {len(abuse_examples)} examples ({positives} abusive)")
            model = train_abuse(abuse_examples, args.seed)
    except (DataFileError, ModelFileError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    folder = model.save(out)
    print(f"saved {model.name} to {folder} in {time.perf_counter() - started:.1f}s")
    return 0


def _train_encoder(args: argparse.Namespace) -> int:
    """``socmon train --model encoder``: the shared corpora, the written examples and any
    ``--data`` files (JSON Lines with ``sentiment``/``label``, ``abusive``, ``urgent_category``,
    ``policy``), fine-tuned into one model folder."""
    from stream_processors.classify.training import examples as ex
    from stream_processors.classify.training.fine_tune import (
        FineTuneSettings,
        TrainingUnavailable,
        train_encoder,
    )

    if not args.out:
        print(
            "error: --model encoder needs --out DIR (then set classifier.encoder_model: DIR)",
            file=sys.stderr,
        )
        return 2
    settings = FineTuneSettings(epochs=args.epochs) if args.epochs else FineTuneSettings()
    shared_dir = Path(args.from_shared_data) if args.from_shared_data else None
    try:
        extra = [e for path in args.data for e in ex.labelled_file(Path(path), "own")]
        if args.data:
            print(f"read {len(extra)} examples of your own from {', '.join(args.data)}", flush=True)
        train_encoder(
            Path(args.out),
            settings,
            seed=args.seed,
            extra=extra,
            data_dir=shared_dir,
            progress=lambda line: print(f"{time.strftime('%H:%M:%S')} {line}", flush=True),
        )
    except (ex.ExamplesError, TrainingUnavailable, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"saved the encoder model to {args.out}; use it with classifier.encoder_model: {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main_train())
