"""Helpers shared by the benchmark modules: timing, results files, the reference scenario."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sim.builtin import ordos_123
from sim.scenario import Incident, Scenario

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS_DIR = HERE / "results"
DOCS = REPO / "docs"

#: The region-tier incident of ordos-123 whose demand the reference sweep places everywhere.
REGION_INCIDENT = "Otog Front road point (region)"
#: Its demand (taxi 20, coach 5, freight 10) scaled to 310 vehicles: taxis x11, coaches x10,
#: freight x4 (the 160 trucks deliver only ~96 acceptances, so x10 could never be met).
REFERENCE_DEMAND: dict[str, int] = {"taxi": 220, "coach": 50, "freight": 40}
#: The incident's response policy, kept at every site: the whole region's fleet is called.
REFERENCE_SCOPE = "region"


def median_time(func: Callable[[], Any], runs: int) -> tuple[float, list[float]]:
    """Median and all wall times (s) of ``runs`` calls of ``func``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def machine() -> dict[str, Any]:
    """Versions and machine facts recorded with every result."""
    import networkx as nx
    import scipy
    import simpy

    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count()
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "networkx": nx.__version__,
        "simpy": simpy.__version__,
        "machine": platform.machine(),
        "cpus": cpus,
    }


def write_results(name: str, results: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/<name>.json`` atomically; return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def reference_scenario(**changes: Any) -> Scenario:
    """ordos-123 with one incident: the region-tier incident at the reference demand."""
    base = ordos_123()
    (inc,) = [i for i in base.incidents if i.name == REGION_INCIDENT]
    incident = Incident(inc.name, inc.location, dict(REFERENCE_DEMAND), scope=REFERENCE_SCOPE)
    return dataclasses.replace(base, incidents=(incident,), **changes)


def reference_yaml(path: Path) -> Path:
    """Write the reference scenario as a file extending ``scenarios/ordos-123.yaml``."""
    demand = ", ".join(f"{k}: {v}" for k, v in REFERENCE_DEMAND.items())
    text = (
        "# The reference sweep of benchmarks/bench_sweep.py (written by the benchmark).\n"
        f"extends: {REPO / 'scenarios' / 'ordos-123.yaml'}\n"
        "name: ordos-123-reference-sweep\n"
        "incidents:\n"
        f"  - name: {REGION_INCIDENT}\n"
        '    location: "38.33956,107.98782"\n'
        f"    demand: {{{demand}}}\n"
        f"    scope: {REFERENCE_SCOPE}\n"
    )
    path.write_text(text, encoding="utf-8")
    return path
