"""Scaling curves: sweep time against fleet size, routing time against network size.

* **Fleet size** (1k, 2k, 5k, 10k, 20k vehicles): the reference sweep's scenario
  (``bench_sweep``: ordos-123's region-tier incident, 310 vehicles requested from the whole
  region) with the default fleet scaled depot by depot to N vehicles, and the demand, every
  operator's dispatchers and the staging lanes scaled by N / 2,010 — the same region, N /
  2,010 times larger — swept over every 5th ``nodes`` site of the default network, 20
  replications each, ``workers=2`` (medians of 3 runs).
* **Network size** (synthetic road-like graphs of about 10k, 50k and 200k nodes, see
  ``benchmarks/_synthetic.py``, built with ``sim.netload.from_graph``): the per-incident
  routing, ``tree_to`` for all 5 classes towards the centre node, cache cleared (medians of
  3 runs), with the time to build the network for reference.

Prints a table, writes ``benchmarks/results/bench_scaling.json`` and
``benchmarks/results/scaling.png`` (git-ignored; ``docs/scaling.png`` is a committed copy).
"""

from __future__ import annotations

import dataclasses
import gc
import math
import time
from typing import Any

from benchmarks._common import (
    REFERENCE_DEMAND,
    RESULTS_DIR,
    machine,
    median_time,
    reference_scenario,
    write_results,
)
from benchmarks._synthetic import road_graph, scaled_fleet
from sim.netload import from_graph
from sim.network import RoadNetwork
from sim.planning import scenario_network
from sim.scenario import Incident
from sim.sweeps import candidate_sites, sweep

FLEET_SIZES = (1_000, 2_000, 5_000, 10_000, 20_000)
NETWORK_SIZES = (10_000, 50_000, 200_000)
DEFAULT_FLEET = 2_010
PNG = RESULTS_DIR / "scaling.png"  # copy to docs/ by hand when the curves change


def fleet_curve(runs: int, site_step: int, reps: int) -> list[dict[str, Any]]:
    """Sweep wall time for every fleet size."""
    base = reference_scenario()
    network = scenario_network(base)
    sites = candidate_sites(network, "nodes")[::site_step]
    rows = []
    for size in FLEET_SIZES:
        factor = size / DEFAULT_FLEET
        (inc,) = base.incidents
        demand = {k: max(1, round(v * factor)) for k, v in REFERENCE_DEMAND.items()}
        scenario = dataclasses.replace(
            base,
            fleet=scaled_fleet(size, base.fleet),
            incidents=(Incident(inc.name, inc.location, demand, scope=inc.scope),),
            staging=dataclasses.replace(
                base.staging, lanes=max(1, round(base.staging.lanes * factor))
            ),
        )
        result: list[Any] = []

        def once(scenario: Any = scenario, result: list = result) -> None:
            result[:] = [sweep(scenario, sites, network=network, replications=reps, workers=2)]

        wall, walls = median_time(once, runs)
        rows.append(
            {
                "vehicles": scenario.fleet.total,
                "requested_per_site": sum(demand.values()),
                "sites": len(sites),
                "replications_per_site": reps,
                "sweep_s": wall,
                "sweep_s_runs": walls,
                "ms_per_replication_wall": wall / (len(sites) * reps) * 1000,
                "sites_holding": sum(r["p_met"] >= 0.95 for r in result[0].rows),
            }
        )
        print(f"  fleet {size:>6,}: {wall:6.2f} s ({len(sites)} sites x {reps} reps)", flush=True)
    return rows


def network_curve(runs: int) -> list[dict[str, Any]]:
    """Per-incident routing time (all 5 classes) for every synthetic network size."""
    rows = []
    for size in NETWORK_SIZES:
        start = time.perf_counter()
        graph = road_graph(size)
        built_graph = time.perf_counter() - start
        start = time.perf_counter()
        net = from_graph(graph, source=f"synthetic road grid ~{size:,} nodes")
        built = time.perf_counter() - start
        del graph
        south, west, north, east = net.bbox
        target = net.places.nearest_node((south + north) / 2, (west + east) / 2)

        def trees(net: RoadNetwork = net, target: int = target) -> None:
            net._trees.clear()  # the Dijkstra, not the cache
            for k in net.classes:
                net.tree_to(target, k)

        wall, walls = median_time(trees, max(3, runs))
        rows.append(
            {
                "nodes": net.n_nodes,
                "edges": net.n_edges,
                "trees_5_classes_s": wall,
                "trees_5_classes_s_runs": walls,
                "graph_build_s": built_graph,
                "road_network_build_s": built,
            }
        )
        print(
            f"  network {net.n_nodes:>8,} nodes: trees {wall * 1000:7.1f} ms "
            f"(RoadNetwork built in {built:.1f} s)",
            flush=True,
        )
        del net
        gc.collect()
    return rows


