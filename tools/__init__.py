"""Offline development tools of the repository (not installed with the ``socmon`` wheel).

Run them from the repository root, e.g. ``python -m tools.sample``. Tools sit above the pipeline
stages: they may import ``socmon``, ``ingest``, ``stream_processors`` and the rest, never the
other way round.
"""
