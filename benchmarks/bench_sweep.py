"""Speed of the model and of sweeps, against the targets of DESIGN.md §6 (issue 7).

Medians of 3 runs (1 with ``--quick``), all measured in one run on this machine:

* ``load_network("ordos")`` (fresh loads);
* the per-class shortest-path trees for one incident (all 5 classes, cache cleared) and the
  whole per-incident preparation (trees, paths, ranking) of each ordos-123 incident;
* one replication of the central incident and of the ``all`` incident of ordos-123 (and of
  the reference incident), with the heap engine and with SimPy (mean of a batch of
  replications per run);
* SimPy events per second (a ``simpy.Environment`` subclass counts ``step()`` calls in a
  separate pass; the rate divides by the uncounted time);
* **the reference sweep**: ordos-123's region-tier incident with its demand scaled to 310
  vehicles (taxi 220, coach 50, freight 40; the whole region's fleet is called) at every
  ``nodes`` site of the default network, 100 replications each, ``--workers 2``, as one
  ``fleetsim sweep`` process: wall time and peak memory (the process's peak RSS plus the
  largest worker's); then the same sweep on a Dask ``LocalCluster`` of 2 worker processes on
  127.0.0.1 (its rows must be identical);
* ``fleetsim run scenarios/ordos-123.yaml --reps 1000`` end to end;
* the straightforward baseline (``benchmarks/_baseline.py``: per-vehicle networkx routing,
  one SimPy process per vehicle) on a subset of the sites, against the project on the same
  sites and replications: routing ratio, model ratio, and P(holds) / p90 side by side.

Prints one table and writes ``benchmarks/results/bench_sweep.json``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

import simpy

from benchmarks import _baseline as baseline
from benchmarks._common import (
    REFERENCE_DEMAND,
    REPO,
    machine,
    median_time,
    reference_scenario,
    reference_yaml,
    write_results,
)
from sim.builtin import ordos_123
from sim.engine import supports
from sim.experiment import replication_seed, run_replications
from sim.netload import load_network
from sim.planning import prepare, prepare_incident, resolve_depots, scenario_network
from sim.scenario import Incident
from sim.sweeps import Site, candidate_sites, sweep

REFERENCE_REPS = 100
REFERENCE_WORKERS = 2
RUN_REPS = 1000
BASELINE_SITES, BASELINE_REPS = 10, 20
#: DESIGN.md §6, with the peak memory of issue 15 (1 GB; DESIGN.md allowed 2 GB).
TARGETS = {"sweep_s": 60.0, "sweep_stretch_s": 20.0, "sweep_mib": 1024.0, "run_s": 15.0}
ROUTING_RATIO_MIN = 500.0


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes."""

    processed = 0

    def step(self) -> None:
        """Process the next event and count it."""
        CountingEnvironment.processed += 1
        super().step()


def _per_rep(func: Any, batch: int, runs: int) -> float:
    """Median over ``runs`` of the mean seconds per call of a batch of ``batch`` calls."""
    med, _ = median_time(lambda: [func(r) for r in range(batch)], runs)
    return med / batch


def _simpy_events(func: Any, batch: int) -> float:
    """SimPy events per call of ``func`` (counted on a separate pass)."""
    CountingEnvironment.processed = 0
    with mock.patch.object(simpy, "Environment", CountingEnvironment):
        for r in range(batch):
            func(r)
    return CountingEnvironment.processed / batch


def _fleetsim_command() -> list[str]:
    script = Path(sys.executable).with_name("fleetsim")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "sim.cli"]


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------


