"""Drill 4: a malformed 50 MB review import, and a public-form flood from one address.

    .venv/bin/python bench/drills/abuse.py [--flood 300]

A fresh database ``fl_drill_abuse`` on the shared PostgreSQL, a private redis-server
(6394, the cache that holds the rate-limit counters), gunicorn (3 sync workers) and one
worker, with the production form limit ``FEEDBACK_FORM_RATE=10/m``.

1. ``POST /api/v1/review-imports/`` with a 50 MB malformed CSV (unbalanced quotes, NUL
   bytes, rows of the wrong width): expected a 400/413 with a message, and nothing stored
   (no import record, no file kept, no feedback).
2. The same endpoint with a 0.4 MB CSV mixing good and malformed rows: expected a
   row-level report: the import finishes, processed == total, and the feedback stored
   equals the rows it reports imported.
3. ``--flood`` public-form posts from 127.0.0.1 (6 threads; half carry a spoofed
   ``X-Forwarded-For``, which the app must not trust: ``RATELIMIT_IP_META_KEY`` is unset)
   while another client reads ``GET /feedback/`` every 50 ms. Expected: at most the rate
   accepted (10 a minute, 20 if the flood straddles a minute), the rest 429, every
   accepted post stored, and the reader's p99 under ``--reader-p99-ms``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from pathlib import Path

from common import Db, Drill, Submitter, http_request, latency_summary, run_cli, stored_markers

REDIS_PORT = 6394
MB = 1024 * 1024


def malformed_csv(size: int) -> bytes:
    """``size`` bytes of a CSV no importer should half-swallow."""
    rng = random.Random(5)
    parts = [b"id,rating,text,date\n"]
    total = len(parts[0])
    shapes = [
        lambda n: f'{n},5,"unterminated quote, great support,2024-01-0{n % 9 + 1}\n'.encode(),
        lambda n: f"{n};x;y;z;w;v;u\n".encode(),
        lambda n: b"\x00\x00\xff\xfe" + bytes(rng.getrandbits(8) for _ in range(40)) + b"\n",
        lambda n: f'{n},"5",""broken"" quotes "here,not-a-date\n'.encode(),
        lambda n: f"{n},abc,,\n".encode(),
    ]
    block = b"".join(shapes[n % len(shapes)](n) for n in range(5000))
    while total < size:
        parts.append(block)
        total += len(block)
    return b"".join(parts)[:size]


def mixed_csv(rows: int) -> bytes:
    """Good rows with malformed ones among them: every row ``n`` with ``n % 10`` in
    (3, 6, 9) has the wrong width, an impossible date or no text."""
    lines = ["id,rating,text,date"]
    for n in range(1, rows + 1):
        if n % 10 == 3:
            lines.append(f"r{n},4,too,many,columns,here")
        elif n % 10 == 6:
            lines.append(f"r{n},2,Delivery was late again,31/31/2024")
        elif n % 10 == 9:
            lines.append(f"r{n},3,,2024-02-01")
        else:
            lines.append(
                f"r{n},{n % 5 + 1},Review number {n}: support was helpful,2024-03-0{n % 9 + 1}"
            )
    return ("\n".join(lines) + "\n").encode()


def upload(port: int, key: str, name: str, data: bytes, source: str) -> tuple[int, dict, float]:
    boundary = uuid.uuid4().hex
    body = b"".join(
        [
            f'--{boundary}\r\nContent-Disposition: form-data; name="source"\r\n\r\n{source}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/csv\r\n\r\n".encode(),
            data,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    t = time.monotonic()
    status, _, answer = http_request(
        port,
        "POST",
        "/api/v1/review-imports/",
        body=body,
        timeout=180,
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Authorization": f"Bearer {key}",
        },
    )
    try:
        parsed = json.loads(answer)
    except ValueError:
        parsed = {"body": answer[:300].decode(errors="replace")}
    return status, parsed, time.monotonic() - t


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--flood", type=int, default=300)
    p.add_argument("--reader-p99-ms", type=float, default=1000)
    args = p.parse_args(argv)

    with Drill("abuse", "Malformed 50 MB import and a form flood from one IP") as drill:
        redis = drill.private_redis(REDIS_PORT)
        db_url = drill.shared_database()
        env = drill.env(db_url, redis.url, FEEDBACK_FORM_RATE="10/m")
        key = drill.prepare(env)
        drill.start_worker(env, "a")
        port = drill.start_web(env)
        db = Db(db_url)
        imports_dir = Path(env["REVIEW_IMPORT_DIR"])
        checks = []
        figures = {}

        # 1. The 50 MB malformed file.
        big = malformed_csv(50 * MB)
        drill.event(f"uploading a malformed CSV of {len(big) / MB:.0f} MB")
        status, answer, seconds = upload(port, key, "reviews.csv", big, "drill-big")
        kept = [f.name for f in imports_dir.iterdir()] if imports_dir.exists() else []
        imports = db.scalar("SELECT count(*) FROM feedback_reviewimport")
        reviews = db.scalar("SELECT count(*) FROM feedback_feedback WHERE channel = 'review'")
        figures.update(
            {
                "50 MB upload: status": status,
                "50 MB upload: seconds": round(seconds, 2),
                "50 MB upload: answer": answer,
                "50 MB upload: import records / files kept / feedback": f"{imports} / {len(kept)} / "
                f"{reviews}",
            }
        )
        message = json.dumps(answer)
        checks.append(
            (
                "50 MB file refused with a message (400/413)",
                status in (400, 413) and "MB" in message,
                f"{status} {message[:120]}",
            )
        )
        checks.append(
            (
                "nothing of it stored",
                imports == 0 and not kept and reviews == 0,
                f"{imports} imports, {len(kept)} files, {reviews} rows",
            )
        )
        del big

        # 2. A small malformed file: imported row by row, bad rows reported.
        small = mixed_csv(4000)
        status, answer, seconds = upload(port, key, "mixed.csv", small, "drill-mixed")
        final = answer
        if status == 202:
            deadline = time.monotonic() + 120
            while not final.get("is_finished") and time.monotonic() < deadline:
                time.sleep(1)
                _, _, body = http_request(
                    port,
                    "GET",
                    f"/api/v1/review-imports/{answer['id']}/",
                    headers={"Authorization": f"Bearer {key}"},
                )
                final = json.loads(body)
        stored = db.scalar("SELECT count(*) FROM feedback_feedback WHERE source = 'drill-mixed'")
        counts = {
            k: final.get(k)
            for k in (
                "status",
                "rows_total",
                "rows_processed",
                "rows_imported",
                "rows_duplicate",
                "rows_skipped",
            )
        }
        figures.update(
            {
                "mixed 0.4 MB import: upload status": status,
                "mixed 0.4 MB import: result": counts,
                "mixed 0.4 MB import: feedback stored": stored,
            }
        )
        expected = sum(1 for n in range(1, 4001) if n % 10 not in (3, 6, 9))
        consistent = (
            status == 202
            and final["rows_imported"] == expected
            and final.get("status") == "done"
            and final["rows_processed"] == final["rows_total"]
            and stored == final["rows_imported"]
            and final["rows_imported"] + final["rows_duplicate"] + final["rows_skipped"]
            == final["rows_total"]
        )
        checks.append(
            (
                f"malformed rows reported, the {expected} good ones stored exactly",
                consistent,
                f"{counts}, {stored} stored",
            )
        )

        # 3. The flood, with a reader beside it.
        reader = Submitter(port, tag="read", kinds=("read",), threads=1, pause=0.05)
        reader.start()
        time.sleep(8)
        flood_at = drill.event(f"form flood: {args.flood} posts from one address")
        tag = f"FL{drill.stamp[-7:-1]}"
        half = args.flood // 2
        plain = Submitter(port, tag=tag + "a", kinds=("form",), threads=3, max_requests=half)
        spoofed = Submitter(
            port,
            tag=tag + "b",
            kinds=("form",),
            threads=3,
            max_requests=args.flood - half,
            extra_headers={"X-Forwarded-For": "203.0.113.7"},
        )
        plain.start()
        spoofed.start()
        plain.join()
        spoofed.join()
        flood_end = drill.event("flood answered")
        time.sleep(3)
        reader.stop()
        flood = plain.results + spoofed.results
        accepted = plain.accepted_markers() | spoofed.accepted_markers()
        limited = sum(1 for r in flood if r["status"] == 429)
        stored_a = stored_markers(db, tag + "a")
        stored_b = stored_markers(db, tag + "b")
        stored_flood = set(stored_a) | set(stored_b)
        before = [r["t1"] - r["t0"] for r in reader.results if r["t0"] < flood_at]
        during = [r["t1"] - r["t0"] for r in reader.results if flood_at <= r["t0"] <= flood_end]
        reader_failed = sum(1 for r in reader.results if r["status"] != 200)
        during_summary = latency_summary(during)
        figures.update(
            {
                "flood: posts": len(flood),
                "flood: seconds": round(flood_end - flood_at, 1),
                "flood: outcomes": {
                    "plain": plain.by_outcome().get("form"),
                    "spoofed X-Forwarded-For": spoofed.by_outcome().get("form"),
                },
                "flood: accepted / stored": f"{len(accepted)} / {len(stored_flood)}",
                "flood: 429 sample": plain.error_samples().get("form 429", "")[:160],
                "reader before the flood": latency_summary(before),
                "reader during the flood": during_summary,
                "reader failures": reader_failed,
            }
        )
        checks += [
            (
                "flood throttled (accepted <= 20, rest 429)",
                len(accepted) <= 20 and limited == len(flood) - len(accepted),
                f"{len(accepted)} accepted, {limited} answered 429 of {len(flood)}",
            ),
            (
                "spoofed X-Forwarded-For gets no extra quota",
                len(spoofed.accepted_markers()) <= 20 and len(accepted) <= 20,
                f"{len(spoofed.accepted_markers())} spoofed posts accepted",
            ),
            (
                "every accepted post stored, nothing else",
                stored_flood == accepted,
                f"{len(stored_flood)} stored, {len(accepted)} accepted",
            ),
            (
                f"reader p99 during the flood < {args.reader_p99_ms:g} ms, no failure",
                bool(during)
                and during_summary["p99_ms"] < args.reader_p99_ms
                and reader_failed == 0,
                f"p99 {during_summary['p99_ms']} ms over {len(during)} reads, "
                f"{reader_failed} failed",
            ),
        ]
        db.close()
        return drill.finish(figures, checks)


if __name__ == "__main__":
    run_cli(main)
