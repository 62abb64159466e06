"""Cells a spreadsheet would run as a formula (CSV injection) are made plain text."""

import re

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# "-3", "+4.5": a spreadsheet reads a plain number as that number, nothing runs.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def neutralise_formula(value):
    """``value`` with a leading quote when it is text a spreadsheet would evaluate."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_PREFIXES)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value
