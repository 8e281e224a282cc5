"""Checkpoints per source, in one JSON file in the data directory (written atomically).

One store is shared by the polled sources and the push sources' threads, so every read and write
holds a lock: a write never serialises the dict while another thread changes it.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path


class CheckpointStore:
    """`source name -> checkpoint string`, persisted after every successful produce."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, str] = {}
        self._lock = threading.Lock()
        if path.exists():
            try:
                self._data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                msg = f"checkpoint file {path} is corrupt ({exc}); move it away to start over"
                raise ValueError(msg) from exc

    def get(self, source: str) -> str | None:
        with self._lock:
            return self._data.get(source)

    def all(self) -> dict[str, str]:
        """Every source's checkpoint (a copy)."""
        with self._lock:
            return dict(self._data)

    def replace_all(self, checkpoints: dict[str, str]) -> None:
        """Make the store hold exactly `checkpoints` (one atomic write)."""
        with self._lock:
            self._data = dict(checkpoints)
            self._write()

    def set(self, source: str, checkpoint: str | None) -> None:
        with self._lock:
            if checkpoint is None:
                self._data.pop(source, None)
            else:
                self._data[source] = checkpoint
            self._write()

    def reset(self, source: str) -> None:
        self.set(source, None)

    def _write(self) -> None:
        """Called with the lock held: the file always holds one consistent state."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".checkpoints.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self._data, fh, indent=1, sort_keys=True)
        os.replace(tmp, self.path)
