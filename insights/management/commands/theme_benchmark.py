import json
import time

from django.core.management.base import BaseCommand, CommandError
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from insights.analysis import themes
from insights.management.labelled_csv import read_labelled_frame


class Command(BaseCommand):
    help = (
        "Run the product's theme discovery on a labelled CSV (columns text,label) without "
        "showing it the labels, and compare its themes with the labels. Prints one JSON "
        "line: n_themes, nmi, ari, seconds (then n_texts, n_labels, chosen_by, "
        "semantic_block). Touches no database."
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
                    "semantic_block": found.space.semantic is not None,
                }
            )
        )


def _read(path: str) -> tuple[list[str], list[str]]:
    frame = read_labelled_frame(path)
    frame = frame[frame["text"].str.strip() != ""]
    if frame.empty:
        raise CommandError(f"{path}: no rows with text.")
    return frame["text"].tolist(), frame["label"].str.strip().tolist()
