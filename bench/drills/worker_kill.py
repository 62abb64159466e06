"""Drill 2: the analysis worker SIGKILLed in the middle of a batch.

    .venv/bin/python bench/drills/worker_kill.py [--rows 20000] [--kill-after 2000]

A fresh database ``fl_drill_worker`` on the shared PostgreSQL and a private redis-server
on port 6392. ``--rows`` unanalysed feedback rows are inserted directly (no trigger).
Worker A is started and woken; once it has committed ``--kill-after`` rows and holds an
open transaction (a claimed batch, seen in ``pg_stat_activity``), its whole process group
is SIGKILLed. Worker B and beat (sweep every 10 s) are started; the drill waits until
every row is analysed.

Pass: no row left unanalysed; no row worker A had committed was analysed again; every
stored score equals a fresh run of the same (deterministic) scorer on the same text; the
daily rollup counts every row exactly once.
"""

from __future__ import annotations

import argparse
import signal
import time

from common import Db, Drill, run_cli

REDIS_PORT = 6392


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=20000)
    p.add_argument(
        "--kill-after", type=int, default=2000, help="committed rows before worker A is killed"
    )
    p.add_argument("--drain", type=float, default=300, help="seconds to wait for worker B")
    args = p.parse_args(argv)

    with Drill("worker", "Celery worker SIGKILLed mid-batch") as drill:
        redis = drill.private_redis(REDIS_PORT)
        db_url = drill.shared_database()
        env = drill.env(db_url, redis.url)
        drill.prepare(env)
        db = Db(db_url)
        tag = f"WK{drill.stamp[-7:-1]}"
        like = f"{tag}-%"
        t = time.monotonic()
        drill.probe(env, "backlog", "--rows", str(args.rows), "--tag", tag)
        drill.event(f"{args.rows} unanalysed rows inserted ({time.monotonic() - t:.1f} s)")

        def analysed() -> int:
            return db.scalar(
                "SELECT count(*) FROM feedback_feedback WHERE text LIKE %s "
                "AND analysed_at IS NOT NULL",
                (like,),
            )

        def open_transactions() -> int:
            return db.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL",
            )

        worker_a = drill.start_worker(env, "a")
        drill.probe(env, "wake-up")
        a_started = drill.event("worker A woken")
        in_batch = False
        committed = 0
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            committed = analysed()
            if committed >= args.kill_after:
                in_batch = open_transactions() > 0
                if in_batch:
                    break
            time.sleep(0.05)
        drill.kill_group(worker_a, signal.SIGKILL)
        killed_at = drill.event(
            f"worker A SIGKILLed with {committed} rows committed (open transaction: {in_batch})"
        )
        # What worker A committed, as it stands now: none of it may change later.
        by_a = dict(
            db.rows(
                "SELECT id, analysed_at FROM feedback_feedback WHERE text LIKE %s "
                "AND analysed_at IS NOT NULL",
                (like,),
            )
        )
        settle = time.monotonic() + 30
        while open_transactions() and time.monotonic() < settle:
            time.sleep(0.2)  # the server notices the dead connection and rolls back

        drill.start_worker(env, "b")
        drill.start_beat(env, sweep_seconds=10)
        b_started = drill.event("worker B and beat started")
        done = len(by_a)
        deadline = time.monotonic() + args.drain
        while done < args.rows and time.monotonic() < deadline:
            time.sleep(1)
            done = analysed()
        drained = drill.event(f"{done} of {args.rows} analysed")

        # The sweep recounts the rollup days the batches marked dirty.
        rollup = None
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            dirty = db.scalar("SELECT count(*) FROM insights_dirtyrollupday")
            rollup = db.scalar(
                "SELECT coalesce(sum(analysed_count), 0) FROM insights_dailyfeedbackstat"
            )
            if not dirty and rollup == done:
                break
            time.sleep(2)

        after = dict(
            db.rows(
                "SELECT id, analysed_at FROM feedback_feedback WHERE id = ANY(%s)", (list(by_a),)
            )
        )
        rescored_a = sum(1 for pk, at in by_a.items() if after.get(pk) != at)
        check = drill.probe(env, "rescore", "--tag", tag)
        unanalysed = args.rows - done
        figures = {
            "rows": args.rows,
            "committed by worker A before the kill": len(by_a),
            "worker A batches committed (of 500 rows)": len(by_a) / 500,
            "worker A woken to killed (s)": round(killed_at - a_started, 1),
            "open transaction at the kill (mid-batch)": in_batch,
            "analysed by worker B": done - len(by_a),
            "worker B seconds": round(drained - b_started, 1),
            "unanalysed at the end": unanalysed,
            "worker A rows analysed again": rescored_a,
            "rows re-scored to compare": check["checked"],
            "stored score differs from a fresh run": check["mismatched"],
            "scorer": check["scorer"],
            "rollup analysed_count total": rollup,
            "differences (examples)": check["examples"],
        }
        checks = [
            ("worker A killed inside a batch", in_batch, f"open transaction: {in_batch}"),
            ("no row skipped", unanalysed == 0, f"{unanalysed} unanalysed"),
            (
                "no committed row analysed twice",
                rescored_a == 0,
                f"{rescored_a} of {len(by_a)} changed",
            ),
            (
                "one result per row (stored == re-scored)",
                check["mismatched"] == 0 and check["checked"] == done,
                f"{check['mismatched']} differ of {check['checked']}",
            ),
            (
                "rollup counts every row once",
                rollup == args.rows,
                f"{rollup} analysed in the rollup, {args.rows} rows",
            ),
        ]
        db.close()
        return drill.finish(figures, checks)


if __name__ == "__main__":
    run_cli(main)
