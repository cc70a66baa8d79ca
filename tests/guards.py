"""Helpers of the hostile-input tests: a time budget, and the CLI run in process."""

from __future__ import annotations

import contextlib
import io
import re
import signal
from collections.abc import Iterator
from typing import Any

from sim.cli import main

#: A Python traceback or an exception line on stderr: never acceptable for bad input.
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\w+(Error|Exception): ", re.M)


class OverBudget(BaseException):
    """A block ran past its time budget (a BaseException, so no handler in sim swallows it)."""


@contextlib.contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Interrupt the block with :class:`OverBudget` after ``seconds`` (POSIX, main thread)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise OverBudget(f"over the {seconds:g} s budget")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def cli(*argv: object) -> tuple[int, str, str]:
    """Run ``fleetsim ARGV`` in process; return the exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()
