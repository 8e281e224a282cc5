"""Settings sections owned by one stage each; `socmon.settings.Settings` assembles them."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A settings section: unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")
