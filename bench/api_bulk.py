"""API bulk and webhook benchmark: feedback items/s through ``POST /api/v1/feedback/bulk/``
against single ``POST /api/v1/feedback/`` in the same run, and webhook fan-out to a local
receiver through a real Celery worker.

Run from the project root::

    .venv/bin/python bench/api_bulk.py [--single-seconds 15] [--bulk-calls 10] ...

The same machinery as ``bench/ingest.py`` (imported, not copied): a fresh PostgreSQL
database and Redis db, gunicorn on 127.0.0.1 with ``bench.settings_bench``, one Celery
worker, the benchmark lock. Then:

1. single: ``--connections`` clients post one feedback per request for ``--single-seconds``.
2. bulk:   ``--bulk-connections`` clients post ``--bulk-calls`` calls of ``--bulk-size`` items.
   For both, rows in ``feedback_feedback`` are counted before and after and must equal the
   items the answers report stored.
3. webhooks: a receiver on 127.0.0.1 (a thread of this script) is registered through
   ``POST /api/v1/webhooks/`` for ``feedback.created``; every delivery's signature is
   checked. The worker consumes the ``default`` queue (webhooks) with
   ``--worker-concurrency`` processes.
   - burst: ``--burst-calls`` bulk calls at once; events/s from the first commit to the
     last delivery, and the delay of each delivery from its commit;
   - paced: single posts at ``--paced-rate`` a second for ``--paced-seconds``; the delay
     from commit to delivery when the worker keeps up.
   "Commit" is the delivery row's ``created_at``, written right after the feedback's
   commit (``transaction.on_commit``) and sent in the body; the receiver stamps arrival.

Prints a table and one JSON line (``API_BULK_RESULT {...}``) and writes
``bench/results/api-bulk-<UTC time>.json``. Exits 0, or 2 when it could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import (  # noqa: E402
    BIN,
    RESULTS,
    ROOT,
    BenchError,
    Rows,
    Services,
    create_bench_key,
    flush_redis,
    free_port,
    git_info,
    gunicorn_cmd,
    gunicorn_label,
    log,
    machine_info,
    package_versions,
    prepare_run,
    recreate_database,
    run,
    run_cli,
    take_bench_lock,
    wait_http_ready,
    wait_log_line,
)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


class Client:
    """One keep-alive connection to the app, authenticated with the bench key."""

    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, path: str, body) -> tuple[int, dict]:
        self.conn.request("POST", path, body=json.dumps(body), headers=self.headers)
        reply = self.conn.getresponse()
        data = reply.read()
        return reply.status, json.loads(data) if data else {}

    def close(self) -> None:
        self.conn.close()


def item(tag: str, n: int) -> dict:
    return {"text": f"{tag}-t{n} The export button is hard to find.", "source": "bench"}


def in_threads(count: int, work) -> list:
    """Run ``work(index)`` in ``count`` threads; their results, in order."""
    results: list = [None] * count
    errors: list[BaseException] = []

    def target(index: int) -> None:
        try:
            results[index] = work(index)
        except BaseException as exc:  # noqa: BLE001 (reported after the join)
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise BenchError(f"a client failed: {errors[0]!r}")
    return results


def measure_single(args, port: int, key: str, rows: Rows) -> dict:
    before = rows.total()
    deadline = time.monotonic() + args.single_seconds

    def work(index: int) -> dict:
        client = Client(port, key)
        stored, failed, latencies, n = 0, 0, [], 0
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            status, _ = client.post("/api/v1/feedback/", item(f"single{index}", n))
            latencies.append((time.perf_counter() - t0) * 1000)
            stored += status == 201
            failed += status != 201
            n += 1
        client.close()
        return {"stored": stored, "failed": failed, "latencies": latencies}

    t0 = time.monotonic()
    parts = in_threads(args.connections, work)
    return tally(parts, time.monotonic() - t0, rows.total() - before)


def tally(parts: list[dict], elapsed: float, rows_added: int) -> dict:
    """Calls, items stored against rows added, items/s and call latencies of a phase."""
    stored = sum(p["stored"] for p in parts)
    latencies = [ms for p in parts for ms in p["latencies"]]
    return {
        "calls": len(latencies),
        "items_stored": stored,
        "failed": sum(p["failed"] for p in parts),
        "rows_added": rows_added,
        "all_stored": rows_added == stored,
        "seconds": round(elapsed, 2),
        "items_per_s": round(stored / elapsed, 1),
        "call_p50_ms": round(percentile(latencies, 50), 1),
        "call_p99_ms": round(percentile(latencies, 99), 1),
    }


def post_bulk_calls(args, port: int, key: str, calls: int, connections: int, tag: str):
    """``calls`` bulk calls of ``--bulk-size`` items over ``connections`` clients."""
    per_client = [calls // connections + (i < calls % connections) for i in range(connections)]

    def work(index: int) -> dict:
        client = Client(port, key)
        stored, failed, latencies = 0, 0, []
        for call in range(per_client[index]):
            items = [item(f"{tag}{index}c{call}", n) for n in range(args.bulk_size)]
            t0 = time.perf_counter()
            status, body = client.post("/api/v1/feedback/bulk/", {"items": items})
            latencies.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                raise BenchError(f"bulk call answered {status}: {str(body)[:300]}")
            ok = sum(1 for r in body["results"] if r["status"] == 201)
            stored += ok
            failed += len(items) - ok
        client.close()
        return {"stored": stored, "failed": failed, "latencies": latencies}

    t0 = time.monotonic()
    parts = in_threads(connections, work)
    return parts, time.monotonic() - t0


def measure_bulk(args, port: int, key: str, rows: Rows) -> dict:
    before = rows.total()
    parts, elapsed = post_bulk_calls(
        args, port, key, args.bulk_calls, args.bulk_connections, "bulk"
    )
    return {**tally(parts, elapsed, rows.total() - before), "items_per_call": args.bulk_size}


# --- webhooks ---------------------------------------------------------------------------


class Receiver:
    """Records each delivery's arrival, its commit time (from the body) and whether its
    signature is right; answers 200 at once."""

    def __init__(self) -> None:
        self.secret = ""
        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, float, bool, int]] = []  # arrival, commit, ok, id
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                arrived = time.time()
                body = self.rfile.read(int(self.headers["Content-Length"]))
                timestamp = self.headers.get("X-FocusLoop-Timestamp", "")
                expected = (
                    "sha256="
                    + hmac.new(
                        receiver.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
                    ).hexdigest()
                )
                signed = hmac.compare_digest(
                    expected, self.headers.get("X-FocusLoop-Signature", "")
                )
                payload = json.loads(body)
                committed = dt.datetime.fromisoformat(payload["created_at"]).timestamp()
                with receiver.lock:
                    receiver.arrivals.append((arrived, committed, signed, payload["id"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def take(self) -> list[tuple[float, float, bool, int]]:
        with self.lock:
            taken, self.arrivals = self.arrivals, []
        return taken

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(receiver: Receiver, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while receiver.count() < expected and time.monotonic() < deadline:
        time.sleep(0.05)


def delivery_figures(arrivals, expected: int) -> dict:
    delays = [(arrived - committed) * 1000 for arrived, committed, _, _ in arrivals]
    ids = {a[3] for a in arrivals}
    first_commit = min((a[1] for a in arrivals), default=0.0)
    last_arrival = max((a[0] for a in arrivals), default=0.0)
    span = last_arrival - first_commit
    return {
        "events": expected,
        "delivered": len(ids),
        "duplicates": len(arrivals) - len(ids),
        "bad_signatures": sum(1 for a in arrivals if not a[2]),
        "seconds": round(span, 2),
        "events_per_s": round(len(ids) / span, 1) if span > 0 else None,
        "delay_p50_ms": round(percentile(delays, 50), 1) if delays else None,
        "delay_p99_ms": round(percentile(delays, 99), 1) if delays else None,
        "delay_max_ms": round(max(delays), 1) if delays else None,
    }


def measure_webhooks(args, port: int, key: str, receiver: Receiver) -> dict:
    client = Client(port, key)
    status, body = client.post(
        "/api/v1/webhooks/",
        {"name": "bench receiver", "url": receiver.url, "events": ["feedback.created"]},
    )
    client.close()
    if status != 201:
        raise BenchError(f"registering the receiver answered {status}: {str(body)[:300]}")
    receiver.secret = body["secret"]
    # Each web process remembers "no subscriber" for WEBHOOK_SUBSCRIBERS_CACHE_SECONDS.
    time.sleep(args.subscribers_cache + 1)

    log(f"webhooks burst: {args.burst_calls} bulk calls of {args.bulk_size} at once")
    expected = args.burst_calls * args.bulk_size
    post_bulk_calls(args, port, key, args.burst_calls, args.burst_calls, "burst")
    wait_for(receiver, expected, args.delivery_wait)
    burst = delivery_figures(receiver.take(), expected)

    log(f"webhooks paced: {args.paced_rate}/s single posts for {args.paced_seconds} s")
    client = Client(port, key)
    expected = int(args.paced_rate * args.paced_seconds)
    start = time.monotonic()
    for n in range(expected):
        pause = start + n / args.paced_rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        status, _ = client.post("/api/v1/feedback/", item("paced", n))
        if status != 201:
            raise BenchError(f"paced post answered {status}")
    client.close()
    wait_for(receiver, expected, args.delivery_wait)
    paced = delivery_figures(receiver.take(), expected)
    return {"burst": burst, "paced": paced}


# --- the run ----------------------------------------------------------------------------


def print_table(results: dict) -> None:
    single, bulk = results["single"], results["bulk"]
    print("\n  feedback ingest                 items/s   stored/rows       latency")
    print(
        f"  single POST ({single['calls']:>6} calls)   {single['items_per_s']:>8}   "
        f"{single['items_stored']:>6}/{single['rows_added']:<6}   "
        f"p50 {single['call_p50_ms']} ms, p99 {single['call_p99_ms']} ms"
    )
    print(
        f"  bulk 1,000  ({bulk['calls']:>6} calls)   {bulk['items_per_s']:>8}   "
        f"{bulk['items_stored']:>6}/{bulk['rows_added']:<6}   "
        f"p50 {bulk['call_p50_ms']} ms, p99 {bulk['call_p99_ms']} ms per call"
    )
    print(f"  bulk / single: {results['bulk_over_single']} x")
    print(f"  machine load (1 min) after each phase: {results['load_1m']}")
    if "webhooks" in results:
        print("\n  webhooks       events  delivered  dup  bad sig  events/s  delay p50 / p99 / max")
        for name, w in results["webhooks"].items():
            print(
                f"  {name:<12} {w['events']:>8} {w['delivered']:>10} {w['duplicates']:>4} "
                f"{w['bad_signatures']:>8} {w['events_per_s']!s:>9}  "
                f"{w['delay_p50_ms']} / {w['delay_p99_ms']} / {w['delay_max_ms']} ms"
            )


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--single-seconds", type=float, default=15)
    p.add_argument("--connections", type=int, default=4, help="clients for single posts")
    p.add_argument("--bulk-calls", type=int, default=10)
    p.add_argument("--bulk-size", type=int, default=1000)
    p.add_argument("--bulk-connections", type=int, default=2)
    p.add_argument("--burst-calls", type=int, default=2, help="bulk calls of the webhook burst")
    p.add_argument("--paced-rate", type=float, default=20, help="single posts a second")
    p.add_argument("--paced-seconds", type=float, default=10)
    p.add_argument(
        "--delivery-wait",
        type=float,
        default=180,
        help="seconds to wait for every delivery to arrive",
    )
    p.add_argument(
        "--subscribers-cache",
        type=int,
        default=1,
        help="WEBHOOK_SUBSCRIBERS_CACHE_SECONDS for the run",
    )
    p.add_argument("--worker-concurrency", type=int, default=2)
    p.add_argument("--gunicorn-workers", type=int, default=4)
    p.add_argument("--no-webhooks", action="store_true")
    p.add_argument("--lock-wait", type=int, default=1800)
    p.add_argument("--db-name", default="focusloop_bench")
    p.add_argument("--pg-host", default="127.0.0.1")
    p.add_argument("--pg-port", type=int, default=5432)
    p.add_argument("--pg-user", default="postgres")
    p.add_argument("--redis", default="redis://127.0.0.1:6379", help="without the db number")
    p.add_argument("--redis-db", type=int, default=14)
    p.add_argument("--label", default="")
    args = p.parse_args(argv)
    # What gunicorn_cmd and gunicorn_label read.
    args.worker_class, args.gunicorn_threads = "sync", 1
    if args.bulk_size > 1000:
        p.error("the bulk endpoint takes at most 1,000 items")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    for tool in ("gunicorn", "celery"):
        if not (BIN / tool).exists():
            raise BenchError(f"{BIN / tool} missing: run with the project's venv python")
    lock_file = take_bench_lock(args)  # noqa: F841  (held until the process ends)

    stamp, logdir, scratch, redis_url, env = prepare_run(args)
    env.update(
        {
            # The receiver listens on 127.0.0.1, which production refuses.
            "WEBHOOK_ALLOW_PRIVATE_HOSTS": "1",
            "WEBHOOK_SUBSCRIBERS_CACHE_SECONDS": str(args.subscribers_cache),
        }
    )
    services = Services()
    rows: Rows | None = None
    receiver: Receiver | None = None
    started = time.monotonic()

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    try:
        log(f"logs in {logdir.relative_to(ROOT)}")
        code_at_start = git_info()
        pg_version = recreate_database(args)
        redis_version = flush_redis(redis_url)
        py = str(BIN / "python")
        run([py, "manage.py", "migrate", "--noinput"], env, logdir / "manage.log")
        key = create_bench_key(env, logdir)
        log(f"database {args.db_name} migrated, Redis db {args.redis_db} flushed, key created")

        celery_log = logdir / "celery.log"
        worker = services.start(
            "celery",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "-Q",
                "default",
                "--concurrency",
                str(args.worker_concurrency),
                "--loglevel",
                "INFO",
                "-n",
                f"bench-{stamp}@%h",
            ],
            env,
            celery_log,
        )
        port = free_port()
        gunicorn_log = logdir / "gunicorn.log"
        proc = services.start("gunicorn", gunicorn_cmd(args, port, gunicorn_log), env, gunicorn_log)
        wait_http_ready(port, proc, 60)
        wait_log_line(celery_log, " ready.", worker, 60)
        log(f"gunicorn on 127.0.0.1:{port} ({gunicorn_label(args)}), celery worker ready")

        rows = Rows(args)
        # Warm every web process (imports, key lookup) before anything is timed.
        warm = Client(port, key)
        for n in range(args.gunicorn_workers * 4):
            warm.post("/api/v1/feedback/", item("warm", n))
        warm.post("/api/v1/feedback/bulk/", {"items": [item("warmbulk", n) for n in range(50)]})
        warm.close()

        log(f"single posts: {args.connections} clients for {args.single_seconds} s")
        # Other processes share the machine's cores: the 1-minute load after each phase.
        load: dict[str, float] = {"start": os.getloadavg()[0]}
        results: dict = {"single": measure_single(args, port, key, rows)}
        load["single"] = os.getloadavg()[0]
        log(
            f"bulk: {args.bulk_calls} calls of {args.bulk_size} over "
            f"{args.bulk_connections} clients"
        )
        results["bulk"] = measure_bulk(args, port, key, rows)
        load["bulk"] = os.getloadavg()[0]
        results["bulk_over_single"] = round(
            results["bulk"]["items_per_s"] / results["single"]["items_per_s"], 1
        )
        if not args.no_webhooks:
            receiver = Receiver()
            results["webhooks"] = measure_webhooks(args, port, key, receiver)
            load["webhooks"] = os.getloadavg()[0]
        results["load_1m"] = load

        print_table(results)
        report = {
            "benchmark": "api_bulk",
            "started_utc": stamp,
            "label": args.label,
            "machine": machine_info(),
            "code": code_at_start,
            "code_at_end": git_info(),
            "versions": {**package_versions(), "postgresql": pg_version, "redis": redis_version},
            "config": {
                "gunicorn": gunicorn_label(args),
                "celery_worker": f"prefork, -Q default, concurrency {args.worker_concurrency}",
                "single_clients": args.connections,
                "bulk_clients": args.bulk_connections,
                "subscribers_cache_s": args.subscribers_cache,
            },
            "results": results,
            "elapsed_s": round(time.monotonic() - started, 1),
        }
        out = RESULTS / f"api-bulk-{stamp}.json"
        out.write_text(json.dumps(report, indent=2) + "\n")
        print("\nAPI_BULK_RESULT " + json.dumps({"started_utc": stamp, **results}))
        print(f"\n  result in {out.relative_to(ROOT)}")
        return 0
    finally:
        if receiver is not None:
            receiver.close()
        if rows is not None:
            rows.close()
        services.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    run_cli(main)
