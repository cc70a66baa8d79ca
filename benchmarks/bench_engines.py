"""The engines side by side (issue 15): batch vs heap vs SimPy per incident-replication.

Every figure is a difference of two end-to-end ``fleetsim run scenarios/ordos-123.yaml --reps
N`` commands (fresh processes, so start-up, imports, network and pilot estimate cancel),
divided by the extra incident-replications; the engines' runs are interleaved so that a busy
machine slows them alike, and the ratios are what carries from one machine to another:

* ``--engine batch`` (what ``auto`` runs for 64 incident-replications or more): N = 50 and 550;
* ``--engine fast`` (the heap engine, ``auto`` below 64): N = 50 and 250;
* ``--engine simpy``: N = 5 and 55.

Plans the batch or heap engine does not run (a platform call-out, a shared fleet, a
checkpoint for the batch engine) fall back to the next engine under ``auto``; the table says
which incidents do. ``FLEETSIM_BENCH_BASE=/path/to/other/.venv/bin/fleetsim`` also times the
README sweep (``fleetsim sweep scenarios/ordos-123.yaml --sites nodes --reps 100 --workers
2``) with that installation (e.g. a worktree of the base commit) and this one, and reports the
ratio. ``--quick``: one pair of runs per engine instead of the median of three.
Writes ``benchmarks/results/bench_engines.json``.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._common import REPO, machine, write_results

SCENARIO = "scenarios/ordos-123.yaml"
PAIRS = {"batch": (50, 550), "fast": (50, 250), "simpy": (5, 55)}
README_SWEEP = ["sweep", SCENARIO, "--sites", "nodes", "--reps", "100", "--workers", "2"]


def _fleetsim() -> list[str]:
    script = Path(sys.executable).with_name("fleetsim")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "sim.cli"]


def _timed(cmd: list[str], cwd: Path) -> dict[str, float]:
    """Wall and CPU seconds (the process and its children) and the children's peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": after.ru_maxrss / 1024}


def _fallbacks() -> dict[str, str]:
    """Per ordos-123 incident, the engine ``auto`` runs for a large run."""
    from sim.batch import supports as batch_ok
    from sim.builtin import ordos_123
    from sim.engine import supports as heap_ok
    from sim.planning import prepare, scenario_network

    scenario = ordos_123()
    if scenario.fleet_sharing == "shared":
        return {i.name: "SimPy (shared fleet)" for i in scenario.incidents}
    out = {}
    for plan in prepare(scenario_network(scenario), scenario):
        if batch_ok(plan):
            out[plan.name] = "batch"
        elif heap_ok(plan):
            out[plan.name] = "heap (checkpoints)"
        else:
            out[plan.name] = "SimPy (platform call-out, trip-spread shock or ties)"
    return out


def per_replication(runs: int) -> dict[str, Any]:
    """Seconds per incident-replication of each engine, by differences of end-to-end runs."""
    fleetsim = _fleetsim()
    n_incidents = 3
    samples: dict[str, list[float]] = {e: [] for e in PAIRS}
    for _ in range(runs):
        for engine, (lo, hi) in PAIRS.items():
            base = [*fleetsim, "run", SCENARIO, "--engine", engine, "-q", "--yes", "--reps"]
            t_lo = _timed([*base, str(lo)], REPO)["cpu_s"]
            t_hi = _timed([*base, str(hi)], REPO)["cpu_s"]
            samples[engine].append((t_hi - t_lo) / ((hi - lo) * n_incidents))
    med = {e: statistics.median(v) for e, v in samples.items()}
    return {
        "pairs": PAIRS,
        "per_incident_replication_s": med,
        "samples_s": samples,
        "batch_over_simpy": med["simpy"] / med["batch"],
        "batch_over_heap": med["fast"] / med["batch"],
        "heap_over_simpy": med["simpy"] / med["fast"],
    }


def readme_sweep(other: str) -> dict[str, Any]:
    """The README sweep with this installation and with ``other`` (wall, CPU, peak RSS)."""
    other_repo = Path(other).resolve().parents[2]  # <repo>/.venv/bin/fleetsim
    this = _timed([*_fleetsim(), *README_SWEEP, "-q", "--yes"], REPO)
    that = _timed([other, *README_SWEEP, "-q", "--yes"], other_repo)
    return {"this": this, "base": that, "speedup_wall": that["wall_s"] / this["wall_s"]}


def main(quick: bool = False) -> dict[str, Any]:
    """Measure, print the table, write the JSON; return the results.

    Parameters
    ----------
    quick
        One pair of runs per engine instead of the median of three.
    """
    runs = 1 if quick else 3
    results: dict[str, Any] = {"benchmark": "bench_engines", **machine(), "runs": runs}
    results["auto_engine_per_incident"] = _fallbacks()
    results["engines"] = per_replication(runs)
    other = os.environ.get("FLEETSIM_BENCH_BASE", "").strip()
    if other:
        results["readme_sweep"] = readme_sweep(other)
    print_table(results)
    path = write_results("bench_engines", results)
    print(f"wrote {path}")
    return results


def print_table(r: dict[str, Any]) -> None:
    """Print the per-replication figures and ratios."""
    e = r["engines"]
    med = e["per_incident_replication_s"]
    print(
        f"machine: {r['cpus']} CPUs, Python {r['python']}; CPU time per incident-replication "
        f"of ordos-123 by differences of `fleetsim run --reps N` (median of {r['runs']})"
    )
    for engine, label in (("batch", "batch"), ("fast", "heap"), ("simpy", "SimPy")):
        lo, hi = e["pairs"][engine]
        print(f"  {label:<6} {med[engine] * 1e3:8.3f} ms   (N = {lo} vs {hi})")
    verdict = "ok" if e["batch_over_simpy"] >= 100 else "MISSED"
    print(f"  batch vs SimPy: x{e['batch_over_simpy']:.0f} (target x100: {verdict})")
    print(
        f"  batch vs heap:  x{e['batch_over_heap']:.1f}; heap vs SimPy: x{e['heap_over_simpy']:.1f}"
    )
    print("engine auto runs per incident (large runs):")
    for name, engine in r["auto_engine_per_incident"].items():
        print(f"  {name}: {engine}")
    if "readme_sweep" in r:
        s = r["readme_sweep"]
        print(
            "README sweep (477 nodes x 100 reps, 2 workers): "
            f"this {s['this']['wall_s']:.1f} s wall, {s['this']['cpu_s']:.1f} s CPU; "
            f"base {s['base']['wall_s']:.1f} s wall, {s['base']['cpu_s']:.1f} s CPU: "
            f"x{s['speedup_wall']:.1f} faster"
        )
    else:
        print("README sweep vs base: set FLEETSIM_BENCH_BASE=/path/to/base/.venv/bin/fleetsim")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
