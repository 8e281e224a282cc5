"""Precision and recall of the rule-based classifiers on our own test set.

``python -m stream_processors.classify.training.rules_eval`` reads tests/data/policy_cases.yaml and
tests/data/urgency_cases.yaml (from the repository root) and prints one row per policy rule and
per urgent category; ``--markdown`` prints the same tables as Markdown for the README, and
``--errors`` lists every case the rules got wrong. The test suite loads the cases through the
same functions, so the table and the tests always agree on what a case means.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from socmon.records import Media
from stream_processors.classify.policy import DEFAULT_ORGANISATION_DOMAINS, RULES, PolicyRules
from stream_processors.classify.urgency import CATEGORIES, detect_urgent

REPO_ROOT = Path(__file__).resolve().parents[3]
POLICY_CASES = REPO_ROOT / "tests" / "data" / "policy_cases.yaml"
URGENCY_CASES = REPO_ROOT / "tests" / "data" / "urgency_cases.yaml"

CaseKind = Literal["fire", "miss"]


class CaseFileError(Exception):
    """A case file is missing or not in the expected shape; the message says which and why."""


@dataclass(frozen=True)
class PolicyCase:
    """One labelled post: the rules that must fire on it, exactly."""

    listed_under: str
    kind: CaseKind
    text: str
    media: tuple[Media, ...]
    expected: frozenset[str]
    xfail: str | None = None

    @property
    def id(self) -> str:
        return f"{self.listed_under}/{self.kind}: {self.text[:60]}"


@dataclass(frozen=True)
class UrgencyCase:
    """One labelled post: the urgent category it must get, or None for not urgent."""

    listed_under: str
    kind: CaseKind
    text: str
    expected: str | None
    xfail: str | None = None

    @property
    def id(self) -> str:
        return f"{self.listed_under}/{self.kind}: {self.text[:60]}"


@dataclass
class Score:
    """Counts for one rule or category over the whole case file."""

    name: str
    fire_cases: int = 0
    near_misses: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass
class Report:
    """Scores per rule plus the cases whose outcome differs from the label."""

    title: str
    scores: list[Score]
    errors: list[tuple[str, str]] = field(default_factory=list)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        msg = (
            f"case file not found: {path}. The cases live in the source repository under "
            "tests/data/; run from a checkout, or pass the path explicitly."
        )
        raise CaseFileError(msg)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        msg = f"{path}: not valid YAML: {exc}"
        raise CaseFileError(msg) from exc
    if not isinstance(data, dict):
        msg = f"{path}: the top level must be a mapping"
        raise CaseFileError(msg)
    return data


def _entries(path: Path, section: Any, name: str) -> Iterable[tuple[CaseKind, dict[str, Any]]]:
    if not isinstance(section, dict):
        msg = f"{path}: {name} must be a mapping with 'fire' and 'miss' lists"
        raise CaseFileError(msg)
    for kind in ("fire", "miss"):
        for entry in section.get(kind) or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
                msg = f"{path}: {name}/{kind}: every case needs a 'text' string, got {entry!r}"
                raise CaseFileError(msg)
            yield kind, entry


def _media(path: Path, raw: Any) -> tuple[Media, ...]:
    items = []
    for item in raw or []:
        try:
            items.append(Media(type=item) if isinstance(item, str) else Media(**item))
        except (TypeError, ValueError) as exc:
            msg = f"{path}: not a valid media item {item!r}: {exc}"
            raise CaseFileError(msg) from exc
    return tuple(items)


def load_policy_cases(path: Path = POLICY_CASES) -> tuple[PolicyRules, list[PolicyCase]]:
    """The rules configured as the file's ``config`` says, and every case in the file."""
    data = _read_yaml(path)
    config = data.get("config") or {}
    rules = PolicyRules(
        allowed_phone_numbers=config.get("allowed_phone_numbers", ()),
        allowed_email_domains=config.get("allowed_email_domains", DEFAULT_ORGANISATION_DOMAINS),
        allowed_postcodes=config.get("allowed_postcodes", ()),
    )
    cases = []
    for rule, section in (data.get("rules") or {}).items():
        if rule not in RULES:
            msg = f"{path}: unknown rule {rule!r}; the rules are {', '.join(RULES)}"
            raise CaseFileError(msg)
        for kind, entry in _entries(path, section, rule):
            also = set(entry.get("also") or [])
            unknown = sorted(also - set(RULES))
            if unknown:
                msg = f"{path}: {rule}/{kind}: unknown rule(s) in 'also': {', '.join(unknown)}"
                raise CaseFileError(msg)
            expected = also | {rule} if kind == "fire" else also - {rule}
            cases.append(
                PolicyCase(
                    listed_under=rule,
                    kind=kind,
                    text=entry["text"],
                    media=_media(path, entry.get("media")),
                    expected=frozenset(expected),
                    xfail=entry.get("xfail"),
                )
            )
    return rules, cases


