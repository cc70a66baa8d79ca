"""The package's shape: imports flow one way, and nothing reaches into another module's privates.

The import graph of ``sim/`` counts *every* import, also those inside functions (kept lazy for
start-up time: matplotlib, pandas, OSMnx), so a function-level import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sim"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path, known: set[str]) -> list[tuple[str, list[str], int]]:
    """(imported module, names imported from it, line) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    this = _module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [a.name for a in node.names]
            # `from sim import errors` imports the module sim.errors.
            subs = [n for n in names if f"{base}.{n}" in known]
            if subs:
                out += [(f"{base}.{n}", [], node.lineno) for n in subs]
            rest = [n for n in names if f"{base}.{n}" not in known]
            if rest:
                out.append((base, rest, node.lineno))
    return out


def _graph() -> nx.DiGraph:
    mods = _modules()
    known = set(mods)
    g = nx.DiGraph()
    g.add_nodes_from(known)
    for name, path in mods.items():
        for target, _, line in _imports(path, known):
            if target in known and target != name:
                g.add_edge(name, target, line=line)
    return g


def test_the_import_graph_of_sim_has_no_cycle() -> None:
    g = _graph()
    cycles = [c for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert not cycles, f"import cycles (counting imports inside functions): {cycles}"
    # The graph is not trivially empty: the data flow is there.
    for a, b in [
        ("sim.experiment", "sim.planning"),
        ("sim.planning", "sim.scenario"),
        ("sim.model", "sim.plan"),
        ("sim.engine", "sim.plan"),
        ("sim.outputs", "sim.experiment"),
    ]:
        assert nx.has_path(g, a, b), (a, b)


def test_engines_are_not_imported_for_data() -> None:
    """Only the experiment (which picks an engine), the heap and batch engines (which fall
    back to SimPy; the batch engine runs the heap engine's plans) and the shared-fleet SimPy
    model (which reuses the SimPy checkpoint) import an engine module; only the batch engine
    imports its compiled kernels; only the shared-fleet runner imports the shared-fleet
    model."""
    g = _graph()
    assert set(g.predecessors("sim.kernels")) == {"sim.batch"}
    for engine in ("sim.model", "sim.engine", "sim.batch"):
        importers = set(g.predecessors(engine))
        assert importers <= {"sim.experiment", "sim.engine", "sim.batch", "sim.sharedmodel"}, (
            engine,
            importers,
        )
    assert set(g.predecessors("sim.sharedmodel")) <= {"sim.sharedrun"}


@pytest.mark.parametrize("folder", ["sim", "tests", "benchmarks", "tools"])
def test_no_module_imports_a_private_name_of_another(folder: str) -> None:
    known = set(_modules())
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for target, names, line in _imports(path, known):
            if not target.startswith("sim"):
                continue
            private = [p for p in target.split(".") if p.startswith("_") and p != "__init__"]
            private += [n for n in names if n.startswith("_") and n != "__version__"]
            if private:
                bad.append(f"{path.relative_to(ROOT)}:{line}: {target} {names}")
    assert not bad, "imports of private names:\n" + "\n".join(bad)


def test_the_checker_sees_a_cycle_and_a_private_import(tmp_path: Path) -> None:
    """The checks above can fail: a constructed package with both faults is caught."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import thing\n")
    (pkg / "b.py").write_text("def thing():\n    from pkg.a import _hidden\n")
    mods = {_module_name_in(tmp_path, p): p for p in pkg.glob("*.py")}
    known = set(mods)
    g = nx.DiGraph()
    private = []
    for name, path in mods.items():
        for target, names, _ in _imports_in(tmp_path, path, known):
            if target in known:
                g.add_edge(name, target)
            private += [n for n in names if n.startswith("_")]
    assert any(len(c) > 1 for c in nx.strongly_connected_components(g))
    assert private == ["_hidden"]


def _module_name_in(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports_in(root: Path, path: Path, known: set[str]) -> list[tuple[str, list[str], int]]:
    global ROOT
    saved, ROOT = ROOT, root
    try:
        return _imports(path, known)
    finally:
        ROOT = saved
