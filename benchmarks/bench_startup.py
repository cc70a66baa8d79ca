"""Start-up time of the command line (issue 15): ``fleetsim --help`` against a one-replication run.

Each command runs end to end in a fresh process (what a user waits for), in the same bench
run, interleaved so that a busy machine slows both alike:

* ``fleetsim --help``: the interpreter, the parser and the modules every command imports;
* ``fleetsim run scenarios/ordos-123.yaml --reps 1``: validation, the embedded network, the
  pilot estimate, one replication per incident and the tables. The network cache
  (:mod:`sim.netcache`) points at a fresh temporary folder: the first run fills it (timed
  apart, "cold"), the others read it, as every run after the first on a machine does;
* the same run with ``--out DIR``: also every file of the results folder (summary, tables,
  the resolved scenario, the PNG figures and ``report.html``).

Reported: the medians, and the ratio run / help (absolute times depend on the machine; the
ratio is what carries). ``FLEETSIM_BENCH_COMPARE=/path/to/other/fleetsim`` also times another
installation (e.g. a checkout of main) interleaved with this one, and reports this / other.
``--quick``: 3 runs of each instead of 9. Writes ``benchmarks/results/bench_startup.json``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import REPO, machine, write_results
from sim.netcache import CACHE_DIR_ENV

SCENARIO = "scenarios/ordos-123.yaml"


def _fleetsim() -> list[str]:
    script = Path(sys.executable).with_name("fleetsim")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "sim.cli"]


def _wall(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=True)
    return time.perf_counter() - start


def main(quick: bool = False) -> dict[str, Any]:
    """Time the commands, print the table, write the JSON; return the results.

    Parameters
    ----------
    quick
        3 runs of each command instead of 9.
    """
    runs = 3 if quick else 9
    other = os.environ.get("FLEETSIM_BENCH_COMPARE", "").strip()
    with tempfile.TemporaryDirectory(prefix="fleetsim-bench-cache-") as cache:
        env = {**os.environ, CACHE_DIR_ENV: cache}
        help_cmd = [*_fleetsim(), "--help"]
        run_cmd = [*_fleetsim(), "run", SCENARIO, "--reps", "1"]
        out_opts = ["--out", str(Path(cache) / "out"), "--quiet"]
        cold_s = _wall(run_cmd, REPO, env)
        times: dict[str, list[float]] = {
            k: [] for k in ("help", "run", "run_out", "other_help", "other_run", "other_run_out")
        }
        for _ in range(runs):
            times["help"].append(_wall(help_cmd, REPO, env))
            times["run"].append(_wall(run_cmd, REPO, env))
            times["run_out"].append(_wall([*run_cmd, *out_opts], REPO, env))
            if other:
                other_repo = Path(other).resolve().parents[2]  # <repo>/.venv/bin/fleetsim
                times["other_help"].append(_wall([other, "--help"], other_repo, env))
                times["other_run"].append(_wall([other, *run_cmd[-4:]], other_repo, env))
                times["other_run_out"].append(
                    _wall([other, *run_cmd[-4:], *out_opts], other_repo, env)
                )
    med = {k: statistics.median(v) for k, v in times.items() if v}
    results: dict[str, Any] = {
        "benchmark": "bench_startup",
        **machine(),
        "runs": runs,
        "help_command": "fleetsim --help",
        "run_command": f"fleetsim run {SCENARIO} --reps 1",
        "help_s_median": med["help"],
        "run_s_median": med["run"],
        "run_cold_cache_s": cold_s,
        "run_over_help": med["run"] / med["help"],
        "run_out_s_median": med["run_out"],
        "run_out_over_help": med["run_out"] / med["help"],
        "load_average": os.getloadavg(),
        "times_s": times,
    }
    print(f"machine: {results['cpus']} CPUs, Python {results['python']}; median of {runs}")
    print(f"fleetsim --help: {med['help']:.2f} s")
    print(
        f"{results['run_command']}: {med['run']:.2f} s (network cache warm; "
        f"{cold_s:.2f} s cold, first run)"
    )
    print(f"ratio run / help: x{results['run_over_help']:.1f}")
    print(
        f"the same run with --out DIR (every file, figures and report.html): "
        f"{med['run_out']:.2f} s, x{results['run_out_over_help']:.1f} help"
    )
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if other:
        results.update(
            other=other,
            other_help_s_median=med["other_help"],
            other_run_s_median=med["other_run"],
            run_over_other_run=med["run"] / med["other_run"],
            other_run_out_s_median=med["other_run_out"],
            run_out_over_other_run_out=med["run_out"] / med["other_run_out"],
        )
        print(
            f"{other}: --help {med['other_help']:.2f} s, run {med['other_run']:.2f} s, "
            f"with --out {med['other_run_out']:.2f} s; this / that: "
            f"run x{results['run_over_other_run']:.2f}, "
            f"with --out x{results['run_out_over_other_run_out']:.2f}"
        )
    path = write_results("bench_startup", results)
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