def load_urgency_cases(path: Path = URGENCY_CASES) -> list[UrgencyCase]:
    """Every case in the urgency file."""
    data = _read_yaml(path)
    cases = []
    for category, section in (data.get("categories") or {}).items():
        if category not in CATEGORIES:
            msg = f"{path}: unknown category {category!r}; they are {', '.join(CATEGORIES)}"
            raise CaseFileError(msg)
        for kind, entry in _entries(path, section, category):
            cases.append(
                UrgencyCase(
                    listed_under=category,
                    kind=kind,
                    text=entry["text"],
                    expected=category if kind == "fire" else None,
                    xfail=entry.get("xfail"),
                )
            )
    return cases


def policy_rules_fired(rules: PolicyRules, case: PolicyCase) -> frozenset[str]:
    """The set of rule ids that fire on the case's text and media."""
    return frozenset(b.rule for b in rules.check(case.text, case.media))


def evaluate_policy(rules: PolicyRules, cases: Sequence[PolicyCase]) -> Report:
    """Per-rule counts: a case is a positive for a rule when the rule is in its expected set."""
    scores = {rule: Score(rule) for rule in RULES}
    errors = []
    for case in cases:
        fired = policy_rules_fired(rules, case)
        score = scores[case.listed_under]
        if case.kind == "fire":
            score.fire_cases += 1
        else:
            score.near_misses += 1
        for rule, s in scores.items():
            if rule in fired and rule in case.expected:
                s.tp += 1
            elif rule in fired:
                s.fp += 1
            elif rule in case.expected:
                s.fn += 1
        if fired != case.expected:
            extra = ", ".join(sorted(fired - case.expected)) or "-"
            missing = ", ".join(sorted(case.expected - fired)) or "-"
            errors.append((case.id, f"extra: {extra}; missing: {missing}"))
    return Report("Policy rules (official posts)", list(scores.values()), errors)


def evaluate_urgency(cases: Sequence[UrgencyCase]) -> Report:
    """Per-category counts of `detect_urgent` against the labels."""
    scores: dict[str, Score] = {c: Score(c) for c in CATEGORIES}
    errors = []
    for case in cases:
        got = detect_urgent(case.text).category
        score = scores[case.listed_under]
        if case.kind == "fire":
            score.fire_cases += 1
        else:
            score.near_misses += 1
        if got == case.expected:
            if got is not None:
                scores[got].tp += 1
            continue
        if got is not None:
            scores[got].fp += 1
        if case.expected is not None:
            scores[case.expected].fn += 1
        errors.append((case.id, f"expected {case.expected}, got {got}"))
    return Report("Urgent posts", list(scores.values()), errors)


def _total(scores: Sequence[Score]) -> Score:
    total = Score("all (micro)")
    for s in scores:
        total.fire_cases += s.fire_cases
        total.near_misses += s.near_misses
        total.tp += s.tp
        total.fp += s.fp
        total.fn += s.fn
    return total


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


_HEADER = ("rule", "must fire", "near misses", "TP", "FP", "FN", "precision", "recall")


def _rows(report: Report) -> list[tuple[str, ...]]:
    return [
        (
            s.name,
            str(s.fire_cases),
            str(s.near_misses),
            str(s.tp),
            str(s.fp),
            str(s.fn),
            _ratio(s.precision),
            _ratio(s.recall),
        )
        for s in [*report.scores, _total(report.scores)]
    ]


def format_table(report: Report, markdown: bool = False) -> str:
    """The report as an aligned text table, or as a Markdown table."""
    rows = _rows(report)
    if markdown:
        lines = [f"**{report.title}**", ""]
        lines.append("| " + " | ".join(_HEADER) + " |")
        lines.append("| --- " + "| ---: " * (len(_HEADER) - 1) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [_HEADER, *rows]) for i in range(len(_HEADER))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    return "\n".join([report.title, line(_HEADER), *(line(r) for r in rows)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stream_processors.classify.training.rules_eval",
        description="Precision and recall of the policy rules and the urgent-post detector.",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--errors", action="store_true", help="list the cases that went wrong")
    parser.add_argument("--policy-cases", type=Path, default=POLICY_CASES)
    parser.add_argument("--urgency-cases", type=Path, default=URGENCY_CASES)
    args = parser.parse_args(argv)
    try:
        rules, policy_cases = load_policy_cases(args.policy_cases)
        urgency_cases = load_urgency_cases(args.urgency_cases)
    except CaseFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    reports = [evaluate_policy(rules, policy_cases), evaluate_urgency(urgency_cases)]
    print("\n\n".join(format_table(r, markdown=args.markdown) for r in reports))
    if args.errors:
        for report in reports:
            for case_id, problem in report.errors:
                print(f"WRONG {case_id!r}: {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
