"""Each question type's validation (ORM-free)."""

import pytest

from surveys.answers import AnswerError, clean_answer


def q(kind, **extra):
    return {"key": "q", "kind": kind, "choices": [], "allow_other": False, **extra}


@pytest.mark.parametrize(
    ("kind", "raw", "number"),
    [
        ("nps", 0, 0.0),
        ("nps", 10, 10.0),
        ("nps", "7", 7.0),
        ("nps", 7.0, 7.0),
        ("csat", 5, 5.0),
        ("ces", 7, 7.0),
        ("likert", "1", 1.0),
        ("stars", 3, 3.0),
    ],
)
def test_scale_answers_inside_the_scale_are_stored_as_numbers(kind, raw, number):
    assert clean_answer(q(kind), raw).number == number


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("nps", 11),
        ("nps", -1),
        ("nps", 7.5),
        ("nps", "seven"),
        ("nps", True),
        ("nps", [7]),
        ("nps", float("nan")),
        ("csat", 0),
        ("csat", 6),
        ("ces", 8),
        ("likert", 6),
        ("stars", 0),
    ],
)
def test_scale_answers_outside_the_scale_or_of_the_wrong_type_are_refused(kind, raw):
    with pytest.raises(AnswerError, match="whole number"):
        clean_answer(q(kind), raw)


@pytest.mark.parametrize("raw", [None, "", "   ", [], {}])
def test_empty_answers_are_not_answers(raw):
    assert clean_answer(q("nps"), raw) is None


@pytest.mark.parametrize(("raw", "number"), [("yes", 1.0), ("No", 0.0), (True, 1.0), (False, 0.0)])
def test_yes_no_accepts_words_and_booleans(raw, number):
    answer = clean_answer(q("yes_no"), raw)
    assert answer.number == number
    assert answer.value == ("yes" if number else "no")


def test_yes_no_refuses_anything_else():
    with pytest.raises(AnswerError):
        clean_answer(q("yes_no"), "maybe")


def test_single_choice_must_be_one_of_the_choices():
    question = q("single", choices=["Red", "Blue"])
    assert clean_answer(question, "Blue").choices == ("Blue",)
    with pytest.raises(AnswerError, match="Select one"):
        clean_answer(question, "Green")
    with pytest.raises(AnswerError):
        clean_answer(question, ["Blue"])


def test_single_choice_with_other_keeps_the_other_text():
    question = q("single", choices=["Red", "Blue"], allow_other=True)
    by_dict = clean_answer(question, {"choice": "Other", "other": "Teal"})
    by_string = clean_answer(question, "Teal")
    assert by_dict.choices == by_string.choices == ("Other",)
    assert by_dict.text == by_string.text == "Teal"
    with pytest.raises(AnswerError, match="Tell us"):
        clean_answer(question, {"choice": "Other", "other": ""})


def test_multiple_choice_takes_a_list_and_an_other_text():
    question = q("multiple", choices=["A", "B", "C"], allow_other=True)
    answer = clean_answer(question, ["B", "A", "B", "Something else"])
    assert answer.choices == ("B", "A", "Other")
    assert answer.text == "Something else"
    answer = clean_answer(question, {"choices": ["C", "Other"], "other": "More"})
    assert answer.choices == ("C", "Other") and answer.text == "More"


def test_multiple_choice_without_other_refuses_unknown_items():
    question = q("multiple", choices=["A", "B"])
    with pytest.raises(AnswerError, match="not one of the choices"):
        clean_answer(question, ["A", "Z"])
    with pytest.raises(AnswerError):
        clean_answer(question, [1, 2])


def test_short_text_is_limited_to_500_characters():
    assert clean_answer(q("short_text"), "  fine  ").text == "fine"
    clean_answer(q("short_text"), "x" * 500)
    with pytest.raises(AnswerError, match="500"):
        clean_answer(q("short_text"), "x" * 501)


def test_long_text_is_limited_to_5000_characters_and_refuses_nul_and_numbers():
    clean_answer(q("long_text"), "x" * 5000)
    with pytest.raises(AnswerError, match="5000"):
        clean_answer(q("long_text"), "x" * 5001)
    with pytest.raises(AnswerError, match="NUL"):
        clean_answer(q("long_text"), "a\x00b")
    with pytest.raises(AnswerError):
        clean_answer(q("long_text"), 42)
