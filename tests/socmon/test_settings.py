"""Settings: the bundled default loads, broken files say where and what, env overrides files."""

from __future__ import annotations

import pytest

from socmon.settings import ConfigError, load_settings


def test_the_bundled_default_configuration_loads():
    settings = load_settings()
    assert len(settings.departments) == 15
    assert {a.handle for a in settings.accounts} >= {"NorthbrookNHS", "NorthbrookMaternity"}


def test_a_wrong_type_names_the_file_and_the_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("kafka:\n  partitions: many\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(path) in str(err.value)
    assert "kafka.partitions" in str(err.value)
    assert "integer" in str(err.value)


def test_an_unknown_field_is_an_error_not_ignored(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("index:\n  backnd: sqlite\n")
    with pytest.raises(ConfigError, match=r"index\.backnd"):
        load_settings(path)


def test_invalid_yaml_gives_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("kafka:\n  partitions: [1, 2\n")
    with pytest.raises(ConfigError, match=r"line \d+"):
        load_settings(path)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.yaml")


def test_duplicate_department_ids_are_rejected(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("departments:\n  - {id: ed, name: A}\n  - {id: ed, name: B}\n")
    with pytest.raises(ConfigError, match="appears twice"):
        load_settings(path)


def test_environment_variables_override_the_file(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text("kafka:\n  bootstrap_servers: a:1\n")
    monkeypatch.setenv("SOCMON_KAFKA__BOOTSTRAP_SERVERS", "b:2")
    assert load_settings(path).kafka.bootstrap_servers == "b:2"


def test_secrets_are_hidden_in_dumps(monkeypatch):
    monkeypatch.setenv("SOCMON_INDEX__ELASTICSEARCH_PASSWORD", "hunter2")
    settings = load_settings()
    assert settings.index.elasticsearch_password is not None
    assert settings.index.elasticsearch_password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in settings.model_dump_json()


def test_a_secret_written_in_the_file_is_refused_and_the_variable_named(tmp_path):
    path = tmp_path / "leaky.yaml"
    path.write_text("connectors:\n  twitter:\n    bearer_token: abc123\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert "connectors.twitter.bearer_token" in str(err.value)
    assert "SOCMON_CONNECTORS__TWITTER__BEARER_TOKEN" in str(err.value)
    assert "abc123" not in str(err.value)


def test_a_secret_from_the_environment_reaches_a_nested_section(monkeypatch):
    monkeypatch.setenv("SOCMON_CONNECTORS__TWITTER__BEARER_TOKEN", "abc123")
    token = load_settings().connectors.twitter.bearer_token
    assert token is not None
    assert token.get_secret_value() == "abc123"


def test_a_data_dir_that_is_a_file_is_a_configuration_error(tmp_path):
    afile = tmp_path / "not-a-folder"
    afile.write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        load_settings(None, data_dir=afile)


def test_an_empty_environment_variable_counts_as_not_set(monkeypatch):
    monkeypatch.setenv("SOCMON_DASHBOARD__SESSION_SECRET", "")
    monkeypatch.setenv("SOCMON_METRICS__PORT", "")
    settings = load_settings(None)
    assert settings.dashboard.session_secret is None
    assert settings.metrics.port == load_settings(None, metrics={}).metrics.port


def test_the_embedded_workers_default_to_the_cores_and_never_exceed_the_partitions():
    import os

    from socmon.settings import EmbeddedSettings

    cores = len(os.sched_getaffinity(0))
    assert EmbeddedSettings().worker_count(partitions=256) == cores
    assert EmbeddedSettings().worker_count(partitions=1) == 1
    assert EmbeddedSettings(workers=8).worker_count(partitions=4) == 4
    assert EmbeddedSettings(workers=2).worker_count(partitions=4) == 2
