"""The progress bar on stderr, drawn by :mod:`rich.progress`.

* Nothing is shown for the first ``delay`` seconds, so quick commands stay silent.
* On a terminal: one line (bar, percentage, done/total, elapsed time, ETA) redrawn in place by
  rich four times a second, so the clock and the ETA move even while a long piece of work
  runs, and erased at the end.
* Not a terminal (a log file, CI): a plain line every ``every`` seconds (label, percentage,
  done/total, elapsed time, ETA) and one at the end.
* ``enabled=False`` (``--quiet``): nothing at all.

The bar is a callable taking the number of units just finished, so it plugs straight into the
``progress`` argument of :func:`sim.experiment.run_plans`, :func:`sim.sweeps.sweep` and
:func:`sim.comparison.compare`. Use it as a context manager: leaving the block (normally or by
an exception such as ``KeyboardInterrupt``) stops the drawing.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

#: Terminal redraws per second (rich's refresh thread).
REFRESH_PER_SECOND = 4


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
    every
        Seconds between two lines when the stream is not a terminal.
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        delay: float = 2.0,
        every: float = 2.0,
    ) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.enabled = enabled
        self.delay = delay
        self.every = every
        self.done = 0
        stream = stream if stream is not None else sys.stderr
        try:
            self._tty = bool(stream.isatty())
        except (AttributeError, ValueError):
            self._tty = False
        console = Console(
            file=stream,
            force_terminal=self._tty,
            force_jupyter=False,
            highlight=False,
            markup=False,
            emoji=False,
        )
        columns: list[ProgressColumn | str] = [
            TextColumn("{task.description}" if self._tty else "{task.description}:"),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("elapsed, ETA"),
            TimeRemainingColumn(),
        ]
        if self._tty:
            columns.insert(1, BarColumn(bar_width=24))
        self._progress = Progress(
            *columns,
            console=console,
            transient=True,
            refresh_per_second=REFRESH_PER_SECOND,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._task = self._progress.add_task(label, total=self.total)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._shown = False
        self._ticker: threading.Thread | None = None
        if enabled:
            self._ticker = threading.Thread(target=self._tick, name="fleetsim-progress")
            self._ticker.daemon = True
            self._ticker.start()

    def __call__(self, n: int = 1) -> None:
        """Record ``n`` more units done."""
        self.update(n)

    def set_total(self, total: int) -> None:
        """Change the units of work expected (once they are known, e.g. a design's size)."""
        self.total = max(int(total), 1)
        self._progress.update(self._task, total=self.total)

    def update(self, n: int = 1) -> None:
        """Record ``n`` more units done (drawn at the next refresh)."""
        self.done = min(self.total, self.done + int(n))
        self._progress.update(self._task, completed=self.done)

    def _tick(self) -> None:
        """Background thread: show the bar after ``delay``; off a terminal, print lines."""
        if self._stop.wait(self.delay):
            return
        with self._lock:
            if self._stop.is_set():
                return
            self._shown = True
            if self._tty:
                self._progress.start()  # rich's own thread redraws from now on
                return
        while True:
            self._write_line()
            if self._stop.wait(self.every):
                return

    def _write_line(self) -> None:
        self._progress.console.print(self._progress.make_tasks_table(self._progress.tasks))

    def close(self) -> None:
        """Stop drawing: erase the bar (terminal) or write the last line (log)."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        with self._lock:
            if not self._shown:
                return
            self._shown = False
            if self._tty:
                self._progress.stop()
            else:
                self._write_line()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
