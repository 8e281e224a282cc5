"""The labelled examples the encoder learns from, each labelled for the heads its source can answer.

A source labels only what it knows: a TweetEval sentiment tweet says nothing about abuse, a
HatEval "not hate" tweet may still be offensive. A head with no label for an example is masked out
of the loss for it. The sources:

- shared corpora (``$SOCMON_LABELLED_DATA``, by default ``../shared/data``; train splits only):
  TweetEval sentiment (45,588 tweets), NHS Friends and Family comments (pxtextmining), Care Opinion
  stories, OffensEval, HatEval (its hateful tweets as abusive);
- examples written for this project (``training/data/*.jsonl`` in the repository): urgent posts
  and their near misses, abusive replies against angry complaints, Trust mentions, official posts
  with and without policy breaches;
- an organisation's own labelled file (``socmon train --data``) and the dashboard's corrections.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from socmon.records import Sentiment
from stream_processors.classify.encoder import POLICY_RULES, SENTIMENT_CLASSES, URGENT_CLASSES

REPO_ROOT = Path(__file__).resolve().parents[3]
WRITTEN_DIR = REPO_ROOT / "training" / "data"
DATA_DIR_ENV = "SOCMON_LABELLED_DATA"  # not SOCMON_DATA_DIR: that is the pipeline's data folder
FFT_CSV = Path("pxtextmining") / "phase1_text_data.csv"
# Trusts of pxtextmining whose criticality 0 means "not rated" rather than "neutral"
UNRATED_ZERO_TRUSTS = frozenset({"Trust B"})
TWEET_SENTIMENT = {"0": "concern", "1": "neutral", "2": "compliment"}


class ExamplesError(ValueError):
    """A labelled-data file is missing or has a line that is not a labelled example."""


@dataclass(frozen=True)
class Example:
    """One text with the labels its source gives; ``None`` means "this source does not say"."""

    text: str
    source: str
    sentiment: int | None = None
    abusive: int | None = None
    urgent: int | None = None
    policy: tuple[int, ...] | None = None  # multi-hot over POLICY_RULES
    group: str = ""


def default_data_dir() -> Path:
    """``$SOCMON_LABELLED_DATA`` if set, else ``../shared/data`` beside the repository."""
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def criticality_label(value: str) -> Sentiment | None:
    """pxtextmining criticality -5..5 to a label; ``None`` for the dirty values (``-o``, ``SS``)."""
    try:
        number = int(value.strip())
    except ValueError:
        return None
    if not -5 <= number <= 5:
        return None
    return "compliment" if number > 0 else "concern" if number < 0 else "neutral"


def feedback_rows(path: Path) -> Iterator[tuple[str, Sentiment | None, str]]:
    """(text, label, organisation) of a pxtextmining-style CSV (the FFT comments, Care Opinion
    stories), without the rows whose criticality is dirty or whose text is empty.

    Trust B rated most of its comments 0, which for it means not rated: its 2,563 zeros are
    mostly praise ("Friendly and knowledgeable staff"), and read as neutral they taught the model
    that praise is neutral. Their label is ``None`` (unknown), not neutral."""
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            label = criticality_label(row["criticality"])
            text = (row["feedback"] or "").strip()
            organisation = row["organization"]
            if label is not None and text:
                unrated = label == "neutral" and organisation in UNRATED_ZERO_TRUSTS
                yield text, None if unrated else label, organisation


def nhs_feedback(path: Path, source: str) -> list[Example]:
    """Friends and Family comments or Care Opinion stories (same columns); ``group`` = the Trust.

    Patient feedback is never abusive and, in the FFT's short answers, never urgent; Care Opinion
    stories sometimes tell of a past crisis, so they say nothing about urgency."""
    urgent = 0 if source == "fft" else None
    return [
        Example(
            text,
            source,
            sentiment=None if label is None else SENTIMENT_CLASSES.index(label),
            abusive=0,
            urgent=urgent,
            group=organisation,
        )
        for text, label, organisation in feedback_rows(path)
    ]


def _lines(path: Path) -> list[str]:
    # TweetEval text files hold one tweet a line; keep empty lines to stay aligned with labels
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def tweeteval(data_dir: Path, task: str, split: str = "train") -> list[tuple[str, str]]:
    """(text, label index as a string) pairs of one TweetEval task and split."""
    folder = data_dir / "tweeteval"
    texts = _lines(folder / f"{task}_{split}_text.txt")
    labels = _lines(folder / f"{task}_{split}_labels.txt")
    if len(texts) != len(labels):
        msg = f"tweeteval {task}_{split}: {len(texts)} texts but {len(labels)} labels"
        raise ExamplesError(msg)
    return [(t.strip(), lab.strip()) for t, lab in zip(texts, labels, strict=True)]


def tweet_sentiment(data_dir: Path, split: str = "train") -> list[Example]:
    return [
        Example(t, "tweets", sentiment=SENTIMENT_CLASSES.index(TWEET_SENTIMENT[lab]), urgent=0)
        for t, lab in tweeteval(data_dir, "sentiment", split)
    ]


def offensive(data_dir: Path, split: str = "train") -> list[Example]:
    return [
        Example(t, "offensive", abusive=int(lab == "1"))
        for t, lab in tweeteval(data_dir, "offensive", split)
    ]


def hateful(data_dir: Path, split: str = "train") -> list[Example]:
    """HatEval, hateful tweets as abusive and the others as not. Every HatEval tweet is about
    immigrants or women: with its hateful tweets alone the model learnt the topic as a sign of
    abuse (it flagged 90% of HatEval's other tweets), so both sides are used, though some of the
    others are offensive without being hateful."""
    return [
        Example(t, "hate", abusive=int(lab == "1")) for t, lab in tweeteval(data_dir, "hate", split)
    ]


def _jsonl(path: Path) -> Iterable[tuple[str, dict[str, Any]]]:
    if not path.is_file():
        msg = f"{path} does not exist"
        raise ExamplesError(msg)
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                msg = f"{where} is not JSON: {exc.msg}"
                raise ExamplesError(msg) from exc
            if (
                not isinstance(row, dict)
                or not isinstance(row.get("text"), str)
                or not row["text"].strip()
            ):
                msg = f'{where} needs a non-empty "text"'
                raise ExamplesError(msg)
            yield where, row


def _index(value: Any, classes: tuple[str, ...], where: str, field: str) -> int:
    if value not in classes:
        msg = f"{where}: {field} {value!r} is not one of {', '.join(classes)}"
        raise ExamplesError(msg)
    return classes.index(value)


def labelled_file(path: Path, source: str) -> list[Example]:
    """A JSON Lines file of examples with any of the fields ``sentiment``, ``abusive``,
    ``urgent_category`` (a category or null), ``policy`` (a list of rule ids)."""
    examples = []
    for where, row in _jsonl(path):
        sentiment = abusive = urgent = None
        policy = None
        if "sentiment" in row or "label" in row:  # "label": the dashboard's corrections export
            value = row.get("sentiment", row.get("label"))
            sentiment = _index(value, SENTIMENT_CLASSES, where, "sentiment")
        if "abusive" in row:
            if not isinstance(row["abusive"], bool):
                msg = f"{where}: abusive must be true or false"
                raise ExamplesError(msg)
            abusive = int(row["abusive"])
        if "urgent_category" in row:
            urgent = _index(
                row["urgent_category"] or "none", URGENT_CLASSES, where, "urgent_category"
            )
        if "policy" in row:
            rules = row["policy"]
            if not isinstance(rules, list):
                msg = f"{where}: policy must be a list of rule ids"
                raise ExamplesError(msg)
            hot = [0] * len(POLICY_RULES)
            for rule in rules:
                hot[_index(rule, POLICY_RULES, where, "policy rule")] = 1
            policy = tuple(hot)
        examples.append(Example(row["text"].strip(), source, sentiment, abusive, urgent, policy))
    return examples


def written(folder: Path = WRITTEN_DIR) -> list[Example]:
    """The examples written for this project. Trust mentions written as praise, complaints or
    enquiries are neither abusive nor urgent, which the file need not repeat on every line."""
    examples: list[Example] = []
    for name in ("sentiment", "abuse", "urgency", "policy"):
        for ex in labelled_file(folder / f"{name}.jsonl", f"written-{name}"):
            if name == "sentiment":
                ex = replace(ex, abusive=0, urgent=0)
            examples.append(ex)
    return examples


@dataclass
class Corpus:
    """What one training run learns from, and what it holds back to calibrate on."""

    train: list[Example]
    calibration: list[Example]
    tweets_pool: list[Example]  # sampled afresh each epoch (too many to use all every epoch)


def assemble(
    data_dir: Path | None = None,
    written_dir: Path = WRITTEN_DIR,
    extra: Iterable[Example] = (),
    seed: int = 0,
    hold_out_group: str | None = None,
    calibration_share: float = 0.08,
) -> Corpus:
    """Every source, with a share of each held back for calibration (temperatures, thresholds).

    ``hold_out_group`` leaves one NHS Trust out entirely (for the leave-one-Trust-out figure)."""
    data_dir = data_dir or default_data_dir()
    rng = np.random.default_rng(seed)
    fft = nhs_feedback(data_dir / FFT_CSV, "fft")
    if hold_out_group:
        fft = [e for e in fft if e.group != hold_out_group]
    sources: list[list[Example]] = [
        fft,
        nhs_feedback(data_dir / "careopinion" / "co.csv", "careopinion"),
        offensive(data_dir),
        hateful(data_dir),
        written(written_dir),
        list(extra),
    ]
    train: list[Example] = []
    calibration: list[Example] = []
    for examples in sources:
        order = rng.permutation(len(examples))
        cut = round(len(examples) * calibration_share)
        calibration += [examples[i] for i in order[:cut]]
        train += [examples[i] for i in order[cut:]]
    tweets = tweet_sentiment(data_dir)
    order = rng.permutation(len(tweets))
    calibration += [tweets[i] for i in order[:1500]]
    return Corpus(
        train=train, calibration=calibration, tweets_pool=[tweets[i] for i in order[1500:]]
    )
