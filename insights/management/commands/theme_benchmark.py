import json
import time

import pandas as pd
from django.core.management.base import BaseCommand, CommandError
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from insights.analysis import themes


class Command(BaseCommand):
    help = (
        "Run the product's theme discovery on a labelled CSV (columns text,label) without "
        "showing it the labels, and compare its themes with the labels. Prints one JSON "
        "line: n_themes, nmi, ari, seconds (then n_texts, n_labels, chosen_by). Touches no "
        "database."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True, help="CSV with the columns text,label.")
        parser.add_argument(
            "--k", type=int, help="Number of themes (default: chosen automatically)."
        )
        parser.add_argument("--random-state", type=int, default=0)

    def handle(self, *args, input, k, random_state, **options):
        texts, labels = _read(input)
        started = time.perf_counter()
        try:
            found = themes.discover(texts, k=k, random_state=random_state)
        except ValueError as exc:  # TooFewTextsError is a ValueError too
            raise CommandError(str(exc)) from exc
        seconds = time.perf_counter() - started
        self.stdout.write(
            json.dumps(
                {
                    "n_themes": found.k,
                    "nmi": round(float(normalized_mutual_info_score(labels, found.labels)), 4),
                    "ari": round(float(adjusted_rand_score(labels, found.labels)), 4),
                    "seconds": round(seconds, 2),
                    "n_texts": len(texts),
                    "n_labels": len(set(labels)),
                    "chosen_by": found.chosen_by,
                }
            )
        )


def _read(path: str) -> tuple[list[str], list[str]]:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError as exc:
        raise CommandError(f"{path}: no such file.") from exc
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise CommandError(f"{path}: cannot be read as a UTF-8 CSV ({exc}).") from exc
    except pd.errors.EmptyDataError as exc:
        raise CommandError(f"{path}: the file is empty.") from exc
    missing = [column for column in ("text", "label") if column not in frame.columns]
    if missing:
        raise CommandError(f"{path}: missing column(s) {', '.join(missing)}; expected text,label.")
    frame = frame[frame["text"].str.strip() != ""]
    if frame.empty:
        raise CommandError(f"{path}: no rows with text.")
    return frame["text"].tolist(), frame["label"].str.strip().tolist()
