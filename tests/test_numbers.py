"""``numbers.ascii_int``: what text from others may become a number."""

from __future__ import annotations

import pytest

from iptvsync.numbers import ascii_int


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("1700000000", 1700000000),
        ("9" * 18, int("9" * 18)),
        ("9" * 19, None),  # past the default bound
        ("9" * 5000, None),  # int() itself refuses over 4,300 digits
        ("", None),
        ("\u00b2", None),  # a digit to str.isdigit(), refused by int()
        ("\u0663", None),  # 3 to int(), not an id "3"
        ("-1", None),
        (" 1", None),
        ("1e3", None),
    ],
)
def test_only_ascii_digits_within_the_bound_are_numbers(text: str, expected: int | None) -> None:
    assert ascii_int(text) == expected


def test_the_bound_is_the_callers() -> None:
    assert ascii_int("1" * 40, 40) == int("1" * 40)
    assert ascii_int("1" * 41, 40) is None
