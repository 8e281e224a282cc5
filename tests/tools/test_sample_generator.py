"""The generator of the bundled sample (``python -m tools.sample``): reproducible, not shipped."""

from __future__ import annotations

import random
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path

import pytest

from socmon.sample import EXPECTED_PATH, SAMPLE_PATH
from stream_processors.classify.pii import is_valid_nhs_number, nhs_check_digit
from tools.sample import generate as gen
from tools.sample import phrases

REPO = Path(__file__).resolve().parents[2]


def test_regenerating_gives_identical_bytes(tmp_path) -> None:
    out = tmp_path / "sample.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "tools.sample", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={"PYTHONHASHSEED": "random", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == SAMPLE_PATH.read_bytes()
    assert (tmp_path / "expected.jsonl").read_bytes() == EXPECTED_PATH.read_bytes()


def test_build_is_deterministic_in_process() -> None:
    assert gen.build() == gen.build()


def test_help_says_what_it_writes(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        gen.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "python -m tools.sample" in text
    for written in ("socmon/sample/sample.jsonl", "expected.jsonl", "--out", "--expected"):
        assert written in text


def test_nhs_number_check_digit() -> None:
    assert is_valid_nhs_number("943 476 5919")
    assert not is_valid_nhs_number("943 476 5918")
    assert not is_valid_nhs_number("943 476 591")
    rng = random.Random(1)
    assert all(is_valid_nhs_number(gen.nhs_number(rng)) for _ in range(200))


def test_one_check_digit_for_the_generator_and_the_finder() -> None:
    assert nhs_check_digit("943476591") == 9
    assert nhs_check_digit("999000005") == 0  # the weighted sum is a multiple of 11
    assert nhs_check_digit("999000000") is None  # 11 - 1 = 10: never issued
    for bad in ("94347659", "9434765919", "943 47659", "94347659x"):
        with pytest.raises(ValueError, match="nine digits"):
            nhs_check_digit(bad)


def test_the_phrase_tables_are_data_beside_the_generator() -> None:
    assert phrases.PHRASES_PATH.parent == Path(gen.__file__).parent
    assert phrases.PHRASES_PATH.suffix == ".yaml"
    loaded = phrases.load_phrases()
    assert loaded == gen.PHRASES
    assert len(loaded.mentions) >= 200
    assert {s.sentiment for s in loaded.comments} == set(phrases.SENTIMENTS)


def test_a_malformed_phrase_file_is_refused(tmp_path) -> None:
    text = phrases.PHRASES_PATH.read_text(encoding="utf-8")
    broken = tmp_path / "phrases.yaml"
    broken.write_text(text.replace("sentiment: neutral", "sentiment: meh", 1), encoding="utf-8")
    with pytest.raises(ValueError, match=r"special_mentions\[\d+\]\.sentiment"):
        phrases.load_phrases(broken)
    broken.write_text(text.replace("    + ", "    * ", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="bad phrase table line"):
        phrases.load_phrases(broken)


def test_the_generator_is_not_in_the_runtime_package() -> None:
    assert not resources.files("socmon.sample").joinpath("generate.py").is_file()
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not any(
        fnmatch(name, pattern) for name in ("tools", "tools.sample") for pattern in include
    )
