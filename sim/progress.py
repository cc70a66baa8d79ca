"""A small progress bar on stderr (no dependency).

* Nothing is shown for the first ``delay`` seconds, so quick commands stay silent.
* On a terminal: one line redrawn in place (at most ~8 times a second) and erased at the end.
* Not a terminal (a log file, CI): at most a few plain lines, at 25 %, 50 %, 75 % and done.
* ``enabled=False`` (``--quiet``): nothing at all.

The bar is a callable taking the number of units just finished, so it plugs straight into the
``progress`` argument of :func:`sim.experiment.run_plans`, :func:`sim.sweeps.sweep` and
:func:`sim.comparison.compare`.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Progress of ``total`` units of work on a stream (stderr by default).

    Parameters
    ----------
    total
        Units of work expected (replications).
    label
        Short text before the bar.
    enabled
        ``False`` shows nothing (``--quiet``).
    stream
        Where to write; ``sys.stderr`` by default.
    delay
        Seconds of silence before anything is shown.
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        delay: float = 2.0,
    ) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.done = 0
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._width = 0
        self._quarters = 0
        try:
            self._tty = bool(self.stream.isatty())
        except (AttributeError, ValueError):
            self._tty = False

    def __call__(self, n: int = 1) -> None:
        """Record ``n`` more units done and redraw when due."""
        self.update(n)

    def update(self, n: int = 1) -> None:
        """Record ``n`` more units done and redraw when due."""
        self.done = min(self.total, self.done + int(n))
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._start < self.delay:
            return
        if self._tty:
            if now - self._last_draw >= 0.125 or self.done == self.total:
                self._last_draw = now
                self._draw(now)
        else:
            quarter = 4 * self.done // self.total
            if quarter > self._quarters:
                self._quarters = quarter
                self._write_line(now)

    def _eta(self, now: float) -> str:
        elapsed = now - self._start
        if self.done == 0:
            return f"{elapsed:.0f} s"
        left = elapsed * (self.total - self.done) / self.done
        return f"{elapsed:.0f} s, ~{left:.0f} s left"

    def _draw(self, now: float) -> None:
        frac = self.done / self.total
        cells = 24
        full = int(frac * cells)
        bar = "#" * full + "-" * (cells - full)
        text = (
            f"{self.label} [{bar}] {100 * frac:3.0f}% {self.done:,}/{self.total:,} "
            f"({self._eta(now)})"
        )
        pad = " " * max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + pad)
        self.stream.flush()

    def _write_line(self, now: float) -> None:
        frac = self.done / self.total
        self.stream.write(
            f"{self.label}: {100 * frac:.0f}% ({self.done:,}/{self.total:,}, {self._eta(now)})\n"
        )
        self.stream.flush()

    def close(self) -> None:
        """Erase the bar (terminal); nothing else is written."""
        if self.enabled and self._tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
