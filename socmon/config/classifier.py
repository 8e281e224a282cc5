"""Settings of the stream processors' classifier: which trained models it loads."""

from pathlib import Path

from pydantic import Field

from socmon.config import Section


class ClassifierSettings(Section):
    sentiment_model: Path | None = Field(
        default=None,
        description="a model folder from `socmon train --task sentiment`; default: the bundled one",
    )
    abuse_model: Path | None = Field(
        default=None,
        description="a model folder from `socmon train --task abuse`; default: the bundled one",
    )
