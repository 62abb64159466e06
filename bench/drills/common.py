"""Shared parts of the fault drills: private Redis and PostgreSQL, the app's processes, a
client that submits feedback continuously, and the report.

Every drill runs against services it starts itself: a private ``redis-server`` on a port
of 6390–6399, a private PostgreSQL cluster on a port of 5440–5449 (data under
``/tmp/fl-drill-pg-<port>``), or a fresh database ``fl_drill_<name>`` on the PostgreSQL
server at 127.0.0.1:5432 that it drops at the end. It never touches the Redis or
PostgreSQL it did not start, and stops what it started by process id (or ``pg_ctl``).

The processes (gunicorn, Celery worker and beat) and their environment are those of the
ingest benchmark (``bench/ingest.py``), whose helpers this module imports.
"""

from __future__ import annotations

import datetime as dt
import http.client
import itertools
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ingest import (  # noqa: E402
    BIN,
    RESULTS,
    BenchError,
    Services,
    build_env,
    csrf_pair,
    free_port,
    gunicorn_cmd,
    log,
    machine_info,
    package_versions,
    run,
    run_cli,
    take_bench_lock,
    wait_http_ready,
    wait_log_line,
)

__all__ = ["BenchError", "Drill", "Submitter", "http_request", "percentile", "run_cli"]

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SHARED_PG_HOST = "127.0.0.1"
SHARED_PG_PORT = 5432
REDIS_PORTS = range(6390, 6400)
PG_PORTS = range(5440, 5450)
PROBE = ROOT / "bench" / "drills" / "probe.py"
# Built by run_all.py once per run (migrated, an API key, static files collected) and
# copied by each drill, so a drill spends its time on the fault, not on ``migrate``.
TEMPLATE_DB = "fl_drill_template"
TEMPLATE_ENV = ("FL_DRILL_TEMPLATE", "FL_DRILL_API_KEY", "FL_DRILL_STATIC_ROOT")


