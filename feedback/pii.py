"""Personal data typed inside free text: found and masked (no database, no Django models).

Masks keep the kind of what was removed ("[email]", "[phone]", "[card]", "[iban]") so a
reader and the theme models still see that, say, a phone number was given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+(?![\w-])")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
# 13–19 digits, optionally grouped by spaces or dashes: checked with Luhn before masking.
CARD_CANDIDATE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# International (+44 20 7946 0958) or national (020 7946 0958, (555) 123-4567) numbers:
# at least 7 digits with the usual separators; dates and amounts do not match.
PHONE = re.compile(
    r"(?<![\w/.])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,4}(?![\w/])"
)
DATE_LIKE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_cards(text: str) -> str:
    def replace(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return "[card]"
        return match.group()

    return CARD_CANDIDATE.sub(replace, text)


def _mask_phones(text: str) -> str:
    def replace(match: re.Match) -> str:
        found = match.group()
        digits = re.sub(r"\D", "", found)
        # E.164 numbers have at most 15 digits.
        if not 7 <= len(digits) <= 15 or DATE_LIKE.match(found.strip()):
            return found
        return "[phone]"

    return PHONE.sub(replace, text)


def redact(text: str, *, names: Iterable[str] = ()) -> str:
    """``text`` with emails, IBANs, card numbers, phone numbers and the given names masked.

    Names (e.g. the customer's own name on erasure) are matched as whole words, case-blind;
    names shorter than three characters are ignored so "Al" does not eat "also".
    """
    if not text:
        return text
    text = EMAIL.sub("[email]", text)
    text = IBAN.sub("[iban]", text)
    text = _mask_cards(text)
    text = _mask_phones(text)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 3}, key=len)[::-1]:
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", "[name]", text, flags=re.IGNORECASE)
    return text


def contains_pii(text: str) -> bool:
    return bool(text) and redact(text) != text
