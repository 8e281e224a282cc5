"""Settings of the stream processors' classifier: which model judges posts, how sure it must be."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from socmon.config import Section


class ClassifierSettings(Section):
    model: Literal["encoder", "fast"] = Field(
        default="encoder",
        description="encoder: the fine-tuned text encoder (ONNX); "
        "fast: the linear models and phrase rules",
    )
    encoder_model: Path | None = Field(
        default=None,
        description="a model folder from `socmon train --model encoder`; default: the bundled one",
    )
    concern_sure: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="a concern less sure than this goes to communications to check, marked "
        "unsure; default: the model's own (0.6)",
    )
    sentiment_model: Path | None = Field(
        default=None,
        description="(fast) a folder from `socmon train --task sentiment`; default: bundled",
    )
    abuse_model: Path | None = Field(
        default=None,
        description="(fast) a folder from `socmon train --task abuse`; default: the bundled one",
    )
