"""Display logic (``show_if``) and skip-to-end (``end_if``): ORM-free.

Questions are plain dicts in survey order (``key``, ``kind``, ``choices``, ``allow_other``,
``required``, ``show_if``, ``end_if``). Answers are the logic values of clean answers
(``CleanAnswer.value``) keyed by question key; a missing key means "not answered".

Rules:

- ``show_if = {"question": <earlier key>, "op": <op>, "value": <value>}``: the question is
  shown only when the rule holds. A rule about an unanswered (or hidden) question holds only
  for ``answered`` with value false: ``neq`` on nothing is false too, so a follow-up
  question never appears before its trigger was answered.
- ``end_if = {"op": <op>, "value": <value>}`` on a question's own answer: when it holds,
  every later question is hidden (skip to the end).
- A hidden question is not required, and an answer sent for it is dropped.

``static/js/survey_form.js`` mirrors ``evaluate`` and ``visible_keys`` for the respondent
form; the server always re-evaluates.
"""

from __future__ import annotations

import math

from .question_types import ALL_OPS, OTHER, question_type

ORDER_OPS = {"lt", "lte", "gt", "gte"}
VALUE_MAX_LENGTH = 200


def evaluate(rule: dict, kind: str, value) -> bool:
    """Whether ``rule`` holds for ``value`` (the answer of a question of ``kind``, or None)."""
    op = rule.get("op")
    expected = rule.get("value")
    if op == "answered":
        want = True if expected is None else bool(expected)
        return (value is not None) == want
    if value is None:
        return False
    family = question_type(kind).family
    if family == "scale":
        if op == "in":
            return any(_num(value) == _num(v) for v in expected or [])
        a, b = _num(value), _num(expected)
        if a is None or b is None:
            return False
        return {
            "eq": a == b,
            "neq": a != b,
            "lt": a < b,
            "lte": a <= b,
            "gt": a > b,
            "gte": a >= b,
        }.get(op, False)
    if op == "contains":
        if family == "multiple":
            return str(expected) in value
        return str(expected).strip().lower() in str(value).lower()
    if op == "eq":
        return value == expected
    if op == "neq":
        return value != expected
    if op == "in":
        return value in (expected or [])
    return False


