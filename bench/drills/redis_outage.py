"""Drill 1: Redis stopped while submissions arrive.

    .venv/bin/python bench/drills/redis_outage.py [--before 12] [--outage 20] [--after 12]

gunicorn (3 sync workers), one analysis worker and beat (sweep every 10 s) run against a
fresh database ``fl_drill_redis`` on the shared PostgreSQL and a private redis-server on
port 6391 (broker and cache). Four client threads send public-form posts, API posts and
bulk API posts (5 items) in turn, each text with a unique marker. Redis is stopped after
``--before`` seconds, started again (empty: no persistence) ``--outage`` seconds later,
and the load goes on ``--after`` seconds more. Then the drill waits for the analysis.

Pass: every accepted submission (302 to the thanks page, 201, or 201 per bulk item) is
stored exactly once, every stored row is analysed within ``--drain`` seconds, and no
request failed while Redis was down.
"""

from __future__ import annotations

import argparse
import time

from common import Db, Drill, Submitter, duplicate_markers, latency_summary, run_cli, wait_analysed

REDIS_PORT = 6391


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--before", type=float, default=12)
    p.add_argument("--outage", type=float, default=20)
    p.add_argument("--after", type=float, default=12)
    p.add_argument("--drain", type=float, default=60, help="seconds to wait for the analysis")
    p.add_argument("--threads", type=int, default=4)
    args = p.parse_args(argv)

    with Drill("redis", "Redis stopped while submissions arrive") as drill:
        redis = drill.private_redis(REDIS_PORT)
        db_url = drill.shared_database()
        env = drill.env(db_url, redis.url)
        key = drill.prepare(env)
        drill.start_worker(env, "a")
        drill.start_beat(env, sweep_seconds=10)
        port = drill.start_web(env)
        db = Db(db_url)
        tag = f"RD{drill.stamp[-7:-1]}"
        client = Submitter(port, api_key=key, tag=tag, threads=args.threads)

        client.start()
        drill.event("load started")
        time.sleep(args.before)
        down_at = drill.event("redis stopped")
        redis.stop()
        time.sleep(args.outage)
        up_at = drill.event("redis started again (empty)")
        redis.start()
        time.sleep(args.after)
        client.stop()
        drill.event("load stopped")

        accepted = client.accepted_markers()
        sent = client.sent_markers()
        stored, pending = wait_analysed(db, tag, args.drain)
        drained_s = round(time.monotonic() - up_at, 1)
        drill.event(f"{pending} stored rows unanalysed")
        sweeps = db.rows(
            "SELECT count(*), coalesce(sum(rows), 0) FROM insights_analysisrun WHERE kind = %s",
            ("sweep",),
        )[0]

        lost = sorted(accepted - set(stored))
        during = [r for r in client.results if down_at <= r["t0"] <= up_at]
        outside = [r for r in client.results if not down_at <= r["t0"] <= up_at]
        failed_during = sum(1 for r in during if not r["accepted"] and r["markers"])
        stored_unanswered = len((set(stored) & sent) - accepted)
        duplicates = duplicate_markers(db, tag)
        figures = {
            "submissions sent (markers)": len(sent),
            "requests": len(client.results),
            "accepted (2xx/302)": len(accepted),
            "outcomes by kind": client.by_outcome(),
            "requests while Redis was down": len(during),
            "outcomes while Redis was down": client.by_outcome(during),
            "latency outside the outage": latency_summary([r["t1"] - r["t0"] for r in outside]),
            "latency while Redis was down": latency_summary([r["t1"] - r["t0"] for r in during]),
            "stored": len(stored),
            "stored without a success answer": stored_unanswered,
            "analysed": sum(stored.values()),
            "lost (accepted, not stored)": len(lost),
            "rows stored twice": duplicates,
            "analysed by (s after Redis returned)": drained_s,
            "sweep runs (rows they analysed)": f"{sweeps[0]} ({sweeps[1]})",
            "error samples": client.error_samples(),
        }
        checks = [
            ("every accepted submission stored", not lost, f"{len(lost)} lost"),
            ("nothing stored twice", duplicates == 0, f"{duplicates} markers twice"),
            (
                "every stored row analysed after Redis returned",
                pending == 0,
                f"{pending} unanalysed after {args.drain:g} s of waiting",
            ),
            (
                "submissions accepted while Redis was down",
                failed_during == 0 and len(during) > 0,
                f"{failed_during} of {len(during)} refused or failed",
            ),
        ]
        db.close()
        return drill.finish(figures, checks)


if __name__ == "__main__":
    run_cli(main)
