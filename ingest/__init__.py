"""Ingest: connectors that poll the platforms and produce `Post` records into Kafka."""
