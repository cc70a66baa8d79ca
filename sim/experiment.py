"""Replications, seeds and executors: from a :class:`Scenario` to per-replication results.

Randomness (DESIGN.md §5): replication ``r`` of incident ``name`` draws from
``SeedSequence(seed, spawn_key=(crc32(name), r))`` with one child stream per purpose
(:data:`sim.model.PURPOSES`). Nothing depends on the order of incidents, on other incidents,
or on the executor, so the same scenario and seed give identical results serially, on local
processes, or on a cluster; and two variants of a scenario see the same draws for the same
vehicle (common random numbers).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.errors import NetworkError, ValidationError
from sim.fleet import Fleet
from sim.model import simulate
from sim.network import RoadNetwork
from sim.plan import ClassPlan, IncidentPlan, draw, name_key
from sim.records import ReplicationResult
from sim.scenario import CheckpointSite, Incident, Scenario
from sim.targets import depots_in_scope

# ---------------------------------------------------------------------------------------------
# Preparing incidents (per-incident work, done once)
# ---------------------------------------------------------------------------------------------


def _locate(network: RoadNetwork, text: str, what: str) -> int:
    try:
        return network.locate(text)
    except NetworkError as exc:
        raise ValidationError(f"{what}: {exc}") from None


def _checkpoint_node(network: RoadNetwork, site: CheckpointSite) -> int:
    """Node index of a checkpoint site: its graph node id when given, else its location."""
    if site.node_id is not None:
        try:
            return network.index_of(site.node_id)
        except NetworkError as exc:
            raise ValidationError(f"checkpoint {site.name!r}: {exc}") from None
    return _locate(network, site.location, f"checkpoint {site.name!r}: location")


def prepare_incident(
    network: RoadNetwork,
    scenario: Scenario,
    incident: Incident,
    *,
    depot_nodes: np.ndarray | None = None,
    checkpoint_nodes: Sequence[int] | None = None,
) -> IncidentPlan:
    """Compute the per-incident plan: tier, eligible vehicles ranked, routes and checkpoints.

    Parameters
    ----------
    network
        The road network (with the scenario's speed profiles).
    scenario
        The scenario.
    incident
        The incident to plan.
    depot_nodes, checkpoint_nodes
        Node index of every depot / checkpoint site, if already resolved.

    Raises
    ------
    ValidationError
        On an unknown location, an incident outside the region, or a demand above the
        vehicles in scope.
    """
    fleet = scenario.fleet
    if depot_nodes is None:
        depot_nodes = resolve_depots(network, fleet)
    if checkpoint_nodes is None:
        checkpoint_nodes = [_checkpoint_node(network, c) for c in scenario.checkpoints]
    where = _locate(network, incident.location, f"incident {incident.name!r}: location")
    assignment = scenario.rules.classify(network, where, tier=incident.tier)
    node = where  # the staging point: the incident's node unless given
    if incident.staging_point is not None:
        node = _locate(
            network, incident.staging_point, f"incident {incident.name!r}: staging_point"
        )
    deadline = incident.deadline_min or assignment.deadline_min
    scope = incident.scope or assignment.scope
    in_scope = depots_in_scope(network, depot_nodes, scope, assignment.zone)

    cp_at_node: dict[int, list[int]] = {}
    for i, n in enumerate(checkpoint_nodes):
        cp_at_node.setdefault(int(n), []).append(i)

    n_depots = len(fleet.depots)
    legs: list[np.ndarray] = [np.zeros(0)] * n_depots
    cps: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * n_depots
    used_cps: dict[int, int] = {}
    vehicle_depot = fleet.vehicle_depots()
    depot_class = np.array([d.vehicle_class for d in fleet.depots])
    ops = fleet.operator_index()
    depot_operator = np.array([ops[d.operator] for d in fleet.depots], dtype=np.int64)
    vehicle_operator = depot_operator[vehicle_depot]
    period = scenario.period
    classes: list[ClassPlan] = []
    for k, d in incident.demand.items():
        params = fleet.classes[k]
        tree = network.tree_to(node, k)
        eligible = np.flatnonzero(
            in_scope & (depot_class == k) & np.isfinite(tree.time_s[depot_nodes])
        )
        for dep in eligible.tolist():
            if not cp_at_node:  # one leg, the whole route: no need to walk the path
                t0 = tree.time_s[depot_nodes[dep]] / 60.0
                legs[dep] = np.maximum(np.diff(-np.array([t0, 0.0])), 0.0)
                continue
            path = tree.path(int(depot_nodes[dep]))
            t = tree.time_s[path] / 60.0
            stops = [
                (pos, ci)
                for pos, n in enumerate(path[:-1].tolist())
                for ci in cp_at_node.get(n, ())
            ]
            marks = [0] + [pos for pos, _ in stops]
            times = [t[p] for p in marks] + [0.0]
            legs[dep] = np.maximum(np.diff(-np.array(times)), 0.0)
            cps[dep] = np.array(
                [used_cps.setdefault(ci, len(used_cps)) for _, ci in stops], dtype=np.int64
            )
        mean_mob = params.mobilisation(period).mean
        expected = np.full(n_depots, np.nan)
        expected[eligible] = mean_mob + tree.time_s[depot_nodes[eligible]] / 60.0
        cand = np.flatnonzero(np.isin(vehicle_depot, eligible))
        key = expected[vehicle_depot[cand]]
        cand = cand[np.lexsort((cand, key))]
        if d == "all":
            requested, initial = int(cand.size), int(cand.size)
        else:
            requested = int(d)
            if requested > cand.size:
                raise ValidationError(
                    f"incident {incident.name!r}: demand.{k} = {requested} exceeds the "
                    f"{cand.size} {k} vehicles in scope '{scope}' that can reach it"
                )
            initial = min(cand.size, math.ceil(requested * scenario.over_request - 1e-9))
        classes.append(
            ClassPlan(
                vehicle_class=k,
                requested=requested,
                all_in_scope=(d == "all"),
                candidates=cand,
                initial_calls=initial,
                call=params.call,
                mobilisation=params.mobilisation(period),
                availability=params.availability,
                reach=params.reach(period),
                accept=params.accept,
            )
        )
    # Keep only checkpoints that lie on some route, renumbered in order of first use.
    order = sorted(used_cps, key=used_cps.__getitem__)
    specs = tuple(scenario.checkpoints[i].spec(int(checkpoint_nodes[i])) for i in order)
    return IncidentPlan(
        name=incident.name,
        node=node,
        tier=assignment.tier,
        deadline_min=float(deadline),
        success_fraction=scenario.rules.success_fraction,
        classes=tuple(classes),
        vehicle_depot=vehicle_depot,
        vehicle_operator=vehicle_operator,
        operator_dispatchers=tuple(o.dispatchers for o in fleet.operators),
        depot_legs_min=tuple(legs),
        depot_checkpoints=tuple(cps),
        checkpoints=specs,
        staging=scenario.staging,
        alert=scenario.alert,
        trip_factor=scenario.trip_factor,
        speed_factor=scenario.speed_factor,
        warmup_min=scenario.warmup_min,
    )


def resolve_depots(network: RoadNetwork, fleet: Fleet) -> np.ndarray:
    """Node index of every depot of ``fleet`` (errors name the depot)."""
    return np.array(
        [_locate(network, d.location, f"depot {d.name!r}: location") for d in fleet.depots],
        dtype=np.int64,
    )


def prepare(network: RoadNetwork, scenario: Scenario) -> list[IncidentPlan]:
    """Prepare every incident of ``scenario`` (locations resolved once)."""
    depots = resolve_depots(network, scenario.fleet)
    cps = [_checkpoint_node(network, c) for c in scenario.checkpoints]
    return [
        prepare_incident(network, scenario, inc, depot_nodes=depots, checkpoint_nodes=cps)
        for inc in scenario.incidents
    ]


# ---------------------------------------------------------------------------------------------
# Replications and executors
# ---------------------------------------------------------------------------------------------


def incident_key(name: str) -> int:
    """Stable 32-bit key of an incident name (keys its random streams)."""
    return name_key(name)


def replication_seed(seed: int, name: str, rep: int) -> np.random.SeedSequence:
    """The seed sequence of replication ``rep`` of incident ``name``."""
    return np.random.SeedSequence(seed, spawn_key=(incident_key(name), rep))


ENGINES: tuple[str, ...] = ("auto", "simpy", "fast")


def _simulator(plan: IncidentPlan, engine: str) -> Callable[..., ReplicationResult]:
    """The replication function for ``engine``: ``auto`` takes the heap engine where it is
    proven identical to SimPy (:func:`sim.engine.supports`), SimPy elsewhere."""
    from sim.engine import simulate_fast, supports

    if engine not in ENGINES:
        raise ValidationError(f"`engine` must be one of {ENGINES}, got {engine!r}")
    if engine == "simpy":
        return simulate
    if supports(plan):
        return simulate_fast
    if engine == "fast":
        raise ValidationError(
            f"incident {plan.name!r}: the fast engine does not support this plan (background "
            "traffic at a checkpoint, or a fixed distribution); use engine 'auto' or 'simpy'"
        )
    return simulate


def run_replications(
    plan: IncidentPlan,
    seed: int,
    reps: Iterable[int],
    *,
    log_vehicles: bool = False,
    engine: str = "auto",
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
        ``auto`` (default), ``simpy`` or ``fast``; see :func:`_simulator`.
    """
    sim = _simulator(plan, engine)
    return [
        sim(plan, draw(plan, replication_seed(seed, plan.name, r)), log_vehicles=log_vehicles)
        for r in reps
    ]


def _chunk(
    plan: IncidentPlan, seed: int, reps: range, log: bool, engine: str = "auto"
) -> list[ReplicationResult]:
    return run_replications(plan, seed, reps, log_vehicles=log, engine=engine)


def _chunks(n_plans: int, replications: int, slots: int) -> list[tuple[int, range]]:
    """Split the work into (plan index, replication range) chunks, plan by plan.

    Serially a chunk is a twentieth of a plan (progress granularity); in parallel, about eight
    chunks per slot over all plans, never more than one plan per chunk, so a sweep of many
    sites sends each site's plan once. Results never depend on the chunking.
    """
    if slots <= 1:
        size = max(1, replications // 20)
    else:
        size = max(1, min(replications, math.ceil(n_plans * replications / (slots * 8))))
    return [
        (i, range(s, min(replications, s + size)))
        for i in range(n_plans)
        for s in range(0, replications, size)
    ]


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
        ``auto`` (default: the heap engine where it is exact, else SimPy), ``simpy`` or
        ``fast``. Results are identical to 1e-9 whichever runs.
    scheduler
        A Dask scheduler address (``tcp://HOST:PORT``) or a ``distributed.Client``: run on
        that cluster instead of local processes (:class:`DaskExecutor`). Results are
        identical.
    on_plan_done
        Called with ``(plan index, its results)`` as soon as every replication of a plan is
        in, in plan order (a sweep caches finished sites with it).

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
    from contextlib import closing

    _check_workers(workers)
    if engine not in ENGINES:
        raise ValidationError(f"`engine` must be one of {ENGINES}, got {engine!r}")
    out: list[list[ReplicationResult]] = [[] for _ in plans]
    with make_executor(workers, scheduler) as executor:
        jobs = _chunks(len(plans), replications, executor.slots)
        left = [0] * len(plans)
        for i, _ in jobs:
            left[i] += 1
        tasks = [(plans[i], seed, r, log_vehicles, engine) for i, r in jobs]
        with closing(executor.map(_chunk, tasks)) as results:
            for (i, _), res in zip(jobs, results, strict=True):
                out[i].extend(res)
                left[i] -= 1
                if left[i] == 0 and on_plan_done is not None:
                    on_plan_done(i, out[i])
                if progress:
                    progress(len(res))
    return out


# ---------------------------------------------------------------------------------------------
# Executors: serial, local processes, a Dask cluster
# ---------------------------------------------------------------------------------------------

#: Environment variable naming a Dask scheduler (read by the command line, as in Dask).
DASK_SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


class Executor:
    """Runs tasks and yields their results *in submission order*.

    One abstraction for every way of running replications: :class:`SerialExecutor`,
    :class:`ProcessExecutor` (local processes) and :class:`DaskExecutor` (an existing Dask
    cluster). Since every replication depends only on the seed, the incident's name and its
    index, and results are assembled in submission order, the results are identical
    whichever executor runs them and however the work is chunked.

    Attributes
    ----------
    slots : int
        Tasks that run at the same time (used to size chunks; results do not depend on it).
    """

    slots: int = 1

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Any]:
        """Yield ``fn(*task)`` for every task, in the order of ``tasks``.

        Closing the iterator early (an error or Ctrl-C in the consumer) cancels the tasks not
        yet started; only those already running are waited for.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release the executor's resources (a no-op unless it owns a connection)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs every task in this process, one after the other."""

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Any]:
        """Yield ``fn(*task)`` for every task, computed lazily in order."""
        for task in tasks:
            yield fn(*task)


class ProcessExecutor(Executor):
    """Runs tasks on ``workers`` local processes (a fresh pool per :meth:`map`).

    Parameters
    ----------
    workers
        Number of worker processes (>= 1).
    """

    def __init__(self, workers: int) -> None:
        self.slots = _check_workers(workers)

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Any]:
        """Submit every task at once and yield the results in submission order."""
        with ProcessPoolExecutor(max_workers=self.slots) as pool:
            futures = [pool.submit(fn, *task) for task in tasks]
            try:
                for fut in futures:
                    yield fut.result()
            except BaseException:
                # Ctrl-C, an error, or the consumer closing the iterator: cancel the queued
                # tasks, so leaving the `with` waits only for the few already running.
                # (shutdown(cancel_futures=True) is not enough: its manager thread may outlive
                # the executor and then runs every queued task.)
                for fut in futures:
                    fut.cancel()
                raise


