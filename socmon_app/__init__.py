"""The composition root: the `socmon` command and the supervisor of the embedded pipeline.

This is the one place that knows every stage (``ingest``, ``stream_processors``, ``alerting``,
``dashboards``) and wires them together; the stages know only the shared ground (``socmon``) and
never each other. ``make lint`` checks these layers (import-linter, see pyproject.toml).
"""
