"""Numbers read from text that someone else wrote: a provider's rows and headers, a request's
path, query or options, a command's arguments (docs/reliability.md, "Bad input")."""

from __future__ import annotations


def ascii_int(text: str, max_digits: int = 18) -> int | None:
    """``text`` as an int when it is 1 to ``max_digits`` ASCII digits, else None.

    ``str.isdigit()`` is no check before ``int()``: it passes "²", which ``int()`` refuses,
    and Arabic-Indic "٣", which ``int()`` reads as 3; and ``int()`` refuses a text of over
    4,300 digits."""
    if 0 < len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None
