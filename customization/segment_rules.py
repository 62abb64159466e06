"""Segment rules: validate them and compile them into one customer query.

A rule is ``{"field": ..., "op": ..., "value": ...}``; a segment's customers are those
matching every rule. Fields are customer attributes (``kind``, ``tier``,
``annual_value``, ``department``, ``account``), ``product`` (customers who gave feedback
on one of the products, by slug) and ``attributes.<key>`` for any key of the customer's
``attributes`` JSON. All rules together compile to one ``Q`` (product rules become a
subquery), so the members are read in a single query.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from feedback.models import Customer, Feedback, Product

ATTRIBUTE_PREFIX = "attributes."
# A JSON key becomes part of an ORM lookup: letters, digits, "-" and single "_" only, so a
# key can never smuggle in a lookup ("region__startswith") or a path into another key.
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_))*$")
MAX_RULES = 20
MAX_VALUES = 200
# Bounds that keep numeric comparisons on JSON values to numbers: JSON strings and
# booleans sort outside them on both PostgreSQL (jsonb ordering) and SQLite.
_NUMBER_FLOOR = -1e308
_NUMBER_CEILING = 1e308

OPS_LABELS = {
    "eq": "is",
    "in": "is one of",
    "contains": "contains",
    "gte": "is at least",
    "lte": "is at most",
}

FIELD_OPS: dict[str, tuple[str, ...]] = {
    "kind": ("eq", "in"),
    "tier": ("eq", "in"),
    "annual_value": ("eq", "gte", "lte"),
    "product": ("eq", "in"),
    "department": ("eq", "in", "contains"),
    "account": ("eq", "in", "contains"),
}
ATTRIBUTE_OPS = ("eq", "in", "contains", "gte", "lte")

FIELD_LABELS = {
    "kind": "Customer kind",
    "tier": "Tier",
    "annual_value": "Annual value",
    "product": "Gave feedback on product",
    "department": "Department",
    "account": "Account / company",
    "attribute": "Custom attribute",
}
_CHOICES = {"kind": dict(Customer.Kind.choices), "tier": dict(Customer.Tier.choices)}


def _fail(index: int, message: str) -> ValidationError:
    return ValidationError({"rules": [f"Rule {index + 1}: {message}"]}, code="invalid")


def _as_list(index: int, value: Any) -> list:
    if not isinstance(value, list) or not value:
        raise _fail(index, "“is one of” needs a non-empty list of values.")
    if len(value) > MAX_VALUES:
        raise _fail(index, f"at most {MAX_VALUES} values.")
    return value


def _as_number(index: int, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _fail(index, "the value must be a number.")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _fail(index, "the value must be a number.") from None
    if not number.is_finite() or abs(number) >= Decimal("1e300"):
        raise _fail(index, "the value must be a finite number.")
    return number


def _as_text(index: int, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(index, "the value must be non-empty text.")
    if len(value) > 500:
        raise _fail(index, "the value is too long (500 characters at most).")
    # PostgreSQL stores no NUL in text or jsonb: refused here rather than failing the save.
    if "\x00" in value:
        raise _fail(index, "the value may not contain NUL characters.")
    return value.strip()


def _as_scalar(index: int, value: Any) -> str | int | float | bool:
    if isinstance(value, bool | int | float) and not isinstance(value, Decimal):
        if isinstance(value, float) and value != value:  # NaN
            raise _fail(index, "the value must be a number, text or true/false.")
        return value
    if isinstance(value, str) and value.strip():
        return _as_text(index, value)
    raise _fail(index, "the value must be a number, text or true/false.")


def _clean_rule(index: int, rule: Any) -> dict:
    if not isinstance(rule, dict):
        raise _fail(index, "each rule must be an object with field, op and value.")
    unknown = set(rule) - {"field", "op", "value"}
    if unknown:
        raise _fail(index, f"unknown key {sorted(unknown)[0]!r}.")
    field, op, value = rule.get("field"), rule.get("op"), rule.get("value")
    if not isinstance(field, str) or not field:
        raise _fail(index, "the field is missing.")
    if field.startswith(ATTRIBUTE_PREFIX):
        key = field[len(ATTRIBUTE_PREFIX) :]
        if not ATTRIBUTE_KEY.match(key) or len(key) > 80:
            raise _fail(index, f"{key!r} is not a valid attribute name.")
        allowed = ATTRIBUTE_OPS
    elif field in FIELD_OPS:
        allowed = FIELD_OPS[field]
    else:
        raise _fail(index, f"unknown field {field!r}.")
    if op not in allowed:
        raise _fail(index, f"{field} cannot be compared with {op!r} (use {', '.join(allowed)}).")

    clean = _value_cleaner(field, op)
    if op == "in":
        value = [clean(index, item) for item in _as_list(index, value)]
    else:
        value = clean(index, value)
    return {"field": field, "op": op, "value": value}


def _value_cleaner(field: str, op: str):
    """How one value of ``field`` compared with ``op`` is checked and normalised."""
    if field in _CHOICES:
        choices = _CHOICES[field]

        def choice(index: int, value: Any) -> str:
            if value not in choices:
                raise _fail(index, f"{value!r} is not a {field} (use {', '.join(choices)}).")
            return value

        return choice
    if field == "annual_value":
        return lambda index, value: str(_as_number(index, value))
    if field in ("product", "department", "account") or op == "contains":
        return _as_text
    # Custom attributes keep their JSON type: 5 and "5" are different values.
    if op in ("gte", "lte"):
        return lambda index, value: float(_as_number(index, value))
    return _as_scalar


def validate_rules(rules: Any) -> list[dict]:
    """Return the rules cleaned (numbers normalised, text trimmed).

    Raises ``ValidationError`` with a ``rules`` message naming the first bad rule: unknown
    field or operator, a value of the wrong type, or a product slug that does not exist.
    """
    if not isinstance(rules, list) or not rules:
        raise ValidationError({"rules": ["A rule segment needs at least one rule."]})
    if len(rules) > MAX_RULES:
        raise ValidationError({"rules": [f"At most {MAX_RULES} rules."]})
    cleaned = [_clean_rule(index, rule) for index, rule in enumerate(rules)]
    slugs = {
        slug
        for rule in cleaned
        if rule["field"] == "product"
        for slug in (rule["value"] if rule["op"] == "in" else [rule["value"]])
    }
    if slugs:
        known = set(Product.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        for index, rule in enumerate(cleaned):
            if rule["field"] != "product":
                continue
            values = rule["value"] if rule["op"] == "in" else [rule["value"]]
            missing = [slug for slug in values if slug not in known]
            if missing:
                raise _fail(index, f"no product with slug {missing[0]!r}.")
    return cleaned


def _rule_q(rule: dict) -> Q:
    field, op, value = rule["field"], rule["op"], rule["value"]
    if field == "product":
        slugs = value if op == "in" else [value]
        return Q(
            pk__in=Feedback.objects.filter(product__slug__in=slugs, customer__isnull=False).values(
                "customer_id"
            )
        )
    if field.startswith(ATTRIBUTE_PREFIX):
        path = f"attributes__{field[len(ATTRIBUTE_PREFIX) :]}"
        if op == "eq":
            return Q(**{path: value})
        if op == "in":
            return Q(**{f"{path}__in": value})
        if op == "contains":
            return Q(**{f"{path}__icontains": value})
        if op == "gte":
            return Q(**{f"{path}__gte": value, f"{path}__lte": _NUMBER_CEILING})
        return Q(**{f"{path}__lte": value, f"{path}__gte": _NUMBER_FLOOR})
    if field == "annual_value":
        value = Decimal(value)
    lookup = {"eq": field, "in": f"{field}__in", "contains": f"{field}__icontains"}.get(
        op, f"{field}__{op}"
    )
    return Q(**{lookup: value})


def compile_rules(rules: list[dict]) -> Q:
    """One ``Q`` over ``Customer`` that every rule must match (rules already validated)."""
    condition = Q()
    for rule in rules:
        condition &= _rule_q(rule)
    return condition


def customers_matching(rules: list[dict]) -> QuerySet[Customer]:
    """The customers matching all ``rules`` (validated first): one query when evaluated."""
    return Customer.objects.filter(compile_rules(validate_rules(rules)))


def describe_rule(rule: dict) -> str:
    """The rule in plain language, e.g. “Tier is one of premium, enterprise”."""
    field, op, value = rule.get("field", ""), rule.get("op", ""), rule.get("value")
    if field.startswith(ATTRIBUTE_PREFIX):
        label = f"Attribute “{field[len(ATTRIBUTE_PREFIX) :]}”"
    else:
        label = FIELD_LABELS.get(field, field)
    shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return f"{label} {OPS_LABELS.get(op, op)} {shown}"