# --- small helpers ---------------------------------------------------------------------


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def latency_summary(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {
        "count": len(ms),
        "p50_ms": _round(percentile(ms, 50)),
        "p99_ms": _round(percentile(ms, 99)),
        "max_ms": _round(max(ms) if ms else None),
    }


def _round(value, digits: int = 1):
    return None if value is None else round(value, digits)


def http_request(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict | None = None,
    timeout: float = 10,
) -> tuple[int, dict, bytes]:
    """One request on a new connection; returns status, lower-cased headers and body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Host": "127.0.0.1", **(headers or {})})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


# --- databases -------------------------------------------------------------------------


def pg_admin(host: str, port: int):
    import psycopg2

    conn = psycopg2.connect(
        host=host, port=port, user="postgres", dbname="postgres", connect_timeout=5
    )
    conn.autocommit = True
    return conn


def recreate_database(host: str, port: int, name: str, template: str | None = None) -> None:
    """Drop ``name`` if it exists and create it (a copy of ``template`` if given)."""
    create = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    _drop_database_then(host, port, name, create)


def drop_database(host: str, port: int, name: str) -> None:
    _drop_database_then(host, port, name, None)


def _drop_database_then(host: str, port: int, name: str, then: str | None) -> None:
    if not name.startswith("fl_drill_"):
        raise BenchError(f"refusing to drop {name}: drill databases are named fl_drill_*")
    conn = pg_admin(host, port)
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if then:
                cur.execute(then)
    finally:
        conn.close()


class Db:
    """A plain psycopg2 connection to one database, for counting rows from outside."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = None

    def _connect(self):
        import psycopg2

        if self.conn is None or self.conn.closed:
            self.conn = psycopg2.connect(self.url, connect_timeout=5)
            self.conn.autocommit = True
        return self.conn

    def rows(self, sql: str, params=()) -> list[tuple]:
        with self._connect().cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def scalar(self, sql: str, params=()):
        return self.rows(sql, params)[0][0]

    def close(self) -> None:
        if self.conn is not None and not self.conn.closed:
            self.conn.close()


# --- private services ------------------------------------------------------------------


class PrivateRedis:
    """A throw-away redis-server (no persistence), a child process of the drill."""

    def __init__(self, port: int, logfile: Path) -> None:
        if port not in REDIS_PORTS:
            raise BenchError(f"private Redis ports are {REDIS_PORTS.start}-{REDIS_PORTS.stop - 1}")
        self.port = port
        self.logfile = logfile
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if port_in_use(self.port):
            raise BenchError(f"port {self.port} is taken: another drill still running?")
        out = open(self.logfile, "ab")
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        out.close()
        deadline = time.monotonic() + 10
        while not self.ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(
                    f"private redis-server on {self.port} did not start; see {self.logfile}"
                )
            time.sleep(0.1)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


class PrivatePostgres:
    """A throw-away PostgreSQL 15 cluster run by the ``postgres`` OS user, trust auth,
    listening on 127.0.0.1:<port> and on a socket in /tmp."""

    def __init__(self, port: int, logdir: Path) -> None:
        if port not in PG_PORTS:
            raise BenchError(f"private PostgreSQL ports are {PG_PORTS.start}-{PG_PORTS.stop - 1}")
        self.port = port
        self.datadir = Path(f"/tmp/fl-drill-pg-{port}")
        self.logdir = logdir
        self.options = f"-p {port} -k /tmp -c listen_addresses=127.0.0.1"

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def _pg(self, tool: str, *args: str, timeout: float = 120, check: bool = True):
        cmd = ["runuser", "-u", "postgres", "--", str(PG_BIN / tool), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/tmp")
        with open(self.logdir / "postgres-ctl.log", "a") as f:
            f.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}\n")
        if check and proc.returncode != 0:
            raise BenchError(
                f"{tool} {' '.join(args[:3])} exited {proc.returncode}: "
                f"{proc.stderr.strip()[-300:]}"
            )
        return proc

    def init_and_start(self) -> None:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise BenchError("no 'postgres' OS user to run a private cluster as") from None
        if port_in_use(self.port):
            raise BenchError(f"port {self.port} is taken: another drill still running?")
        if self.datadir.exists():  # left by an interrupted run
            self._pg("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "stop", check=False)
            shutil.rmtree(self.datadir)
        self.datadir.mkdir(mode=0o700)
        shutil.chown(self.datadir, "postgres", "postgres")
        self._pg(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--no-locale",
        )
        self.start()

    def _ctl(self, action: str, *extra: str) -> None:
        self._pg(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-o",
            self.options,
            "-l",
            str(self.datadir / "server.log"),
            "-w",
            "-t",
            "60",
            *extra,
            action,
        )

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def create_database(self, name: str) -> None:
        recreate_database("127.0.0.1", self.port, name)

    def destroy(self) -> None:
        if not self.datadir.exists():
            return
        self._pg(
            "pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "-t", "60", "stop", check=False
        )
        server_log = self.datadir / "server.log"
        if server_log.exists():
            shutil.copy(server_log, self.logdir / "postgres-server.log")
        shutil.rmtree(self.datadir, ignore_errors=True)


# --- the drill -------------------------------------------------------------------------


class Drill:
    """One drill run: its log folder, scratch folder, processes, and everything to undo.

    Use as a context manager; on the way out it stops the app's processes, then runs the
    clean-ups (private services, drill databases) in reverse order, then removes the
    scratch folder.
    """

    def __init__(self, name: str, title: str) -> None:
        self.name = name
        self.title = title
        self.started = dt.datetime.now(dt.UTC)
        self.stamp = self.started.strftime("%Y%m%dT%H%M%SZ")
        self.t0 = time.monotonic()
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.logdir = RESULTS / f"drill-{name}-{self.stamp}"
        self.logdir.mkdir()
        self.scratch = Path(tempfile.mkdtemp(prefix=f"focusloop-drill-{name}-"))
        (self.scratch / "var").mkdir()
        self.services = Services()
        self.cleanups: list[tuple[str, callable]] = []
        self.events: list[dict] = []
        self._lock_file = None
        self.from_template: set[str] = set()

    # context management

    def __enter__(self) -> Drill:
        def on_term(signum, frame):
            raise KeyboardInterrupt(f"signal {signum}")

        signal.signal(signal.SIGTERM, on_term)
        self._lock_file = take_bench_lock(types.SimpleNamespace(lock_wait=600))
        log(f"drill {self.name}: {self.title}; logs in {self.logdir.relative_to(ROOT)}")
        return self

    def __exit__(self, *exc) -> None:
        self.services.stop_all()
        for label, undo in reversed(self.cleanups):
            try:
                undo()
            except Exception as err:  # keep cleaning up the rest
                log(f"clean-up '{label}' failed: {err}")
        shutil.rmtree(self.scratch, ignore_errors=True)
        if self._lock_file is not None:
            self._lock_file.close()

    def event(self, what: str) -> float:
        at = time.monotonic()
        self.events.append({"t_s": round(at - self.t0, 2), "event": what})
        log(what)
        return at

    # services

    def shared_database(self, suffix: str = "", *, migrated: bool = True) -> str:
        """A fresh ``fl_drill_<name>`` database on the shared server, dropped at the end;
        a copy of run_all's migrated template when there is one (and ``migrated``)."""
        name = f"fl_drill_{self.name}{suffix}"
        template = os.environ.get("FL_DRILL_TEMPLATE") if migrated else None
        try:
            recreate_database(SHARED_PG_HOST, SHARED_PG_PORT, name, template=template)
        except BenchError:
            raise
        except Exception as exc:
            raise BenchError(f"PostgreSQL at {SHARED_PG_HOST}:{SHARED_PG_PORT}: {exc}") from exc
        self.cleanups.append(
            (f"drop {name}", lambda: drop_database(SHARED_PG_HOST, SHARED_PG_PORT, name))
        )
        url = f"postgres://postgres@{SHARED_PG_HOST}:{SHARED_PG_PORT}/{name}"
        if template:
            self.from_template.add(url)
        return url

    def private_database(self, pg: PrivatePostgres, name: str) -> str:
        """A database on a private cluster; restored from run_all's template if any."""
        pg.create_database(name)
        url = pg.url(name)
        template = os.environ.get("FL_DRILL_TEMPLATE")
        if template:
            dump = self.scratch / "template.dump"
            subprocess.run(
                [
                    "pg_dump",
                    "-Fc",
                    "-h",
                    SHARED_PG_HOST,
                    "-p",
                    str(SHARED_PG_PORT),
                    "-U",
                    "postgres",
                    "-f",
                    str(dump),
                    template,
                ],
                check=True,
                capture_output=True,
                timeout=300,
            )
            subprocess.run(
                [
                    "pg_restore",
                    "--no-owner",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(pg.port),
                    "-U",
                    "postgres",
                    "-d",
                    name,
                    str(dump),
                ],
                check=True,
                capture_output=True,
                timeout=300,
            )
            self.from_template.add(url)
        return url

    def private_redis(self, port: int) -> PrivateRedis:
        redis = PrivateRedis(port, self.logdir / "redis.log")
        self.cleanups.append((f"stop redis {port}", redis.stop))
        redis.start()
        return redis

    def private_postgres(self, port: int) -> PrivatePostgres:
        pg = PrivatePostgres(port, self.logdir)
        self.cleanups.append((f"remove PostgreSQL cluster {pg.datadir}", pg.destroy))
        pg.init_and_start()
        return pg

    # the app

    def env(self, database_url: str, redis_url: str, **overrides: str) -> dict:
        """The ingest benchmark's environment, pointed at this drill's database and Redis.

        API rate limits are raised like the benchmark raises the form's: every request of
        a drill comes from one key and one address. Drills that test a limit set it back.
        """
        names = types.SimpleNamespace(pg_user="postgres", pg_host="-", pg_port=0, db_name="-")
        env = build_env(names, self.scratch, redis_url)
        env.update(
            {
                "DATABASE_URL": database_url,
                "API_RATE_PER_KEY": "1000000/min",
                "API_RATE_PER_USER": "1000000/min",
                "API_RATE_PER_ANON_IP": "1000000/min",
                "REVIEW_IMPORT_DIR": str(self.scratch / "var" / "imports"),
                "SENTIMENT_MODEL_DIR": str(self.scratch / "var" / "models"),
            }
        )
        if os.environ.get("FL_DRILL_STATIC_ROOT"):
            env["BENCH_STATIC_ROOT"] = os.environ["FL_DRILL_STATIC_ROOT"]
        env.update(overrides)
        return env

    def manage(self, env: dict, *args: str, timeout: float = 600) -> str:
        return run(
            [str(BIN / "python"), "manage.py", *args],
            env,
            self.logdir / "manage.log",
            timeout=timeout,
        )

    def prepare(self, env: dict) -> str:
        """Migrate, collect static files, create an API key with every scope; the key.
        A database copied from run_all's template has all three already."""
        t = time.monotonic()
        if env["DATABASE_URL"] in self.from_template and os.environ.get("FL_DRILL_API_KEY"):
            log("database copied from the migrated template; its API key and static files")
            return os.environ["FL_DRILL_API_KEY"]
        self.manage(env, "migrate", "--noinput")
        if not os.environ.get("FL_DRILL_STATIC_ROOT"):
            self.manage(env, "collectstatic", "--noinput")
        out = self.manage(env, "create_api_key", f"drill-{self.name}", "--scopes", "all")
        log(f"migrated, collected static, created an API key ({time.monotonic() - t:.1f} s)")
        return out.strip().splitlines()[-1].strip()

    def probe(self, env: dict, *args: str, timeout: float = 600) -> dict:
        """Run bench/drills/probe.py with the app's environment; its JSON answer."""
        out = run(
            [str(BIN / "python"), str(PROBE), *args],
            env,
            self.logdir / "probe.log",
            timeout=timeout,
        )
        return json.loads(out.strip().splitlines()[-1])

    def start_web(self, env: dict, workers: int = 3) -> int:
        port = free_port()
        logfile = self.logdir / "gunicorn.log"
        names = types.SimpleNamespace(gunicorn_workers=workers, worker_class="sync")
        # The first request of each worker imports every app's URLs (pandas, numpy …):
        # on a busy machine that can take longer than the benchmark's 30 s worker timeout.
        cmd = [*gunicorn_cmd(names, port, logfile), "--timeout", "120"]
        proc = self.services.start("gunicorn", cmd, env, logfile)
        wait_http_ready(port, proc, 180)
        for _ in range(workers * 2):  # let each worker load the URLconf before the drill
            http_request(port, "GET", "/feedback/", timeout=120)
        log(f"gunicorn ready on 127.0.0.1:{port} (sync, {workers} workers)")
        return port

    def start_worker(self, env: dict, label: str = "a") -> subprocess.Popen:
        """One analysis worker as in the Procfile (nice 10), concurrency 1, queue default."""
        logfile = self.logdir / f"worker-{label}.log"
        proc = self.services.start(
            f"worker-{label}",
            [
                "nice",
                "-n",
                "10",
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "-Q",
                "default,analysis,mail",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "-n",
                f"drill-{label}-{self.stamp}@%h",
            ],
            env,
            logfile,
        )
        wait_log_line(logfile, " ready.", proc, 180)
        log(f"worker {label} ready (pid {proc.pid})")
        return proc

    def start_beat(self, env: dict, sweep_seconds: int) -> subprocess.Popen:
        """Beat with the database schedule, the sweep re-timed to ``sweep_seconds`` and the
        other entries disabled (as an admin would in "Periodic tasks")."""
        self.probe(env, "beat-schedule", "--sweep-seconds", str(sweep_seconds))
        logfile = self.logdir / "beat.log"
        proc = self.services.start(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "-s",
                str(self.scratch / "var" / "celerybeat-schedule"),
            ],
            env,
            logfile,
        )
        wait_log_line(logfile, "beat: Starting", proc, 180)
        log(f"beat started (sweep every {sweep_seconds} s)")
        return proc

    @staticmethod
    def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    # the report

    def finish(self, figures: dict, checks: list[tuple[str, bool, str]]) -> int:
        """Print the figures and checks, write the JSON result; the exit code."""
        elapsed = round(time.monotonic() - self.t0, 1)
        print()
        print(f"  drill {self.name}: {self.title}")
        print(f"  started {self.started:%Y-%m-%d %H:%M:%S} UTC, {elapsed} s")
        for key, value in figures.items():
            shown = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
            print(f"    {key:<34} {shown}")
        print()
        for label, ok, detail in checks:
            print(f"  {'PASS' if ok else 'FAIL':<5} {label:<58} {detail}")
        passed = all(ok for _, ok, _ in checks)
        report = {
            "drill": self.name,
            "title": self.title,
            "started_utc": self.stamp,
            "elapsed_s": elapsed,
            "passed": passed,
            "machine": machine_info(),
            "versions": package_versions(),
            "events": self.events,
            "figures": figures,
            "checks": [{"check": c, "pass": ok, "value": d} for c, ok, d in checks],
        }
        out = RESULTS / f"drill-{self.name}-{self.stamp}.json"
        out.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(
            f"\n  {'DRILL PASSED' if passed else 'DRILL FAILED'}; result in {out.relative_to(ROOT)}"
        )
        return 0 if passed else 1


# --- the client ------------------------------------------------------------------------

PHRASES = [
    "The checkout was slow but support answered within minutes.",
    "Great app, the new dashboard is really helpful!",
    "Delivery arrived late and the box was damaged.",
    "Billing charged me twice, please fix this.",
    "Friendly staff and a quick refund, thank you.",
    "The search never finds what I type; very frustrating.",
]


class Submitter:
    """Sends feedback continuously from a pool of threads and records every outcome.

    Kinds, taken in turn: ``form`` (``POST /feedback/`` with the CSRF cookie and field
    fetched once; success = 302), ``api`` (``POST /api/v1/feedback/``; 201), ``bulk``
    (``POST /api/v1/feedback/bulk/`` with ``bulk_size`` items; 200, then 201 per item) and
    ``health`` (``GET /healthz/``; 200). Every submitted text carries a unique marker
    ``<tag>-<n>-``, so stored rows can be matched to the answers.
    """

    def __init__(
        self,
        port: int,
        *,
        api_key: str = "",
        tag: str,
        kinds=("form", "api", "bulk"),
        threads: int = 4,
        timeout: float = 10,
        bulk_size: int = 5,
        pause: float = 0.0,
        max_requests: int | None = None,
        extra_headers: dict | None = None,
    ) -> None:
        self.port = port
        self.api_key = api_key
        self.tag = tag
        self.kinds = kinds
        self.threads = threads
        self.timeout = timeout
        self.bulk_size = bulk_size
        self.pause = pause
        self.max_requests = max_requests
        self.extra_headers = extra_headers or {}
        self.tickets = itertools.count(1)
        self.csrf = csrf_pair(port) if "form" in kinds else None
        self.counter = itertools.count(1)
        self.results: list[dict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        for i in range(self.threads):
            t = threading.Thread(target=self._loop, args=(i,), daemon=True)
            t.start()
            self._workers.append(t)

    def join(self) -> None:
        """Wait until ``max_requests`` have been answered."""
        for t in self._workers:
            t.join()

    def stop(self) -> None:
        self._stop.set()
        for t in self._workers:
            t.join(timeout=self.timeout + 5)

    def _marker(self) -> str:
        return f"{self.tag}-{next(self.counter)}-"

    def _loop(self, index: int) -> None:
        turn = index
        while not self._stop.is_set():
            if self.max_requests is not None and next(self.tickets) > self.max_requests:
                return
            kind = self.kinds[turn % len(self.kinds)]
            turn += 1
            result = self.send(kind)
            with self._lock:
                self.results.append(result)
            if self.pause:
                time.sleep(self.pause)

    def send(self, kind: str) -> dict:
        t0 = time.monotonic()
        markers: list[str] = []
        accepted: list[str] = []
        status = None
        error = None
        body = b""
        headers: dict = {}
        try:
            if kind == "form":
                marker = self._marker()
                markers.append(marker)
                cookie, token = self.csrf
                payload = urlencode(
                    {
                        "csrfmiddlewaretoken": token,
                        "text": f"{marker} {random.choice(PHRASES)}",
                        "rating": str(random.randint(1, 5)),
                        "consent": "on",
                    }
                ).encode()
                status, headers, body = http_request(
                    self.port,
                    "POST",
                    "/feedback/",
                    body=payload,
                    timeout=self.timeout,
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Cookie": f"csrftoken={cookie}",
                        "Referer": f"http://127.0.0.1:{self.port}/feedback/",
                        **self.extra_headers,
                    },
                )
                if status == 302 and "/feedback/thanks/" in headers.get("location", ""):
                    accepted.append(marker)
            elif kind == "api":
                marker = self._marker()
                markers.append(marker)
                status, headers, body = http_request(
                    self.port,
                    "POST",
                    "/api/v1/feedback/",
                    timeout=self.timeout,
                    body=json.dumps(self._item(marker)).encode(),
                    headers=self._api_headers(),
                )
                if status == 201:
                    accepted.append(marker)
            elif kind == "bulk":
                markers = [self._marker() for _ in range(self.bulk_size)]
                status, headers, body = http_request(
                    self.port,
                    "POST",
                    "/api/v1/feedback/bulk/",
                    timeout=self.timeout,
                    body=json.dumps({"items": [self._item(m) for m in markers]}).encode(),
                    headers=self._api_headers(),
                )
                if status == 200:
                    answer = json.loads(body)
                    accepted = [
                        markers[r["index"]] for r in answer["results"] if r["status"] == 201
                    ]
            elif kind == "health":
                status, headers, body = http_request(
                    self.port, "GET", "/healthz/", timeout=self.timeout
                )
            elif kind == "read":
                status, headers, body = http_request(
                    self.port, "GET", "/feedback/", timeout=self.timeout
                )
            else:
                raise ValueError(kind)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            error = type(exc).__name__
        return {
            "kind": kind,
            "t0": t0,
            "t1": time.monotonic(),
            "status": status,
            "error": error,
            "markers": markers,
            "accepted": accepted,
            "retry_after": headers.get("retry-after"),
            "sample": body[:300].decode(errors="replace") if status and status >= 400 else "",
        }

    def _item(self, marker: str) -> dict:
        return {
            "text": f"{marker} {random.choice(PHRASES)}",
            "rating": random.randint(1, 5),
            "rating_min": 1,
            "rating_max": 5,
        }

    def _api_headers(self) -> dict:
        return {"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"}

    # summaries

    def by_outcome(self, results: list[dict] | None = None) -> dict:
        """Requests by kind and outcome (HTTP status, or the client-side error)."""
        out: dict[str, dict[str, int]] = {}
        for r in self.results if results is None else results:
            key = str(r["status"]) if r["status"] is not None else r["error"]
            out.setdefault(r["kind"], {}).setdefault(key, 0)
            out[r["kind"]][key] += 1
        return out

    def accepted_markers(self) -> set[str]:
        return {m for r in self.results for m in r["accepted"]}

    def sent_markers(self) -> set[str]:
        return {m for r in self.results for m in r["markers"]}

    def error_samples(self) -> dict:
        samples = {}
        for r in self.results:
            if r["sample"]:
                samples.setdefault(f"{r['kind']} {r['status']}", re.sub(r"\s+", " ", r["sample"]))
        return samples


def stored_markers(db: Db, tag: str) -> dict[str, bool]:
    """Markers of ``tag`` found in feedback texts, each with whether its row is analysed."""
    rows = db.rows(
        "SELECT substring(text from %s), analysed_at IS NOT NULL FROM feedback_feedback "
        "WHERE text LIKE %s",
        (f"^({re.escape(tag)}-[0-9]+-)", f"{tag}-%"),
    )
    found: dict[str, bool] = {}
    for marker, analysed in rows:
        found[marker] = found.get(marker, False) or analysed
    return found


def wait_analysed(db: Db, tag: str, seconds: float) -> tuple[dict[str, bool], int]:
    """Wait up to ``seconds`` for every stored row of ``tag`` to be analysed; the stored
    markers (see ``stored_markers``) and how many rows are still unanalysed."""
    deadline = time.monotonic() + seconds
    while True:
        stored = stored_markers(db, tag)
        pending = sum(1 for analysed in stored.values() if not analysed)
        if not pending or time.monotonic() > deadline:
            return stored, pending
        time.sleep(2)


def duplicate_markers(db: Db, tag: str) -> int:
    return db.scalar(
        "SELECT count(*) FROM (SELECT substring(text from %s) m FROM feedback_feedback "
        "WHERE text LIKE %s GROUP BY 1 HAVING count(*) > 1) d",
        (f"^({re.escape(tag)}-[0-9]+-)", f"{tag}-%"),
    )


# --- the shared template ---------------------------------------------------------------


def build_template(workdir: Path, logfile: Path) -> dict:
    """Create ``fl_drill_template`` (migrated, one API key with every scope) on the shared
    server and collect static files into ``workdir``; the variables that make the drills
    use them (``TEMPLATE_ENV``)."""
    recreate_database(SHARED_PG_HOST, SHARED_PG_PORT, TEMPLATE_DB)
    names = types.SimpleNamespace(pg_user="postgres", pg_host="-", pg_port=0, db_name="-")
    env = build_env(names, workdir, "")
    env.pop("REDIS_URL")  # migrate needs neither broker nor cache
    env["DATABASE_URL"] = f"postgres://postgres@{SHARED_PG_HOST}:{SHARED_PG_PORT}/{TEMPLATE_DB}"
    env["BENCH_STATIC_ROOT"] = str(workdir / "static")
    (workdir / "var").mkdir(exist_ok=True)
    py = str(BIN / "python")
    run([py, "manage.py", "migrate", "--noinput"], env, logfile, timeout=900)
    run([py, "manage.py", "collectstatic", "--noinput"], env, logfile, timeout=900)
    out = run([py, "manage.py", "create_api_key", "drill", "--scopes", "all"], env, logfile)
    return {
        "FL_DRILL_TEMPLATE": TEMPLATE_DB,
        "FL_DRILL_API_KEY": out.strip().splitlines()[-1].strip(),
        "FL_DRILL_STATIC_ROOT": str(workdir / "static"),
    }


def drop_template() -> None:
    drop_database(SHARED_PG_HOST, SHARED_PG_PORT, TEMPLATE_DB)
