"""Issue 11 item 3, "closures everywhere": every shipped scenario goes through every command,
each closure is reported, and the network map draws closed roads.

Each test reproduces what was missing before: ``compare``/``sweep`` failed on a scenario with
closures (closures applied twice), a closure gave no feedback (no road-km, no route count,
not even when it changed nothing) and ``map.png`` did not show closed roads.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
import time
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba

from sim import plots
from sim.builtin import ordos_123
from sim.cli import main
from sim.closures import Closure, closure_edges
from sim.experiment import run
from sim.planning import scenario_network
from sim.regression import check
from sim.scenario import load_scenario_with_network

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))
BASELINES = REPO / "regression" / "baselines"
SPILL = SCENARIOS / "jungar-hazmat-spill.yaml"
REPS = "3"


def _cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _deltas(data: Any, key: str = "") -> list[tuple[str, Any]]:
    """Every ``delta*`` value anywhere in a JSON document, with its key."""
    if isinstance(data, dict):
        return [d for k, v in data.items() for d in _deltas(v, str(k))]
    if isinstance(data, list) and not key.startswith("delta"):
        return [d for v in data for d in _deltas(v, key)]
    return [(key, data)] if key.startswith("delta") else []


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_item3_every_scenario_runs_sweeps_compares_and_checks(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``compare X X`` and ``sweep X --sites seats`` used to exit 2 on the scenario with
    closures ("the two places are not joined along it": closures applied a second time; fixed
    on main before this test); the run's summary did not report the closure."""
    start = time.perf_counter()
    scenario, network = load_scenario_with_network(path)

    code, out, err = _cli(capsys, "run", path, "--reps", REPS, "--json", "-q")
    assert code == 0, err
    summary = json.loads(out)
    assert [i["name"] for i in summary["incidents"]] == [i.name for i in scenario.incidents]

    code, out, err = _cli(
        capsys, "sweep", path, "--sites", "seats", "--reps", REPS, "--workers", 1, "--json", "-q"
    )
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert sorted(r["node"] for r in rows) == sorted(network.node_ids[network.seats].tolist())
    assert all(0.0 <= r["p_met"] <= 1.0 for r in rows)

    code, out, err = _cli(capsys, "compare", path, path, "--reps", REPS, "--json", "-q")
    assert code == 0, err
    cmp = json.loads(out)
    deltas = _deltas(cmp)
    assert len(deltas) >= 4 * len(scenario.incidents)  # p_met, p90 and their intervals
    assert all(v == 0.0 or v == [0.0, 0.0] for _, v in deltas), deltas
    assert [r["p_met_a"] for r in cmp["incidents"]] == [r["p_met_b"] for r in cmp["incidents"]]

    # The regression guard of this scenario alone: the command's verdict, and no metric moved.
    code, out, err = _cli(
        capsys, "check", "--scenario", path, "--baselines", BASELINES, "--workers", 1, "-q"
    )
    assert code == 0, out + err
    assert re.match(r"\d+ metrics, 0 worse than tolerance\n", out), out
    lines = check([path], BASELINES)
    assert lines and all(line.now == line.baseline for line in lines), [
        line for line in lines if line.now != line.baseline
    ]
    # Each closure is reported in the run's summary (the closure report, below).
    assert len(summary.get("closures", [])) == len(scenario.closures)
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")


def _spill_closure_oracle() -> tuple[float, int, int, int]:
    """Road-km closed and (changed, candidate) routes of the spill scenario, from networkx on
    the open graph and the graph minus the closed edges (not from fleetsim's routing)."""
    scenario, base = load_scenario_with_network(SPILL)
    (closure,) = scenario.closures
    closed = closure_edges(base, closure)
    edges = list(base.graph.edges(keys=True, data=True))
    pairs = {(edges[j][0], edges[j][1]) for j in closed.tolist()}
    km: dict[frozenset, float] = {}
    for j in closed.tolist():
        u, v, _, data = edges[j]
        key = frozenset((u, v))
        km[key] = min(km.get(key, math.inf), float(data["length"]))
    minus = nx.MultiDiGraph(base.graph)
    minus.remove_edges_from([edges[j][:3] for j in closed.tolist()])
    (incident,) = scenario.incidents
    assert incident.scope == "region" and incident.staging_point == "xuejiawan"
    target = int(base.node_ids[base.places.locate("xuejiawan")])
    changed = routes = 0
    for k in incident.demand:
        assert scenario.fleet.classes[k].speed == base.profiles[k]  # the graph's times apply
        weight = f"travel_time_{k}"
        for depot in scenario.fleet.depots:
            if depot.vehicle_class != k:
                continue
            source = int(base.node_ids[base.places.locate(depot.location)])
            path = nx.shortest_path(base.graph, source, target, weight=weight)
            before = nx.shortest_path_length(base.graph, source, target, weight=weight)
            try:
                after = nx.shortest_path_length(minus, source, target, weight=weight)
            except nx.NetworkXNoPath:
                after = math.inf
            routes += 1
            used = any((a, b) in pairs for a, b in itertools.pairwise(path))
            changed += used or not math.isclose(after, before, rel_tol=1e-9)
    return sum(km.values()) / 1000.0, changed, routes, closed.size


