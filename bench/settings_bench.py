"""Settings for the benchmark's gunicorn, worker and management commands.

Everything comes from ``config.settings`` (and so from the environment that
``bench/ingest.py`` sets); only the URLconf changes, to add the bare baseline endpoint,
and STATIC_ROOT, so that collectstatic writes into the run's scratch folder instead of
the work tree.
"""

import os
from pathlib import Path

from config.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.bare_urls"

if os.environ.get("BENCH_STATIC_ROOT"):
    STATIC_ROOT = Path(os.environ["BENCH_STATIC_ROOT"])