def bench_model(runs: int) -> dict[str, Any]:
    """Network load, trees, preparation, one replication per engine, SimPy events/s."""
    out: dict[str, Any] = {}
    out["load_network_s"], _ = median_time(lambda: load_network("ordos"), max(3, runs))
    scenario = ordos_123()
    network = scenario_network(scenario)
    plans = {p.name: p for p in prepare(network, scenario)}
    central = plans["Kangbashi (central)"]

    def trees() -> None:
        network._trees.clear()  # the Dijkstra, not the cache
        for k in network.classes:
            network.tree_to(central.node, k)

    out["trees_5_classes_s"], _ = median_time(trees, max(3, runs))
    depots = resolve_depots(network, scenario.fleet)
    prep = {}
    for inc in scenario.incidents:

        def one(inc: Incident = inc) -> None:
            network._trees.clear()
            prepare_incident(network, scenario, inc, depot_nodes=depots, checkpoint_nodes=[])

        prep[inc.name], _ = median_time(one, max(3, runs))
    out["prepare_incident_s"] = prep

    ref = reference_scenario()
    ref_net = scenario_network(ref)
    (ref_plan,) = prepare(ref_net, ref)
    cases = [
        ("central", central, scenario.seed),
        ("all", plans["Xuejiawan hazmat (banner)"], scenario.seed),
        ("reference (310 vehicles)", ref_plan, ref.seed),
    ]
    reps = []
    for label, plan, seed in cases:
        row: dict[str, Any] = {"case": label, "incident": plan.name}
        if not supports(plan):  # a platform call-out (issue 14): no heap engine
            row["engine_note"] = (
                "heap engine unsupported (platform call-out): one replication runs on SimPy, "
                "large runs on the batch engine (python -m benchmarks engines)"
            )
        for engine, batch in (("fast", 100), ("simpy", 20)):
            if engine == "fast" and not supports(plan):
                continue

            def rep(r: int, plan: Any = plan, seed: int = seed, engine: str = engine) -> Any:
                return run_replications(plan, seed, [r], engine=engine)

            row[f"{engine}_ms"] = _per_rep(rep, batch, runs) * 1000
            if engine == "simpy":
                row["simpy_events"] = _simpy_events(rep, batch)
        row["simpy_events_per_s"] = row["simpy_events"] / (row["simpy_ms"] / 1000)
        if "fast_ms" in row:
            row["fast_equiv_events_per_s"] = row["simpy_events"] / (row["fast_ms"] / 1000)
            row["engine_speedup"] = row["simpy_ms"] / row["fast_ms"]
        reps.append(row)
    out["replication"] = reps
    return out


