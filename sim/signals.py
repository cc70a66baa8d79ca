"""Holding Ctrl-C and SIGTERM across a step that must not be cut in two.

A ``KeyboardInterrupt`` (Ctrl-C, or SIGTERM turned into one by the command line) can land
between any two bytecodes. A few steps leave something behind when cut there: a temporary
folder created by ``mkdtemp`` but not yet known to the code that removes it on error, or a
process pool whose workers are forked but not yet told to stop. :func:`stop_signals_deferred`
holds both signals for the length of such a step and hands back the ones that came, so the
caller acts on them once its clean-up is in place.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def stop_signals_deferred() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM until the block ends; yield the list of those that came.

    Only the main thread can set signal handlers; elsewhere nothing is deferred (signals are
    delivered to the main thread anyway).

    Yields
    ------
    list of int
        The signals that arrived during the block, in order. The caller re-raises the first
        (``signal.raise_signal``) once it is safe to be interrupted; :func:`raise_held` does so.
    """
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    caught: list[int] = []

    def hold(signum: int, frame: object) -> None:
        caught.append(signum)

    previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def raise_held(caught: list[int]) -> None:
    """Deliver the first signal held by :func:`stop_signals_deferred`, if any came."""
    if caught:
        signal.raise_signal(caught[0])


__all__ = ["raise_held", "stop_signals_deferred"]
