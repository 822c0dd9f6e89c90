"""Validation errors as sentences people read: the API's 422 message and the CLI's one line.

Pydantic's own wording carries its machinery ("Value error, ", "input: ", "String should ...");
these helpers keep what it says and drop how it says it: ``The MAC must look like
00:1A:79:12:34:56.``, ``A stalker provider needs a MAC (--mac).``
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: How a field is named in a sentence.
LABELS = {
    "url": "URL",
    "epg_url": "EPG URL",
    "mac": "MAC",
    "macs": "MAC list",
    "name": "name",
    "kind": "kind",
    "username": "username",
    "password": "password",
    "options": "options",
}
_SUBJECTS = ("Value ", "Input ", "String ", "Dictionary ", "List ")


def clean_message(msg: str) -> str:
    """Pydantic's message without its ``Value error, `` / ``Assertion failed, `` prefix."""
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def _fields(loc: Iterable[Any]) -> list[str]:
    return [str(p) for p in loc if p not in ("body", "query", "path", "header")]


def sentence(error: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ``exc.errors()``) as a sentence."""
    msg = clean_message(str(error.get("msg", ""))).strip().rstrip(".")
    fields = _fields(error.get("loc", ()))
    kind = error.get("type", "")
    if not fields:
        text = msg
    else:
        label = LABELS.get(fields[0], fields[0].replace("_", " "))
        if len(fields) > 1:
            label += " (" + ".".join(fields[1:]) + ")"
        if kind == "missing":
            text = f"the {label} is required"
        elif kind == "extra_forbidden":
            text = f"{label!r} is not a field here"
        else:
            for subject in _SUBJECTS:
                if msg.startswith(subject):
                    msg = msg[len(subject) :]
                    break
            if msg.split(" ", 1)[0] in ("must", "should", "is", "needs", "has", "cannot"):
                text = f"the {label} {msg}"
            else:
                text = f"the {label} is not valid: {msg}"
    text = text.strip() or "the input is not valid"
    return text[0].upper() + text[1:] + "."


def sentences(errors: Iterable[Mapping[str, Any]]) -> str:
    """Every error as a sentence, in one line."""
    return " ".join(sentence(e) for e in errors) or "The input is not valid."
