"""The analyst notebooks (``notebooks/``): committed clean, and each runs in a fresh kernel.

Every notebook is executed with small parameters by nbclient, in a temporary working copy
(``<tmp>/notebooks/`` next to a copy of ``scenarios/``), so nothing is written into the
repository. The small values are written after the notebook's own ones in its ``parameters``
cell, as papermill would. Any cell error fails the test.
"""

from __future__ import annotations

import ast
import shutil
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for p in (REPO / "notebooks").glob("*.ipynb") if not p.name.endswith(".executed.ipynb")
)

#: Small parameters per notebook, and the figures each must draw.
SMALL: dict[str, dict[str, Any]] = {
    "01-assembly-anatomy.ipynb": {"REPS": 8},  # P(holds) in steps of 0.125: rounding shows
    "02-where-targets-hold.ipynb": {"SITES": "seats", "REPS": 5, "FLEET_CHANGES": [0, 25]},
    "03-what-if.ipynb": {"REPS": 10},
}
FIGURES = {"01-assembly-anatomy.ipynb": 3, "02-where-targets-hold.ipynb": 2, "03-what-if.ipynb": 2}
#: Seconds a cell may run before the kernel is considered hung (a hang guard, not a speed
#: test: speed is measured in benchmarks/, on a machine that may be loaded here).
CELL_TIMEOUT_S = 600


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def _parameter_cell(nb: Any) -> Any:
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell must be tagged `parameters`"
    return cells[0]


def _assigned(source: str) -> set[str]:
    return {
        t.id
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }


def test_the_three_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == list(SMALL)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.outputs or c.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} have outputs or execution counts; clear them before "
        "committing (JupyterLab: Edit > Clear Outputs of All Cells, then save)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_opens_with_the_question_and_has_a_parameter_cell(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and "**Question.**" in first.source
    names = _assigned(_parameter_cell(nb).source)
    assert "REPS" in names
    assert set(SMALL[path.name]) <= names, "the small parameters must exist in the notebook"


# nbclient and jupyter_client may warn about their own deprecations (e.g. jupyter_core's
# platformdirs migration): not ours, and not in the notebooks.
@pytest.mark.filterwarnings("ignore::DeprecationWarning:jupyter_client.*")
@pytest.mark.filterwarnings("ignore::DeprecationWarning:jupyter_core.*")
@pytest.mark.filterwarnings("ignore::DeprecationWarning:nbclient.*")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_runs_in_a_fresh_kernel_with_small_parameters(path, tmp_path):
    work = tmp_path / "work"
    (work / "notebooks").mkdir(parents=True)
    shutil.copytree(REPO / "scenarios", work / "scenarios")  # links become files: self-contained

    nb = nbformat.read(path, as_version=4)
    cell = _parameter_cell(nb)
    small = dict(SMALL[path.name])
    if "RESULTS" in _assigned(cell.source):
        small["RESULTS"] = str(tmp_path / "results")  # a fresh sweep folder, never the repo
    injected = "\n".join(f"{k} = {v!r}" for k, v in small.items())
    cell.source += f"\n\n# Injected by tests/test_notebooks.py\n{injected}\n"

    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(work / "notebooks")}},
    )
    if path.name.startswith("01-"):  # the value shown must be P(holds), not a rounding of it
        nb.cells.append(
            nbformat.v4.new_code_cell(
                "import json\nprint(json.dumps([i['p_met'] for i in result.summary['incidents']]))"
            )
        )
    client.execute()  # raises CellExecutionError on the first cell that fails
    elapsed = time.perf_counter() - start
    nbformat.write(nb, tmp_path / f"{path.stem}.executed.ipynb")  # for a look after a failure

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    warnings = [
        o["text"] for o in outputs if o.get("name") == "stderr" and "Warning" in o.get("text", "")
    ]
    assert not warnings, f"{path.name} warns:\n" + "\n".join(warnings)
    if path.name.startswith("01-"):
        _check_verdict_shows_p_holds(nb)
    figures = sum("image/png" in o.get("data", {}) for o in outputs)
    assert figures == FIGURES[path.name]
    print(f"{path.name}: {elapsed:.0f} s with small parameters")
    # Nothing was written next to the committed notebooks (Jupyter's own dot-folders aside).
    left = [p.name for p in (REPO / "notebooks").iterdir() if not p.name.startswith(".")]
    assert all(n.endswith(".ipynb") for n in left), left


def _check_verdict_shows_p_holds(nb: Any) -> None:
    """The verdict table of notebook 01 shows P(holds) as computed (0.875 is not 0.9)."""
    import json
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[list[str]] = []
            self._cell: list[str] | None = None

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self._cell = []

        def handle_endtag(self, tag: str) -> None:
            if tag in ("td", "th") and self._cell is not None:
                self.rows[-1].append("".join(self._cell).strip())
                self._cell = None

        def handle_data(self, data: str) -> None:
            if self._cell is not None:
                self._cell.append(data)

    p_met = json.loads(nb.cells[-1].outputs[0]["text"])
    cell = next(c for c in nb.cells if c.cell_type == "code" and "verdict.round" in c.source)
    parser = Cells()
    parser.feed(cell.outputs[0]["data"]["text/html"])
    header = parser.rows[0]
    col = header.index("P(holds)")
    values = [float(r[col]) for r in parser.rows[1:] if len(r) == len(header) and r[col]]
    assert values == p_met, (values, p_met)
    assert any(round(p, 1) != p for p in p_met), "pick REPS so that rounding would show"
