"""Run every fault drill, one after the other, and print a summary.

    .venv/bin/python bench/drills/run_all.py [--only redis,worker,postgres,abuse,backup]

First builds the migrated template database ``fl_drill_template`` (and collects static
files once), which each drill copies instead of migrating; drops it at the end. Each drill
runs as its own process with a time limit; see docs/reliability.md. Exits 0 when every
drill passed, 1 when one failed, 2 when one could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from common import BIN, RESULTS, ROOT, build_template, drop_template, log, run_cli

DRILLS = {
    "redis": ("redis_outage.py", "Redis stopped while submissions arrive"),
    "worker": ("worker_kill.py", "Celery worker SIGKILLed mid-batch"),
    "postgres": ("postgres_restart.py", "PostgreSQL restarted under load"),
    "abuse": ("abuse.py", "Malformed 50 MB import and a form flood from one IP"),
    "backup": ("backup_restore.py", "Backup and restore"),
}
OUTCOME = {0: "PASSED", 1: "FAILED", 2: "COULD NOT RUN", 124: "TIMED OUT"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", default=",".join(DRILLS))
    p.add_argument("--timeout", type=int, default=600, help="seconds per drill at most")
    args = p.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(DRILLS)
    if unknown:
        p.error(f"unknown drills: {', '.join(sorted(unknown))}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(tempfile.mkdtemp(prefix="focusloop-drills-"))
    summary = []
    try:
        t = time.monotonic()
        log("building the migrated template database fl_drill_template")
        env = {**os.environ, **build_template(workdir, RESULTS / f"drills-template-{stamp}.log")}
        log(f"template ready ({time.monotonic() - t:.1f} s)")
        for name in chosen:
            script, title = DRILLS[name]
            started = time.monotonic()
            proc = subprocess.Popen(
                [str(BIN / "python"), str(ROOT / "bench" / "drills" / script)], env=env
            )
            try:
                code = proc.wait(timeout=args.timeout)
            except subprocess.TimeoutExpired:
                proc.terminate()  # the drill stops what it started, then exits
                try:
                    proc.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                code = 124
            summary.append((name, title, code, round(time.monotonic() - started, 1)))
    finally:
        drop_template()
        shutil.rmtree(workdir, ignore_errors=True)

    print("\n  drill       outcome         seconds  what")
    for name, title, code, seconds in summary:
        print(f"  {name:<10}  {OUTCOME.get(code, f'exit {code}'):<14}  {seconds:>7}  {title}")
    codes = {code for _, _, code, _ in summary}
    return 0 if codes <= {0} else (1 if codes <= {0, 1} else 2)


if __name__ == "__main__":
    run_cli(main)
