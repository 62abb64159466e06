"""The ``text,label`` CSV read by the benchmark commands."""

import pandas as pd
from django.core.management.base import CommandError


def read_labelled_frame(path: str) -> pd.DataFrame:
    """The CSV at ``path`` as strings, with ``text`` and ``label`` columns; CommandError
    when it is missing, unreadable, empty or lacks a column."""
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
        raise CommandError(
            f"{path}: missing column(s) {', '.join(missing)}; expected a header text,label."
        )
    return frame
