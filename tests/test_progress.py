"""The progress bar (sim/progress.py on rich.progress): silent when quick or quiet, redrawn on
a terminal, plain lines in a log, at least every 2 s with an ETA, stopped by an interrupt."""

from __future__ import annotations

import io
import threading
import time

import pytest

from sim.progress import ProgressBar

ERASE_LINE = "\x1b[2K"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _progress_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "fleetsim-progress"]


def test_terminal_bar_is_redrawn_and_erased_at_the_end():
    term = Terminal()
    with ProgressBar(50, "sweep", stream=term, delay=0) as bar:
        for _ in range(50):
            bar(1)
    text = term.getvalue()
    assert "sweep" in text and "100%" in text and "50/50" in text and "ETA" in text
    assert text.endswith(ERASE_LINE)  # transient: nothing of the bar is left on screen


def test_log_gets_plain_lines_ending_at_100_percent():
    log = io.StringIO()
    with ProgressBar(50, "sweep", stream=log, delay=0) as bar:
        for _ in range(50):
            bar(1)
    text = log.getvalue()
    assert "\x1b" not in text and "\r" not in text
    lines = text.splitlines()
    assert 1 <= len(lines) <= 4
    assert lines[-1].startswith("sweep: 100%") and "50/50" in lines[-1] and "ETA" in lines[-1]


def test_quiet_or_quick_shows_nothing():
    log, term = io.StringIO(), Terminal()
    for bar in (
        ProgressBar(50, "quiet", stream=log, enabled=False, delay=0),
        ProgressBar(50, "quiet", stream=term, enabled=False, delay=0),
        ProgressBar(50, "quick", stream=term, delay=60),
        ProgressBar(50, "quick", stream=log, delay=60),
    ):
        with bar:
            for _ in range(50):
                bar(1)
    assert log.getvalue() == "" and term.getvalue() == ""
    assert not _progress_threads()


@pytest.mark.parametrize("stream_type", [Terminal, io.StringIO])
def test_refreshed_while_no_work_finishes(stream_type):
    """The clock and the ETA move even while one long piece of work runs (issue 11: at least
    every 2 s); here with a 0.2 s interval so that the test is quick."""
    stream = stream_type()
    with ProgressBar(10, "run", stream=stream, delay=0, every=0.2) as bar:
        bar(1)
        time.sleep(1.0)  # no update for a second
        during = stream.getvalue()
    frames = during.count("10%")
    assert frames >= 3, during


def test_an_interrupt_stops_the_bar_and_its_thread():
    term = Terminal()
    with pytest.raises(KeyboardInterrupt), ProgressBar(10, "run", stream=term, delay=0) as bar:
        bar(3)
        time.sleep(0.3)
        raise KeyboardInterrupt
    assert term.getvalue().endswith(ERASE_LINE)
    assert not _progress_threads()


def test_callback_counts_and_caps_at_total():
    bar = ProgressBar(5, enabled=False)
    for _ in range(7):
        bar(1)
    bar.close()
    assert bar.done == 5
