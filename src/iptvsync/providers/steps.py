"""Long decodes done in steps: a generator that pauses with a bare ``yield`` now and then and
returns its result (``return value``), run to its end at once (``run_steps``) or on an event
loop, which answers its other work at every pause (``run_steps_async``).

One decoder, two ways to drive it: the parse functions stay pure and synchronous, and a sync
decodes a provider's whole list (thousands of rows) without stalling the answers of the
requests it has in flight (docs/sync.md §6).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TypeVar

T = TypeVar("T")

#: A decoder in steps: yields ``None`` at each pause, returns its result.
Steps = Generator[None, None, T]


def run_steps(steps: Steps[T]) -> T:
    """The decoder's result, without pausing."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


async def run_steps_async(steps: Steps[T]) -> T:
    """The decoder's result, letting the event loop run its ready callbacks at each pause."""
    # Imported here: the parsers import this module, and the write process, which runs some of
    # them, imports no asyncio (tests/sync/test_write_process.py holds it to that).
    import asyncio

    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
        await asyncio.sleep(0)
