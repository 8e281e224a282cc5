"""The deployment files under deploy/: Prometheus and Alertmanager configs checked by their own
tools, the alert rules against the metrics socmon declares, compose and Kubernetes structure, and
the deployment config against the settings schema. No Docker engine is needed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
import yaml
from prometheus_client import CollectorRegistry

from alerting.render import dashboard_link
from socmon.metrics import Metrics
from socmon.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
RULES = DEPLOY / "prometheus" / "rules.yml"
RULES_TESTS = DEPLOY / "prometheus" / "rules.test.yml"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
COMPOSE = DEPLOY / "docker-compose.yml"
CONFIG_EXAMPLE = DEPLOY / "config.example.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
K8S = DEPLOY / "k8s"

# The Debian package that ships each tool (.ci/run installs them).
TOOL_PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}
SOCMON_SERVICES = {"index-setup", "worker", "ingest", "alerting", "dashboard", "webhooks"}
# The long-running socmon processes that serve /metrics on metrics.port.
METRICS_SERVICES = {"worker", "ingest", "alerting"}
DASHBOARD_PORT = 8050  # inside the container; the command sets it
WEBHOOKS_PORT = 8090  # the same for the webhook receiver
# The one variable (deploy/.env) that alert links are built from, and where socmon reads it.
PUBLIC_URL_VARIABLE = "DASHBOARD_PUBLIC_URL"
DASHBOARD_URL_ENV = "SOCMON_ORGANISATION__DASHBOARD_URL"
# Kubernetes: the ConfigMap key holding the same public address.
DASHBOARD_URL_KEY = "dashboard-url"
# Secret keys a pod cannot run without; every other credential is optional.
# long enough for every secret's own rules (the proxy secret needs 16 characters)
PLACEHOLDER = "placeholder-placeholder"
REQUIRED_SECRET_KEYS = {"elasticsearch-password", "dashboard-session-secret", "erasure-key"}
CONFIG_PATH_IN_CONTAINER = "/etc/socmon/config.yaml"
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|KEY", re.IGNORECASE)
# ${VAR}, ${VAR:-default}, ${VAR:?message}: a reference to the environment, never a value.
ENV_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?][^}]*)?\}$")
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed: apt-get install {TOOL_PACKAGES[name]}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def _run_tool(name: str, *args: str) -> None:
    result = subprocess.run(
        [_tool(name), *args], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, (
        f"{name} {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    )


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- Prometheus and Alertmanager, checked by their own tools -------------------------------


def test_rules_pass_promtool_check() -> None:
    _run_tool("promtool", "check", "rules", str(RULES))


def test_prometheus_config_passes_promtool_check() -> None:
    # Also resolves rule_files relative to the config, as Prometheus does in the container.
    _run_tool("promtool", "check", "config", str(PROMETHEUS_CONFIG))


def test_rule_unit_tests_pass() -> None:
    _run_tool("promtool", "test", "rules", str(RULES_TESTS))


def test_alertmanager_config_passes_amtool_check() -> None:
    _run_tool("amtool", "check-config", str(ALERTMANAGER_CONFIG))


def test_rule_unit_tests_cover_the_silent_connector_and_dead_letters() -> None:
    tested = {
        case["alertname"]
        for test in _load(RULES_TESTS)["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")  # a case that expects the alert to fire, not only silence
    }
    assert {"SocmonConnectorSilent", "SocmonDeadLetters"} <= tested


# --- The rules against the metrics socmon declares ------------------------------------------

# Series that Prometheus itself writes for every target.
PROMETHEUS_SERIES = {"up"}
PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def declared_series() -> set[str]:
    """Every series name socmon.metrics can expose, suffixes included."""
    registry = CollectorRegistry()
    Metrics.create(registry)
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
    }
    names: set[str] = set()
    for family in registry.collect():
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
    return names


def series_in(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, keywords or label names)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range durations
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\boffset\s+\w+", "", expr)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        followed_by = expr[match.end() :].lstrip()[:1]
        if followed_by != "(" and match.group().lower() not in PROMQL_KEYWORDS:
            names.add(match.group())
    return names


def _rules() -> list[dict[str, Any]]:
    return [rule for group in _load(RULES)["groups"] for rule in group["rules"]]


def test_series_in_finds_metrics_and_skips_functions_and_labels() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (stage, le) (rate(a_bucket{stage="x"}[5m]))) > 1 '
        "and (b_total unless c_total offset 15m) or vector(0)"
    )
    assert series_in(expr) == {"a_bucket", "b_total", "c_total"}


def test_rules_use_only_metrics_socmon_declares() -> None:
    declared = declared_series()
    used = {name for rule in _rules() for name in series_in(rule["expr"])}
    assert used - declared - PROMETHEUS_SERIES == set()
    # Each operator need of the brief has its metric in some rule.
    assert {
        "socmon_connector_last_success_timestamp_seconds",
        "socmon_connector_errors_total",
        "socmon_deadletters_total",
        "socmon_items_in_total",
        "socmon_items_out_total",
        "socmon_deliveries_total",
        "socmon_processing_seconds_bucket",
    } <= used


def test_every_rule_has_a_severity_and_plain_english_annotations() -> None:
    rules = _rules()
    assert len(rules) >= 6
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert len(rule["annotations"]["summary"].split()) >= 4, rule["alert"]
        assert len(rule["annotations"]["description"].split()) >= 15, rule["alert"]


def test_prometheus_scrapes_the_socmon_processes_on_the_metrics_port() -> None:
    config = _load(PROMETHEUS_CONFIG)
    port = load_settings(CONFIG_EXAMPLE).metrics.port
    targets = {
        job["job_name"]: {
            (name, sd["port"]) for sd in job.get("dns_sd_configs", []) for name in sd["names"]
        }
        for job in config["scrape_configs"]
    }
    assert targets["socmon-worker"] == {("worker", port)}
    assert targets["socmon-ingest"] == {("ingest", port)}
    assert targets["socmon-alerting"] == {("alerting", port)}
    assert targets["socmon-webhooks"] == {("webhooks", port)}
    assert "prometheus" in targets
    assert config["rule_files"] == ["rules.yml"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "alertmanager:9093"
    ]
    # The process-down rules name these jobs.
    jobs_in_rules = {m for rule in _rules() for m in re.findall(r'job="([^"]+)"', rule["expr"])}
    assert jobs_in_rules <= set(targets)


# --- docker compose ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = _load(COMPOSE)
    assert isinstance(data, dict)
    return data


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: str(value) for key, value in env.items()}


def _depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return deps


def test_compose_defines_the_whole_stack(compose: dict[str, Any]) -> None:
    assert {
        "kafka",
        "kafka-init",
        "elasticsearch",
        "kibana",
        "prometheus",
        "alertmanager",
        *SOCMON_SERVICES,
    } <= set(compose["services"])


def test_socmon_services_share_one_image_build_and_config_mount(compose: dict[str, Any]) -> None:
    services = compose["services"]
    built = {name for name, svc in services.items() if "build" in svc}
    assert built == SOCMON_SERVICES
    images = {(services[name]["image"], repr(services[name]["build"])) for name in SOCMON_SERVICES}
    assert len(images) == 1
    assert services["worker"]["build"]["dockerfile"] == "deploy/Dockerfile"
    for name in SOCMON_SERVICES:
        svc = services[name]
        mounts = [v for v in svc["volumes"] if v.endswith(f":{CONFIG_PATH_IN_CONTAINER}:ro")]
        assert len(mounts) == 1, name
        assert "config.example.yaml" in mounts[0], name
        assert svc["command"][-2:] == ["--config", CONFIG_PATH_IN_CONTAINER], name
        env = _environment(svc)
        assert env["SOCMON_INDEX__ELASTICSEARCH_PASSWORD"].startswith("${ELASTIC_PASSWORD"), name


def test_compose_holds_no_literal_secret(compose: dict[str, Any]) -> None:
    checked = 0
    for name, svc in compose["services"].items():
        for key, value in _environment(svc).items():
            if SECRET_NAME.search(key):
                checked += 1
                assert ENV_REFERENCE.match(value), f"{name}: {key} must be a ${{VAR}} reference"
    assert checked >= 6  # ES, Kibana, the socmon services, platform tokens, SMTP
    for name, secret in compose.get("secrets", {}).items():
        assert set(secret) == {"environment"}, f"secret {name} must come from the environment"


def test_every_secret_compose_reads_is_in_env_example_with_an_empty_value(
    compose: dict[str, Any],
) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    secret_vars = {var for var in COMPOSE_VARIABLE.findall(text) if SECRET_NAME.search(var)}
    secret_vars |= {s["environment"] for s in compose.get("secrets", {}).values()}
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    assert secret_vars >= {"ELASTIC_PASSWORD", "KIBANA_PASSWORD", "SMTP_PASSWORD"}
    assert secret_vars <= set(example)
    assert all(value == "" for value in example.values())


def test_every_depends_on_names_a_defined_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, svc in services.items():
        for dep, spec in _depends_on(svc).items():
            assert dep in services, f"{name} depends on undefined {dep}"
            assert dep != name, f"{name} depends on itself"
            assert spec["condition"] in conditions, f"{name} -> {dep}"
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}, which has none"


def test_socmon_processes_wait_for_the_one_shots(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in SOCMON_SERVICES - {"index-setup"}:
        deps = _depends_on(services[name])
        for one_shot in ("index-setup", "kafka-init"):
            assert deps[one_shot]["condition"] == "service_completed_successfully", name
    for one_shot in ("index-setup", "kafka-init", "kibana-setup"):
        assert services[one_shot]["restart"] == "no", one_shot


def test_kafka_elasticsearch_and_kibana_have_healthchecks(compose: dict[str, Any]) -> None:
    for name in ("kafka", "elasticsearch", "kibana"):
        test = compose["services"][name]["healthcheck"]["test"]
        assert test[0] == "CMD-SHELL", name
        assert test[1].strip(), name


def test_kafka_runs_kraft_without_topic_auto_create(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    env = _environment(kafka)
    assert kafka["image"].startswith("apache/kafka:")
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_kafka_init_creates_every_socmon_topic(compose: dict[str, Any]) -> None:
    script = " ".join(compose["services"]["kafka-init"]["command"])
    topics = load_settings(CONFIG_EXAMPLE).kafka.topics.all()
    assert len(topics) == 4
    for topic in topics:
        assert re.search(rf"(?<![\w.]){re.escape(topic)}(?![\w.])", script), topic
    assert "--if-not-exists" in script


def test_elasticsearch_runs_with_security_on(compose: dict[str, Any]) -> None:
    env = _environment(compose["services"]["elasticsearch"])
    assert env["xpack.security.enabled"] == "true"
    assert env["discovery.type"] == "single-node"
    assert env["ELASTIC_PASSWORD"].startswith("${ELASTIC_PASSWORD")


def test_compose_bind_mounts_exist(compose: dict[str, Any]) -> None:
    sources = []
    for svc in compose["services"].values():
        for volume in svc.get("volumes", []):
            source = re.match(r"\$\{[^}]*\}|[^:]*", volume).group()  # type: ignore[union-attr]
            default = re.fullmatch(r"\$\{\w+:-(.+)\}", source)
            source = default.group(1) if default else source
            if source.startswith("."):
                sources.append(source)
    assert sources.count("./config.example.yaml") == len(SOCMON_SERVICES)
    for source in sources:
        assert (DEPLOY / source).is_file(), source


def test_dockerfile_builds_from_the_lock_and_runs_as_non_root() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    instructions = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    assert instructions[0].startswith("FROM python:3.11-slim")
    assert "RUN pip install -c requirements.lock ." in instructions
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    # The build context is the repository root: copying all of it would take deploy/.env along.
    assert not any(re.match(r"(COPY|ADD)\s+\.\s", line) for line in instructions)
    build_env = [line for line in instructions if line.startswith(("ENV", "ARG"))]
    assert not any(SECRET_NAME.search(line) for line in build_env)


# --- Kubernetes --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    files = sorted(K8S.glob("*.y*ml"))
    assert files
    for path in files:
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc)
    return docs


def _by_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def test_every_k8s_manifest_has_api_version_kind_and_name(manifests: list[dict[str, Any]]) -> None:
    assert len(manifests) >= 6
    for manifest in manifests:
        assert manifest["apiVersion"]
        assert manifest["kind"]
        assert manifest["metadata"]["name"]


def test_k8s_deployments_have_the_intended_replicas(manifests: list[dict[str, Any]]) -> None:
    deployments = _by_kind(manifests, "Deployment")
    replicas = {name: d["spec"]["replicas"] for name, d in deployments.items()}
    assert replicas == {
        "socmon-worker": 2,
        "socmon-ingest": 1,
        "socmon-alerting": 1,
        "socmon-dashboard": 1,
        "socmon-webhooks": 2,
    }
    # A ReadWriteOnce volume: the old pod must be gone before the new one mounts it.
    for name in ("socmon-ingest", "socmon-alerting"):
        assert deployments[name]["spec"]["strategy"]["type"] == "Recreate", name
    assert "socmon-index-setup" in _by_kind(manifests, "Job")


def test_k8s_selectors_match_their_pod_labels(manifests: list[dict[str, Any]]) -> None:
    for name, deployment in _by_kind(manifests, "Deployment").items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), name


def test_k8s_pods_reference_only_defined_config_and_secrets(
    manifests: list[dict[str, Any]],
) -> None:
    config_maps = set(_by_kind(manifests, "ConfigMap"))
    secrets = _by_kind(manifests, "Secret")
    claims = set(_by_kind(manifests, "PersistentVolumeClaim"))
    workloads = [m for m in manifests if m["kind"] in {"Deployment", "Job"}]
    assert len(workloads) == 6
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims
        for container in pod["containers"]:
            assert container["args"][-2:] == ["--config", CONFIG_PATH_IN_CONTAINER]
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secrets[ref["name"]]["stringData"], env["name"]
                map_ref = env.get("valueFrom", {}).get("configMapKeyRef")
                if map_ref:
                    assert map_ref["name"] in config_maps, env["name"]
                    config_map = _by_kind(manifests, "ConfigMap")[map_ref["name"]]
                    assert map_ref["key"] in config_map["data"], env["name"]


def test_k8s_secret_is_a_template_without_values(manifests: list[dict[str, Any]]) -> None:
    secrets = _by_kind(manifests, "Secret")
    assert secrets
    for secret in secrets.values():
        assert "data" not in secret
        assert secret["stringData"]
        assert all(value == "" for value in secret["stringData"].values())


def test_k8s_config_map_is_the_example_config(manifests: list[dict[str, Any]]) -> None:
    config_map = _by_kind(manifests, "ConfigMap")["socmon-config"]
    embedded = yaml.safe_load(config_map["data"]["config.yaml"])
    assert embedded == _load(CONFIG_EXAMPLE)


# --- The deployment config ---------------------------------------------------------------


def test_config_example_loads_with_the_settings_schema() -> None:
    settings = load_settings(CONFIG_EXAMPLE)
    assert settings.index.backend == "elasticsearch"
    assert settings.index.elasticsearch_url == "http://elasticsearch:9200"
    assert settings.kafka.bootstrap_servers == "kafka:9092"
    # Inside a container, Prometheus can only scrape a server that listens on every interface.
    assert settings.metrics.host == "0.0.0.0"
    assert len(settings.departments) == 2
    assert len(settings.accounts) == 1
    assert settings.index.elasticsearch_password is None  # no secret in the file


def test_config_example_loads_with_the_environment_compose_sets(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every SOCMON_ variable compose passes must be a settings field: the sections forbid extras,
    # so an unknown one would stop the containers at start-up.
    for name in SOCMON_SERVICES:
        for key, value in _environment(compose["services"][name]).items():
            if key.startswith("SOCMON_"):
                default = re.fullmatch(r"\$\{\w+:-(.*)\}", value)
                monkeypatch.setenv(key, default.group(1) if default else "placeholder")
    settings = load_settings(CONFIG_EXAMPLE)
    assert settings.index.elasticsearch_password is not None
    assert settings.index.elasticsearch_password.get_secret_value() == "placeholder"


# --- The dashboard, probes, volumes, optional secrets, the public URL (issue point 8) -------


def _containers(manifests: list[dict[str, Any]], kind: str = "Deployment") -> list[tuple[str, Any]]:
    return [
        (f"{m['metadata']['name']}/{c['name']}", c)
        for m in manifests
        if m["kind"] == kind
        for c in m["spec"]["template"]["spec"]["containers"]
    ]


def _env_refs(container: dict[str, Any], ref_kind: str) -> dict[str, dict[str, Any]]:
    return {
        env["name"]: env["valueFrom"][ref_kind]
        for env in container.get("env", [])
        if ref_kind in env.get("valueFrom", {})
    }


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def _is_kibana_or_local(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return (
        parts.port == 5601
        or "kibana" in host
        or host in {"localhost", "127.0.0.1", "::1", "0.0.0.0"}
        or host.startswith("127.")
    )


def _mounted_on(path: Path, mounts: dict[str, str]) -> str | None:
    """The volume (by name) mounted at path or one of its parents, if any."""
    for mount_path, volume in mounts.items():
        if path == Path(mount_path) or Path(mount_path) in path.parents:
            return volume
    return None


def test_is_kibana_or_local_tells_the_addresses_apart() -> None:
    assert _is_kibana_or_local("http://localhost:5601")
    assert _is_kibana_or_local("https://kibana.trust.nhs.example")
    assert _is_kibana_or_local("http://127.0.0.1:8050")
    assert not _is_kibana_or_local("https://socmon.trust.nhs.example")


def test_compose_runs_the_dashboard_on_localhost_with_a_healthcheck(
    compose: dict[str, Any],
) -> None:
    dashboard = compose["services"]["dashboard"]
    command = dashboard["command"]
    assert command[0] == "dashboard"
    assert _option(command, "--host") == "0.0.0.0"
    assert int(_option(command, "--port")) == DASHBOARD_PORT
    assert dashboard["ports"] == [
        f"127.0.0.1:${{DASHBOARD_PORT:-{DASHBOARD_PORT}}}:{DASHBOARD_PORT}"
    ]
    assert f"http://127.0.0.1:{DASHBOARD_PORT}/healthz" in " ".join(
        dashboard["healthcheck"]["test"]
    )
    secret = _environment(dashboard)["SOCMON_DASHBOARD__SESSION_SECRET"]
    assert secret.startswith("${DASHBOARD_SESSION_SECRET:?"), "the session secret is required"
    # Users log in with their own accounts, not as the Elasticsearch superuser.
    assert load_settings(CONFIG_EXAMPLE).dashboard.auth == "local"


def test_compose_checks_the_metrics_endpoint_of_every_socmon_process(
    compose: dict[str, Any],
) -> None:
    port = load_settings(CONFIG_EXAMPLE).metrics.port
    for name in METRICS_SERVICES:
        test = " ".join(compose["services"][name]["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/metrics" in test, name


def test_k8s_runs_the_dashboard_behind_a_service(manifests: list[dict[str, Any]]) -> None:
    deployment = _by_kind(manifests, "Deployment")["socmon-dashboard"]
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["args"][0] == "dashboard"
    assert _option(container["args"], "--host") == "0.0.0.0"
    port = int(_option(container["args"], "--port"))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    service = _by_kind(manifests, "Service")["socmon-dashboard"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    for service_port in service["spec"]["ports"]:
        assert ports[service_port["targetPort"]] == port
    secrets = _env_refs(container, "secretKeyRef")
    assert secrets["SOCMON_DASHBOARD__SESSION_SECRET"]["key"] == "dashboard-session-secret"


def test_every_k8s_container_has_liveness_and_readiness_probes(
    manifests: list[dict[str, Any]],
) -> None:
    metrics_port = load_settings(CONFIG_EXAMPLE).metrics.port
    containers = _containers(manifests)
    assert len(containers) == 5
    for name, container in containers:
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe in ("livenessProbe", "readinessProbe"):
            get = container[probe]["httpGet"]
            port = ports[get["port"]] if isinstance(get["port"], str) else get["port"]
            if name.startswith("socmon-dashboard/"):
                assert (get["path"], port) == ("/healthz", DASHBOARD_PORT), name
            elif name.startswith("socmon-webhooks/"):
                assert (get["path"], port) == ("/healthz", WEBHOOKS_PORT), name
            else:
                assert (get["path"], port) == ("/metrics", metrics_port), name
    # The one-shot Job has no endpoint to ask: it runs to completion and is not probed.
    assert [name for name, _ in _containers(manifests, "Job")] == ["socmon-index-setup/index-setup"]


def test_every_optional_credential_is_an_optional_secret_reference(
    manifests: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: set[str] = set()
    for name, container in _containers(manifests) + _containers(manifests, "Job"):
        for env_name, ref in _env_refs(container, "secretKeyRef").items():
            seen.add(ref["key"])
            required = ref["key"] in REQUIRED_SECRET_KEYS
            assert ref.get("optional", False) is not required, f"{name}: {env_name}"
            monkeypatch.setenv(env_name, PLACEHOLDER)
    assert seen == set(_by_kind(manifests, "Secret")["socmon-secrets"]["stringData"])
    # Every variable is a settings field (the sections forbid extras), and every platform's
    # credential and every channel's is among them.
    settings = load_settings(CONFIG_EXAMPLE)
    connectors, alerting = settings.connectors, settings.alerting
    for credential in (
        connectors.twitter.bearer_token,
        connectors.facebook.page_access_token,
        connectors.bluesky.app_password,
        connectors.mastodon.access_token,
        connectors.webhooks.meta_app_secret,
        connectors.webhooks.meta_verify_token,
        connectors.webhooks.x_consumer_secret,
        alerting.smtp.password,
        alerting.teams.webhook_url,
        alerting.slack.webhook_url,
        alerting.webhook.url,
        alerting.webhook.secret,
        settings.dashboard.session_secret,
        settings.dashboard.proxy_secret,
        settings.dashboard.erasure_key,
        settings.index.elasticsearch_password,
    ):
        assert credential is not None
        assert credential.get_secret_value() == PLACEHOLDER


def test_the_outbox_and_checkpoints_are_on_volumes_in_compose(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = compose["services"]
    for key, value in _environment(services["alerting"]).items():
        if key.startswith("SOCMON_"):
            default = re.fullmatch(r"\$\{\w+:-(.*)\}", value)
            monkeypatch.setenv(key, default.group(1) if default else "placeholder")
    settings = load_settings(CONFIG_EXAMPLE)
    named = set(compose["volumes"])
    for name, path in (("alerting", settings.outbox_path), ("ingest", settings.data_dir)):
        mounts = {}
        for volume in services[name]["volumes"]:
            source, target = volume.split(":")[:2]
            mounts[target] = source
        volume = _mounted_on(path, mounts)
        assert volume in named, f"{name}: {path} is not on a named volume"
    assert settings.outbox_path == settings.data_dir / "outbox.jsonl"


def test_the_outbox_and_checkpoints_are_on_volumes_in_k8s(
    manifests: list[dict[str, Any]],
) -> None:
    settings = load_settings(CONFIG_EXAMPLE)
    claims = set(_by_kind(manifests, "PersistentVolumeClaim"))
    deployments = _by_kind(manifests, "Deployment")
    for name, path in (
        ("socmon-alerting", settings.outbox_path),
        ("socmon-ingest", settings.data_dir),
    ):
        pod = deployments[name]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        volume = _mounted_on(path, mounts)
        assert volume is not None, f"{name}: {path} is on no volume"
        assert volumes[volume]["persistentVolumeClaim"]["claimName"] in claims, name
        # The volume is written by the non-root user.
        assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"], name


def test_alert_links_come_from_one_public_url_in_compose(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = compose["services"]
    values = {_environment(services[name]).get(DASHBOARD_URL_ENV) for name in SOCMON_SERVICES}
    (value,) = values
    # Required, without a default: compose stops naming the variable when it is unset.
    assert value is not None
    assert value.startswith(f"${{{PUBLIC_URL_VARIABLE}:?")
    text = COMPOSE.read_text(encoding="utf-8")
    assert set(re.findall(r"SOCMON_ORGANISATION__DASHBOARD_URL\s*:", text)) == {
        f"{DASHBOARD_URL_ENV}:"
    }
    assert text.count(f"{DASHBOARD_URL_ENV}:") == 1
    assert f"{PUBLIC_URL_VARIABLE}=" in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    # The variable is what alerts link to, whatever the config file or the dashboard port say.
    public = "https://socmon.trust.nhs.example"
    monkeypatch.setenv(DASHBOARD_URL_ENV, public)
    monkeypatch.setenv("SOCMON_DASHBOARD__PORT", "9999")
    settings = load_settings(CONFIG_EXAMPLE)
    post = SimpleNamespace(key="twitter:123")
    link = dashboard_link(settings, cast(Any, SimpleNamespace(post=post)))
    assert link == f"{public}/posts/twitter:123"


def test_alert_links_come_from_one_public_url_in_k8s(manifests: list[dict[str, Any]]) -> None:
    config_map = _by_kind(manifests, "ConfigMap")["socmon-config"]
    for name, container in _containers(manifests):
        ref = _env_refs(container, "configMapKeyRef").get(DASHBOARD_URL_ENV)
        assert ref == {"name": "socmon-config", "key": DASHBOARD_URL_KEY}, name
        assert DASHBOARD_URL_ENV not in {e["name"] for e in container["env"] if "value" in e}
    url = config_map["data"][DASHBOARD_URL_KEY]
    assert url.startswith("https://")
    assert not _is_kibana_or_local(url)


def test_the_example_dashboard_url_is_not_kibana() -> None:
    url = load_settings(CONFIG_EXAMPLE).organisation.dashboard_url
    assert url.startswith("https://")
    assert not _is_kibana_or_local(url)


def test_compose_interpolation_is_well_formed(compose: dict[str, Any]) -> None:
    """What `docker compose config` checks of the variables, by parsing; and the real thing when
    the Compose plugin is installed (it is not needed for the rest of the suite)."""
    text = COMPOSE.read_text(encoding="utf-8")
    uses = re.findall(r"(?<!\$)\$\{([^}]*)\}", text)
    assert uses
    required: set[str] = set()
    for use in uses:
        match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?", use)
        assert match, f"malformed ${{{use}}}"
        if match.group(2) in {":?", "?"}:
            required.add(match.group(1))
    # A lone `$` would be read as a variable: scripts must write `$$`.
    assert not re.search(r"(?<!\$)\$(?![{$])", text.replace("$$", ""))
    example = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    assert {PUBLIC_URL_VARIABLE, "DASHBOARD_SESSION_SECRET", "ERASURE_KEY"} <= required
    assert required <= example, "every required variable is in .env.example"
    docker = shutil.which("docker")
    has_compose = (
        docker is not None
        and subprocess.run(
            [docker, "compose", "version"], capture_output=True, timeout=30, check=False
        ).returncode
        == 0
    )
    if has_compose:
        assert docker is not None
        env = {**os.environ, **{name: "placeholder" for name in required}}
        env[PUBLIC_URL_VARIABLE] = "https://socmon.trust.nhs.example"
        result = subprocess.run(
            [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr


def test_the_erasure_key_reaches_every_process_that_erases_or_suppresses(
    compose: dict[str, Any], manifests: list[dict[str, Any]]
) -> None:
    """`socmon erase` (run in the dashboard or worker) and the worker's suppression of erased
    authors must hash with one key: a required secret, the same everywhere."""
    for name in ("worker", "dashboard", "ingest", "alerting"):
        value = _environment(compose["services"][name])["SOCMON_DASHBOARD__ERASURE_KEY"]
        assert value.startswith("${ERASURE_KEY:?"), name
    containers = dict(_containers(manifests))
    for name in ("socmon-worker/worker", "socmon-dashboard/dashboard"):
        refs = _env_refs(containers[name], "secretKeyRef")
        assert refs["SOCMON_DASHBOARD__ERASURE_KEY"]["key"] == "erasure-key", name
        assert not refs["SOCMON_DASHBOARD__ERASURE_KEY"].get("optional"), name
    init = "\n".join(compose["services"]["kafka-init"]["command"])
    assert 'retention.ms="$$RETENTION_MS"' in init


# --- The webhook receiver (push from Meta and X) -------------------------------------------

WEBHOOK_SECRETS = {
    "SOCMON_CONNECTORS__WEBHOOKS__META_APP_SECRET": "meta-app-secret",
    "SOCMON_CONNECTORS__WEBHOOKS__META_VERIFY_TOKEN": "meta-verify-token",
    "SOCMON_CONNECTORS__WEBHOOKS__X_CONSUMER_SECRET": "x-consumer-secret",
}


def test_compose_runs_the_webhook_receiver_on_localhost_only_with_its_profile(
    compose: dict[str, Any],
) -> None:
    webhooks = compose["services"]["webhooks"]
    # Without a platform secret it refuses to start: it must not crash-loop in the default stack.
    assert webhooks["profiles"] == ["webhooks"]
    assert [name for name, svc in compose["services"].items() if svc.get("profiles")] == [
        "webhooks"
    ]
    command = webhooks["command"]
    assert command[0] == "webhooks"
    assert _option(command, "--host") == "0.0.0.0"
    assert int(_option(command, "--port")) == WEBHOOKS_PORT
    assert webhooks["ports"] == [f"127.0.0.1:${{WEBHOOKS_PORT:-{WEBHOOKS_PORT}}}:{WEBHOOKS_PORT}"]
    assert f"http://127.0.0.1:{WEBHOOKS_PORT}/healthz" in " ".join(webhooks["healthcheck"]["test"])
    env = _environment(webhooks)
    for variable in WEBHOOK_SECRETS:
        assert ENV_REFERENCE.match(env[variable]), variable
        assert env[variable].endswith(":-}"), f"{variable} is optional (one platform is enough)"
    # Instagram mentions are read with the page token.
    assert env["SOCMON_CONNECTORS__FACEBOOK__PAGE_ACCESS_TOKEN"].startswith(
        "${FACEBOOK_PAGE_ACCESS_TOKEN"
    )
    example = ENV_EXAMPLE.read_text(encoding="utf-8")
    assert "#COMPOSE_PROFILES=webhooks" in example.splitlines()


def test_k8s_runs_the_webhook_receiver_behind_a_service_with_optional_secrets(
    manifests: list[dict[str, Any]],
) -> None:
    deployment = _by_kind(manifests, "Deployment")["socmon-webhooks"]
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["args"][0] == "webhooks"
    port = int(_option(container["args"], "--port"))
    assert port == WEBHOOKS_PORT
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    service = _by_kind(manifests, "Service")["socmon-webhooks"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert [ports[p["targetPort"]] for p in service["spec"]["ports"]] == [WEBHOOKS_PORT]
    refs = _env_refs(container, "secretKeyRef")
    for variable, key in WEBHOOK_SECRETS.items():
        assert refs[variable] == {"name": "socmon-secrets", "key": key, "optional": True}
    # Prometheus scrapes its metrics port like the other processes.
    annotations = pod["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == ports["metrics"]


def test_the_readme_registers_the_paths_the_receiver_serves() -> None:
    from ingest.webhooks.app import META_PATH, X_PATH

    text = (DEPLOY / "README.md").read_text(encoding="utf-8")
    section = text.split("## Receiving webhooks", 1)[1].split("\n## ", 1)[0]
    for path in (META_PATH, X_PATH):
        assert f"https://hooks.trust.nhs.example{path}" in section, path
    # A reverse proxy snippet of each kind, forwarding to the port compose publishes.
    assert "reverse_proxy 127.0.0.1:8090" in section
    assert "proxy_pass http://127.0.0.1:8090;" in section
    for field in ("`feed`", "`comments`", "`mentions`", "post.mention.create", "post.reply.create"):
        assert field in section, field
    assert "Polling stays on as the fallback" in section
