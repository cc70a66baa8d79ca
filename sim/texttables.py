"""Plain-text tables: :class:`rich.table.Table` rendered to a string.

Every text table fleetsim prints (verdict, sweep, comparison, regression check, network
table) is built with :func:`new_table` and turned into text by :func:`render`: no colour, no
terminal codes, trailing blanks stripped, and the same text on every machine, whatever the
terminal size or environment, because rich draws into a string buffer of fixed width.

For a stream whose encoding cannot carry box-drawing characters (``PYTHONIOENCODING=ascii``,
a legacy code page) pass ``ascii_only=True``: rich then draws the rules with ``box.ASCII``, and
every other non-ASCII character (``Δ``, ``−``, ``·``, place names in Chinese) is spelled in
ASCII or replaced by ``?`` per terminal cell, so the columns stay aligned.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Sequence
from typing import TextIO

from rich import box
from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.table import Column, Table

#: Width of the drawing buffer: wide enough that no table is ever squeezed or wrapped.
WIDTH = 1000

#: ASCII spellings of the symbols fleetsim's tables use.
ASCII_SYMBOLS = {
    "Δ": "d",
    "−": "-",
    "–": "-",
    "·": "|",
    "≥": ">=",
    "≤": "<=",
    "→": "->",
    "×": "x",
    "…": "...",
    "─": "-",
}


class _Buffer(io.StringIO):
    """A string buffer that reports an encoding, so that rich picks its box characters."""

    def __init__(self, encoding: str) -> None:
        super().__init__()
        self._encoding = encoding

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding


def new_table(*columns: str | Column) -> Table:
    """A table in fleetsim's plain style: a rule under the header, columns apart by spaces.

    Parameters
    ----------
    *columns
        Column headers (left-aligned) or columns from :func:`right` (numbers). Cells never
        wrap.

    Returns
    -------
    rich.table.Table
        Add rows with ``add_row(*strings)``; render with :func:`render`.
    """
    cols = [Column(c) if isinstance(c, str) else c for c in columns]
    for col in cols:
        col.no_wrap = True
    return Table(
        *cols,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        header_style="",
    )


def right(header: str) -> Column:
    """A right-aligned column (numbers)."""
    return Column(header, justify="right")


def render(*parts: RenderableType | str, ascii_only: bool = False) -> str:
    """Render tables and lines of text, one under the other, as plain text.

    Parameters
    ----------
    *parts
        Tables (:func:`new_table`) and strings; a string is one line (or several, at its
        newlines) printed as it is, never wrapped.
    ascii_only
        Draw with ASCII only (``box.ASCII`` rules, symbols spelled in ASCII, other
        characters replaced by ``?``).

    Returns
    -------
    str
        The text, lines separated by ``\\n``, without a final newline.
    """
    buffer = _Buffer("ascii" if ascii_only else "utf-8")
    console = Console(
        file=buffer,
        width=WIDTH,
        color_system=None,
        force_terminal=False,
        force_jupyter=False,
        force_interactive=False,
        legacy_windows=False,
        highlight=False,
        markup=False,
        emoji=False,
    )
    for part in parts:
        if ascii_only and isinstance(part, Table):
            part = copy.copy(part)  # box.ASCII draws column rules: keep padding either side
            part.collapse_padding = False
        console.print(part, soft_wrap=isinstance(part, str))
    text = "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())
    return ascii_text(text) if ascii_only else text


def ascii_text(text: str) -> str:
    """``text`` in ASCII: known symbols spelled out, any other character as ``?`` per cell."""
    if text.isascii():
        return text
    return "".join(
        ch if ch.isascii() else ASCII_SYMBOLS.get(ch, "?" * max(1, cell_len(ch))) for ch in text
    )


def can_encode(stream: TextIO, sample: Sequence[str] = ("─", "Δ", "·", "−")) -> bool:
    """Whether ``stream``'s encoding can write box-drawing and table symbols.

    Parameters
    ----------
    stream
        A text stream (``sys.stdout``); one without an ``encoding`` counts as UTF-8.
    sample
        Characters to try.
    """
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "".join(sample).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


__all__ = ["ascii_text", "can_encode", "new_table", "render", "right"]
