"""The committed transformer measurements: the Markdown is what the JSON says, and the summary
is computed from the folds, not copied."""

from __future__ import annotations

import json

from stream_processors.classify.evaluate import EVAL_DIR
from stream_processors.classify.evaluate_transformer import summary, to_markdown


def test_the_committed_table_is_rendered_from_the_committed_numbers() -> None:
    results = json.loads((EVAL_DIR / "transformer.json").read_text())
    assert to_markdown(results) == (EVAL_DIR / "transformer.md").read_text()
    assert summary(results) == results["summary"]


def test_the_summary_averages_the_folds() -> None:
    def fold(macro: float, two: float, recall: float, concern: float) -> dict[str, object]:
        return {
            "macro_f1": macro,
            "macro_f1_compliment_concern": two,
            "tweets": {"macro_recall": recall, "per_class": {"concern": {"f1": concern}}},
        }

    results = {
        "sentiment": {
            "folds": {"Trust A": fold(0.5, 0.8, 0.6, 0.5), "Trust B": fold(0.3, 0.4, 0.7, 0.6)},
            "posts_per_second": 100.0,
        }
    }
    out = summary(results)
    assert out["loto_mean_macro_f1"] == 0.4
    assert abs(out["loto_mean_f1_compliment_concern"] - 0.6) < 1e-12
    assert abs(out["tweets_macro_recall"] - 0.65) < 1e-12
    assert abs(out["tweets_concern_f1"] - 0.55) < 1e-12
    assert "offensive_macro_f1" not in out
