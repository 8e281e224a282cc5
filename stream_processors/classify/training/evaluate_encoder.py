"""How good the judgement model is, on text it was never trained on: ``make eval``.

- the development splits of the shared corpora (TweetEval sentiment, offensive and hate ``val``;
  the NHS feedback of a Trust the measured model was trained without);
- the frozen blind sets in ``eval/blind/`` (written from a brief by someone who never saw the
  rules, the training examples or the model's errors), scored through the whole classifier with
  the default config, so the exact rules and the organisation's published contacts count too;
- the bundled sample's agreement with its expected labels;
- a reliability table (is a confidence of 0.9 right nine times in ten?) and the speed.

Writes ``eval/encoder.json`` and, with ``--markdown``, ``eval/encoder.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from socmon.settings import load_settings
from stream_processors.classify.classifier import PostClassifier, PostText, policy_rules
from stream_processors.classify.encoder import DEFAULT_MODEL_DIR, SENTIMENT_CLASSES, EncoderModel
from stream_processors.classify.training.examples import (
    FFT_CSV,
    REPO_ROOT,
    TWEET_SENTIMENT,
    default_data_dir,
    feedback_rows,
    tweeteval,
)

EVAL_DIR = REPO_ROOT / "eval"
BLIND_DIR = EVAL_DIR / "blind"
ROUND2_DIR = BLIND_DIR / "round2"  # written for the second model, before it was measured
SAMPLE_DIR = REPO_ROOT / "socmon" / "sample"


def _prf(truth: Sequence[bool], flagged: Sequence[bool]) -> dict[str, float]:
    t = np.asarray(truth, dtype=bool)
    f = np.asarray(flagged, dtype=bool)
    tp = float((t & f).sum())
    precision = tp / max(1.0, float(f.sum()))
    recall = tp / max(1.0, float(t.sum()))
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "support": int(t.sum()),
    }


def per_class(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Per class precision/recall/F1, macro-F1, macro-recall and accuracy."""
    classes = {c: _prf([x == c for x in truth], [y == c for y in predicted]) for c in labels}
    return {
        "n": len(truth),
        "accuracy": round(float(np.mean(np.array(truth) == np.array(predicted))), 3),
        "macro_f1": round(float(np.mean([classes[c]["f1"] for c in labels])), 3),
        "macro_recall": round(float(np.mean([classes[c]["recall"] for c in labels])), 3),
        "per_class": classes,
    }


def _binary(truth: Sequence[bool], flagged: Sequence[bool]) -> dict[str, Any]:
    """Both classes of a binary task, so its macro-F1 is comparable with the leaderboards'."""
    t = ["yes" if x else "no" for x in truth]
    f = ["yes" if x else "no" for x in flagged]
    return per_class(t, f, ("no", "yes"))


def _read_blind(name: str, folder: Path = BLIND_DIR) -> list[dict[str, Any]]:
    path = folder / f"{name}.jsonl"
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def reliability(
    confidence: Sequence[float], correct: Sequence[bool], bins: int = 5
) -> dict[str, Any]:
    """Accuracy per confidence band and the expected calibration error."""
    c = np.asarray(confidence)
    ok = np.asarray(correct, dtype=float)
    edges = np.linspace(1.0 / 3.0, 1.0, bins + 1)
    rows = []
    ece = 0.0
    for i in range(bins):
        inside = (c >= edges[i]) & ((c < edges[i + 1]) if i < bins - 1 else (c <= 1.0))
        if not inside.any():
            continue
        gap = abs(float(c[inside].mean()) - float(ok[inside].mean()))
        ece += gap * inside.sum() / len(c)
        rows.append(
            {
                "band": f"{edges[i]:.2f}-{edges[i + 1]:.2f}",
                "posts": int(inside.sum()),
                "mean_confidence": round(float(c[inside].mean()), 3),
                "accuracy": round(float(ok[inside].mean()), 3),
            }
        )
    return {"bins": rows, "ece": round(float(ece), 4)}


