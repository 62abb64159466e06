import json
import sys
import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from sklearn.model_selection import StratifiedKFold

from insights.analysis import sentiment_model
from insights.management.labelled_csv import read_labelled_frame


class Command(BaseCommand):
    help = (
        "Train the product's sentiment pipeline on a labelled CSV (columns text,label; labels "
        "negative/neutral/positive) and score a second CSV, or cross-validate one with "
        "--folds. Prints one JSON line: n_train, n_test, accuracy, macro_f1, "
        "lexicon_macro_f1 (plain VADER on the same rows), texts_per_s, and the feature blocks used. "
        "Touches no database."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--train", required=True, help="CSV to train on.")
        parser.add_argument("--test", help="CSV to score; omit it with --folds.")
        parser.add_argument(
            "--folds", type=int, help="Stratified K-fold cross-validation on --train alone."
        )
        parser.add_argument("--random-state", type=int, default=0)
        parser.add_argument(
            "--no-embeddings",
            action="store_true",
            help="Leave out the static MiniLM embeddings even when they are installed.",
        )

    def handle(self, *args, train, test, folds, random_state, verbosity, **options):
        self.embeddings = False if options["no_embeddings"] else None
        if (test is None) == (folds is None):
            raise CommandError("Give --test, or --folds K to cross-validate --train alone.")
        train_texts, train_labels = _read_labelled_csv(train, self.stderr)
        if folds is not None:
            result = self._cross_validate(train_texts, train_labels, folds, random_state)
        else:
            test_texts, test_labels = _read_labelled_csv(test, self.stderr)
            result = self._train_and_score(
                train_texts, train_labels, test_texts, test_labels, random_state
            )
        if verbosity > 1:
            sys.stderr.write(f"training took {result.pop('_train_seconds'):.1f} s\n")
        result.pop("_train_seconds", None)
        self.stdout.write(json.dumps(result))

    def _train_and_score(self, train_texts, train_labels, test_texts, test_labels, random_state):
        started = time.perf_counter()
        try:
            model = sentiment_model.train(
                train_texts, train_labels, random_state=random_state, embeddings=self.embeddings
            )
        except ValueError as exc:
            raise CommandError(f"Cannot train on these rows: {exc}") from exc
        train_seconds = time.perf_counter() - started
        trained = sentiment_model.evaluate(model, test_texts, test_labels)
        lexicon = sentiment_model.evaluate(
            sentiment_model.PlainVaderModel(), test_texts, test_labels
        )
        return {
            "n_train": len(train_texts),
            "n_test": len(test_texts),
            "accuracy": round(trained["accuracy"], 4),
            "macro_f1": round(trained["macro_f1"], 4),
            "lexicon_macro_f1": round(lexicon["macro_f1"], 4),
            "texts_per_s": round(trained["texts_per_s"], 1),
            "features": "+".join(model.feature_blocks),
            "_train_seconds": train_seconds,
        }

    def _cross_validate(self, texts, labels, folds, random_state):
        if folds < 2:
            raise CommandError("--folds must be at least 2.")
        smallest_label, smallest = min(Counter(labels).items(), key=lambda item: item[1])
        if smallest < folds:
            raise CommandError(
                f"--folds {folds} needs at least {folds} rows of every label; "
                f'"{smallest_label}" has {smallest}.'
            )
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
        runs = []
        for train_index, test_index in splitter.split(texts, labels):
            runs.append(
                self._train_and_score(
                    [texts[i] for i in train_index],
                    [labels[i] for i in train_index],
                    [texts[i] for i in test_index],
                    [labels[i] for i in test_index],
                    random_state,
                )
            )
        means = {key: sum(run[key] for run in runs) / folds for key in runs[0] if key != "features"}
        return {
            "n_train": round(means["n_train"], 1),
            "n_test": round(means["n_test"], 1),
            "accuracy": round(means["accuracy"], 4),
            "macro_f1": round(means["macro_f1"], 4),
            "lexicon_macro_f1": round(means["lexicon_macro_f1"], 4),
            "texts_per_s": round(means["texts_per_s"], 1),
            "folds": folds,
            "features": runs[0]["features"],
            "_train_seconds": means["_train_seconds"],
        }


def _read_labelled_csv(path: str, stderr=None) -> tuple[list[str], list[str]]:
    """Texts and labels of a ``text,label`` CSV; CommandError on anything unusable. Rows
    without text are left out, as ``theme_benchmark`` leaves them out, with a note on
    ``stderr`` naming their lines."""
    frame = read_labelled_frame(path)
    if frame.empty:
        raise CommandError(f"{path}: no rows.")
    blank = frame["text"].str.strip() == ""
    if blank.any():
        # Line 1 is the header; a quoted text with line breaks shifts later lines.
        lines = [str(index + 2) for index in frame.index[blank]]
        shown = ", ".join(lines[:10]) + (f" and {len(lines) - 10} more" if len(lines) > 10 else "")
        if stderr is not None:
            stderr.write(f"{path}: left out {len(lines)} row(s) without text (line {shown}).")
        frame = frame[~blank]
        if frame.empty:
            raise CommandError(f"{path}: no rows with text.")
    labels = frame["label"].str.strip().str.lower()
    unknown = sorted(set(labels) - set(sentiment_model.LABELS))
    if unknown:
        shown = ", ".join(repr(label) for label in unknown[:5])
        raise CommandError(
            f"{path}: unknown label(s) {shown}; use {', '.join(sentiment_model.LABELS)}."
        )
    return frame["text"].tolist(), labels.tolist()
