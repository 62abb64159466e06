"""Display logic and its validation (ORM-free)."""

import pytest

from surveys.logic import coerce_rule_value, evaluate, validate_logic, visible_keys


def q(key, kind, **extra):
    return {
        "key": key,
        "kind": kind,
        "choices": [],
        "allow_other": False,
        "required": False,
        **extra,
    }


QUESTIONS = [
    q("nps", "nps"),
    q("why", "long_text", show_if={"question": "nps", "op": "lte", "value": 6}),
    q("again", "yes_no", end_if={"op": "eq", "value": "no"}),
    q("what", "multiple", choices=["Price", "Speed"]),
    q("speed", "short_text", show_if={"question": "what", "op": "contains", "value": "Speed"}),
]


@pytest.mark.parametrize(
    ("rule", "kind", "value", "holds"),
    [
        ({"op": "eq", "value": 5}, "nps", 5.0, True),
        ({"op": "neq", "value": 5}, "nps", 5.0, False),
        ({"op": "lt", "value": 5}, "nps", 4.0, True),
        ({"op": "lte", "value": 5}, "nps", 5.0, True),
        ({"op": "gt", "value": 5}, "nps", 5.0, False),
        ({"op": "gte", "value": 5}, "nps", 5.0, True),
        ({"op": "in", "value": [1, 2]}, "csat", 2.0, True),
        ({"op": "in", "value": ["Red"]}, "single", "Blue", False),
        ({"op": "eq", "value": "yes"}, "yes_no", "yes", True),
        ({"op": "contains", "value": "B"}, "multiple", ["A", "B"], True),
        ({"op": "contains", "value": "slow"}, "short_text", "Too SLOW checkout", True),
        ({"op": "answered"}, "short_text", None, False),
        ({"op": "answered", "value": False}, "short_text", None, True),
        ({"op": "neq", "value": 5}, "nps", None, False),
        ({"op": "lte", "value": 6}, "nps", None, False),
    ],
)
def test_evaluate(rule, kind, value, holds):
    assert evaluate(rule, kind, value) is holds


def test_follow_up_shown_only_when_condition_holds():
    assert "why" in visible_keys(QUESTIONS, {"nps": 3.0})
    assert "why" not in visible_keys(QUESTIONS, {"nps": 9.0})
    assert "why" not in visible_keys(QUESTIONS, {})


def test_end_if_hides_every_later_question():
    assert visible_keys(QUESTIONS, {"nps": 9.0, "again": "no"}) == ["nps", "again"]
    assert visible_keys(QUESTIONS, {"nps": 9.0, "again": "yes"}) == ["nps", "again", "what"]


def test_rule_about_a_hidden_question_does_not_hold():
    questions = [
        q("a", "yes_no"),
        q("b", "yes_no", show_if={"question": "a", "op": "eq", "value": "yes"}),
        q("c", "short_text", show_if={"question": "b", "op": "eq", "value": "yes"}),
    ]
    # b was answered "yes" but is hidden (a is "no"): c stays hidden.
    assert visible_keys(questions, {"a": "no", "b": "yes"}) == ["a"]


def test_valid_logic_has_no_errors():
    assert validate_logic(QUESTIONS) == {}


def test_rule_referring_to_a_later_question_is_refused():
    questions = [q("a", "short_text", show_if={"question": "b", "op": "answered"}), q("b", "nps")]
    assert "comes later" in validate_logic(questions)["a"][0]


def test_rule_referring_to_a_missing_question_is_refused():
    questions = [q("a", "nps"), q("b", "short_text", show_if={"question": "zz", "op": "answered"})]
    assert "missing" in validate_logic(questions)["b"][0]


@pytest.mark.parametrize(
    ("referenced", "rule", "message"),
    [
        (q("a", "nps"), {"op": "contains", "value": 3}, "does not apply"),
        (q("a", "nps"), {"op": "lte", "value": 11}, "from 0 to 10"),
        (q("a", "nps"), {"op": "lte", "value": "six"}, "whole number"),
        (
            q("a", "single", choices=["X", "Y"]),
            {"op": "eq", "value": "Z"},
            "not one of the choices",
        ),
        (q("a", "single", choices=["X", "Y"]), {"op": "lt", "value": "X"}, "does not apply"),
        (q("a", "yes_no"), {"op": "eq", "value": "perhaps"}, '"yes" or "no"'),
        (q("a", "multiple", choices=["X", "Y"]), {"op": "eq", "value": "X"}, "does not apply"),
        (q("a", "nps"), {"op": "in", "value": []}, "non-empty list"),
        (q("a", "nps"), {"op": "between", "value": 1}, "not an operator"),
    ],
)
def test_rule_with_wrong_operator_or_value_is_refused(referenced, rule, message):
    questions = [referenced, q("b", "short_text", show_if={"question": "a", **rule})]
    assert message in validate_logic(questions)["b"][0]


def test_end_if_is_checked_against_its_own_question():
    questions = [q("a", "csat", end_if={"op": "lte", "value": 9})]
    assert "from 1 to 5" in validate_logic(questions)["a"][0]


def test_builder_strings_are_coerced_to_typed_values():
    assert coerce_rule_value(q("a", "nps"), "lte", "6") == 6
    assert coerce_rule_value(q("a", "nps"), "in", "1, 2,3") == [1, 2, 3]
    assert coerce_rule_value(q("a", "yes_no"), "eq", "Yes") == "yes"
    assert coerce_rule_value(q("a", "short_text"), "answered", "") is True


def test_is_one_of_keeps_a_choice_that_holds_a_comma_whole():
    renew = q("renew", "single", choices=["Yes, for sure", "Maybe", "No, never"], allow_other=True)
    assert coerce_rule_value(renew, "in", "No, never,Maybe , Other") == [
        "No, never",
        "Maybe",
        "Other",
    ]
    # A part that names no choice stays apart, so validation names it.
    assert coerce_rule_value(renew, "in", "Maybe, Perhaps, never") == ["Maybe", "Perhaps", "never"]
    # The longest choice wins where one holds another.
    both = q("b", "multiple", choices=["A", "B", "A, B"])
    assert coerce_rule_value(both, "in", "A, B, B") == ["A, B", "B"]
