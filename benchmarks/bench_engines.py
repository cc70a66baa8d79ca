"""The engines side by side (issue 15): batch vs heap vs SimPy per incident-replication.

Every figure is a difference of two end-to-end ``fleetsim run SCENARIO --reps N`` commands
(fresh processes, so start-up, imports, network and pilot estimate cancel; CPU seconds, so a
machine shared with other work slows them less than wall time), divided by the extra
incident-replications; the engines' runs are interleaved so that a busy machine slows them
alike, and the ratios are what carries from one machine to another:

* ``ordos-123`` as shipped (taxis and freight on their platforms, issue 14): the batch engine
  (what ``auto`` runs for 64 incident-replications or more) vs SimPy. The heap engine does
  not run platform call-outs (``auto`` runs SimPy for them below 64 incident-replications);
* ``ordos-123`` with every operator on the phone (``fleet.callout``): batch vs heap vs SimPy.

Pairs: batch N = 200 and 3,200; heap N = 50 and 450; SimPy N = 5 and 45. Plans the batch or
heap engine does not run (a class mixing phone and platform operators, a shared fleet,
checkpoints for the batch engine, a traffic shock) fall back to the next engine under
``auto``; the table says which engine ``auto`` takes for each incident.
``FLEETSIM_BENCH_BASE=/path/to/other/.venv/bin/fleetsim`` also times the README sweep
(``fleetsim sweep scenarios/ordos-123.yaml --sites nodes --reps 100 --workers 2``) with that
installation (e.g. a worktree of the base commit) and this one, and reports the ratio.
``--quick``: one pair of runs per engine instead of the median of three.
Writes ``benchmarks/results/bench_engines.json``.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks._common import REPO, machine, write_results

SCENARIO = "scenarios/ordos-123.yaml"
#: Replications (low, high) per engine: about 5 s of CPU between the two on this machine, so
#: the start-up noise of a process (tenths of a second) stays small against the difference.
PAIRS = {"batch": (200, 20200), "fast": (50, 1050), "simpy": (5, 205)}
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


def _fallbacks(scenario: Path) -> dict[str, str]:
    """Per incident of ``scenario``, the engine ``auto`` runs for a large run."""
    from sim.batch import supports as batch_ok
    from sim.engine import supports as heap_ok
    from sim.planning import prepare, scenario_network
    from sim.scenario import load_scenario

    loaded = load_scenario(scenario)
    if loaded.fleet_sharing == "shared":
        return {i.name: "SimPy (shared fleet)" for i in loaded.incidents}
    out = {}
    for plan in prepare(scenario_network(loaded), loaded):
        if batch_ok(plan):
            out[plan.name] = "batch"
        elif heap_ok(plan):
            out[plan.name] = "heap"
        else:
            out[plan.name] = "SimPy (mixed phone and platform class, traffic shock or ties)"
    return out


def phone_variant(folder: Path) -> Path:
    """``ordos-123`` with every platform operator of the default fleet on the phone, written
    to ``folder``."""
    from sim.fleet import default_fleet

    data = yaml.safe_load((REPO / SCENARIO).read_text(encoding="utf-8"))
    platforms = [o.name for o in default_fleet().operators if o.callout.mode == "platform"]
    data["fleet"] = {"base": "default", "callout": {n: {"mode": "phone"} for n in platforms}}
    data["name"] = "ordos-123-phone"
    path = folder / "ordos-123-phone.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def per_replication(runs: int, scenario: str, engines: tuple[str, ...]) -> dict[str, Any]:
    """CPU seconds per incident-replication of each engine on ``scenario``, by differences
    of end-to-end runs, and their ratios."""
    fleetsim = _fleetsim()
    n_incidents = 3
    samples: dict[str, list[float]] = {e: [] for e in engines}
    for _ in range(runs):
        for engine in engines:
            lo, hi = PAIRS[engine]
            base = [*fleetsim, "run", scenario, "--engine", engine, "-q", "--yes", "--reps"]
            t_lo = _timed([*base, str(lo)], REPO)["cpu_s"]
            t_hi = _timed([*base, str(hi)], REPO)["cpu_s"]
            samples[engine].append((t_hi - t_lo) / ((hi - lo) * n_incidents))
    med = {e: statistics.median(v) for e, v in samples.items()}
    out: dict[str, Any] = {"per_incident_replication_s": med, "samples_s": samples}
    out["batch_over_simpy"] = med["simpy"] / med["batch"]
    if "fast" in med:
        out["batch_over_heap"] = med["fast"] / med["batch"]
        out["heap_over_simpy"] = med["simpy"] / med["fast"]
    return out


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
    results["pairs"] = PAIRS
    with tempfile.TemporaryDirectory() as tmp:
        phone = phone_variant(Path(tmp))
        results["auto_engine_per_incident"] = {
            "shipped": _fallbacks(REPO / SCENARIO),
            "phone": _fallbacks(phone),
        }
        results["shipped"] = per_replication(runs, SCENARIO, ("batch", "simpy"))
        results["phone"] = per_replication(runs, str(phone), ("batch", "fast", "simpy"))
    other = os.environ.get("FLEETSIM_BENCH_BASE", "").strip()
    if other:
        results["readme_sweep"] = readme_sweep(other)
    print_table(results)
    path = write_results("bench_engines", results)
    print(f"wrote {path}")
    return results


def print_table(r: dict[str, Any]) -> None:
    """Print the per-replication figures and ratios."""
    print(
        f"machine: {r['cpus']} CPUs, Python {r['python']}; CPU time per incident-replication "
        f"by differences of `fleetsim run --reps N` (median of {r['runs']})"
    )
    for key, title in (
        ("shipped", "ordos-123 as shipped (taxis and freight on platforms)"),
        ("phone", "ordos-123 with every operator on the phone"),
    ):
        e = r[key]
        med = e["per_incident_replication_s"]
        print(f"{title}:")
        for engine, label in (("batch", "batch"), ("fast", "heap"), ("simpy", "SimPy")):
            if engine in med:
                lo, hi = r["pairs"][engine]
                print(f"  {label:<6} {med[engine] * 1e3:8.3f} ms   (N = {lo} vs {hi})")
        verdict = "ok" if e["batch_over_simpy"] >= 100 else "MISSED"
        line = f"  batch vs SimPy: x{e['batch_over_simpy']:.0f} (target x100: {verdict})"
        if "batch_over_heap" in e:
            line += (
                f"; batch vs heap: x{e['batch_over_heap']:.1f}; "
                f"heap vs SimPy: x{e['heap_over_simpy']:.1f}"
            )
        print(line)
        print("  engine auto runs per incident (large runs):")
        for name, engine in r["auto_engine_per_incident"][key].items():
            print(f"    {name}: {engine}")
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
