"""Cleaning one raw answer for one question: ORM-free, shared by every channel.

A question is a plain dict (``key``, ``kind``, ``choices``, ``allow_other``, ...). A raw
answer is what a form, a kiosk or an API client sent; ``clean_answer`` turns it into a
``CleanAnswer`` (what is stored) or raises ``AnswerError`` with a message for the respondent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .question_types import CHOICE_MAX_LENGTH, OTHER, question_type


class AnswerError(ValueError):
    """The answer does not fit its question; ``str(exc)`` is the message to show."""


@dataclass(frozen=True)
class CleanAnswer:
    kind: str
    number: float | None = None
    text: str = ""
    choices: tuple[str, ...] = ()

    @property
    def value(self):
        """What logic rules compare: a number, "yes"/"no", a choice, a list of choices or text."""
        family = question_type(self.kind).family
        if family == "scale":
            return self.number
        if family == "yes_no":
            return "yes" if self.number == 1 else "no"
        if family == "choice":
            return self.choices[0]
        if family == "multiple":
            return list(self.choices)
        return self.text


def is_empty(raw) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, (list, tuple)):
        return not raw
    if isinstance(raw, dict):
        return all(is_empty(v) for v in raw.values())
    return False


def clean_answer(question: dict, raw) -> CleanAnswer | None:
    """The stored form of ``raw``, or None when nothing was answered.

    Raises ``AnswerError`` when the value has the wrong type or lies outside the question.
    """
    if is_empty(raw):
        return None
    family = question_type(question["kind"]).family
    cleaner = {
        "scale": _clean_scale,
        "yes_no": _clean_yes_no,
        "choice": _clean_single,
        "multiple": _clean_multiple,
        "text": _clean_text,
    }[family]
    return cleaner(question, raw)


def _clean_scale(question: dict, raw) -> CleanAnswer:
    qtype = question_type(question["kind"])
    message = f"Choose a whole number from {qtype.scale_min} to {qtype.scale_max}."
    if isinstance(raw, bool):
        raise AnswerError(message)
    if isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            raise AnswerError(message) from None
    if not isinstance(raw, (int, float)):
        raise AnswerError(message)
    if isinstance(raw, float) and (not math.isfinite(raw) or not raw.is_integer()):
        raise AnswerError(message)
    number = int(raw)
    if not qtype.scale_min <= number <= qtype.scale_max:
        raise AnswerError(message)
    return CleanAnswer(question["kind"], number=float(number))


_YES = {"yes", "true", "1"}
_NO = {"no", "false", "0"}


def _clean_yes_no(question: dict, raw) -> CleanAnswer:
    if isinstance(raw, bool):
        yes = raw
    elif isinstance(raw, str) and raw.strip().lower() in _YES | _NO:
        yes = raw.strip().lower() in _YES
    else:
        raise AnswerError('Answer "yes" or "no".')
    return CleanAnswer(question["kind"], number=1.0 if yes else 0.0)


def _other_text(raw) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise AnswerError("Enter the other answer as text.")
    text = raw.strip()
    if "\x00" in text:
        raise AnswerError("Text may not contain NUL characters.")
    if len(text) > CHOICE_MAX_LENGTH:
        raise AnswerError(f"Keep the other answer under {CHOICE_MAX_LENGTH} characters.")
    return text


def _clean_single(question: dict, raw) -> CleanAnswer:
    choices = list(question.get("choices") or [])
    allow_other = bool(question.get("allow_other"))
    other = ""
    if isinstance(raw, dict):
        unknown = set(raw) - {"choice", "other"}
        if unknown:
            raise AnswerError('Send {"choice": ..., "other": ...}.')
        choice = raw.get("choice")
        other = _other_text(raw.get("other"))
        if choice in (None, "") and other and allow_other:
            choice = OTHER
    else:
        choice = raw
    if not isinstance(choice, str):
        raise AnswerError("Select one of the choices.")
    choice = choice.strip()
    if choice in choices:
        # A picked option needs no other text; a stale one from the form is ignored.
        return CleanAnswer(question["kind"], choices=(choice,))
    if not allow_other:
        raise AnswerError("Select one of the choices.")
    if choice != OTHER:
        other = _other_text(choice)
    if not other:
        raise AnswerError(f'Tell us what "{OTHER}" is.')
    return CleanAnswer(question["kind"], choices=(OTHER,), text=other)


def _clean_multiple(question: dict, raw) -> CleanAnswer:
    choices = list(question.get("choices") or [])
    allow_other = bool(question.get("allow_other"))
    other = ""
    if isinstance(raw, dict):
        unknown = set(raw) - {"choices", "other"}
        if unknown:
            raise AnswerError('Send {"choices": [...], "other": ...}.')
        items = raw.get("choices") or []
        other = _other_text(raw.get("other"))
    elif isinstance(raw, str):
        items = [raw]
    else:
        items = raw
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise AnswerError("Send a list of choices.")
    picked: list[str] = []
    wants_other = bool(other)
    for item in (i.strip() for i in items):
        if not item or item in picked:
            continue
        if item in choices:
            picked.append(item)
        elif allow_other and item == OTHER:
            wants_other = True
        elif allow_other and not other:
            other = _other_text(item)
            wants_other = True
        else:
            raise AnswerError(f'"{item[:50]}" is not one of the choices.')
    if wants_other:
        if not other:
            raise AnswerError(f'Tell us what "{OTHER}" is.')
        picked.append(OTHER)
    if not picked:
        return None
    return CleanAnswer(question["kind"], choices=tuple(picked), text=other if wants_other else "")


def _clean_text(question: dict, raw) -> CleanAnswer:
    qtype = question_type(question["kind"])
    if not isinstance(raw, str):
        raise AnswerError("Enter text.")
    text = raw.strip()
    if "\x00" in text:
        raise AnswerError("Text may not contain NUL characters.")
    if len(text) > qtype.max_length:
        raise AnswerError(f"Keep this under {qtype.max_length} characters (it has {len(text)}).")
    return CleanAnswer(question["kind"], text=text)
