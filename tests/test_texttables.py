"""Text tables (sim/texttables.py on rich): plain, deterministic, ASCII-safe."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from sim.cli import main
from sim.regression import MetricCheck, format_report
from sim.texttables import ascii_text, can_encode, new_table, render, right

ANSI = re.compile(r"\x1b\[")
P = ("0.095", "0.875")


def _table():
    table = new_table("incident", "tier", right("P(holds)"), right("ΔP"))
    table.add_row("Kangbashi (central)", "central", "0.095", "+0.000")
    table.add_row("准格尔旗 [bold]x[/bold]", "banner", "0.875", "-0.010")
    return table


def test_plain_text_whatever_the_terminal(monkeypatch):
    text = render("scenario · seed", _table(), "(footer)")
    for key, value in (("FORCE_COLOR", "1"), ("COLUMNS", "20"), ("TERM", "xterm-256color")):
        monkeypatch.setenv(key, value)
    assert render("scenario · seed", _table(), "(footer)") == text
    assert not ANSI.search(text)
    lines = text.splitlines()
    assert lines[0] == "scenario · seed" and lines[-1] == "(footer)"
    assert lines[1].split() == ["incident", "tier", "P(holds)", "ΔP"]
    assert set(lines[2]) == {"─"}
    assert "准格尔旗 [bold]x[/bold]" in lines[4]  # no markup: brackets are text
    assert all(line == line.rstrip() for line in lines)
    # numbers are right-aligned: the P column ends in the same terminal cell on every row
    ends = [cell_len(line[: line.index(p) + len(p)]) for line, p in zip(lines[3:5], P, strict=True)]
    assert ends[0] == ends[1] == cell_len(lines[1][: lines[1].index("P(holds)") + 8])


def test_ascii_only_uses_box_ascii_and_keeps_columns_aligned():
    text = render("B − A · seed", _table(), "(P ≥ 0.95)", ascii_only=True)
    assert text.isascii()
    lines = text.splitlines()
    assert lines[0] == "B - A | seed" and lines[-1] == "(P >= 0.95)"
    assert "dP" in lines[1] and re.fullmatch(r"[-+]+", lines[2])  # box.ASCII header rule
    bars = {tuple(m.start() for m in re.finditer(r"\|", line)) for line in lines[3:-1]}
    bars.add(tuple(m.start() for m in re.finditer(r"\|", lines[1])))
    bars |= {tuple(m.start() for m in re.finditer(r"\+", lines[2]))}
    assert len(bars) == 1  # every row's column rules at the same positions
    assert "???????? [bold]x[/bold]" in text  # 4 wide characters, 2 cells each


def test_ascii_text_and_can_encode():
    assert ascii_text("Δp90 −1.0 · 准") == "dp90 -1.0 | ??"
    assert can_encode(io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
    assert not can_encode(io.TextIOWrapper(io.BytesIO(), encoding="ascii"))


def test_check_report_columns():
    lines = [
        MetricCheck(
            "scenarios/a.yaml", "Kangbashi (central)", "p_met", 0.5, 0.4, "-0.005", "WORSE"
        ),
        MetricCheck(
            "scenarios/a.yaml", "Kangbashi (central)", "p90_min", 60.0, None, "+0.5%", "ok"
        ),
    ]
    text = format_report(lines)
    rows = text.splitlines()
    assert rows[0].split() == [
        "scenario",
        "incident",
        "metric",
        "baseline",
        "now",
        "delta",
        "tolerance",
        "status",
    ]
    baseline_row = "a Kangbashi (central) p_met 0.500 0.400 -0.100 -0.005 WORSE"
    assert rows[2].split() == baseline_row.split()
    assert "never" in rows[3]
    assert rows[-1] == "2 metrics, 1 worse than tolerance: a/Kangbashi (central)/p_met"
    assert format_report(lines, ascii_only=True).isascii()


def _ascii_stdout(monkeypatch) -> io.BytesIO:
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="ascii", newline="\n"))
    return raw


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "ordos-123", "--reps", "4", "-q"],
        ["compare", "ordos-123", "ordos-123", "--reps", "4", "-q"],
        ["sweep", "ordos-123", "--sites", "seats", "--reps", "2", "-q"],
        ["network", "table", "--to", "Kangbashi"],
        ["route", "--from", "Kangbashi", "--to", "Dongsheng", "--vehicle", "bus"],
    ],
    ids=["run", "compare", "sweep", "network-table", "route"],
)
def test_cli_text_output_on_an_ascii_stdout(monkeypatch, ordos, argv):
    raw = _ascii_stdout(monkeypatch)
    assert main(argv) == 0
    sys.stdout.flush()
    text = raw.getvalue().decode("ascii")  # would raise on any non-ASCII byte
    assert text.strip()
    if argv[0] in ("run", "compare", "sweep"):
        assert "P(holds)" in text and "-+-" in text  # a box.ASCII table
    if argv[0] == "compare":
        assert text.count("+0.000 | [+0.000,+0.000]") == 3


def test_installed_entry_point_with_pythonioencoding_ascii(ordos):
    script = Path(sys.executable).with_name("fleetsim")
    if not script.is_file():
        pytest.skip("the fleetsim console script is not installed next to this Python")
    done = subprocess.run(
        [str(script), "run", "ordos-123", "--reps", "3", "-q"],
        capture_output=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
    )
    assert done.returncode == 0, done.stderr.decode("ascii", "replace")
    text = done.stdout.decode("ascii")
    assert "scenario ordos-123 | seed" in text and "Kangbashi (central)" in text