def bench_reference_sweep(runs: int, tmp: Path) -> dict[str, Any]:
    """The reference sweep as one ``fleetsim sweep`` process: wall time and peak memory."""
    yaml_path = reference_yaml(tmp / "reference.yaml")
    report = tmp / "report.json"
    cmd = [
        sys.executable,
        "-m",
        "benchmarks._job",
        str(report),
        "--",
        "sweep",
        str(yaml_path),
        "--sites",
        "nodes",
        "--reps",
        str(REFERENCE_REPS),
        "--workers",
        str(REFERENCE_WORKERS),
        "--json",
        "-q",
    ]
    walls, reports, loads, data = [], [], [], {}
    for _ in range(runs):
        loads.append(os.getloadavg()[0])
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise RuntimeError(f"reference sweep failed:\n{proc.stderr}")
        reports.append(json.loads(report.read_text()))
        data = json.loads(proc.stdout)
    rows = data["rows"]
    dask = bench_reference_sweep_dask(runs, rows)
    peaks = [r["parent_peak_rss_mib"] + r["max_worker_peak_rss_mib"] for r in reports]
    return {
        "command": "fleetsim " + " ".join(cmd[5:]),
        "demand": dict(REFERENCE_DEMAND),
        "vehicles_requested_per_site": sum(REFERENCE_DEMAND.values()),
        "sites": len(rows),
        "sites_simulated": sum(r["note"] is None for r in rows),
        "replications_per_site": REFERENCE_REPS,
        "workers": REFERENCE_WORKERS,
        "wall_s": sorted(walls)[len(walls) // 2],
        "wall_s_runs": walls,
        "in_process_s": sorted(r["in_process_s"] for r in reports)[len(reports) // 2],
        "peak_rss_mib": max(peaks),
        "cpu_s": sorted(r["parent_cpu_s"] + r["workers_cpu_s"] for r in reports)[len(reports) // 2],
        "load_average_before_runs": loads,
        "parent_peak_rss_mib": max(r["parent_peak_rss_mib"] for r in reports),
        "max_worker_peak_rss_mib": max(r["max_worker_peak_rss_mib"] for r in reports),
        "sites_holding": sum(r["p_met"] >= 0.95 for r in rows),
        "p_met_mean": sum(r["p_met"] for r in rows) / max(1, len(rows)),
        "dask": dask,
    }


def bench_reference_sweep_dask(runs: int, cli_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The same sweep on a Dask ``LocalCluster`` (2 worker processes on 127.0.0.1).

    Times :func:`sim.sweeps.sweep` with ``scheduler=`` (the cluster started beforehand, as an
    existing cluster would be) and checks that its rows are identical to the CLI's.
    """
    try:
        from distributed import LocalCluster
    except ImportError:  # the `dask` extra is not installed
        return {"skipped": "dask[distributed] is not installed"}
    scenario = reference_scenario()
    network = scenario_network(scenario)
    out: list[Any] = []
    with LocalCluster(
        n_workers=REFERENCE_WORKERS,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:

        def once() -> None:
            out[:] = [
                sweep(
                    scenario,
                    "nodes",
                    network=network,
                    replications=REFERENCE_REPS,
                    scheduler=cluster.scheduler_address,
                )
            ]

        wall, walls = median_time(once, runs)
    same = json.dumps(out[0].to_json()["rows"]) == json.dumps(cli_rows)
    return {"wall_s": wall, "wall_s_runs": walls, "rows_identical_to_processes": same}


def bench_run_command(runs: int) -> dict[str, Any]:
    """``fleetsim run scenarios/ordos-123.yaml --reps 1000`` end to end (a fresh process)."""
    cmd = [*_fleetsim_command(), "run", "scenarios/ordos-123.yaml", "--reps", str(RUN_REPS), "-q"]

    def once() -> None:
        subprocess.run(cmd, cwd=REPO, capture_output=True, check=True)

    wall, walls = median_time(once, runs)
    return {
        "command": "fleetsim run scenarios/ordos-123.yaml --reps 1000",
        "wall_s": wall,
        "wall_s_runs": walls,
    }


def bench_baseline(runs: int, n_sites: int, reps: int) -> dict[str, Any]:
    """The straightforward design against the project on the same sites and replications."""
    scenario = reference_scenario()
    network = scenario_network(scenario)
    every = candidate_sites(network, "nodes")
    sites = every[:: max(1, len(every) // n_sites)][:n_sites]
    template = scenario.incidents[0]
    depots = resolve_depots(network, scenario.fleet)

    def plan_of(site: Site) -> Any:
        inc = Incident(
            site.name, network.places.lat_lon(site.node), template.demand, scope=template.scope
        )
        return prepare_incident(network, scenario, inc, depot_nodes=depots, checkpoint_nodes=[])

    plans = [plan_of(s) for s in sites]

    # Routing: per-vehicle networkx vs one reverse Dijkstra per class (+ the depots' paths).
    setups: list[Any] = []

    def nx_routing() -> None:
        setups[:] = [baseline.route(network, scenario, s.name, s.node) for s in sites]

    def project_routing() -> None:
        network._trees.clear()
        for site, plan in zip(sites, plans, strict=True):
            for cp in plan.classes:
                tree = network.tree_to(site.node, cp.vehicle_class)
                for dep in set(plan.vehicle_depot[cp.candidates].tolist()):
                    tree.path(int(depots[dep]))

    def project_prepare() -> None:
        network._trees.clear()
        for site in sites:
            plan_of(site)

    nx_s, _ = median_time(nx_routing, runs)
    routing_s, _ = median_time(project_routing, max(3, runs))
    prepare_s, _ = median_time(project_prepare, max(3, runs))
    routed = sum(len(c[2]) for s in setups for c in s.classes)

    # The model: one SimPy process per vehicle vs the project's engines, same draws.
    seed = scenario.seed
    base_out: list[list[float]] = []

    def nx_model() -> None:
        base_out[:] = [
            [
                baseline.replicate(st, scenario, replication_seed(seed, st.name, r))
                for r in range(reps)
            ]
            for st in setups
        ]

    proj_out: dict[str, list[list[float]]] = {}

    def project_model(engine: str) -> None:
        proj_out[engine] = [
            [x.completion_min for x in run_replications(p, seed, range(reps), engine=engine)]
            for p in plans
        ]

    base_model_s, _ = median_time(nx_model, runs)
    fast_s, _ = median_time(lambda: project_model("auto"), max(3, runs))
    simpy_s, _ = median_time(lambda: project_model("simpy"), runs)
    total = len(sites) * reps
    diffs = [
        abs(a - b)
        for bs, ps in zip(base_out, proj_out["auto"], strict=True)
        for a, b in zip(bs, ps, strict=True)
        if math.isfinite(a) or math.isfinite(b)
    ]
    same_inf = all(
        math.isinf(a) == math.isinf(b)
        for bs, ps in zip(base_out, proj_out["auto"], strict=True)
        for a, b in zip(bs, ps, strict=True)
    )
    project_rows = {
        r["site"]: r
        for r in sweep(scenario, sites, network=network, replications=reps, workers=1).rows
    }
    stats = []
    for st, completions in zip(setups, base_out, strict=True):
        p, p90 = baseline.summary(completions, st.deadline_min)
        row = project_rows[st.name]
        stats.append(
            {
                "site": st.name,
                "deadline_min": st.deadline_min,
                "baseline_p_met": p,
                "project_p_met": row["p_met"],
                "baseline_p90_min": p90,
                "project_p90_min": row["p90_min"],
            }
        )
    return {
        "sites": len(sites),
        "replications_per_site": reps,
        "vehicles_routed": routed,
        "networkx_routing_s": nx_s,
        "project_routing_s": routing_s,
        "project_prepare_s": prepare_s,
        "routing_ratio": nx_s / routing_s,
        "routing_ratio_vs_prepare": nx_s / prepare_s,
        "baseline_model_ms_per_rep": base_model_s / total * 1000,
        "project_auto_ms_per_rep": fast_s / total * 1000,
        "project_simpy_ms_per_rep": simpy_s / total * 1000,
        "model_ratio_vs_auto": base_model_s / fast_s,
        "model_ratio_vs_simpy_engine": base_model_s / simpy_s,
        "max_abs_completion_diff_min": max(diffs, default=0.0),
        "same_never_met_replications": same_inf,
        "statistics": stats,
    }


# ---------------------------------------------------------------------------------------------
# Entry point and table
# ---------------------------------------------------------------------------------------------


def main(quick: bool = False) -> dict[str, Any]:
    """Run every measurement, print the table, write the JSON; return the results.

    Parameters
    ----------
    quick
        One run per measurement (instead of the median of 3) and a smaller baseline.
    """
    runs = 1 if quick else 3
    results: dict[str, Any] = {"benchmark": "bench_sweep", **machine(), "runs": runs}
    results["model"] = bench_model(runs)
    with tempfile.TemporaryDirectory(prefix="fleetsim-bench-") as tmp:
        results["reference_sweep"] = bench_reference_sweep(runs, Path(tmp))
    results["run_command"] = bench_run_command(runs)
    n_sites, reps = (5, 10) if quick else (BASELINE_SITES, BASELINE_REPS)
    results["baseline"] = bench_baseline(runs, n_sites, reps)
    results["targets"] = _verdicts(results)
    print_table(results)
    path = write_results("bench_sweep", results)
    print(f"wrote {path}")
    return results


def _verdicts(r: dict[str, Any]) -> dict[str, bool]:
    ref, run, base = r["reference_sweep"], r["run_command"], r["baseline"]
    return {
        "reference_sweep_le_60_s": ref["wall_s"] <= TARGETS["sweep_s"],
        "reference_sweep_le_20_s_stretch": ref["wall_s"] <= TARGETS["sweep_stretch_s"],
        "reference_sweep_le_1_gb": ref["peak_rss_mib"] <= TARGETS["sweep_mib"],
        "run_1000_reps_le_15_s": run["wall_s"] <= TARGETS["run_s"],
        "routing_ratio_ge_500": base["routing_ratio"] >= ROUTING_RATIO_MIN,
        "dask_rows_identical": bool(ref["dask"].get("rows_identical_to_processes", True)),
    }


def _ok(flag: bool) -> str:
    return "ok" if flag else "MISSED"


def print_table(r: dict[str, Any]) -> None:
    """Print the results as one table (measurement, value, target)."""
    m, ref, run, base, t = (
        r["model"],
        r["reference_sweep"],
        r["run_command"],
        r["baseline"],
        r["targets"],
    )
    rows: list[tuple[str, str, str]] = [
        ("load_network('ordos')", f"{m['load_network_s'] * 1000:.0f} ms", ""),
        ("trees, 5 classes, one incident", f"{m['trees_5_classes_s'] * 1000:.2f} ms", ""),
    ]
    for name, s in m["prepare_incident_s"].items():
        rows.append((f"prepare incident: {name}", f"{s * 1000:.1f} ms", ""))
    for rep in m["replication"]:
        if "fast_ms" not in rep:
            rows.append(
                (
                    f"1 replication, {rep['case']}: SimPy",
                    f"{rep['simpy_ms']:.2f} ms",
                    rep["engine_note"],
                )
            )
            rows.append(
                (
                    "  SimPy events/rep; events/s",
                    f"{rep['simpy_events']:,.0f}; {rep['simpy_events_per_s'] / 1e3:,.0f}k",
                    "",
                )
            )
            continue
        rows.append(
            (
                f"1 replication, {rep['case']}: heap / SimPy",
                f"{rep['fast_ms']:.2f} / {rep['simpy_ms']:.2f} ms",
                f"x{rep['engine_speedup']:.1f}",
            )
        )
        rows.append(
            (
                "  SimPy events/rep; events/s SimPy / heap-equiv.",
                f"{rep['simpy_events']:,.0f}; {rep['simpy_events_per_s'] / 1e3:,.0f}k / "
                f"{rep['fast_equiv_events_per_s'] / 1e3:,.0f}k",
                "",
            )
        )
    demand = ", ".join(f"{k} {v}" for k, v in ref["demand"].items())
    rows += [
        (
            f"REFERENCE SWEEP: {ref['sites']} sites x {ref['replications_per_site']} reps, "
            f"{ref['workers']} workers",
            f"{ref['wall_s']:.1f} s",
            f"<= 60 s {_ok(t['reference_sweep_le_60_s'])}; <= 20 s "
            f"{_ok(t['reference_sweep_le_20_s_stretch'])}",
        ),
        (
            f"  demand {demand} ({ref['vehicles_requested_per_site']} vehicles/site)",
            f"{ref['sites_simulated']} simulated",
            f"{ref['sites_holding']} sites hold",
        ),
        (
            "  the same sweep on a Dask LocalCluster (2 worker processes)",
            "skipped" if "skipped" in ref["dask"] else f"{ref['dask']['wall_s']:.1f} s",
            ""
            if "skipped" in ref["dask"]
            else "rows identical to --workers 2: "
            + ("yes" if ref["dask"]["rows_identical_to_processes"] else "NO"),
        ),
        (
            "  CPU time (parent + workers); 1-min load before the runs",
            f"{ref['cpu_s']:.1f} s",
            "load " + ", ".join(f"{x:.1f}" for x in ref["load_average_before_runs"]),
        ),
        (
            "  peak memory (parent + largest worker)",
            f"{ref['peak_rss_mib']:.0f} MiB",
            f"<= 1 GB {_ok(t['reference_sweep_le_1_gb'])} "
            f"({ref['parent_peak_rss_mib']:.0f} + {ref['max_worker_peak_rss_mib']:.0f})",
        ),
        (
            "fleetsim run ordos-123 --reps 1000 (end to end)",
            f"{run['wall_s']:.1f} s",
            f"<= 15 s {_ok(t['run_1000_reps_le_15_s'])}",
        ),
        (
            f"BASELINE routing, {base['sites']} sites ({base['vehicles_routed']:,} nx paths)",
            f"{base['networkx_routing_s']:.2f} s",
            "",
        ),
        (
            "  project routing (trees + depot paths) / all per-incident work",
            f"{base['project_routing_s'] * 1000:.1f} / {base['project_prepare_s'] * 1000:.1f} ms",
            "",
        ),
        (
            "  ROUTING RATIO (vs trees; vs all per-incident work)",
            f"x{base['routing_ratio']:,.0f}; x{base['routing_ratio_vs_prepare']:,.0f}",
            f">= 500x {_ok(t['routing_ratio_ge_500'])}",
        ),
        (
            f"BASELINE model, {base['sites']} x {base['replications_per_site']} reps: "
            "per-vehicle SimPy",
            f"{base['baseline_model_ms_per_rep']:.2f} ms/rep",
            "",
        ),
        (
            "  project: auto (heap) / SimPy engine",
            f"{base['project_auto_ms_per_rep']:.2f} / {base['project_simpy_ms_per_rep']:.2f} "
            "ms/rep",
            "",
        ),
        (
            "  MODEL RATIO (vs auto; vs project SimPy engine)",
            f"x{base['model_ratio_vs_auto']:.1f}; x{base['model_ratio_vs_simpy_engine']:.1f}",
            f"max |d completion| {base['max_abs_completion_diff_min']:.1e} min",
        ),
    ]
    w0 = max(len(a) for a, _, _ in rows)
    w1 = max(len(b) for _, b, _ in rows)
    print(f"machine: {r['cpus']} CPUs, Python {r['python']}; medians of {r['runs']} run(s)")
    print(f"{'measurement':<{w0}}  {'value':>{w1}}  target / note")
    print("-" * (w0 + w1 + 30))
    for a, b, c in rows:
        print(f"{a:<{w0}}  {b:>{w1}}  {c}".rstrip())
    print()
    print("same statistical output: baseline vs project on the baseline's sites and replications")
    width = max(len(s["site"]) for s in base["statistics"])
    print(
        f"{'site':<{width}}  {'deadline':>8}  {'P(holds) base / proj':>21}  "
        f"{'p90 base / proj (min)':>22}"
    )
    for s in base["statistics"]:
        bp90 = "never" if s["baseline_p90_min"] is None else f"{s['baseline_p90_min']:.1f}"
        pp90 = "never" if s["project_p90_min"] is None else f"{s['project_p90_min']:.1f}"
        print(
            f"{s['site']:<{width}}  {s['deadline_min']:>8.0f}  "
            f"{s['baseline_p_met']:>10.3f} / {s['project_p_met']:<8.3f}  "
            f"{bp90:>10} / {pp90:<9}"
        )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
