"""Survey response benchmark: submitting survey responses over HTTP against the bare endpoint.

Run from the project root::

    .venv/bin/python bench/survey_responses.py [--duration 20] [--connections 8] ...

The same machinery, processes, accounting and targets as ``bench/ingest.py`` (imported,
not copied): a fresh PostgreSQL database and Redis db, one Celery worker, gunicorn on
127.0.0.1, wrk driven by ``bench/load.lua``, the same lock so benchmarks never overlap.
It creates one open survey (NPS, CSAT, a long-text "why" that becomes feedback, and a
"fix" question shown only when NPS ≤ 6) and measures:

- bare:         GET  /bench/bare/                        (baseline)
- survey_api:   POST /api/v1/surveys/<id>/responses/     (JSON, API key; 201)
- survey_form:  POST /s/<slug>/                          (public form, CSRF; 302 to thanks)

Every success must be stored: the responses counted in ``surveys_response`` before and
after each run, and the tagged "why" answers, must both equal the successes.
Targets as for feedback ingest: ≥ 0.2 × bare requests/s, p99 < 50 ms.
Writes ``bench/results/survey-responses-<UTC time>.json``; exits 1 when a target fails.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ingest  # noqa: E402
from bench.ingest import (  # noqa: E402
    BIN,
    P99_MAX_MS,
    RATIO_MIN,
    RESULTS,
    ROOT,
    BenchError,
    CpuMonitor,
    LogWatch,
    Rows,
    Services,
    csrf_pair,
    flush_redis,
    free_port,
    gunicorn_cmd,
    gunicorn_label,
    log,
    machine_info,
    measure_endpoint,
    package_versions,
    print_table,
    recreate_database,
    run,
    wait_http_ready,
)

MAKE_SURVEY = """
from surveys import services
survey = services.create_survey(title="Checkout benchmark")
services.add_question(survey=survey, key="nps", kind="nps", text="Recommend us?", required=True)
services.add_question(survey=survey, key="csat", kind="csat", text="Satisfied?")
services.add_question(survey=survey, key="why", kind="long_text", text="Tell us more")
services.add_question(survey=survey, key="fix", kind="short_text", text="What should we fix?",
                      show_if={"question": "nps", "op": "lte", "value": 6})