class DaskExecutor(Executor):
    """Runs tasks on an existing Dask cluster (``pip install 'fleetsim[dask]'``).

    The cluster's workers need fleetsim installed (the same version) to unpickle the tasks.

    Parameters
    ----------
    scheduler
        The scheduler's address, e.g. ``tcp://10.0.0.5:8786``, or a connected
        ``distributed.Client`` (which is then left open by :meth:`close`).
    timeout
        Seconds to wait for the scheduler when connecting.

    Raises
    ------
    ValidationError
        When Dask (``distributed``) is not installed, or the scheduler cannot be reached.
    """

    def __init__(self, scheduler: Any, *, timeout: float = 10.0) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ValidationError(
                "a Dask scheduler was given but Dask is not installed; install it with "
                "`pip install 'fleetsim[dask]'` (or `pip install 'dask[distributed]'`)"
            ) from None
        if isinstance(scheduler, str):
            try:
                self.client = Client(scheduler, timeout=timeout, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ValidationError(
                    f"cannot connect to the Dask scheduler {scheduler!r}: {exc}"
                ) from None
            self._owns = True
        elif isinstance(scheduler, Client):
            self.client, self._owns = scheduler, False
        else:
            raise ValidationError(
                "`scheduler` must be an address such as 'tcp://HOST:8786' or a "
                f"distributed.Client, got {scheduler!r}"
            )
        self.slots = max(1, sum(self.client.nthreads().values()))

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Any]:
        """Submit every task to the cluster and yield the results in submission order."""
        if not tasks:
            return
        # Send every distinct object argument (an incident plan) to the cluster once, so a
        # sweep of many sites does not ship one large task graph; tasks refer to it.
        shared: dict[int, Any] = {}
        for task in tasks:
            for arg in task:
                if not isinstance(arg, _SCALARS):
                    shared.setdefault(id(arg), arg)
        refs: dict[int, Any] = {}
        if shared:
            scattered = self.client.scatter(list(shared.values()), hash=False)
            refs = dict(zip(shared, scattered, strict=True))
        args = [tuple(refs.get(id(a), a) for a in task) for task in tasks]
        futures = self.client.map(fn, *zip(*args, strict=True), pure=False)
        try:
            for fut in futures:
                yield fut.result()
        except BaseException:
            self.client.cancel(futures)
            raise

    def close(self) -> None:
        """Close the connection to the scheduler if this executor opened it."""
        if self._owns:
            self.client.close()


