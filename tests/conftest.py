"""Fixtures shared by every test package: real servers on free loopback ports."""

from tests.broker import broker, kafka_settings  # noqa: F401
from tests.servers import elasticsearch_client, elasticsearch_url  # noqa: F401
