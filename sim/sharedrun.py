"""Running shared-fleet replications: serially, on local processes or on Dask.

A shared replication is the unit of work (the incidents of a replication interact, so they
cannot be split); every replication also runs each incident alone on the same draws, the
paired reference of the contention cost (:mod:`sim.contention`). Replication ``r`` draws
from every incident's independent-run seed (:func:`sim.plan.replication_seed`) plus the
shared streams of :func:`sim.sharedmodel.shared_draws`, so results are identical whichever
executor runs them and however the work is chunked.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from sim.contention import Contention, lost_vehicles
from sim.executors import check_workers, make_executor
from sim.plan import IncidentPlan, replication_seed
from sim.records import ReplicationResult, VehicleRow
from sim.shared import SharedPlan
from sim.sharedmodel import shared_draws, simulate_shared


@dataclass
class SharedRecord:
    """One shared replication: every incident's result and its pairing with itself alone."""

    results: list[ReplicationResult]
    contention: list[Contention]


def shared_replications(
    splan: SharedPlan, seed: int, reps: range, log_vehicles: bool = False
) -> list[SharedRecord]:
    """Run the given shared replications, each also with every incident alone.

    Parameters
    ----------
    splan
        The shared plan.
    seed
        The scenario seed.
    reps
        Replication indices.
    log_vehicles
        Keep the shared run's vehicle rows.
    """
    out = []
    n = splan.n_incidents
    for r in reps:
        roots = [replication_seed(seed, p.stream, r) for p in splan.plans]
        draws = shared_draws(splan, seed, r, roots)
        shared = simulate_shared(splan, draws, log_vehicles=log_vehicles)
        paired = []
        for i in range(n):
            alone = shared if n == 1 else simulate_shared(splan, draws, active=[i])
            res_alone, reg_alone = alone.results[i], alone.registered[i]
            reg_shared = shared.registered[i]
            assert res_alone is not None and reg_alone is not None and reg_shared is not None
            others = [c for j, c in enumerate(shared.called) if j != i and c is not None]
            paired.append(
                Contention(res_alone.completion_min, lost_vehicles(reg_alone, reg_shared, others))
            )
        results = [res for res in shared.results if res is not None]
        out.append(SharedRecord(results, paired))
    return out


def run_shared(
    splan: SharedPlan,
    *,
    seed: int,
    replications: int,
    workers: int = 1,
    scheduler: Any = None,
    log_vehicles: bool = False,
    progress: Callable[[int], None] | None = None,
    vehicle_sink: Callable[[IncidentPlan, int, list[VehicleRow]], None] | None = None,
) -> tuple[list[list[ReplicationResult]], list[list[Contention]]]:
    """Run ``replications`` shared replications.

    Parameters
    ----------
    splan
        The shared plan.
    seed
        The scenario seed.
    replications
        Number of replications.
    workers, scheduler
        Local processes, or a Dask scheduler (:func:`sim.executors.make_executor`).
    log_vehicles, vehicle_sink
        As :func:`sim.experiment.run_plans`: the shared run's vehicle rows, streamed to the
        sink per incident and replication when one is given.
    progress
        Called with the number of incident-replications just finished.

    Returns
    -------
    results, contention
        Per incident, per replication.
    """
    check_workers(workers)
    n = splan.n_incidents
    results: list[list[ReplicationResult]] = [[] for _ in range(n)]
    contention: list[list[Contention]] = [[] for _ in range(n)]
    with make_executor(workers, scheduler) as executor:
        slots = executor.slots
        size = (
            max(1, replications // 20)
            if slots <= 1
            else max(1, math.ceil(replications / (slots * 8)))
        )
        chunks = [range(s, min(replications, s + size)) for s in range(0, replications, size)]
        tasks = [(splan, seed, c, log_vehicles) for c in chunks]
        with closing(executor.map(shared_replications, tasks)) as done:
            for chunk, records in zip(chunks, done, strict=True):
                for r, rec in zip(chunk, records, strict=True):
                    for i, (res, con) in enumerate(zip(rec.results, rec.contention, strict=True)):
                        if vehicle_sink is not None and res.vehicles is not None:
                            vehicle_sink(splan.plans[i], r, res.vehicles)
                            res.vehicles = None
                        results[i].append(res)
                        contention[i].append(con)
                if progress:
                    progress(len(records) * n)
    return results, contention
