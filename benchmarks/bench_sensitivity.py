"""Time of a default sensitivity analysis of ordos-123 (issue 14), against one run.

* ``fleetsim sensitivity ordos-123`` with its defaults (Morris, 10 trajectories, the shipped
  ranges, the scenario's 200 replications per incident per run, the default workers), end to
  end in a fresh process;
* ``fleetsim run ordos-123`` with the same replications and workers, end to end;
* their ratio, and the ratio to the number of scenario runs of the design (the overhead of a
  sample beyond its replications: validation, routing, preparation).

``--quick``: 20 replications and 2 trajectories. Prints one table and writes
``benchmarks/results/bench_sensitivity.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks._common import REPO, machine, median_time, write_results
from sim.executors import default_workers


def _fleetsim() -> list[str]:
    script = Path(sys.executable).with_name("fleetsim")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "sim.cli"]


def main(quick: bool = False) -> dict[str, Any]:
    """Time both commands, print the table, write the JSON; return the results.

    Parameters
    ----------
    quick
        20 replications and 2 trajectories instead of the defaults.
    """
    workers = default_workers()
    extra = ["--reps", "20"] if quick else []
    sens_cmd = [
        *_fleetsim(),
        "sensitivity",
        "ordos-123",
        *extra,
        *(["--trajectories", "2"] if quick else []),
        "--workers",
        str(workers),
        "--json",
        "-q",
        "--yes",
    ]
    run_cmd = [*_fleetsim(), "run", "ordos-123", *extra, "--workers", str(workers), "-q"]
    out: dict[str, Any] = {}

    def sens() -> None:
        proc = subprocess.run(sens_cmd, cwd=REPO, capture_output=True, text=True, check=True)
        out["data"] = json.loads(proc.stdout)

    def run() -> None:
        subprocess.run(run_cmd, cwd=REPO, capture_output=True, check=True)

    run_s, _ = median_time(run, 1 if quick else 3)
    sens_s, _ = median_time(sens, 1)
    data = out["data"]
    results = {
        "benchmark": "bench_sensitivity",
        **machine(),
        "command": " ".join(["fleetsim", *sens_cmd[len(_fleetsim()) :]]),
        "run_command": " ".join(["fleetsim", *run_cmd[len(_fleetsim()) :]]),
        "parameters": len(data["parameters"]),
        "runs": data["runs"],
        "replications": data["replications"],
        "workers": workers,
        "sensitivity_s": sens_s,
        "run_s": run_s,
        "ratio_to_run": sens_s / run_s,
        "ratio_per_design_run": sens_s / run_s / data["runs"],
    }
    print(f"machine: {results['cpus']} CPUs, Python {results['python']}")
    print(
        f"{results['command']}: {sens_s:.1f} s ({results['parameters']} parameters, "
        f"{results['runs']} runs x {results['replications']} replications)"
    )
    print(f"{results['run_command']}: {run_s:.2f} s")
    print(
        f"ratio: x{results['ratio_to_run']:.0f} one run "
        f"(x{results['ratio_per_design_run']:.2f} per scenario run of the design)"
    )
    path = write_results("bench_sensitivity", results)
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