def _num(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def visible_keys(questions: list[dict], answers: dict) -> list[str]:
    """Keys of the questions shown for ``answers``, in order.

    ``answers`` maps keys to logic values. Answers to hidden questions do not count for
    later rules (they will be dropped when stored).
    """
    visible: list[str] = []
    seen: dict[str, object] = {}
    kinds = {q["key"]: q["kind"] for q in questions}
    for question in questions:
        rule = question.get("show_if") or {}
        if rule:
            ref = rule.get("question")
            if ref not in kinds or not evaluate(rule, kinds[ref], seen.get(ref)):
                continue
        visible.append(question["key"])
        value = answers.get(question["key"])
        if value is not None:
            seen[question["key"]] = value
        end_rule = question.get("end_if") or {}
        if end_rule and evaluate(end_rule, question["kind"], value):
            break
    return visible


def visible_questions(questions: list[dict], answers: dict) -> list[dict]:
    keys = set(visible_keys(questions, answers))
    return [q for q in questions if q["key"] in keys]


def validate_logic(questions: list[dict]) -> dict[str, list[str]]:
    """Messages per question key for rules that refer to later or missing questions, use an
    operator the referenced kind does not support, or compare with a value of the wrong type.
    """
    errors: dict[str, list[str]] = {}
    all_keys = {q["key"] for q in questions}
    earlier: dict[str, dict] = {}
    for question in questions:
        messages: list[str] = []
        rule = question.get("show_if") or {}
        if rule:
            if not isinstance(rule, dict):
                messages.append("The display rule must be an object.")
            else:
                ref = rule.get("question")
                if ref == question["key"]:
                    messages.append("A question cannot depend on itself.")
                elif ref in earlier:
                    messages.extend(f"Display rule: {m}" for m in rule_errors(earlier[ref], rule))
                elif ref in all_keys:
                    messages.append(
                        f'The display rule refers to "{ref}", which comes later; '
                        "a rule may only use an earlier question."
                    )
                else:
                    messages.append(f'The display rule refers to a missing question "{ref}".')
        end_rule = question.get("end_if") or {}
        if end_rule:
            if not isinstance(end_rule, dict):
                messages.append("The skip rule must be an object.")
            else:
                messages.extend(f"Skip rule: {m}" for m in rule_errors(question, end_rule))
        if messages:
            errors[question["key"]] = messages
        earlier[question["key"]] = question
    return errors


def rule_errors(referenced: dict, rule: dict) -> list[str]:
    """What is wrong with ``rule`` about the answer of ``referenced``."""
    qtype = question_type(referenced["kind"])
    op = rule.get("op")
    if op not in ALL_OPS:
        return [f'"{op}" is not an operator.']
    if op not in qtype.ops:
        allowed = ", ".join(qtype.ops)
        return [f'"{op}" does not apply to {qtype.label} questions (use one of: {allowed}).']
    value = rule.get("value")
    if op == "answered":
        if value is not None and not isinstance(value, bool):
            return ["Use true or false with “answered”."]
        return []
    if op == "in":
        if not isinstance(value, list) or not value:
            return ["“in” needs a non-empty list of values."]
        problems = [p for v in value for p in _value_errors(referenced, v)]
        return problems[:1]
    return _value_errors(referenced, value)


def _value_errors(referenced: dict, value) -> list[str]:
    qtype = question_type(referenced["kind"])
    if qtype.is_scale:
        number = _num(value)
        if number is None or not number.is_integer():
            return [
                f"The value must be a whole number from {qtype.scale_min} to {qtype.scale_max}."
            ]
        if not qtype.scale_min <= number <= qtype.scale_max:
            return [f"The value must lie from {qtype.scale_min} to {qtype.scale_max}."]
        return []
    if qtype.family == "yes_no":
        return [] if value in ("yes", "no") else ['The value must be "yes" or "no".']
    if qtype.has_choices:
        options = list(referenced.get("choices") or [])
        if referenced.get("allow_other"):
            options.append(OTHER)
        if value not in options:
            return [f'"{value}" is not one of the choices of that question.']
        return []
    if not isinstance(value, str) or not value.strip():
        return ["The value must be some text."]
    if len(value) > VALUE_MAX_LENGTH:
        return [f"Keep the value under {VALUE_MAX_LENGTH} characters."]
    return []


def coerce_rule_value(referenced: dict, op: str, raw: str):
    """The typed value of a rule typed into the builder (a string) for ``referenced``."""
    raw = (raw or "").strip()
    if op == "answered":
        return raw.lower() not in ("no", "false", "0")
    if op == "in":
        return [_coerce_one(referenced, part) for part in _listed_values(referenced, raw)]
    return _coerce_one(referenced, raw)


def _listed_values(referenced: dict, raw: str) -> list[str]:
    """The comma-separated values of ``raw``; a choice of ``referenced`` that holds a
    comma ("No, never") is one value, not two."""
    parts = raw.split(",")
    options = set(referenced.get("choices") or [])
    if referenced.get("allow_other"):
        options.add(OTHER)
    values: list[str] = []
    start = 0
    while start < len(parts):
        # The longest run of parts from here that names a choice, else one part.
        end = next(
            (
                end
                for end in range(len(parts), start + 1, -1)
                if ",".join(parts[start:end]).strip() in options
            ),
            start + 1,
        )
        value = ",".join(parts[start:end]).strip()
        if value:
            values.append(value)
        start = end
    return values


def _coerce_one(referenced: dict, raw: str):
    if question_type(referenced["kind"]).is_scale:
        number = _num(raw)
        if number is not None and number.is_integer():
            return int(number)
        return raw
    if referenced["kind"] == "yes_no":
        return raw.lower()
    return raw


def repoint_rules(questions: list[dict], old_key: str, new_key: str) -> list[str]:
    """Point every display rule that used ``old_key`` at ``new_key``; the keys changed."""
    changed = []
    for question in questions:
        rule = question.get("show_if") or {}
        if rule.get("question") == old_key:
            question["show_if"] = {**rule, "question": new_key}
            changed.append(question["key"])
    return changed
