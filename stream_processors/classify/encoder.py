"""The judgement model: one pretrained text encoder, fine-tuned here, with a head per question.

One forward pass of all-MiniLM-L6-v2 (fine-tuned by ``socmon train --model encoder``, exported to
ONNX and quantised to int8) answers every question that needs understanding rather than a pattern:
the sentiment (compliment, concern, neutral), whether a post is abusive, whether it is urgent and
why (self-harm, safeguarding, violence, clinical emergency, data breach), and for official posts
the policy rules that need judgement (offensive, confidential, political, commercial, criticising
service users, a caption presenting children). It runs on ONNX Runtime with the Hugging Face
``tokenizers`` library: no PyTorch, nothing downloaded.

Each head's probabilities are calibrated (temperature scaling on held-back training data), so a
confidence of 0.9 is right about nine times in ten; the thresholds that turn them into flags are in
the model folder's ``model.json``. ``Judgement.evidence`` names the words that moved a decision
most: the heads are linear over the mean of the token states, so each token's share of a logit is
exact, and the exported model returns those shares beside the logits.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import emoji
import numpy as np

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL_DIR = MODELS_DIR / "encoder"
FORMAT = "socmon-encoder-v1"
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "model.json"

SENTIMENT_CLASSES = ("compliment", "concern", "neutral")
URGENT_CLASSES = (
    "none",
    "self_harm",
    "safeguarding",
    "violence",
    "clinical_emergency",
    "data_breach",
)
POLICY_RULES = (
    "offensive",
    "confidential",
    "political",
    "commercial",
    "criticising_service_users",
    "media_consent",
)
HEADS = ("sentiment", "abusive", "urgent", "policy")

_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"(?<!\w)@\w+")
_SPACE = re.compile(r"\s+")


class EncoderModelError(RuntimeError):
    """The encoder model folder is missing, unreadable or of another format."""


def prepare(text: str) -> str:
    """The text as the encoder reads it: HTML unescaped, links and handles masked (as TweetEval
    masks them), emoji spelt out in words (the tokenizer would read them as [UNK])."""
    text = html.unescape(text)
    text = _URL.sub(" link ", text)
    text = _HANDLE.sub("@user", text)
    text = emoji.replace_emoji(
        text, replace=lambda chars, data: " " + data["en"].strip(":").replace("_", " ") + " "
    )
    return _SPACE.sub(" ", text).strip()


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


# (first column, width) of each head in the exported ``token_shares`` output, whose columns are
# the heads' classes side by side in the order of HEADS
_WIDTHS = (len(SENTIMENT_CLASSES), 1, len(URGENT_CLASSES), len(POLICY_RULES))
_SHARE_COLUMNS = {
    head: (sum(_WIDTHS[:i]), width)
    for i, (head, width) in enumerate(zip(HEADS, _WIDTHS, strict=True))
}


@dataclass(frozen=True)
class Judgement:
    """The calibrated probabilities of every head for one text, and what explains them."""

    sentiment: dict[str, float]
    abusive: float
    urgent: dict[str, float]
    policy: dict[str, float]
    prepared: str = ""
    word_spans: tuple[tuple[int, int], ...] = ()
    word_shares: np.ndarray | None = None  # (words, 16): each word's share of every logit

    @property
    def sentiment_label(self) -> str:
        return max(self.sentiment, key=lambda k: self.sentiment[k])

    @property
    def urgent_category(self) -> str:
        """The most likely urgent category other than ``none``."""
        return max(URGENT_CLASSES[1:], key=lambda k: self.urgent[k])

    def evidence(self, head: str, label: str, k: int = 3) -> list[str]:
        """The ``k`` words that pushed ``head`` towards ``label`` most, in text order.

        A word's push is its share of the label's logit less its share of the alternative's
        (the other sentiments' mean; for an urgent category, "none")."""
        if self.word_shares is None or not len(self.word_spans):
            return []
        first, width = _SHARE_COLUMNS[head]
        shares = self.word_shares
        if head == "sentiment":
            c = first + SENTIMENT_CLASSES.index(label)
            push = shares[:, c] - shares[:, first : first + width].mean(axis=1)
        elif head == "urgent":
            push = shares[:, first + URGENT_CLASSES.index(label)] - shares[:, first]
        elif head == "policy":
            push = shares[:, first + POLICY_RULES.index(label)]
        else:
            push = shares[:, first]
        ranked = [i for i in np.argsort(-push)[:k] if push[i] > 0]
        words = [
            self.prepared[a:b].strip(".,!?;:\"'()")
            for a, b in (self.word_spans[i] for i in sorted(ranked))
        ]
        return [w for w in words if w]


@dataclass(frozen=True)
class Thresholds:
    """Where a probability becomes a flag (chosen on held-back training data, see model.json)."""

    abusive: float = 0.5
    urgent: float = 0.5  # flagged when P(not none) reaches this
    policy: float = 0.5
    # a concern routed to a department needs at least this confidence, else it is "unsure"
    concern_sure: float = 0.6


class EncoderModel:
    """The exported multi-task encoder: ``judge`` texts (each ``Judgement`` gives its evidence)."""

    def __init__(self, folder: str | Path, threads: int = 1) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        meta_path = self.folder / META_FILE
        for needed in (META_FILE, ONNX_FILE, TOKENIZER_FILE):
            if not (self.folder / needed).is_file():
                msg = (
                    f"no encoder model in {self.folder}: {needed} is missing "
                    "(train one with socmon train --model encoder)"
                )
                raise EncoderModelError(msg)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            msg = f"{meta_path} is not readable JSON: {exc}"
            raise EncoderModelError(msg) from exc
        if meta.get("format") != FORMAT:
            msg = f"{meta_path} is of format {meta.get('format')!r}, this code reads {FORMAT!r}"
            raise EncoderModelError(msg)
        self.meta: dict[str, Any] = meta
        self.name = str(meta["name"])
        self.max_length = int(meta.get("max_length", 128))
        self.temperatures: dict[str, float] = {
            head: float(meta.get("temperatures", {}).get(head, 1.0)) for head in HEADS
        }
        t = meta.get("thresholds", {})
        self.thresholds = Thresholds(
            abusive=float(t.get("abusive", 0.5)),
            urgent=float(t.get("urgent", 0.5)),
            policy=float(t.get("policy", 0.5)),
            concern_sure=float(t.get("concern_sure", 0.6)),
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(self.folder / ONNX_FILE), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
        # the base model's tokenizer file pads every text to 128 tokens; we pad per batch instead
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_length)
        # One post per run: int8 activations are quantised with a scale per run, so in a batch a
        # post's neighbours would move its probabilities by up to 0.05, and a replay must label a
        # post as before. Batches of 32 were only 6% faster.
        self.batch_size = 1

    def _forward(self, prepared: Sequence[str]) -> tuple[dict[str, np.ndarray], list[Any]]:
        """Raw logits of every head for prepared texts (in batches sorted by length), and per
        text its words' spans and shares of the logits."""
        n = len(prepared)
        out = {
            "sentiment": np.zeros((n, len(SENTIMENT_CLASSES)), dtype=np.float32),
            "abusive": np.zeros((n,), dtype=np.float32),
            "urgent": np.zeros((n, len(URGENT_CLASSES)), dtype=np.float32),
            "policy": np.zeros((n, len(POLICY_RULES)), dtype=np.float32),
        }
        words: list[Any] = [None] * n
        encodings = self.tokenizer.encode_batch([t or " " for t in prepared])
        order = sorted(range(n), key=lambda i: len(encodings[i].ids))
        for start in range(0, n, self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                e = encodings[i].ids
                ids[r, : len(e)] = e
                mask[r, : len(e)] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            sentiment, abusive, urgent, policy, shares = self.session.run(None, feed)
            out["sentiment"][rows] = sentiment
            out["abusive"][rows] = abusive.reshape(-1)
            out["urgent"][rows] = urgent
            out["policy"][rows] = policy
            for r, i in enumerate(rows):
                words[i] = _word_shares(encodings[i], shares[r])
        return out, words

    def probabilities(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head: sentiment and urgent (n, k) rows summing to one,
        abusive (n,) and policy (n, rules) independent."""
        logits, _ = self._forward([prepare(t) for t in texts])
        return self._calibrated(logits)

    def _calibrated(self, logits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        t = self.temperatures
        return {
            "sentiment": softmax(logits["sentiment"] / t["sentiment"]),
            "abusive": sigmoid(logits["abusive"] / t["abusive"]),
            "urgent": softmax(logits["urgent"] / t["urgent"]),
            "policy": sigmoid(logits["policy"] / t["policy"]),
        }

    def judge(self, texts: Sequence[str]) -> list[Judgement]:
        if not texts:
            return []
        prepared = [prepare(t) for t in texts]
        logits, words = self._forward(prepared)
        p = self._calibrated(logits)
        return [
            Judgement(
                sentiment={c: float(p["sentiment"][i, k]) for k, c in enumerate(SENTIMENT_CLASSES)},
                abusive=float(p["abusive"][i]),
                urgent={c: float(p["urgent"][i, k]) for k, c in enumerate(URGENT_CLASSES)},
                policy={c: float(p["policy"][i, k]) for k, c in enumerate(POLICY_RULES)},
                prepared=prepared[i],
                word_spans=words[i][0],
                word_shares=words[i][1],
            )
            for i in range(len(texts))
        ]


def _word_shares(
    encoding: Any, shares: np.ndarray
) -> tuple[tuple[tuple[int, int], ...], np.ndarray]:
    """Token shares summed per word (the tokenizer's word ids), with each word's span."""
    word_ids = encoding.word_ids
    tokens = [t for t, word in enumerate(word_ids) if word is not None]
    if not tokens:
        return (), np.zeros((0, shares.shape[-1]))
    ids = np.fromiter((word_ids[t] for t in tokens), dtype=np.int64, count=len(tokens))
    # a word is a run of its tokens: it starts where the word id changes
    starts = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))
    rows = np.add.reduceat(shares[tokens].astype(np.float64), starts, axis=0)
    offsets = encoding.offsets
    ends = [*starts[1:].tolist(), len(tokens)]
    spans = tuple(
        (offsets[tokens[a]][0], offsets[tokens[b - 1]][1])
        for a, b in zip(starts.tolist(), ends, strict=True)
    )
    return spans, rows


@cache
def load_default() -> EncoderModel:
    """The bundled model, loaded once per process."""
    return EncoderModel(DEFAULT_MODEL_DIR)