_SCALARS = (bool, int, float, str, bytes, range, type(None))


def _check_workers(workers: object) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValidationError(f"`workers` must be an integer >= 1, got {workers!r}")
    return workers


def make_executor(workers: int = 1, scheduler: Any = None) -> Executor:
    """The executor for ``workers`` local processes or a Dask ``scheduler``.

    Parameters
    ----------
    workers
        1 runs serially; more uses that many local processes. Ignored with ``scheduler``.
    scheduler
        A Dask scheduler address (``tcp://HOST:PORT``) or a ``distributed.Client``: run on
        that cluster instead.

    Returns
    -------
    Executor
        Close it after use (it is a context manager).
    """
    _check_workers(workers)
    if scheduler is not None and scheduler != "":
        return DaskExecutor(scheduler)
    return SerialExecutor() if workers == 1 else ProcessExecutor(workers)


def default_workers() -> int:
    """Worker processes used by default: the CPUs available to this process (at most 8)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


# ---------------------------------------------------------------------------------------------
# One call from scenario to summary
# ---------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """The outcome of :func:`run`: the plans, every replication, and the summary."""

    scenario: Scenario
    seed: int
    replications: int
    plans: list[IncidentPlan]
    results: list[list[ReplicationResult]]

    @property
    def summary(self) -> dict:
        """The JSON contract: ``scenario, seed, replications, incidents`` (+ version)."""
        from sim import __version__
        from sim.results import study_json, summarize

        return study_json(
            self.scenario.name,
            self.seed,
            self.replications,
            [summarize(p, r) for p, r in zip(self.plans, self.results, strict=True)],
            extra={"fleetsim_version": __version__, "network": self.scenario.network},
        )

    def to_dataframe(self, kind: str = "incidents") -> Any:
        """The run as a ``pandas.DataFrame``: the rows of ``incidents.csv`` or ``vehicles.csv``.

        Parameters
        ----------
        kind
            ``incidents``: one row per incident per replication (completion minutes, ``met``,
            completion per class, critical class, stage minutes of the vehicle that set the
            completion, counts; :data:`sim.outputs.INCIDENT_FIELDS`). ``vehicles``: one row
            per called vehicle per replication (:data:`sim.outputs.VEHICLE_LOG_FIELDS`);
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
        from sim.outputs import run_table

        return run_table(self, kind)