services.open_survey(survey=survey)
print("SURVEY", survey.pk, survey.slug)
"""


class SurveyRows(Rows):
    """Counts survey responses instead of feedback rows (same interface as ``Rows``)."""

    def __init__(self, args, survey_id: int) -> None:
        super().__init__(args)
        self.survey_id = survey_id

    def total(self) -> int:
        return self.scalar(
            "SELECT count(*) FROM surveys_response WHERE survey_id = %s", (self.survey_id,)
        )

    def tagged(self, tag: str) -> int:
        return self.scalar(
            "SELECT count(*) FROM surveys_answer a JOIN surveys_question q ON q.id = a.question_id"
            " WHERE q.survey_id = %s AND q.key = 'why' AND a.text LIKE %s",
            (self.survey_id, tag + "-t%"),
        )


def survey_checks(results: dict) -> list[dict]:
    checks = []
    bare = results.get("bare")
    for name in ("survey_api", "survey_form"):
        r = results.get(name)
        if r is None:
            continue
        if bare and bare["rps"] > 0:
            disturbed = bool(r.get("disturbed") or bare.get("disturbed"))
            checks.append(
                {
                    "endpoint": name,
                    "target": f"requests/s >= {RATIO_MIN} x bare",
                    "value": f"{r['ratio']:.3f} x ({r['rps']} vs {bare['rps']})"
                    + ("; disturbed" if disturbed else ""),
                    "pass": r["ratio"] >= RATIO_MIN and not disturbed,
                    "unsure": disturbed,
                }
            )
        checks.append(
            {
                "endpoint": name,
                "target": f"p99 < {P99_MAX_MS:g} ms",
                "value": f"{r['latency_ms']['p99']} ms",
                "pass": r["latency_ms"]["p99"] < P99_MAX_MS,
            }
        )
        checks.append(
            {
                "endpoint": name,
                "target": "every success stored (responses == successes)",
                "value": f"{r['rows_stored']} responses / {r['successes']} successes",
                "pass": bool(r["stored_equal"]),
            }
        )
        checks.append(
            {
                "endpoint": name,
                "target": "every request answered with success",
                "value": f"{r['unsuccessful']} unsuccessful, statuses {r['statuses']}",
                "pass": r["unsuccessful"] == 0 and r["socket_errors"] == 0,
            }
        )
    for name, r in results.items():
        errors = r.get("server_errors") or {}
        checks.append(
            {
                "endpoint": name,
                "target": "no exception or error in the server logs",
                "value": ", ".join(f"{k}: {v['count']} lines" for k, v in errors.items()) or "none",
                "pass": not errors,
            }
        )
    return checks


def main(argv=None) -> int:
    ingest.ENDPOINTS.update(
        {
            "survey_api": {"method": "POST", "path": None, "mode": "survey_api", "stores": True},
            "survey_form": {"method": "POST", "path": None, "mode": "survey_form", "stores": True},
        }
    )
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a.startswith("--endpoints") for a in argv):
        argv += ["--endpoints", "bare,survey_api,survey_form"]
    args = ingest.parse_args(argv)
    if not Path(args.wrk).exists():
        raise BenchError(f"wrk not found at {args.wrk} (Debian package 'wrk')")

    lock_file = ingest.take_bench_lock(args)  # noqa: F841  (held until the process ends)

    stamp, logdir, scratch, redis_url, env = ingest.prepare_run(args, "run-survey")
    services = Services()
    rows = None
    started = time.monotonic()
    signal.signal(signal.SIGTERM, lambda signum, frame: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        pg_version = recreate_database(args)
        redis_version = flush_redis(redis_url)
        py = str(BIN / "python")
        run([py, "manage.py", "migrate", "--noinput"], env, logdir / "manage.log")
        run([py, "manage.py", "collectstatic", "--noinput"], env, logdir / "manage.log")
        key = ingest.create_bench_key(env, logdir)
        out = run([py, "manage.py", "shell", "-c", MAKE_SURVEY], env, logdir / "manage.log")
        _, survey_id, slug = next(
            line for line in out.splitlines() if line.startswith("SURVEY")
        ).split()
        survey_id = int(survey_id)
        ingest.ENDPOINTS["survey_api"]["path"] = f"/api/v1/surveys/{survey_id}/responses/"
        ingest.ENDPOINTS["survey_form"]["path"] = f"/s/{slug}/"
        log(f"database ready, survey {survey_id} ({slug}) open")

        if not args.no_celery:
            ingest.start_worker(args, services, env, logdir, stamp)
        port = free_port()
        gunicorn_log = logdir / "gunicorn.log"
        proc = services.start("gunicorn", gunicorn_cmd(args, port, gunicorn_log), env, gunicorn_log)
        wait_http_ready(port, proc, 60)
        log(f"gunicorn ready on 127.0.0.1:{port} ({gunicorn_label(args)})")

        rows = SurveyRows(args, survey_id)
        extras = {
            "bare": [],
            "survey_api": [key],
            "survey_form": [*csrf_pair(port), f"http://127.0.0.1:{port}/s/{slug}/"],
        }
        monitor = CpuMonitor(args.db_name, services)
        logwatch = LogWatch({"gunicorn": gunicorn_log, "celery": logdir / "celery.log"})
        results = {
            name: measure_endpoint(args, name, port, extras[name], rows, logdir, monitor, logwatch)
            for name in args.endpoints
        }
        bare_rps = results["bare"]["rps"] if "bare" in results else None
        bare_cpu = results["bare"]["cpu_ms_total"] if "bare" in results else None
        for r in results.values():
            r["ratio"] = round(r["rps"] / bare_rps, 4) if bare_rps else None
            r["cpu_ratio"] = (
                round(bare_cpu / r["cpu_ms_total"], 4) if bare_cpu and r["cpu_ms_total"] else None
            )
        checks = survey_checks(results)
        print_table(results)
        for c in checks:
            c["status"] = "UNSURE" if c.get("unsure") else ("PASS" if c["pass"] else "FAIL")
            print(f"  {c['status']:<6}  {c['endpoint']:<11} {c['target']:<46} {c['value']}")
        ok = all(c["pass"] for c in checks)
        report = {
            "benchmark": "survey-responses",
            "started_utc": stamp,
            "label": args.label,
            "passed": ok,
            "machine": machine_info(),
            "code": ingest.git_info(),
            "versions": {**package_versions(), "postgresql": pg_version, "redis": redis_version},
            "config": {
                "gunicorn": gunicorn_label(args),
                "wrk": {
                    "threads": args.threads,
                    "connections": args.connections,
                    "duration_s": args.duration,
                    "warmup_s": args.warmup,
                },
                "targets": {"ratio_min": RATIO_MIN, "p99_max_ms": P99_MAX_MS},
            },
            "results": results,
            "checks": checks,
            "elapsed_s": round(time.monotonic() - started, 1),
        }
        out_path = RESULTS / f"survey-responses-{stamp}.json"
        out_path.write_text(json.dumps(report, indent=2) + "\n")
        print(
            f"\n  {'ALL TARGETS PASS' if ok else 'TARGETS NOT MET'}; result in {out_path.relative_to(ROOT)}"
        )
        return 0 if ok else 1
    finally:
        if rows is not None:
            rows.close()
        services.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    ingest.run_cli(main)