def test_item3_each_closure_is_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    """A closure used to give no feedback: no road-km, no count of the routes it changes."""
    km, changed, routes, n_edges = _spill_closure_oracle()
    assert 0 < changed < routes  # the depots at Xuejiawan itself do not need the G18

    code, out, err = _cli(capsys, "run", SPILL, "--reps", REPS, "--out", tmp_path / "run", "-q")
    assert code == 0, err
    line = (
        f"closure 'G18 closed at the spill' (G18 between xuejiawan and dafanpu): {km:.1f} "
        f"road-km closed; {changed} of {routes} candidate routes changed"
    )
    assert line in out.splitlines()

    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    (entry,) = summary["closures"]
    assert entry["name"] == "G18 closed at the spill"
    assert entry["closes"] == "G18 between xuejiawan and dafanpu"
    assert entry["road_km"] == pytest.approx(km, abs=1e-3)
    assert (entry["routes_changed"], entry["candidate_routes"]) == (changed, routes)
    assert entry["edges_closed"] == n_edges and entry["text"] == line

    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert line.replace("'", "&#x27;") in html

    code, out, err = _cli(capsys, "validate", SPILL)
    assert code == 0, err
    assert line in out.splitlines()
    assert line in (REPO / "README.md").read_text(encoding="utf-8")  # the README's example


def test_item3_a_closure_that_changes_no_route_says_so(ordos, capsys, tmp_path):
    """A closure on a road no candidate route uses: "0 of N", not silence."""
    from sim.planning import closure_report  # new with the report (the module loads without)

    far = Closure(near="38.3,109.75", radius_km=3, name="far away")
    scenario = dataclasses.replace(ordos_123(replications=3), closures=(far,))
    open_net = scenario_network(dataclasses.replace(scenario, closures=()), ordos)
    (effect,) = closure_report(scenario, ordos)
    assert effect.routes_changed == 0 and effect.routes > 0 and effect.road_km > 0
    # No route changed, and indeed no incident's numbers move.
    result = run(scenario, network=ordos)
    assert result.closures == (effect,)
    plain = run(dataclasses.replace(scenario, closures=()), network=ordos)
    assert result.summary["incidents"] == plain.summary["incidents"]
    assert "closures" not in plain.summary
    assert result.network.n_edges == open_net.n_edges - effect.edges

    path = tmp_path / "far.yaml"
    path.write_text(
        "extends: " + str(SCENARIOS / "ordos-123.yaml") + "\n"
        "closures: [{name: far away, near: '38.3,109.75', radius_km: 3}]\n",
        encoding="utf-8",
    )
    code, out, err = _cli(capsys, "run", path, "--reps", REPS, "-q")
    assert code == 0, err
    assert (
        f"closure 'far away' (within 3 km of 38.3,109.75): {effect.road_km:.1f} road-km "
        f"closed; 0 of {effect.routes} candidate routes changed"
    ) in out.splitlines()


def _rgb_near(img: np.ndarray, x: float, y: float, r: int = 3) -> np.ndarray:
    h = img.shape[0]
    col, row = round(x), round(h - y)
    return img[row - r : row + r + 1, col - r : col + r + 1, :3].reshape(-1, 3)


def test_item3_the_network_map_draws_closed_roads(ordos) -> None:
    """``map.png`` used to show the network without the closed roads and say nothing."""
    scenario, _ = load_scenario_with_network(SPILL)
    result = run(scenario, network=ordos, replications=2)
    fig = plots.network_map(result.network, scenario, result.plans)  # the closed network
    ax = fig.axes[0]
    closed = closure_edges(ordos, scenario.closures[0])
    edges = list(ordos.graph.edges())
    want = sorted(
        tuple(np.round(c, 6).tolist())
        for j in closed.tolist()
        for c in (
            (ordos.lon[ordos.index_of(edges[j][0])], ordos.lat[ordos.index_of(edges[j][0])]),
            (ordos.lon[ordos.index_of(edges[j][1])], ordos.lat[ordos.index_of(edges[j][1])]),
        )
    )
    layers = [
        c
        for c in ax.collections
        if isinstance(c, LineCollection) and c.get_label().startswith("closed road")
    ]
    assert [c.get_label() for c in layers] == ["closed road: G18 closed at the spill"]
    (layer,) = layers
    got = sorted(tuple(np.round(p, 6).tolist()) for seg in layer.get_segments() for p in seg)
    assert got == want  # exactly the closed edges, drawn from the open network
    assert tuple(layer.get_edgecolor()[0]) == to_rgba(plots.CLOSED_ROAD_COLOUR)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "closed road" in labels

    # On the picture: dark red ink where a closed segment runs (away from the incident star).
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba(), dtype=float) / 255.0
    star = np.array(ordos.places.point(scenario.incidents[0].location)[::-1])
    segs = layer.get_segments()
    seg = max(segs, key=lambda s: float(np.hypot(*(s.mean(axis=0) - star))))
    found = False
    for t in np.linspace(0.2, 0.8, 7):
        x, y = ax.transData.transform(seg[0] + t * (seg[-1] - seg[0]))
        px = _rgb_near(img, x, y)
        red = np.array(to_rgba(plots.CLOSED_ROAD_COLOUR)[:3])
        found |= bool((np.abs(px - red).max(axis=1) < 0.08).any())
    assert found

    # A scenario without closures has neither the layer nor the legend entry.
    plain = plots.network_map(ordos, ordos_123(), None)
    assert not [c for c in plain.axes[0].collections if c.get_label().startswith("closed")]
    assert "closed road" not in [t.get_text() for t in plain.axes[0].get_legend().get_texts()]


def test_item3_readme_describes_the_closure_report() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    scenarios_readme = (SCENARIOS / "README.md").read_text(encoding="utf-8")
    for doc in (text, scenarios_readme):
        assert "candidate routes changed" in doc
    assert "`closures`" in text.split("### JSON contract", 1)[1].split("##", 1)[0]
