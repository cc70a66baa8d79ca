"""Shared-fleet speed: one shared replication (SimPy) against the same incidents run alone.

For ``scenarios/covid-2022-concurrent.yaml`` (four incidents, the default 2,010-vehicle
fleet) it times, per replication:

(a) the independent run of every incident on the engine ``auto`` picks (the heap engine);
(b) the same incidents on SimPy, one at a time (the reference semantics);
(c) one shared replication (SimPy, all incidents together);
(d) a full shared replication as ``fleetsim run`` does it: the shared run plus every incident
    alone on the same draws (the paired reference of the contention cost).

Medians over several replications; results are printed and written to
``benchmarks/results/bench_shared.json``.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from benchmarks._common import REPO, machine, write_results
from sim.experiment import run_replications
from sim.netload import cached_network
from sim.plan import replication_seed
from sim.planning import prepare, scenario_network
from sim.scenario import load_scenario
from sim.shared import prepare_shared
from sim.sharedmodel import shared_draws, simulate_shared
from sim.sharedrun import shared_replications

SCENARIO = REPO / "scenarios" / "covid-2022-concurrent.yaml"


def _per_rep(func: Any, reps: int) -> float:
    times = []
    for r in range(reps):
        start = time.perf_counter()
        func(r)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(quick: bool = False) -> dict[str, Any]:
    """Time shared and independent replications of the concurrent-incidents scenario."""
    reps = 5 if quick else 20
    scenario = load_scenario(SCENARIO)
    network = scenario_network(scenario, cached_network(scenario.network))
    plans = prepare(network, scenario)
    splan = prepare_shared(network, scenario, plans)
    seed = scenario.seed

    def independent(engine: str):
        def one(r: int) -> None:
            for p in plans:
                run_replications(p, seed, range(r, r + 1), engine=engine)

        return one

    def shared_only(r: int) -> None:
        roots = [replication_seed(seed, p.stream, r) for p in plans]
        simulate_shared(splan, shared_draws(splan, seed, r, roots))

    def shared_full(r: int) -> None:
        shared_replications(splan, seed, range(r, r + 1))

    rows = {
        "independent, auto engine (all incidents)": _per_rep(independent("auto"), reps),
        "independent, SimPy (all incidents)": _per_rep(independent("simpy"), reps),
        "shared, SimPy (one replication)": _per_rep(shared_only, reps),
        "shared + each incident alone (fleetsim run)": _per_rep(shared_full, reps),
    }
    print(f"{SCENARIO.name}: {len(plans)} incidents, median per replication over {reps}")
    for label, seconds in rows.items():
        print(f"  {label:<45} {seconds * 1000:8.1f} ms")
    results = {
        "scenario": SCENARIO.name,
        "incidents": len(plans),
        "replications_timed": reps,
        "ms_per_replication": {k: round(v * 1000, 2) for k, v in rows.items()},
        "machine": machine(),
    }
    path = write_results("bench_shared", results)
    print(f"wrote {path}")
    return results