def _sentiment_scores(
    model: EncoderModel, texts: Sequence[str], truth: Sequence[str]
) -> dict[str, Any]:
    """Per class scores of the sentiment head, and its reliability table."""
    p = model.probabilities(texts)["sentiment"]
    predicted = [SENTIMENT_CLASSES[i] for i in p.argmax(axis=1)]
    scores = per_class(truth, predicted, SENTIMENT_CLASSES)
    scores["reliability"] = reliability(
        p.max(axis=1), [a == b for a, b in zip(truth, predicted, strict=True)]
    )
    return scores


def dev_splits(model: EncoderModel, data_dir: Path, held_out_trust: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    tweets = tweeteval(data_dir, "sentiment", "val")
    out["tweet_sentiment_val"] = _sentiment_scores(
        model, [x for x, _ in tweets], [TWEET_SENTIMENT[lab] for _, lab in tweets]
    )
    for task in ("offensive", "hate"):
        rows = tweeteval(data_dir, task, "val")
        flagged = model.probabilities([x for x, _ in rows])["abusive"] >= model.thresholds.abusive
        out[f"{task}_val"] = _binary([lab == "1" for _, lab in rows], flagged.tolist())
    if held_out_trust:
        fft = [
            (text, label)
            for text, label, trust in feedback_rows(data_dir / FFT_CSV)
            if trust == held_out_trust and label is not None
        ]
        scores = _sentiment_scores(model, [t for t, _ in fft], [label for _, label in fft])
        scores["trust"] = held_out_trust
        scores["mean_f1_compliment_concern"] = round(
            (scores["per_class"]["compliment"]["f1"] + scores["per_class"]["concern"]["f1"]) / 2, 3
        )
        out["nhs_feedback_unseen_trust"] = scores
    return out


def blind_sets(classifier: PostClassifier, folder: Path = BLIND_DIR) -> dict[str, Any]:
    """Every figure of the four blind sets in `folder` (round 1: ``eval/blind``)."""
    out: dict[str, Any] = {}
    rows = _read_blind("urgent", folder)
    got = classifier.classify_many([PostText(r["text"]) for r in rows])
    truth = [bool(r["urgent"]) for r in rows]
    flagged = [c.urgent for c in got]
    categories = sorted({r["category"] for r in rows if r["category"]})
    out["urgent"] = {
        "recall": _prf(truth, flagged)["recall"],
        "false_alarms_on_near_misses": round(
            sum(f for t, f in zip(truth, flagged, strict=True) if not t)
            / max(1, truth.count(False)),
            3,
        ),
        "recall_by_category": {
            c: round(
                float(
                    np.mean([f for r, f in zip(rows, flagged, strict=True) if r["category"] == c])
                ),
                3,
            )
            for c in categories
        },
        "posts": len(rows),
    }
    rows = _read_blind("abuse", folder)
    got = classifier.classify_many([PostText(r["text"], kind="reply") for r in rows])
    by_group: dict[str, list[bool]] = {}
    for r, c in zip(rows, got, strict=True):
        by_group.setdefault(r["group"], []).append(c.abusive)
    out["abuse"] = {
        "abusive_replies_flagged": round(float(np.mean(by_group["abusive_reply"])), 3),
        "angry_complaints_flagged": round(float(np.mean(by_group["angry_complaint"])), 3),
        "other_flagged": round(float(np.mean(by_group.get("other", [False]))), 3),
        "posts": len(rows),
    }
    rows = _read_blind("sentiment", folder)
    got = classifier.classify_many([PostText(r["text"]) for r in rows])
    truth_s = [r["sentiment"] for r in rows]
    predicted = [c.sentiment for c in got]
    scores = per_class(truth_s, predicted, SENTIMENT_CLASSES)
    mixed = [c.sentiment == "concern" for r, c in zip(rows, got, strict=True) if r.get("mixed")]
    scores["mixed_as_concern"] = round(float(np.mean(mixed)), 3) if mixed else None
    scores["compliments_as_concern"] = sum(
        1
        for r, c in zip(rows, got, strict=True)
        if r["sentiment"] == "compliment" and c.sentiment == "concern"
    )
    scores["concerns_marked_unsure"] = sum(1 for c in got if c.sentiment == "concern" and c.unsure)
    scores["reliability"] = reliability(
        [c.confidence for c in got], [a == b for a, b in zip(truth_s, predicted, strict=True)]
    )
    out["sentiment"] = scores
    rows = _read_blind("policy", folder)
    items = [
        PostText(r["text"], kind="official_post", media=tuple(_media(r.get("media", []))))
        for r in rows
    ]
    got = classifier.classify_many(items)
    expected = [set(r["breaches"]) for r in rows]
    found = [{b.rule for b in c.breaches} for c in got]
    rules = sorted(set().union(*expected))
    out["policy"] = {
        "recall": round(
            float(np.mean([bool(f) for e, f in zip(expected, found, strict=True) if e])), 3
        ),
        "false_alarms_on_clean_posts": round(
            float(np.mean([bool(f) for e, f in zip(expected, found, strict=True) if not e])), 3
        ),
        "rule_recall": {
            rule: round(
                float(
                    np.mean([rule in f for e, f in zip(expected, found, strict=True) if rule in e])
                ),
                3,
            )
            for rule in rules
        },
        "posts": len(rows),
    }
    return out


def _media(items: list[Any]) -> list[Any]:
    """Round 1 gives media as records (``{"type": "photo"}``), round 2 as words (``"image"``)."""
    from socmon.records import Media

    words = {"image": "photo", "photo": "photo", "video": "video"}
    return [
        Media(type=words.get(m, "other")) if isinstance(m, str) else Media.model_validate(m)
        for m in items
    ]


def _of(flags: Sequence[bool]) -> str:
    return f"{sum(flags)} of {len(flags)}"


def bundled_sample(classifier: PostClassifier) -> dict[str, Any]:
    """The sample's agreement with the labels it was generated with."""
    expected_lines = (SAMPLE_DIR / "expected.jsonl").read_text(encoding="utf-8").splitlines()
    expected = {e["key"]: e for e in map(json.loads, expected_lines)}
    posts: list[tuple[str, PostText]] = []
    for line in (SAMPLE_DIR / "sample.jsonl").read_text(encoding="utf-8").splitlines():
        try:  # the sample has malformed lines on purpose; they have no expected labels
            row = json.loads(line)
            key = f"{row['platform']}:{row['id']}"
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
        if key in expected:
            media = tuple(_media(row.get("media") or []))
            posts.append((key, PostText(row["text"], row["kind"], media)))
    got = classifier.classify_many([item for _, item in posts])
    rows = [(expected[key], c) for (key, _), c in zip(posts, got, strict=True)]
    mentions = [
        (e, c)
        for e, c in rows
        if e["category"] != "official_post" and not e["category"].startswith("official")
    ]
    return {
        "posts": len(rows),
        "sentiment_agreement": round(
            float(np.mean([e["sentiment"] == c.sentiment for e, c in rows])), 3
        ),
        "mention_sentiment": per_class(
            [e["sentiment"] for e, _ in mentions],
            [c.sentiment for _, c in mentions],
            SENTIMENT_CLASSES,
        ),
        "urgent_flagged": _of([c.urgent for e, c in rows if e["urgent"]]),
        "urgent_false_alarms": sum(c.urgent for e, c in rows if not e["urgent"]),
        "compliments_as_concern": sum(
            1
            for e, c in rows
            if e["sentiment"] == "compliment" and c.sentiment == "concern" and not c.unsure
        ),
        "abusive_flagged": _of([c.abusive for e, c in rows if e["abusive"]]),
        "abusive_false_alarms": sum(c.abusive for e, c in rows if not e["abusive"]),
    }


def speed(model: EncoderModel, data_dir: Path, n: int = 1000) -> dict[str, Any]:
    texts = [x for x, _ in tweeteval(data_dir, "sentiment", "val")][:n]
    model.judge(texts[:64])
    started = time.perf_counter()
    model.judge(texts)
    return {
        "posts_per_second_one_thread": round(n / (time.perf_counter() - started), 1),
        "posts": n,
    }


def evaluate(
    folder: Path, held_out_trust: str | None, data_dir: Path | None = None
) -> dict[str, Any]:
    data_dir = data_dir or default_data_dir()
    model = EncoderModel(folder, threads=1)
    held_out_trust = held_out_trust or model.meta.get("held_out_trust")
    settings = load_settings()
    policy = policy_rules(settings)
    classifier = PostClassifier(settings.departments, encoder=model, policy=policy)
    fast = PostClassifier(settings.departments, fast=True, policy=policy)
    timed = speed(model, data_dir)  # first, on a quiet process (make bench has the real figure)
    round2 = (ROUND2_DIR / "SHA256SUMS").exists()
    return {
        "model": model.name,
        "folder": str(folder),
        "dev": dev_splits(model, data_dir, held_out_trust),
        "blind": blind_sets(classifier),
        **({"blind_round2": blind_sets(classifier, ROUND2_DIR)} if round2 else {}),
        "sample": bundled_sample(classifier),
        "fast": {
            "model": fast.name,
            "blind": blind_sets(fast),
            **({"blind_round2": blind_sets(fast, ROUND2_DIR)} if round2 else {}),
            "sample": bundled_sample(fast),
        },
        "speed": timed,
        "size_mb": round(sum(f.stat().st_size for f in folder.iterdir()) / 1e6, 1),
    }


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _blind_table(title: str, blind: dict[str, Any], fast: dict[str, Any]) -> list[str]:
    """One round's blind sets, the judgement model beside the fast design."""
    u, a, s, p = blind["urgent"], blind["abuse"], blind["sentiment"], blind["policy"]
    fu, fa, fs, fp = fast["urgent"], fast["abuse"], fast["sentiment"], fast["policy"]
    return [
        "",
        title,
        "",
        "The whole classifier with the default config; `fast` is the linear models with the "
        "phrase rules (`classifier.model: fast`, the design before this model), on the same posts.",
        "",
        _row("set", "measure", "encoder", "fast", "target"),
        _row("---", "---", "---:", "---:", "---:"),
        _row("urgent", "recall", u["recall"], fu["recall"], "≥ 0.95"),
        _row(
            "urgent",
            "false alarms on near misses",
            u["false_alarms_on_near_misses"],
            fu["false_alarms_on_near_misses"],
            "≤ 0.05",
        ),
        *[
            _row("urgent", f"recall, {c}", v, fu["recall_by_category"].get(c, ""), "")
            for c, v in u["recall_by_category"].items()
        ],
        _row(
            "abuse",
            "abusive replies flagged",
            a["abusive_replies_flagged"],
            fa["abusive_replies_flagged"],
            "≥ 0.90",
        ),
        _row(
            "abuse",
            "angry complaints flagged",
            a["angry_complaints_flagged"],
            fa["angry_complaints_flagged"],
            "≤ 0.05",
        ),
        _row("abuse", "other replies flagged", a["other_flagged"], fa["other_flagged"], ""),
        _row("sentiment (Trust mentions)", "macro-F1", s["macro_f1"], fs["macro_f1"], "≥ 0.90"),
        *[
            _row("sentiment (Trust mentions)", f"F1 {c}", m["f1"], fs["per_class"][c]["f1"], "")
            for c, m in s["per_class"].items()
        ],
        _row(
            "sentiment (Trust mentions)",
            "mixed posts read as concern",
            s["mixed_as_concern"],
            fs["mixed_as_concern"],
            "",
        ),
        _row(
            "sentiment (Trust mentions)",
            "compliments read as concern",
            s["compliments_as_concern"],
            fs["compliments_as_concern"],
            "",
        ),
        _row(
            "sentiment (Trust mentions)",
            "concerns marked unsure",
            s["concerns_marked_unsure"],
            fs["concerns_marked_unsure"],
            "",
        ),
        _row("policy (official posts)", "recall", p["recall"], fp["recall"], "≥ 0.90"),
        _row(
            "policy (official posts)",
            "false alarms on clean posts",
            p["false_alarms_on_clean_posts"],
            fp["false_alarms_on_clean_posts"],
            "≤ 0.10",
        ),
        *[
            _row("policy (official posts)", f"recall, {r}", v, fp["rule_recall"].get(r, ""), "")
            for r, v in p["rule_recall"].items()
        ],
    ]


def markdown(results: dict[str, Any]) -> str:
    """``eval/encoder.md``: every figure of ``results``."""
    dev, blind, sample = results["dev"], results["blind"], results["sample"]
    loto = dev.get("nhs_feedback_unseen_trust")
    lines = [
        "# The judgement model, measured",
        "",
        f"Model `{results['model']}` ({results['size_mb']} MB), written by `make eval` "
        "(`python -m stream_processors.classify.training.evaluate_encoder --markdown`). "
        "Nothing here was trained on: the `val` splits, a Trust left out of training, and the "
        "frozen blind sets of `eval/blind/`, scored through the whole classifier.",
        "",
        "## Development splits (per class)",
        "",
        _row("split", "class", "precision", "recall", "F1", "support"),
        _row("---", "---", "---:", "---:", "---:", "---:"),
    ]
    splits = [
        ("tweet sentiment val", dev["tweet_sentiment_val"]),
        ("offensive val", dev["offensive_val"]),
        ("hate val", dev["hate_val"]),
    ]
    if loto:
        splits.append((f"NHS feedback, {loto['trust']} left out", loto))
    for name, s in splits:
        for cls, m in s["per_class"].items():
            lines.append(_row(name, cls, m["precision"], m["recall"], m["f1"], m["support"]))
        lines.append(
            _row(name, "**macro**", "", f"**{s['macro_recall']}**", f"**{s['macro_f1']}**", s["n"])
        )
    if loto:
        lines += [
            "",
            f"NHS feedback from {loto['trust']} (never trained on): mean F1 of compliment and "
            f"concern **{loto['mean_f1_compliment_concern']}** (the model was trained without "
            "that Trust's comments).",
        ]
    fsample = results["fast"]["sample"]
    s = blind["sentiment"]
    lines += _blind_table("## Blind sets (eval/blind/, round 1)", blind, results["fast"]["blind"])
    if "blind_round2" in results:
        lines += _blind_table(
            "## Blind sets, round 2 (eval/blind/round2/, written before this model was measured)",
            results["blind_round2"],
            results["fast"]["blind_round2"],
        )
    lines += [
        "",
        "## The bundled sample (socmon/sample, agreement with its expected labels)",
        "",
        _row("measure", "encoder", "fast"),
        _row("---", "---:", "---:"),
        *[
            _row(name, sample[key], fsample[key])
            for name, key in (
                ("sentiment agreement, all posts", "sentiment_agreement"),
                ("urgent posts flagged", "urgent_flagged"),
                ("urgent false alarms", "urgent_false_alarms"),
                ("compliments alerted as concerns", "compliments_as_concern"),
                ("abusive posts flagged", "abusive_flagged"),
                ("abusive false alarms", "abusive_false_alarms"),
            )
        ],
        _row(
            "mention sentiment macro-F1",
            sample["mention_sentiment"]["macro_f1"],
            fsample["mention_sentiment"]["macro_f1"],
        ),
        "",
        "## Reliability (is the confidence right?)",
        "",
        _row("data", "confidence band", "posts", "mean confidence", "accuracy"),
        _row("---", "---", "---:", "---:", "---:"),
    ]
    for name, rel in (
        ("tweet sentiment val", dev["tweet_sentiment_val"]["reliability"]),
        ("blind Trust mentions", s["reliability"]),
    ):
        lines += [
            _row(name, b["band"], b["posts"], b["mean_confidence"], b["accuracy"])
            for b in rel["bins"]
        ]
        lines.append(_row(name, "**expected calibration error**", "", "", f"**{rel['ece']}**"))
    lines += [
        "",
        f"Speed: {results['speed']['posts_per_second_one_thread']} posts/s for the model alone "
        "on one thread (tweets, one post per run).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure the judgement model (make eval).")
    parser.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL_DIR, help="model folder (default: bundled)"
    )
    parser.add_argument(
        "--held-out-trust",
        default=None,
        help="the NHS Trust the model was trained without (default: what its model.json says)",
    )
    parser.add_argument("--out", type=Path, default=EVAL_DIR / "encoder.json")
    parser.add_argument("--markdown", action="store_true", help="also write eval/encoder.md")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results = evaluate(args.model, args.held_out_trust)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    written = [str(args.out)]
    if args.markdown:
        (EVAL_DIR / "encoder.md").write_text(markdown(results), encoding="utf-8")
        written.append(str(EVAL_DIR / "encoder.md"))
    print(f"wrote {' and '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
