"""Speed of ``fleetsim plan`` against the targets of issue 16.

Two runs of the shipped example, each as one ``fleetsim plan`` process with ``--workers 2``
(``benchmarks._job``: wall time, CPU time of the process and its workers, peak memory):

* ``fleetsim plan ordos-123 --levers scenarios/plans/ordos-123-levers.yaml --sites seats``:
  target <= 2 minutes on 2 cores;
* the same with ``--sites grid:30``: target <= 10 minutes.

Each row reports the number of scenario evaluations of the search (plans simulated on the
training seed), the site simulations they made, the held-out verification included in the
wall time, and the verdict. One run each (a plan takes minutes; ``--quick`` changes
nothing). The CPU time is printed next to the wall time and the 1-minute load average
before the run: on a machine shared with other work the wall time is longer than on 2 free
cores.

Prints one table and writes ``benchmarks/results/bench_plan.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import REPO, machine, write_results

LEVERS = "scenarios/plans/ordos-123-levers.yaml"
WORKERS = 2
#: Site set: wall-time target in seconds (issue 16).
CASES: dict[str, float] = {"seats": 120.0, "grid:30": 600.0}


def bench_case(sites: str, tmp: Path) -> dict[str, Any]:
    """One ``fleetsim plan ordos-123 --sites SITES`` process: times, evaluations, verdict."""
    report = tmp / "report.json"
    args = [
        "plan",
        "ordos-123",
        "--levers",
        LEVERS,
        "--sites",
        sites,
        "--workers",
        str(WORKERS),
        "--json",
        "-q",
    ]
    cmd = [sys.executable, "-m", "benchmarks._job", str(report), "--", *args]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"fleetsim {' '.join(args)} failed:\n{proc.stderr}")
    job = json.loads(report.read_text())
    data = json.loads(proc.stdout)
    return {
        "command": "fleetsim " + " ".join(args[:-2]),
        "sites": sites,
        "sites_total": len(data["before"]["rows"]),
        "sites_searched": len(data["training"]["sites"]),
        "sites_out_of_reach": len(data["out_of_reach"]),
        "wall_s": wall,
        "in_process_s": job["in_process_s"],
        "cpu_s": job["parent_cpu_s"] + job["workers_cpu_s"],
        "peak_rss_mib": job["parent_peak_rss_mib"] + job["max_worker_peak_rss_mib"],
        "load_average_before": load,
        "evaluations": data["evaluations"],
        "site_runs": data["site_runs"],
        "training_replications": data["training"]["replications"],
        "held_out_replications": data["held_out"]["replications"],
        "searches": len(data["attempts"]),
        "cost": data["cost"],
        "changes": [c["change"] for c in data["changes"]],
        "meets_target": data["meets_target"],
        "verdict": data["verdict"],
        "target_s": CASES[sites],
        "within_target": wall <= CASES[sites],
    }


def main(quick: bool = False) -> dict[str, Any]:
    """Run both cases, print the table, write the JSON; return the results.

    Parameters
    ----------
    quick
        Accepted for ``python -m benchmarks --quick``; the runs are the same.
    """
    results: dict[str, Any] = {"benchmark": "bench_plan", **machine(), "workers": WORKERS}
    with tempfile.TemporaryDirectory(prefix="fleetsim-bench-plan-") as tmp:
        results["cases"] = [bench_case(sites, Path(tmp)) for sites in CASES]
    print_table(results)
    path = write_results("bench_plan", results)
    print(f"wrote {path}")
    return results


def print_table(r: dict[str, Any]) -> None:
    """Print one row per case: wall and CPU time, evaluations, target, plan."""
    print(f"machine: {r['cpus']} CPUs, Python {r['python']}; --workers {r['workers']}; 1 run each")
    head = (
        f"{'sites':<8} {'wall':>8} {'target':>8} {'CPU':>8} {'load':>5} {'evals':>6} "
        f"{'site sims':>9} {'searched':>9} {'cost':>6}  plan"
    )
    print(head)
    print("-" * len(head))
    for c in r["cases"]:
        ok = "ok" if c["within_target"] else "MISSED"
        target = f"<={c['target_s']:.0f}s"
        print(
            f"{c['sites']:<8} {c['wall_s']:>7.1f}s {target:>8} {c['cpu_s']:>7.1f}s "
            f"{c['load_average_before']:>5.1f} {c['evaluations']:>6} "
            f"{c['site_runs']:>9} {c['sites_searched']:>4}/{c['sites_total']:<4} "
            f"{c['cost']:>6g}  {'; '.join(c['changes']) or 'no change'}"
        )
        print(f"{'':<8} {ok}: {c['verdict']}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
