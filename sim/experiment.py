"""Replications and seeds: from a :class:`Scenario` to per-replication results.

The data flow reads one way: scenario → network (:func:`sim.planning.scenario_network`) →
plans (:func:`sim.planning.prepare`) → engine (:mod:`sim.model` or :mod:`sim.engine`) →
records (:class:`sim.records.ReplicationResult`), collected in a :class:`RunResult` that
writers (:mod:`sim.outputs`) and figures (:mod:`sim.plots`) take as it is.

Randomness (DESIGN.md §5): replication ``r`` of incident ``name`` draws from
``SeedSequence(seed, spawn_key=(crc32(name), r))`` with one child stream per purpose
(:data:`sim.plan.PURPOSES`). Nothing depends on the order of incidents, on other incidents,
or on the executor, so the same scenario and seed give identical results serially, on local
processes, or on a cluster; and two variants of a scenario see the same draws for the same
vehicle (common random numbers).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from sim import __version__, tables
from sim import results as summaries
from sim.batch import kernels_compiled, simulate_batch
from sim.batch import supports as supports_batch
from sim.closures import ClosureEffect
from sim.contention import Contention, contention_summary
from sim.engine import simulate_fast, supports
from sim.errors import ValidationError
from sim.executors import check_workers, make_executor
from sim.gcpause import long_lived_frozen
from sim.limits import MAX_REPLICATIONS
from sim.model import simulate
from sim.network import RoadNetwork
from sim.plan import IncidentPlan, draw, name_key, replication_seed
from sim.planning import closure_report, prepare, scenario_network
from sim.records import ReplicationResult, VehicleRow
from sim.scenario import Scenario
from sim.shared import demand_notes, prepare_shared
from sim.sharedrun import run_shared


def incident_key(name: str) -> int:
    """Stable 32-bit key of an incident name (keys its random streams)."""
    return name_key(name)


ENGINES: tuple[str, ...] = ("auto", "simpy", "fast", "batch")

#: ``auto`` runs the batch engine (:mod:`sim.batch`) for runs of at least this many
#: incident-replications: below, compiling or loading its kernels (numba) costs more than it
#: saves, and the heap engine runs them.
BATCH_MIN_WORK = 64
#: Replications per serial chunk of a plan on the batch engine (at least).
BATCH_CHUNK = 1000

_TIES = (
    "a degenerate distribution: fixed, or a lognormal sigma, uniform spread or mean of 0, "
    "whose exact ties only SimPy orders"
)
_UNSUPPORTED = f"a platform call-out, a common traffic or trip-spread shock, or {_TIES}"
_UNSUPPORTED_BATCH = (
    "checkpoints, a class on both phone and platform call-outs (or on platforms of different "
    f"settings), a traffic or trip-spread shock, or {_TIES}"
)


def _simulator(plan: IncidentPlan, engine: str) -> Callable[..., ReplicationResult]:
    """The one-replication function for ``engine``: ``auto`` takes the heap engine where it
    is proven identical to SimPy (:func:`sim.engine.supports`), SimPy elsewhere."""
    if engine not in ENGINES:
        raise ValidationError(f"`engine` must be one of {ENGINES}, got {engine!r}")
    if engine == "simpy":
        return simulate
    if supports(plan):
        return simulate_fast
    if engine in ("fast", "batch"):
        raise ValidationError(
            f"incident {plan.name!r}: the {engine} engine does not support this plan "
            f"({_UNSUPPORTED}); use engine 'auto' or 'simpy'"
        )
    return simulate


def _batched(plan: IncidentPlan, engine: str, large: bool) -> bool:
    """Whether replications of ``plan`` run on the batch engine: ``batch`` (or an error for a
    plan it does not run), or ``auto`` in a ``large`` run for a plan it runs."""
    if engine == "batch":
        if not supports_batch(plan):
            raise ValidationError(
                f"incident {plan.name!r}: the batch engine does not support this plan "
                f"({_UNSUPPORTED_BATCH}); use engine 'auto', 'fast' or 'simpy'"
            )
        return True
    return engine == "auto" and large and supports_batch(plan)


def check_shared_engine(engine: str) -> None:
    """Shared-fleet runs are SimPy runs: ``auto`` and ``simpy`` pass, ``fast`` is refused.

    The heap engine (:mod:`sim.engine`) is proven equal to SimPy for one incident at a time;
    in shared mode incidents interact through one fleet (claims, releases, shared
    dispatchers, checkpoints and registration lanes), which it does not model.
    """
    if engine not in ENGINES:
        raise ValidationError(f"`engine` must be one of {ENGINES}, got {engine!r}")
    if engine == "fast":
        raise ValidationError(
            "fleet_sharing: shared runs on the SimPy model only: the fast (heap) engine "
            "simulates one incident at a time and does not model incidents competing for one "
            "fleet; use engine 'auto' or 'simpy'"
        )


def run_replications(
    plan: IncidentPlan,
    seed: int,
    reps: Iterable[int],
    *,
    log_vehicles: bool = False,
    engine: str = "auto",
    large: bool | None = None,
) -> list[ReplicationResult]:
    """Run the given replications of one incident plan, in order.

    Parameters
    ----------
    plan
        The incident plan.
    seed
        The scenario seed.
    reps
        Replication indices.
    log_vehicles
        Keep one row per called vehicle.
    engine
        ``auto`` (default), ``simpy``, ``fast`` (the heap engine) or ``batch`` (the compiled
        batch engine, :mod:`sim.batch`). ``auto`` takes the batch engine for a large run
        where it runs the plan, else the heap engine where it runs the plan, else SimPy.
        Results are identical whichever runs.
    large
        Whether the run is large enough for the batch engine to pay off under ``auto``
        (default: at least :data:`BATCH_MIN_WORK` replications here).
    """
    reps = list(reps)
    if engine not in ENGINES:
        raise ValidationError(f"`engine` must be one of {ENGINES}, got {engine!r}")
    if _batched(plan, engine, len(reps) >= BATCH_MIN_WORK if large is None else large):
        return simulate_batch(plan, seed, reps, log_vehicles=log_vehicles)
    sim = _simulator(plan, engine)
    return [
        sim(plan, draw(plan, replication_seed(seed, plan.stream, r)), log_vehicles=log_vehicles)
        for r in reps
    ]


def _chunk(
    plan: IncidentPlan, seed: int, reps: range, log: bool, engine: str = "auto", large: bool = False
) -> list[ReplicationResult]:
    return run_replications(plan, seed, reps, log_vehicles=log, engine=engine, large=large)


def _chunks(
    n_plans: int, replications: int, slots: int, batched: Sequence[bool] = ()
) -> list[tuple[int, range]]:
    """Split the work into (plan index, replication range) chunks, plan by plan.

    Serially a chunk is a twentieth of a plan (progress granularity), but at least
    :data:`BATCH_CHUNK` replications for a plan that runs on the batch engine (``batched[i]``:
    a batch call has a fixed cost, and a thousand of its replications take a fraction of a
    second); in parallel, about eight chunks per slot over all plans, never more than one plan
    per chunk, so a sweep of many sites sends each site's plan once. Results never depend on
    the chunking.
    """
    out = []
    for i in range(n_plans):
        if slots > 1:
            size = max(1, min(replications, math.ceil(n_plans * replications / (slots * 8))))
        else:
            least = BATCH_CHUNK if i < len(batched) and batched[i] else 1
            size = max(min(replications, least), replications // 20)
        out += [(i, range(s, min(replications, s + size))) for s in range(0, replications, size)]
    return out


def compile_note(work: int, engine: str = "auto") -> str | None:
    """A line for the user before a run that will wait for the batch engine to compile.

    numba compiles the batch kernels on their first use on a machine (and after an update of
    fleetsim), for about a minute, during which a progress bar sits at 0 %.

    Parameters
    ----------
    work
        Incident-replications of the run.
    engine
        The engine asked for (:func:`run_plans`).

    Returns
    -------
    str or None
        The note, or ``None`` when the run is too small for the batch engine, another
        engine was asked for, or the compiled kernels are on disk.
    """
    if engine not in ("auto", "batch") or work < BATCH_MIN_WORK or kernels_compiled():
        return None
    return "compiling the batch engine's kernels (once per machine and version, about a minute)"


def run_plans(
    plans: Sequence[IncidentPlan],
    *,
    seed: int,
    replications: int,
    workers: int = 1,
    log_vehicles: bool = False,
    progress: Callable[[int], None] | None = None,
    engine: str = "auto",
    scheduler: Any = None,
    on_plan_done: Callable[[int, list[ReplicationResult]], None] | None = None,
    vehicle_sink: Callable[[IncidentPlan, int, list[VehicleRow]], None] | None = None,
    large: bool | None = None,
) -> list[list[ReplicationResult]]:
    """Run ``replications`` of every plan.

    Parameters
    ----------
    plans
        Prepared incidents.
    seed
        The scenario seed.
    replications
        Replications per incident.
    workers
        1 runs serially; more uses that many local processes. Results are identical.
    log_vehicles
        Keep one row per called vehicle.
    progress
        Called with the number of replications just finished.
    engine
        ``auto`` (default: for a run of at least :data:`BATCH_MIN_WORK` incident-replications
        the batch engine where it runs the plan, else the heap engine where it is exact, else
        SimPy), ``simpy``, ``fast`` or ``batch`` (:func:`run_replications`). Results are
        identical whichever runs.
    scheduler
        A Dask scheduler address (``tcp://HOST:PORT``) or a ``distributed.Client``: run on
        that cluster instead of local processes (:class:`DaskExecutor`). Results are
        identical.
    vehicle_sink
        With ``log_vehicles``: called with ``(plan, replication, rows)`` for every replication
        as soon as its chunk is in, in plan and replication order; the rows are then dropped
        from the results, so memory does not grow with the vehicle log (``fleetsim run
        --vehicle-log --out`` streams ``vehicles.csv`` to disk this way).
    on_plan_done
        Called with ``(plan index, its results)`` as soon as every replication of a plan is
        in, in plan order (a sweep caches finished sites with it).
    large
        Whether the run is large enough for the batch engine under ``auto`` (its one-off cost,
        loading the compiled kernels, about a second a process, pays off); by default when
        the run has at least :data:`BATCH_MIN_WORK` incident-replications. A caller that makes
        many small runs (``fleetsim plan``) says so: which engine runs a plan never changes
        its results.

    Returns
    -------
    list of list of ReplicationResult
        Per plan, per replication (in replication order).

    Notes
    -----
    Chunks are assembled in submission order. On an error or Ctrl-C (also one raised by
    ``progress`` or ``on_plan_done``) the chunks not yet started are cancelled and the
    exception propagates.
    """
    check_workers(workers)
    if engine not in ENGINES:
        raise ValidationError(f"`engine` must be one of {ENGINES}, got {engine!r}")
    out: list[list[ReplicationResult]] = [[] for _ in plans]
    with long_lived_frozen(), make_executor(workers, scheduler) as executor:
        if large is None:
            large = len(plans) * replications >= BATCH_MIN_WORK
        batched = [_batched(p, engine, large) for p in plans]
        jobs = _chunks(len(plans), replications, executor.slots, batched)
        left = [0] * len(plans)
        for i, _ in jobs:
            left[i] += 1
        tasks = [(plans[i], seed, r, log_vehicles, engine, large) for i, r in jobs]
        with closing(executor.map(_chunk, tasks)) as results:
            for (i, _), res in zip(jobs, results, strict=True):
                if vehicle_sink is not None:
                    for k, rep in enumerate(res, start=len(out[i])):
                        if rep.vehicles is not None:
                            vehicle_sink(plans[i], k, rep.vehicles)
                            rep.vehicles = None
                out[i].extend(res)
                left[i] -= 1
                if left[i] == 0 and on_plan_done is not None:
                    on_plan_done(i, out[i])
                if progress:
                    progress(len(res))
    return out


# ---------------------------------------------------------------------------------------------
# One call from scenario to summary
# ---------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """The outcome of :func:`run`: a plain record of what was run and what came out.

    Attributes
    ----------
    scenario
        The scenario run.
    seed, replications
        The values used.
    network
        The network the plans were prepared on (the fleet's speed profiles and the
        scenario's closures applied): writers and figures use it as it is.
    plans
        One prepared incident per incident of the scenario.
    results
        Per plan, per replication.
    closures
        What each of the scenario's closures closes and how many candidate routes it
        changes (:func:`sim.planning.closure_report`); empty without closures.
    contention
        With ``fleet_sharing: shared``: per plan, per replication, the incident alone on the
        same draws and the vehicles it lost (:mod:`sim.contention`); else ``None``.
    """

    scenario: Scenario
    seed: int
    replications: int
    network: RoadNetwork
    plans: list[IncidentPlan]
    results: list[list[ReplicationResult]]
    closures: tuple[ClosureEffect, ...] = ()
    contention: list[list[Contention]] | None = None

    @property
    def summary(self) -> dict:
        """The JSON contract: ``scenario, seed, replications, incidents`` (+ version, network,
        and ``closures`` when the scenario has any: :meth:`ClosureEffect.to_json`).

        A shared-fleet run adds ``fleet_sharing``, ``dispatch_policy`` and ``fleet_notes``,
        and per incident ``at_min`` and ``contention``
        (:func:`sim.contention.contention_summary`).
        """
        classes = tuple(self.scenario.fleet.classes)
        incidents = [
            summaries.summarize(p, r, classes)
            for p, r in zip(self.plans, self.results, strict=True)
        ]
        extra: dict[str, Any] = {"fleetsim_version": __version__, "network": self.scenario.network}
        if self.closures:
            extra["closures"] = [c.to_json() for c in self.closures]
        if self.contention is not None:
            extra["fleet_sharing"] = "shared"
            extra["dispatch_policy"] = self.scenario.dispatch_policy
            extra["fleet_notes"] = demand_notes(self.plans)
            for inc, spec, p, r, c in zip(
                incidents,
                self.scenario.incidents,
                self.plans,
                self.results,
                self.contention,
                strict=True,
            ):
                inc["at_min"] = spec.at_min
                inc["contention"] = contention_summary(p, r, c)
        return summaries.study_json(
            self.scenario.name, self.seed, self.replications, incidents, extra=extra
        )

    def to_dataframe(self, kind: str = "incidents") -> Any:
        """The run as a ``pandas.DataFrame``: the rows of ``incidents.csv`` or ``vehicles.csv``.

        Parameters
        ----------
        kind
            ``incidents``: one row per incident per replication (completion minutes, ``met``,
            completion per class, critical class, stage minutes of the vehicle that set the
            completion, counts; :func:`sim.tables.incident_fields`). ``vehicles``: one row
            per called vehicle per replication (:data:`sim.tables.VEHICLE_LOG_FIELDS`);
            needs a run with ``log_vehicles=True``.

        Returns
        -------
        pandas.DataFrame
            Minutes since the incident report; ``inf`` where the target can never be met,
            ``NaN`` where a value does not apply.

        Raises
        ------
        ValidationError
            For an unknown ``kind``, or ``vehicles`` without a vehicle log.
        """
        return tables.run_table(self, kind)


#: Pilot replications get indices from here on: never those of a real run.
_PILOT_REP = 2**31


def estimate_seconds(
    plans: Sequence[IncidentPlan],
    replications: int,
    *,
    workers: int = 1,
    engine: str = "auto",
    budget_s: float = 0.5,
) -> float:
    """Estimate the wall time of ``replications`` of every plan, from timed pilot runs.

    Up to five plans spread over ``plans`` are each run for a few pilot replications (seeded
    apart from every real replication, so results do not change) within about ``budget_s``
    seconds; the mean time per replication, times the work, divided by ``workers`` (at 90 %
    parallel efficiency), is the estimate.

    Parameters
    ----------
    plans
        Prepared incidents (or sweep sites).
    replications
        Replications per plan.
    workers
        Processes the run will use.
    engine
        The engine the run will use.
    budget_s
        Rough limit of the time spent on pilot runs.
    """
    if not plans or replications <= 0:
        return 0.0
    step = max(1, len(plans) // 5)
    sample = list(plans)[::step][:5]
    per_plan = budget_s / len(sample)
    large = len(plans) * replications >= BATCH_MIN_WORK
    costs = []
    for plan in sample:
        if _batched(plan, engine, large):
            simulate_batch(plan, 0, [_PILOT_REP])  # loads (or first compiles) the kernels
            start = time.perf_counter()
            simulate_batch(plan, 0, range(_PILOT_REP, _PILOT_REP + 16))
            costs.append((time.perf_counter() - start) / 16)
            continue
        sim_fn = _simulator(plan, engine)
        n, start = 0, time.perf_counter()
        while n < 3 and (n == 0 or time.perf_counter() - start < per_plan):
            sim_fn(plan, draw(plan, replication_seed(0, plan.stream, _PILOT_REP + n)))
            n += 1
        costs.append((time.perf_counter() - start) / n)
    per_rep = sum(costs) / len(costs)
    return per_rep * replications * len(plans) / (max(1, workers) * (0.9 if workers > 1 else 1))


def check_reps_seed(
    scenario: Scenario, replications: int | None, seed: int | None
) -> tuple[int, int]:
    """Resolve and validate the replication count and seed (the scenario's by default)."""
    reps = scenario.replications if replications is None else replications
    s = scenario.seed if seed is None else seed
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise ValidationError(f"`replications` must be an integer >= 1, got {reps!r}")
    if reps > MAX_REPLICATIONS:
        raise ValidationError(
            f"`replications` must be at most {MAX_REPLICATIONS:,} (the limit), got {reps:,}"
        )
    if isinstance(s, bool) or not isinstance(s, int) or s < 0:
        raise ValidationError(f"`seed` must be an integer >= 0, got {s!r}")
    return reps, s


def run(
    scenario: Scenario,
    *,
    network: RoadNetwork | None = None,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    log_vehicles: bool = False,
    progress: Callable[[int], None] | None = None,
    engine: str = "auto",
    scheduler: Any = None,
    before: Callable[[Sequence[IncidentPlan], int], None] | None = None,
    vehicle_sink: Callable[[IncidentPlan, int, list[VehicleRow]], None] | None = None,
    large: bool | None = None,
) -> RunResult:
    """Run every incident of ``scenario``.

    Parameters
    ----------
    scenario
        The scenario.
    network
        A loaded network without the scenario's closures; by default
        ``load_network(scenario.network)``. The fleet's speed profiles and the scenario's
        closures are applied to it (:func:`scenario_network`).
    replications, seed
        Override the scenario's replication count and seed.
    workers
        Local processes (1 = serial); results are identical for any value.
    log_vehicles
        Keep one row per called vehicle per replication.
    progress
        Called with the number of replications just finished.
    engine
        ``auto``, ``simpy`` or ``fast`` (:func:`run_plans`).
    scheduler
        A Dask scheduler address or ``distributed.Client``: run on that cluster instead of
        local processes (:func:`run_plans`); results are identical.
    vehicle_sink
        Receives the vehicle log replication by replication instead of the results keeping
        it (:func:`run_plans`).
    before
        Called with the prepared plans and the replication count before anything is
        simulated (the command line estimates the run time there and may stop a long run).
    large
        Whether the run counts as large for the batch engine (:func:`run_plans`).
    """
    reps, s = check_reps_seed(scenario, replications, seed)
    network = scenario_network(scenario, network)
    plans = prepare(network, scenario)
    closures = closure_report(scenario, network)
    if scenario.fleet_sharing == "shared":
        check_shared_engine(engine)
        splan = prepare_shared(network, scenario, plans)
        if before is not None:
            before(plans, reps)
        results, contention = run_shared(
            splan,
            seed=s,
            replications=reps,
            workers=workers,
            scheduler=scheduler,
            log_vehicles=log_vehicles,
            progress=progress,
            vehicle_sink=vehicle_sink,
        )
        return RunResult(scenario, s, reps, network, plans, results, closures, contention)
    if before is not None:
        before(plans, reps)
    results = run_plans(
        plans,
        seed=s,
        replications=reps,
        workers=workers,
        log_vehicles=log_vehicles,
        progress=progress,
        engine=engine,
        scheduler=scheduler,
        vehicle_sink=vehicle_sink,
        large=large,
    )
    return RunResult(scenario, s, reps, network, plans, results, closures)