def scenario_network(scenario: Scenario, network: RoadNetwork | None = None) -> RoadNetwork:
    """The network a run of ``scenario`` uses: its fleet's speed profiles and its closures.

    Parameters
    ----------
    scenario
        The scenario.
    network
        A loaded network *without* the scenario's closures, to reuse; by default
        ``load_network(scenario.network)``.

    Raises
    ------
    ValidationError
        When a closure cannot be placed on the network (unknown road or place).
    """
    from sim.network import load_network

    profiles = {k: p.speed for k, p in scenario.fleet.classes.items()}
    if network is None:
        network = load_network(scenario.network, profiles=profiles)
    elif dict(network.profiles) != profiles:
        network = network.with_profiles(profiles)
    if scenario.closures:
        try:
            network = network.with_closures(scenario.closures)
        except NetworkError as exc:
            raise ValidationError(f"closures: {exc}") from None
    return network


def check_reps_seed(
    scenario: Scenario, replications: int | None, seed: int | None
) -> tuple[int, int]:
    """Resolve and validate the replication count and seed (the scenario's by default)."""
    reps = scenario.replications if replications is None else replications
    s = scenario.seed if seed is None else seed
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise ValidationError(f"`replications` must be an integer >= 1, got {reps!r}")
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
    """
    reps, s = check_reps_seed(scenario, replications, seed)
    network = scenario_network(scenario, network)
    plans = prepare(network, scenario)
    results = run_plans(
        plans,
        seed=s,
        replications=reps,
        workers=workers,
        log_vehicles=log_vehicles,
        progress=progress,
        engine=engine,
        scheduler=scheduler,
    )
    return RunResult(scenario, s, reps, plans, results)
