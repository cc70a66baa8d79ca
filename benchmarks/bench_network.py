"""All vehicles → one staging point: one scipy reverse Dijkstra per class vs networkx per vehicle.

For each graph (the embedded default, the largest real extract in ``../shared`` when present,
and a synthetic 150 x 150 grid for scale):

(a) ``RoadNetwork.tree_to(target, cls)`` for all 5 classes, cache cleared before every run;
    the median over several runs. This yields the time *and* path from every node.
(b) 2,010 separate ``networkx.shortest_path_length(G, source, target, weight=...)`` calls,
    one per vehicle of the default fleet. Only a sample is timed (classes in turn, random
    sources, fixed seed) and scaled to 2,010; the output says how many were timed.

It also times ``load_network("ordos")`` (median of fresh loads). Results are printed and
written to ``benchmarks/results/bench_network.json``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import scipy

from sim.netload import from_graph, load_network
from sim.network import RoadNetwork

FLEET_SIZE = 2010
TREE_RUNS = 21
LOAD_RUNS = 7
SEED = 20220630
RESULTS = Path(__file__).resolve().parent / "results" / "bench_network.json"
SHARED_OSM = Path(__file__).resolve().parents[2] / "shared" / "data" / "osm"


def _median_time(func: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _grid(side: int) -> nx.MultiDiGraph:
    """A two-way street grid with ~200 m blocks (synthetic, for scale only)."""
    graph = nx.MultiDiGraph(crs="epsg:4326")
    step = 0.0018  # degrees, ~200 m north-south
    for i in range(side):
        for j in range(side):
            graph.add_node(i * side + j, y=39.0 + i * step, x=109.0 + j * step)
    for i in range(side):
        for j in range(side):
            node = i * side + j
            highway = "primary" if i % 10 == 0 or j % 10 == 0 else "residential"
            east = node + 1 if j + 1 < side else None
            north = node + side if i + 1 < side else None
            for other in (east, north):
                if other is not None:
                    graph.add_edge(node, other, highway=highway)
                    graph.add_edge(other, node, highway=highway)
    return graph


def _bench_graph(name: str, net: RoadNetwork, target: int, nx_calls: int) -> dict[str, Any]:
    def all_classes() -> None:
        net._trees.clear()  # benchmark the Dijkstra, not the LRU cache
        for vehicle in net.classes:
            net.tree_to(target, vehicle)

    tree_s = _median_time(all_classes, TREE_RUNS)
    rng = np.random.default_rng(SEED)
    sources = rng.integers(net.n_nodes, size=nx_calls)
    graph, target_id = net.graph, int(net.node_ids[target])
    start = time.perf_counter()
    for k, source in enumerate(sources):
        weight = f"travel_time_{net.classes[k % len(net.classes)]}"
        nx.shortest_path_length(graph, int(net.node_ids[source]), target_id, weight=weight)
    nx_sample_s = time.perf_counter() - start
    nx_fleet_s = nx_sample_s * FLEET_SIZE / nx_calls
    return {
        "graph": name,
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "tree_to_5_classes_s_median": tree_s,
        "tree_to_runs": TREE_RUNS,
        "networkx_calls_timed": nx_calls,
        "networkx_sample_s": nx_sample_s,
        "networkx_2010_calls_s_estimated": nx_fleet_s,
        "speedup": nx_fleet_s / tree_s,
    }


def main() -> dict[str, Any]:
    """Run the benchmark, print a table, write the JSON; return the results."""
    results: dict[str, Any] = {
        "benchmark": "bench_network",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "networkx": nx.__version__,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "fleet_size": FLEET_SIZE,
        "graphs": [],
    }
    cases: list[tuple[str, RoadNetwork, int, int]] = []
    try:
        results["load_network_ordos_s_median"] = _median_time(
            lambda: load_network("ordos"), LOAD_RUNS
        )
        ordos = load_network("ordos")
        cases.append(("ordos (embedded default)", ordos, ordos.places.locate("Kangbashi"), 200))
    except Exception as exc:  # the embedded file may not be generated yet
        results["load_network_ordos_s_median"] = None
        print(f"skipping the embedded default: {exc}")
    extract = SHARED_OSM / "aguascalientes.osm.bz2"
    if extract.is_file():
        net = load_network(extract)
        south, west, north, east = net.bbox
        centre = net.places.nearest_node((south + north) / 2, (west + east) / 2)
        cases.append((f"{extract.name} (real extract)", net, centre, 200))
    grid = from_graph(_grid(150), source="grid 150x150 (synthetic)")
    cases.append((grid.source, grid, grid.n_nodes // 2 + 75, 50))

    for name, net, target, calls in cases:
        results["graphs"].append(_bench_graph(name, net, target, calls))

    _print_table(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    tmp.replace(RESULTS)
    print(f"wrote {RESULTS}")
    return results


def _print_table(results: dict[str, Any]) -> None:
    load = results["load_network_ordos_s_median"]
    if load is not None:
        print(f"load_network('ordos'): {load * 1000:.1f} ms (median of {LOAD_RUNS} fresh loads)")
    header = (
        f"{'graph':<38} {'nodes':>7} {'edges':>7} {'tree_to x5 (ms)':>16} "
        f"{'nx x2010 (s)':>13} {'timed':>6} {'speedup':>9}"
    )
    print(header)
    print("-" * len(header))
    for row in results["graphs"]:
        print(
            f"{row['graph']:<38} {row['nodes']:>7,} {row['edges']:>7,} "
            f"{row['tree_to_5_classes_s_median'] * 1000:>16.2f} "
            f"{row['networkx_2010_calls_s_estimated']:>13.2f} "
            f"{row['networkx_calls_timed']:>6} {row['speedup']:>8,.0f}x"
        )
    print(
        "tree_to x5: all 5 classes, every node -> one target, cache cleared, median of "
        f"{TREE_RUNS} runs. nx x2010: 2,010 networkx.shortest_path_length calls, estimated "
        "from the 'timed' sample (classes in turn, seeded random sources)."
    )


if __name__ == "__main__":
    main()
