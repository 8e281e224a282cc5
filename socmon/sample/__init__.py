"""The bundled synthetic sample that ``socmon up`` replays when no platform credentials are set.

``SAMPLE_PATH`` is the replay file (one JSON object per line, the replay connector's format);
``EXPECTED_PATH`` says, for each valid line and keyed by ``platform:id``, what we intend it to be
(sentiment, departments, abusive, urgent, policy breaches), so tests and demos can compare.
Both files are written by ``python -m tools.sample`` (the generator lives in ``tools/sample/``
of the repository and is not installed with the package); never edit them by hand.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE_PATH: Path = Path(__file__).with_name("sample.jsonl")
EXPECTED_PATH: Path = Path(__file__).with_name("expected.jsonl")

__all__ = ["EXPECTED_PATH", "SAMPLE_PATH"]