def plot(results: dict[str, Any]) -> None:
    """Write the two curves to ``benchmarks/results/scaling.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")

    fleet, nets = results["fleet"], results["network"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    x = [r["vehicles"] for r in fleet]
    y = [r["sweep_s"] for r in fleet]
    a.plot(x, y, "o-", color="tab:blue")
    for xi, yi in zip(x, y, strict=True):
        a.annotate(f"{yi:.1f} s", (xi, yi), textcoords="offset points", xytext=(6, -4), fontsize=8)
    f0 = fleet[0]
    k = len(x) // 2  # a line through the middle point: proportional to fleet size
    a.plot(x, [y[k] * xi / x[k] for xi in x], ":", color="grey", label="proportional")
    a.legend(loc="upper left", fontsize=8)
    a.set_xscale("log")
    a.set_yscale("log")
    a.xaxis.set_major_formatter(plain)
    a.yaxis.set_major_formatter(plain)
    a.yaxis.set_minor_formatter(
        FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "25" else "")
    )
    a.set_xlabel("fleet size (vehicles; demand, dispatchers, lanes scaled alike)")
    a.set_ylabel("sweep wall time (s)")
    a.set_title(
        f"Sweep: {f0['sites']} sites x {f0['replications_per_site']} replications, 2 workers",
        fontsize=10,
    )
    a.grid(True, which="both", alpha=0.3)
    n = [r["nodes"] for r in nets]
    t = [r["trees_5_classes_s"] * 1000 for r in nets]
    b.plot(n, t, "s-", color="tab:red")
    for ni, ti in zip(n, t, strict=True):
        b.annotate(f"{ti:.0f} ms", (ni, ti), textcoords="offset points", xytext=(6, -4), fontsize=8)
    b.plot(n, [t[0] * ni / n[0] for ni in n], ":", color="grey", label="proportional")
    b.legend(loc="upper left", fontsize=8)
    b.set_xscale("log")
    b.set_yscale("log")
    b.xaxis.set_major_formatter(plain)
    b.yaxis.set_major_formatter(plain)
    b.set_xlabel("network size (nodes, synthetic road-like grids)")
    b.set_ylabel("routing per incident (ms)")
    b.set_title("Per-incident routing: tree_to for all 5 classes", fontsize=10)
    b.grid(True, which="both", alpha=0.3)
    runs = results["runs"]
    fig.suptitle(f"fleetsim scaling on {results['cpus']} CPUs (median of {runs} run(s) per point)")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    fig.savefig(PNG, dpi=110)
    plt.close(fig)


def main(quick: bool = False) -> dict[str, Any]:
    """Measure both curves, print the table, write the JSON and the PNG; return the results.

    Parameters
    ----------
    quick
        One run per point and a quarter of the sites, 10 replications each.
    """
    runs = 1 if quick else 3
    site_step, reps = (20, 10) if quick else (5, 20)
    results: dict[str, Any] = {"benchmark": "bench_scaling", **machine(), "runs": runs}
    results["fleet"] = fleet_curve(runs, site_step, reps)
    results["network"] = network_curve(runs)
    print_table(results)
    plot(results)
    path = write_results("bench_scaling", results)
    print(f"wrote {path} and {PNG}")
    return results


def print_table(results: dict[str, Any]) -> None:
    """Print both curves."""
    fleet = results["fleet"]
    f0 = fleet[0]
    print(
        f"sweep time against fleet size ({f0['sites']} sites x "
        f"{f0['replications_per_site']} reps, 2 workers; median of {results['runs']})"
    )
    print(f"{'vehicles':>9} {'requested':>10} {'sweep (s)':>10} {'ms/rep (wall)':>14} {'x 2k':>6}")
    ref = next((r["sweep_s"] for r in fleet if r["vehicles"] == 2_000), fleet[0]["sweep_s"])
    for r in fleet:
        print(
            f"{r['vehicles']:>9,} {r['requested_per_site']:>10,} {r['sweep_s']:>10.2f} "
            f"{r['ms_per_replication_wall']:>14.3f} {r['sweep_s'] / ref:>6.2f}"
        )
    print("routing per incident against network size (tree_to x 5 classes, cache cleared)")
    print(f"{'nodes':>9} {'edges':>9} {'trees (ms)':>11} {'ms/1k nodes':>12} {'build (s)':>10}")
    for r in results["network"]:
        ms = r["trees_5_classes_s"] * 1000
        print(
            f"{r['nodes']:>9,} {r['edges']:>9,} {ms:>11.1f} {ms / r['nodes'] * 1000:>12.3f} "
            f"{r['road_network_build_s']:>10.1f}"
        )
    if not math.isfinite(ref):  # pragma: no cover - defensive
        print("warning: no 2k row")


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv[1:])
