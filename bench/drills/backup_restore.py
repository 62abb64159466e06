"""Drill 6: back up a loaded instance and restore it, as docs/operations.md says.

    .venv/bin/python bench/drills/backup_restore.py [--size 5000]

1. A fresh database ``fl_drill_backup_src`` on the shared PostgreSQL (a private
   redis-server on 6395 takes any wake-up): ``seed_demo --size N``, then the analysis
   (``analyse_all_pending`` and the rollup recount) so the dashboard has numbers.
2. ``pg_dump --format=custom`` of it; ``pg_restore --no-owner`` into the empty database
   ``fl_drill_backup_restored``; ``migrate`` there (must be a no-op).
3. Compared on both databases: the row count of every table, and the dashboard's numbers
   as a manager gets them (its CSV tables through the view: KPIs, channels, customer
   kinds, series; the trends page's 30-day period comparison; the pending count).
4. One feedback row stored through the service on the restored database: the sequences
   were restored too.
"""

from __future__ import annotations

import argparse
import subprocess
import time

from common import Drill, run_cli

REDIS_PORT = 6395


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=5000, help="feedback rows seed_demo writes")
    args = p.parse_args(argv)

    with Drill("backup", "Backup and restore") as drill:
        redis = drill.private_redis(REDIS_PORT)
        src_url = drill.shared_database("_src")
        dst_url = drill.shared_database("_restored", migrated=False)
        hosts = {"ALLOWED_HOSTS": "127.0.0.1,localhost,testserver"}
        src_env = drill.env(src_url, redis.url, **hosts)
        dst_env = drill.env(dst_url, redis.url, **hosts)
        drill.prepare(src_env)
        # Up to date with the code even when the template is older than a new migration.
        drill.manage(src_env, "migrate", "--noinput")

        t = time.monotonic()
        drill.manage(src_env, "seed_demo", "--size", str(args.size))
        drill.event(f"seed_demo --size {args.size} ({time.monotonic() - t:.1f} s)")
        analysed = drill.probe(src_env, "analyse")["analysed"]
        drill.event(f"analysis: {analysed} rows scored, rollups recounted")
        src_dashboard = drill.probe(src_env, "dashboard")

        dump = drill.scratch / "focusloop.dump"
        t = time.monotonic()
        subprocess.run(
            ["pg_dump", "--format=custom", f"--file={dump}", src_url],
            check=True,
            capture_output=True,
            timeout=600,
        )
        dump_s = time.monotonic() - t
        t = time.monotonic()
        restore = subprocess.run(
            ["pg_restore", "--no-owner", f"--dbname={dst_url}", str(dump)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        restore_s = time.monotonic() - t
        drill.event(
            f"pg_dump {dump_s:.1f} s ({dump.stat().st_size / 1024 / 1024:.1f} MiB), "
            f"pg_restore {restore_s:.1f} s (exit {restore.returncode})"
        )
        migrate_out = drill.manage(dst_env, "migrate", "--noinput")

        src_counts = drill.probe(src_env, "table-counts")["tables"]
        dst_counts = drill.probe(dst_env, "table-counts")["tables"]
        dst_dashboard = drill.probe(
            dst_env, "dashboard", "--today", src_dashboard["period_comparison"]["current_window"][1]
        )
        new_row = drill.probe(dst_env, "record-one", "--tag", f"BK{drill.stamp}")

        differing = sorted(
            t for t in set(src_counts) | set(dst_counts) if src_counts.get(t) != dst_counts.get(t)
        )
        dash_diff = [
            part
            for part in ("tables", "period_comparison", "pending_analysis")
            if src_dashboard[part] != dst_dashboard[part]
        ]
        tables_ok = all(v["status"] == 200 for v in src_dashboard["tables"].values())
        kpis = src_dashboard["tables"]["kpis"]["csv"].strip().splitlines()
        figures = {
            "seeded feedback rows": src_counts.get("feedback_feedback"),
            "tables": len(src_counts),
            "rows in all tables": sum(src_counts.values()),
            "pg_dump seconds": round(dump_s, 1),
            "dump size MiB": round(dump.stat().st_size / 1024 / 1024, 2),
            "pg_restore seconds / exit": f"{round(restore_s, 1)} / {restore.returncode}",
            "pg_restore messages": restore.stderr.strip()[-300:],
            "migrate after restore": migrate_out.strip().splitlines()[-1:],
            "tables with different counts": {
                t: [src_counts.get(t), dst_counts.get(t)] for t in differing
            },
            "dashboard parts that differ": dash_diff,
            "dashboard KPI table (source)": kpis[:6],
            "row stored after restore (id)": new_row["id"],
        }
        checks = [
            ("pg_restore succeeded", restore.returncode == 0, f"exit {restore.returncode}"),
            (
                "migrate after restore is a no-op",
                "No migrations to apply" in migrate_out,
                migrate_out.strip().splitlines()[-1] if migrate_out.strip() else "no output",
            ),
            (
                "identical row counts in every table",
                not differing,
                f"{len(differing)} of {len(src_counts)} tables differ",
            ),
            (
                "dashboard numbers identical",
                tables_ok and not dash_diff,
                f"differing: {dash_diff or 'none'}; views answered "
                f"{sorted({v['status'] for v in src_dashboard['tables'].values()})}",
            ),
            ("new rows can be stored after restore", bool(new_row["id"]), f"id {new_row['id']}"),
        ]
        return drill.finish(figures, checks)


if __name__ == "__main__":
    run_cli(main)
