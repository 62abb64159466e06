"""Drill 3: PostgreSQL restarted under load.

    .venv/bin/python bench/drills/postgres_restart.py [--before 10] [--after 20]

A private PostgreSQL cluster (port 5441, data in /tmp/fl-drill-pg-5441) and a private
redis-server (6393); gunicorn (3 sync workers) and one analysis worker. Four client
threads send API posts, public-form posts and ``GET /healthz/`` in turn (10 s client
timeout). After ``--before`` seconds the cluster is restarted with
``pg_ctl restart -m fast``; the load goes on ``--after`` seconds.

Reported: the restart's duration, answers by status while the database was away, the
slowest request, and the recovery time (from the restart command to the last failed
request). Pass: no request hangs past the client timeout, every failure is a 503 with
``Retry-After``, the app recovers without restarting gunicorn (every request in the last
5 s succeeds), every accepted submission is stored and later analysed.
"""

from __future__ import annotations

import argparse
import time

from common import (
    Db,
    Drill,
    Submitter,
    duplicate_markers,
    latency_summary,
    run_cli,
    wait_analysed,
)

REDIS_PORT = 6393
PG_PORT = 5441


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--before", type=float, default=10)
    p.add_argument("--after", type=float, default=20)
    p.add_argument("--timeout", type=float, default=10, help="client timeout, seconds")
    args = p.parse_args(argv)

    with Drill("postgres", "PostgreSQL restarted under load") as drill:
        redis = drill.private_redis(REDIS_PORT)
        pg = drill.private_postgres(PG_PORT)
        db_url = drill.private_database(pg, "fl_drill_postgres")
        env = drill.env(db_url, redis.url)
        key = drill.prepare(env)
        drill.start_worker(env, "a")
        port = drill.start_web(env)
        web = drill.services.procs[-1][1]
        tag = f"PG{drill.stamp[-7:-1]}"
        client = Submitter(
            port, api_key=key, tag=tag, kinds=("api", "form", "health"), timeout=args.timeout
        )

        client.start()
        drill.event("load started")
        time.sleep(args.before)
        restart_at = drill.event("pg_ctl restart -m fast")
        pg.restart()
        restarted_at = drill.event("PostgreSQL accepting connections again")
        time.sleep(args.after)
        client.stop()
        end = drill.event("load stopped")

        results = client.results
        failures = [r for r in results if not _ok(r)]
        window = [r for r in results if r["t1"] >= restart_at and r["t0"] <= restarted_at + 5]
        last_failure = max((r["t1"] for r in failures), default=None)
        recovery_s = round(last_failure - restart_at, 2) if last_failure else 0.0
        tail = [r for r in results if r["t0"] >= end - 5]
        hung = sum(
            1 for r in results if r["error"] == "TimeoutError" or r["t1"] - r["t0"] >= args.timeout
        )
        statuses = sorted({r["status"] for r in failures if r["status"]})
        not_503 = [r for r in failures if r["status"] != 503 or not r["retry_after"]]

        db = Db(db_url)
        accepted = client.accepted_markers()
        stored, pending = wait_analysed(db, tag, 60)
        lost = accepted - set(stored)
        duplicates = duplicate_markers(db, tag)
        db.close()
        server_errors = (
            (drill.logdir / "gunicorn.log")
            .read_text(errors="replace")
            .count("Internal Server Error")
        )
        figures = {
            "requests": len(results),
            "outcomes by kind": client.by_outcome(),
            "pg_ctl restart took (s)": round(restarted_at - restart_at, 2),
            "failed requests": len(failures),
            "failures by kind and status": client.by_outcome(failures),
            "failure statuses": statuses,
            "failures with Retry-After": sum(1 for r in failures if r["retry_after"]),
            "latency around the restart": latency_summary([r["t1"] - r["t0"] for r in window]),
            "latency overall": latency_summary([r["t1"] - r["t0"] for r in results]),
            "recovery (restart command to last failure, s)": recovery_s,
            "requests in the last 5 s / failed": f"{len(tail)} / {sum(not _ok(r) for r in tail)}",
            "gunicorn master restarted": web.poll() is not None,
            "'Internal Server Error' lines in the gunicorn log": server_errors,
            "stored although the request failed": len(
                (set(stored) & client.sent_markers()) - accepted
            ),
            "accepted submissions / stored / analysed": (
                f"{len(accepted)} / {len(set(stored) & accepted)} / {sum(stored.values())}"
            ),
            "error samples": client.error_samples(),
        }
        checks = [
            ("no request hung past the client timeout", hung == 0, f"{hung} hung"),
            (
                "failures answered 503 with Retry-After",
                not not_503,
                f"{len(not_503)} of {len(failures)} were not (statuses {statuses})",
            ),
            (
                "recovered without restarting gunicorn",
                web.poll() is None and tail and all(_ok(r) for r in tail),
                f"{len(tail)} requests in the last 5 s, {sum(not _ok(r) for r in tail)} failed",
            ),
            (
                "every accepted submission stored once",
                not lost and duplicates == 0,
                f"{len(lost)} lost, {duplicates} twice",
            ),
            ("every stored row analysed", pending == 0, f"{pending} unanalysed after 60 s"),
        ]
        return drill.finish(figures, checks)


def _ok(result: dict) -> bool:
    if result["kind"] == "health":
        return result["status"] == 200
    return bool(result["accepted"])


if __name__ == "__main__":
    run_cli(main)
