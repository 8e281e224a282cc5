"""Measure the optional transformer models the way ``evaluate.py`` measures the default ones.

``python -m stream_processors.classify.evaluate_transformer [--tasks abuse,sentiment]``
(``make eval-transformer``; needs the ``transformer`` extra, about an hour on 2 cores).

- abuse: fine-tuned on TweetEval offensive and hate (train splits), scored on both val splits;
- sentiment: leave-one-Trust-out as for the default model (each fold fine-tuned on two Trusts,
  the even lines of ``sentiment_val`` and the synthetic enquiries), and each fold model scored on
  the odd lines of ``sentiment_val``, which no model is trained on;
- speed in posts per second on one core.

Results go to ``eval/transformer.json`` and ``eval/transformer.md``, written after every step so
a long run that is stopped keeps what it measured. Only train and validation splits are used.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from socmon.records import SENTIMENTS
from stream_processors.classify import abuse
from stream_processors.classify.evaluate import (
    EVAL_DIR,
    SEED,
    _two_class_f1,
    evaluate_abuse,
    posts_per_second,
    scores,
)
from stream_processors.classify.train import (
    default_abuse_examples,
    default_data_dir,
    fine_tune_abuse,
    fine_tune_sentiment,
    load_pxtextmining,
    load_tweet_sentiment,
    sentiment_training_set,
    split_tweet_sentiment,
    transformer_examples,
)
from stream_processors.classify.transformer import (
    ABUSE_FINE_TUNE,
    SENTIMENT_FINE_TUNE,
    FineTuneConfig,
)

TASKS = ("abuse", "sentiment")


def _progress(prefix: str) -> Any:
    return lambda line: print(f"  {prefix}: {line}", flush=True)


def evaluate_abuse_model(data_dir: Path, config: FineTuneConfig) -> dict[str, Any]:
    examples = default_abuse_examples(data_dir)
    print(f"abuse: fine-tuning on {len(examples)} tweets", flush=True)
    started = time.perf_counter()
    model = fine_tune_abuse(examples, SEED, config, progress=_progress("abuse"))
    result: dict[str, Any] = {
        "train_seconds": round(time.perf_counter() - started, 1),
        "threshold": model.threshold,
    }
    for task in ("offensive", "hate"):
        result[task] = evaluate_abuse(model, data_dir, task)
        print(f"  {task}_val macro-F1 {result[task]['macro_f1']:.3f}", flush=True)
    texts = [e.text for e in load_tweet_sentiment(data_dir, "val")][:512]
    result["posts_per_second"] = posts_per_second(model.predict, texts)
    linear = abuse.load_default()
    result["linear"] = {
        task: evaluate_abuse(linear, data_dir, task) for task in ("offensive", "hate")
    }
    return result


def evaluate_sentiment_folds(
    data_dir: Path, config: FineTuneConfig, trusts: list[str] | None
) -> dict[str, Any]:
    """Leave-one-Trust-out with the transformer recipe; each fold model also scores the tweets.

    ``{"folds": {trust: scores}, "posts_per_second": the first fold model's speed}``."""
    feedback = load_pxtextmining(data_dir)
    tweets_train, tweets_test = split_tweet_sentiment(load_tweet_sentiment(data_dir, "val"))
    folds: dict[str, Any] = {}
    speed: float | None = None
    for trust in trusts or sorted({e.group for e in feedback}):
        training = transformer_examples(
            sentiment_training_set([e for e in feedback if e.group != trust], tweets_train)
        )
        held_out = [e for e in feedback if e.group == trust]
        print(f"sentiment fold {trust}: fine-tuning on {len(training)}", flush=True)
        started = time.perf_counter()
        model = fine_tune_sentiment(training, SEED, config, progress=_progress(trust))
        seconds = round(time.perf_counter() - started, 1)
        predicted = [r.label for r in model.predict([e.text for e in held_out])]
        fold = scores([e.label for e in held_out], predicted, SENTIMENTS)
        fold["macro_f1_compliment_concern"] = _two_class_f1([e.label for e in held_out], predicted)
        tweet_predicted = [r.label for r in model.predict([e.text for e in tweets_test])]
        fold["tweets"] = scores([e.label for e in tweets_test], tweet_predicted, SENTIMENTS)
        fold["train_seconds"] = seconds
        if speed is None:
            speed = posts_per_second(model.predict, [e.text for e in held_out][:512])
        folds[trust] = fold
        print(
            f"  {trust}: macro-F1 {fold['macro_f1']:.3f}, compliment/concern "
            f"{fold['macro_f1_compliment_concern']:.3f}; tweets macro-recall "
            f"{fold['tweets']['macro_recall']:.3f}",
            flush=True,
        )
    return {"folds": folds, "posts_per_second": speed}


def summary(results: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    folds = results.get("sentiment", {}).get("folds", {})
    if folds:
        out["loto_mean_macro_f1"] = float(np.mean([f["macro_f1"] for f in folds.values()]))
        out["loto_mean_f1_compliment_concern"] = float(
            np.mean([f["macro_f1_compliment_concern"] for f in folds.values()])
        )
        tweets = [f["tweets"] for f in folds.values()]
        out["tweets_macro_recall"] = float(np.mean([t["macro_recall"] for t in tweets]))
        out["tweets_concern_f1"] = float(np.mean([t["per_class"]["concern"]["f1"] for t in tweets]))
    if "abuse" in results:
        out["offensive_macro_f1"] = results["abuse"]["offensive"]["macro_f1"]
        out["hate_macro_f1"] = results["abuse"]["hate"]["macro_f1"]
    return out


def to_markdown(results: dict[str, Any]) -> str:
    config = results["config"]["sentiment"]
    lines = [
        "# The optional transformer models (development data)",
        "",
        "all-MiniLM-L6-v2 fine-tuned end to end (`stream_processors/classify/transformer.py`), "
        f"{config['epochs']} epochs, learning rate {config['learning_rate']}, batch "
        f"{config['batch_size']}, at most {config['max_length']} tokens; class weights "
        f"{config['class_weight']} for sentiment, "
        f"{results['config']['abuse']['class_weight']} for abuse. Produced by "
        "`make eval-transformer`; only train and validation splits used.",
        "",
        "| measure | transformer | target |",
        "| --- | --- | --- |",
    ]
    s = summary(results)
    rows = [
        ("leave-one-Trust-out, mean macro-F1", "loto_mean_macro_f1", "0.70"),
        (
            "leave-one-Trust-out, mean F1 of compliment and concern",
            "loto_mean_f1_compliment_concern",
            "",
        ),
        ("tweet sentiment macro-recall (mean of the fold models)", "tweets_macro_recall", "0.70"),
        ("tweet concern F1 (mean of the fold models)", "tweets_concern_f1", "0.80"),
        ("offensive_val macro-F1", "offensive_macro_f1", "0.80"),
        ("hate_val macro-F1", "hate_macro_f1", ""),
    ]
    for title, key, target in rows:
        if key in s:
            lines.append(f"| {title} | {s[key]:.3f} | {target} |")
    lines.append("")
    sentiment = results.get("sentiment", {})
    folds = sentiment.get("folds", {})
    if folds:
        lines += [
            "| held-out Trust | macro-F1 | F1 compliment/concern | tweets macro-recall "
            "| tweets concern F1 | minutes to fine-tune |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for trust, fold in folds.items():
            lines.append(
                f"| {trust} | {fold['macro_f1']:.3f} | {fold['macro_f1_compliment_concern']:.3f} "
                f"| {fold['tweets']['macro_recall']:.3f} "
                f"| {fold['tweets']['per_class']['concern']['f1']:.3f} "
                f"| {fold['train_seconds'] / 60:.0f} |"
            )
        lines.append("")
        if sentiment.get("posts_per_second") is not None:
            lines.append(
                f"Sentiment speed: {sentiment['posts_per_second']:.0f} NHS comments/s, "
                f"{results['threads']} thread(s)."
            )
            lines.append("")
    if "abuse" in results:
        a = results["abuse"]
        lines += [
            "| abuse | transformer | default linear model |",
            "| --- | --- | --- |",
            f"| offensive_val macro-F1 | {a['offensive']['macro_f1']:.3f} "
            f"| {a['linear']['offensive']['macro_f1']:.3f} |",
            f"| hate_val macro-F1 | {a['hate']['macro_f1']:.3f} "
            f"| {a['linear']['hate']['macro_f1']:.3f} |",
            f"| offensive_val F1 of the abusive class | "
            f"{a['offensive']['per_class']['abusive']['f1']:.3f} "
            f"| {a['linear']['offensive']['per_class']['abusive']['f1']:.3f} |",
            "",
            f"Abuse speed: {a['posts_per_second']:.0f} tweets/s, {results['threads']} thread(s); "
            f"fine-tuning took {a['train_seconds'] / 60:.0f} min.",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tasks", default=",".join(TASKS), help="abuse,sentiment")
    parser.add_argument("--folds", default="", help="held-out Trusts, e.g. 'Trust A,Trust C'")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    parser.add_argument("--data", type=Path, default=None, help="shared data folder")
    parser.add_argument("--out", type=Path, default=EVAL_DIR)
    parser.add_argument("--markdown", action="store_true", help="also print the Markdown table")
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    configs = {"abuse": ABUSE_FINE_TUNE, "sentiment": SENTIMENT_FINE_TUNE}
    if args.epochs:
        configs = {task: replace(c, epochs=args.epochs) for task, c in configs.items()}
    data_dir = args.data or default_data_dir()
    results: dict[str, Any] = {
        "config": {task: c.to_json() for task, c in configs.items()},
        "threads": torch.get_num_threads(),
        "data_dir": str(data_dir),
    }
    args.out.mkdir(parents=True, exist_ok=True)

    def write() -> None:
        results["summary"] = summary(results)
        (args.out / "transformer.json").write_text(
            json.dumps(results, indent=2, sort_keys=True) + "\n"
        )
        (args.out / "transformer.md").write_text(to_markdown(results))

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = set(tasks) - set(TASKS)
    if unknown:
        parser.error(f"unknown task(s) {sorted(unknown)}; choose from {', '.join(TASKS)}")
    if "abuse" in tasks:
        results["abuse"] = evaluate_abuse_model(data_dir, configs["abuse"])
        write()
    if "sentiment" in tasks:
        trusts = [t.strip() for t in args.folds.split(",") if t.strip()] or None
        results["sentiment"] = evaluate_sentiment_folds(data_dir, configs["sentiment"], trusts)
        write()
    write()
    print(f"wrote {args.out / 'transformer.md'} and {args.out / 'transformer.json'}")
    if args.markdown:
        print(to_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
