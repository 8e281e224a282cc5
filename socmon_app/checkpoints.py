"""Checkpoints that only move on once their posts are processed, for the embedded broker.

The connectors runner saves a source's checkpoint as soon as the broker has acknowledged a poll's
posts. The embedded broker keeps them in memory only, so when it dies (or `socmon up` stops) the
posts not processed yet are gone while the checkpoint has moved past them, and a live platform
would never hand them out again.

So the supervisor keeps a second copy, ``checkpoints.indexed.json``: the runner's checkpoints as
they were at a moment when the pipeline had nothing pending (every committed offset at the end of
its topic: each post produced before that moment was indexed or dead-lettered, and its alerts
handled). Read first, checked after, so the copy is never ahead of what was processed. Before
the runner starts on a new broker (at start-up, or after the broker died), its checkpoints are
put back to that copy: the posts after it are fetched again, and since every write downstream is
idempotent and deliveries are recorded, nothing is indexed or told twice.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.checkpoints import CheckpointStore

RUNNER_FILE = "checkpoints.json"
PROCESSED_FILE = "checkpoints.indexed.json"


class ProcessedCheckpoints:
    """The runner's checkpoints (`RUNNER_FILE`) and their last processed copy."""

    def __init__(self, data_dir: Path) -> None:
        self.runner_path = data_dir / RUNNER_FILE
        self.processed_path = data_dir / PROCESSED_FILE

    def note(self, nothing_pending: Callable[[], bool]) -> bool:
        """Copy the runner's checkpoints if `nothing_pending()` says, after they were read, that
        everything produced is processed; True if the copy changed."""
        current = CheckpointStore(self.runner_path).all()
        if not nothing_pending():
            return False
        processed = CheckpointStore(self.processed_path)
        if processed.all() == current and self.processed_path.exists():
            return False
        processed.replace_all(current)
        return True

    def rewind(self) -> list[str]:
        """Put the runner's checkpoints back to the processed copy (a source that has none there
        starts afresh); returns the sources moved. Nothing happens before the first copy exists
        (an install from before this, or a first start)."""
        if not self.processed_path.exists() or not self.runner_path.exists():
            return []
        runner = CheckpointStore(self.runner_path)
        current = runner.all()
        processed = CheckpointStore(self.processed_path).all()
        rewound = {name: processed[name] for name in current if name in processed}
        if rewound == current:
            return []
        runner.replace_all(rewound)
        return sorted(name for name in current if rewound.get(name) != current[name])
