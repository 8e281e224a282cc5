"""The idle probe trusts committed offsets, not the broker's end offsets."""

from __future__ import annotations

from kafka import KafkaConsumer

from socmon.kafka import ensure_topics, make_producer, pending_records


def test_pending_counts_records_past_the_group_commit_and_zero_once_committed(kafka_settings):
    ensure_topics(kafka_settings)
    topic = kafka_settings.topics.posts_raw
    bootstrap = kafka_settings.bootstrap_servers
    assert pending_records(bootstrap, "g-test", [topic]) == 0
    producer = make_producer(bootstrap)
    for i in range(5):
        producer.send(topic, key=f"k{i}".encode(), value=b"v")
    producer.flush()
    assert pending_records(bootstrap, "g-test", [topic]) == 5

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id="g-test",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
    )
    seen = 0
    while seen < 5:
        seen += sum(len(v) for v in consumer.poll(timeout_ms=1000).values())
    consumer.commit()
    consumer.close()
    assert pending_records(bootstrap, "g-test", [topic]) == 0


def test_topics_are_created_with_their_retention(kafka_settings):
    """What a topic holds of a post ages out (the broker reports the setting)."""
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    topic = kafka_settings.topics.posts_raw
    kafka_settings = kafka_settings.model_copy(update={"topic_retention_days": 30})
    assert ensure_topics(kafka_settings, [topic]) == [topic]
    admin = KafkaAdminClient(bootstrap_servers=kafka_settings.bootstrap_servers)
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all"
        )
    finally:
        admin.close()
    assert described["topic"][topic]["retention.ms"]["value"] == str(30 * 86_400_000)


def test_kafka_pythons_own_socket_race_is_one_warning_line_not_a_traceback(caplog):
    import logging

    import socmon.kafka  # noqa: F401  (installs the filter)

    logger = logging.getLogger("kafka.net.transport")
    with caplog.at_level(logging.WARNING, logger="kafka.net.transport"):
        try:
            None.recv(4096)  # type: ignore[attr-defined]  # what the library's IO loop does
        except AttributeError:
            logger.exception("<KafkaConnection node_id=1>: Error receiving network data")
        try:
            raise ValueError("something else")
        except ValueError:
            logger.exception("<KafkaConnection node_id=1>: another error")
    race, other = caplog.records
    assert race.levelname == "WARNING"
    assert race.exc_info is None
    assert "Error receiving network data" in race.getMessage()
    assert "Traceback" not in caplog.text.split("another error")[0]
    assert other.levelname == "ERROR"  # anything else of the library passes untouched
    assert other.exc_info is not None
