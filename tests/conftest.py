"""Fixtures shared by every test package: real servers on free loopback ports."""

from tests.broker import broker, kafka_settings  # noqa: F401
