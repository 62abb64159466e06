"""Personal data inside free text is found and masked; ordinary numbers are left alone."""

import pytest

from feedback.pii import contains_pii, luhn_valid, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail me at john.doe+x@example.co.uk please", "Mail me at [email] please"),
        ("Call +44 20 7946 0958 tonight", "Call [phone] tonight"),
        ("or (555) 123-4567, or 0612345678", "or [phone], or [phone]"),
        ("card 4111 1111 1111 1111 expired", "card [card] expired"),
        ("IBAN DE89 3704 0044 0532 0130 00 charged twice", "IBAN [iban] charged twice"),
    ],
)
def test_contact_and_payment_details_are_masked(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Delivered on 2024-03-15, paid 1,299.00 EUR for 3 items",
        "Version 2.4.1 crashes; order #123456 is late",
        "I waited 45 minutes on 12/03/2024",
        "The 4111 1111 1111 1112 number fails the card checksum",
    ],
)
def test_dates_amounts_versions_and_non_cards_are_kept(text):
    assert redact(text) == text
    assert not contains_pii(text)


def test_names_are_masked_as_whole_words_case_blind():
    text = "John Smith was rude; john smith again. Also Al and Alice"
    assert redact(text, names=["John Smith", "Al"]) == (
        "[name] was rude; [name] again. Also Al and Alice"
    )


def test_luhn():
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
