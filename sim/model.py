"""The SimPy model of one incident replication (DESIGN.md §2).

Time is in minutes. The incident is reported at ``t0`` (0, or the end of the warm-up of the
background traffic when there is any). The command centre is alerted after the alert delay,
ranks the eligible vehicles of every requested class by expected arrival, and calls the best
``ceil(d × over_request)`` through their operators' dispatchers (a ``simpy.Resource`` each).
Every failed call (vehicle unavailable, driver unreachable, driver declines) triggers a call
to the next candidate. An accepting vehicle mobilises, drives its class's fastest path to the
staging point, queues at every checkpoint or toll plaza on that path (lanes are a
``simpy.PriorityResource`` shared with a Poisson stream of background traffic, with an
optional green channel), and finally queues for a registration lane at the staging point.

The per-incident work (paths, checkpoints on paths, candidate ranking) is done once in
:class:`IncidentPlan`; a replication only samples and simulates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import simpy

from sim._errors import ValidationError
from sim.dists import Dist
from sim.vehicles import VEHICLE_CLASSES

GreenChannel = Literal["none", "priority", "dedicated"]
GREEN_CHANNELS: tuple[str, ...] = ("none", "priority", "dedicated")
STAGES: tuple[str, ...] = (
    "alert",
    "callout",
    "mobilisation",
    "travel",
    "checkpoint_wait",
    "staging_wait",
)
#: What became of a called vehicle. ``in_call``: its call was placed (queued at or taken by a
#: dispatcher) but had no answer when the run stopped at the horizon.
OUTCOMES: tuple[str, ...] = (
    "assembled",
    "declined",
    "unreachable",
    "unavailable",
    "en_route",
    "in_call",
)

#: The per-replication counts of an incident (``called`` = every outcome summed).
COUNT_KEYS: tuple[str, ...] = ("called", *OUTCOMES)

_EMERGENCY, _BACKGROUND = 0, 1  # PriorityResource priorities (lower is served first)


@dataclass(frozen=True)
class CheckpointSpec:
    """A checkpoint or toll plaza at a network node.

    Parameters
    ----------
    name
        Unique name.
    node
        Node index where it sits; a vehicle whose path passes the node is stopped.
    lanes
        Number of service lanes (shared with background traffic).
    service
        Service time per vehicle, minutes (health-code check, toll).
    background_per_min
        Arrival rate of ordinary vehicles (Poisson), per minute, across all lanes.
    background_service
        Service time of an ordinary vehicle, minutes (defaults to ``service``).
    green
        ``none`` (first come, first served with background traffic), ``priority`` (the
        emergency fleet jumps the queue; no pre-emption) or ``dedicated`` (the emergency fleet
        uses ``green_lanes`` lanes of its own).
    green_lanes
        Lanes reserved for the emergency fleet when ``green == "dedicated"``. They are *added*
        to the plaza (a gate opened for the fleet, as green channels were in 2022); ordinary
        traffic keeps all ``lanes``. To model taking lanes away from ordinary traffic, lower
        ``lanes`` as well.
    kind
        Free label, e.g. ``checkpoint`` or ``toll``.
    """

    name: str
    node: int
    lanes: int = 1
    service: Dist = field(default_factory=lambda: Dist.fixed(1.0))
    background_per_min: float = 0.0
    background_service: Dist | None = None
    green: str = "none"
    green_lanes: int = 1
    kind: str = "checkpoint"

    def __post_init__(self) -> None:
        if not isinstance(self.lanes, int) or self.lanes < 1:
            raise ValidationError(
                f"checkpoint {self.name!r}: `lanes` must be >= 1, got {self.lanes!r}"
            )
        if not isinstance(self.background_per_min, int | float) or not (
            0 <= self.background_per_min < math.inf
        ):
            raise ValidationError(
                f"checkpoint {self.name!r}: `background_per_min` must be >= 0, "
                f"got {self.background_per_min!r}"
            )
        if self.green not in GREEN_CHANNELS:
            raise ValidationError(
                f"checkpoint {self.name!r}: `green` must be one of {GREEN_CHANNELS}, "
                f"got {self.green!r}"
            )
        if not isinstance(self.green_lanes, int) or self.green_lanes < 1:
            raise ValidationError(
                f"checkpoint {self.name!r}: `green_lanes` must be >= 1, got {self.green_lanes!r}"
            )

    @property
    def bg_service(self) -> Dist:
        """Service-time distribution of background vehicles."""
        return self.background_service if self.background_service is not None else self.service


@dataclass(frozen=True)
class StagingSpec:
    """Registration at the staging point: ``lanes`` parallel lanes, ``service`` minutes each."""

    lanes: int = 8
    service: Dist = field(default_factory=lambda: Dist.lognormal(1.0, 0.3))

    def __post_init__(self) -> None:
        if not isinstance(self.lanes, int) or self.lanes < 1:
            raise ValidationError(f"staging: `lanes` must be >= 1, got {self.lanes!r}")


@dataclass(frozen=True)
class ClassPlan:
    """Per-class part of an incident plan."""

    vehicle_class: str
    requested: int  # vehicles requested (for `all`: every candidate)
    all_in_scope: bool  # demand was `all`
    candidates: np.ndarray  # vehicle indices, best expected arrival first
    initial_calls: int  # acceptances aimed for: ceil(d × over_request), capped
    call: Dist
    mobilisation: Dist
    availability: float
    reach: float
    accept: float


@dataclass(frozen=True)
class IncidentPlan:
    """Everything one incident's replications need, computed once.

    Vehicle arrays are indexed by fleet vehicle index; route arrays by depot index.
    """

    name: str
    node: int
    tier: str
    deadline_min: float
    success_fraction: float
    classes: tuple[ClassPlan, ...]
    vehicle_depot: np.ndarray  # depot index per vehicle
    vehicle_operator: np.ndarray  # operator index per vehicle
    vehicle_class: np.ndarray  # class index (VEHICLE_CLASSES) per vehicle
    operator_dispatchers: tuple[int, ...]
    depot_legs_min: tuple[np.ndarray, ...]  # free-flow minutes of each leg, per depot
    depot_checkpoints: tuple[np.ndarray, ...]  # checkpoint indices after legs[:-1], per depot
    checkpoints: tuple[CheckpointSpec, ...]
    staging: StagingSpec
    alert: Dist
    trip_factor: Dist
    speed_factor: float = 1.0
    warmup_min: float = 60.0
    horizon_min: float = 24 * 60.0

    @property
    def n_vehicles(self) -> int:
        """Number of vehicles in the fleet."""
        return int(self.vehicle_depot.size)

    @property
    def max_checkpoints(self) -> int:
        """The largest number of checkpoints on any depot's route."""
        return max((c.size for c in self.depot_checkpoints), default=0)

    @property
    def has_background(self) -> bool:
        """Whether any checkpoint has background traffic."""
        return any(c.background_per_min > 0 for c in self.checkpoints)


@dataclass(frozen=True)
class Draws:
    """The random inputs of one replication, as standard uniforms per vehicle.

    Uniforms (not final values) are stored so the same vehicle gets the same draws in every
    scenario variant (common random numbers), whatever the distributions' parameters.
    """

    alert: float
    avail: np.ndarray
    reach: np.ndarray
    accept: np.ndarray
    call: np.ndarray
    mobilisation: np.ndarray
    trip: np.ndarray
    service: np.ndarray  # (n_vehicles, 1 + max_checkpoints): column 0 staging, then checkpoints
    background_seeds: tuple[np.random.SeedSequence, ...]  # one per checkpoint


def _uniform(rng: np.random.Generator, n: int | tuple[int, ...]) -> np.ndarray:
    # Open interval (0, 1): inverse CDFs stay finite.
    return 1.0 - rng.random(n)


PURPOSES: dict[str, int] = {
    "alert": 0,
    "availability": 1,
    "callout": 2,
    "mobilisation": 3,
    "travel": 4,
    "service": 5,
    "background": 6,
}


def draw(plan: IncidentPlan, root: np.random.SeedSequence, n_service: int | None = None) -> Draws:
    """Sample the random inputs of one replication.

    Parameters
    ----------
    plan
        The incident plan.
    root
        The replication's seed sequence; one child stream per purpose is derived from it, so
        adding a purpose or changing one distribution leaves the others' draws unchanged.
    n_service
        Checkpoint columns to draw (default: the plan's maximum checkpoints on a route).
    """

    def stream(purpose: str) -> np.random.Generator:
        ss = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, PURPOSES[purpose]))
        return np.random.default_rng(ss)

    n = plan.n_vehicles
    cols = 1 + (plan.max_checkpoints if n_service is None else n_service)
    callout = stream("callout")
    reach, accept, call = _uniform(callout, n), _uniform(callout, n), _uniform(callout, n)
    bg_root = np.random.SeedSequence(
        root.entropy, spawn_key=(*root.spawn_key, PURPOSES["background"])
    )
    return Draws(
        alert=float(_uniform(stream("alert"), 1)[0]),
        avail=_uniform(stream("availability"), n),
        reach=reach,
        accept=accept,
        call=call,
        mobilisation=_uniform(stream("mobilisation"), n),
        trip=_uniform(stream("travel"), n),
        service=_uniform(stream("service"), (n, cols)),
        background_seeds=tuple(
            np.random.SeedSequence(
                bg_root.entropy, spawn_key=(*bg_root.spawn_key, _name_key(c.name))
            )
            for c in plan.checkpoints
        ),
    )


def _name_key(name: str) -> int:
    import zlib

    return zlib.crc32(name.encode("utf-8"))


class Checkpoint:
    """A checkpoint at run time: lanes shared by the emergency fleet and background traffic.

    Parameters
    ----------
    env
        The SimPy environment.
    spec
        The checkpoint's specification.
    rng
        Generator for the background traffic (arrivals and services).
    """

    def __init__(self, env: simpy.Environment, spec: CheckpointSpec, rng: np.random.Generator):
        self.env = env
        self.spec = spec
        self.lanes = simpy.PriorityResource(env, capacity=spec.lanes)
        self.green = (
            simpy.Resource(env, capacity=spec.green_lanes) if spec.green == "dedicated" else None
        )
        self._rng = rng
        self.background_waits: list[float] = []
        self.background_served = 0
        if spec.background_per_min > 0:
            env.process(self._background())

    def _background(self):
        rate = self.spec.background_per_min
        svc = self.spec.bg_service
        while True:
            batch = _uniform(self._rng, (256, 2))
            gaps = -np.log(batch[:, 0]) / rate
            services = svc.from_uniform(batch[:, 1])
            for gap, s in zip(gaps.tolist(), services.tolist(), strict=True):
                yield self.env.timeout(gap)
                self.env.process(self._serve_background(s))

    def _serve_background(self, service: float):
        arrive = self.env.now
        with self.lanes.request(priority=_BACKGROUND) as req:
            yield req
            self.background_waits.append(self.env.now - arrive)
            yield self.env.timeout(service)
        self.background_served += 1

    def pass_emergency(self, service: float):
        """Process generator: an emergency vehicle queues and is served (``yield from``)."""
        if self.green is not None:
            with self.green.request() as req:
                yield req
                yield self.env.timeout(service)
            return
        priority = _EMERGENCY if self.spec.green == "priority" else _BACKGROUND
        with self.lanes.request(priority=priority) as req:
            yield req
            yield self.env.timeout(service)


# Vehicle log columns (times in minutes from the incident report; NaN where not reached).
VEHICLE_FIELDS: tuple[str, ...] = (
    "vehicle",
    "vehicle_class",
    "depot",
    "outcome",
    "called_min",
    "accepted_min",
    "rolling_min",
    "registered_min",
    "callout",
    "mobilisation",
    "travel",
    "checkpoint_wait",
    "staging_wait",
)


@dataclass
class ReplicationResult:
    """Flat outcome of one replication of one incident."""

    completion_min: float  # inf when the target can never be met
    class_completion_min: dict[str, float]
    critical_class: str | None
    breakdown_min: dict[str, float]  # stages of the vehicle that set the completion time
    counts: dict[str, int]
    class_counts: dict[str, dict[str, int]]
    vehicles: list[tuple] | None = None  # VEHICLE_FIELDS rows when logged


class Trace:
    """Per-vehicle event times of one replication (minutes, absolute simulation time).

    Both engines (the SimPy model here and :mod:`sim.engine`) fill a trace; the replication
    result is computed from it by one function, so they cannot disagree on summaries.
    """

    def __init__(self, plan: IncidentPlan, log: bool):
        self.plan, self.log = plan, log
        self.t0 = plan.warmup_min if plan.has_background else 0.0
        n = plan.n_vehicles
        nan = np.full(n, np.nan)
        self.t_called, self.t_accepted, self.t_rolling, self.t_registered = (
            nan.copy(),
            nan.copy(),
            nan.copy(),
            nan.copy(),
        )
        self.travel, self.cp_wait, self.stage_wait = nan.copy(), nan.copy(), nan.copy()
        self.outcome = np.full(n, -1, dtype=np.int8)  # index into OUTCOMES
        self.alert_end = np.nan
        self.last_call_end = -np.inf  # the heap engine's horizon check

    # -- results -----------------------------------------------------------------------------
    def result(self) -> ReplicationResult:
        plan, t0 = self.plan, self.t0
        reg = self.t_registered - t0
        class_completion: dict[str, float] = {}
        critical_vehicle: dict[str, int] = {}
        class_counts: dict[str, dict[str, int]] = {}
        for cp in plan.classes:
            cand = cp.candidates
            oc = self.outcome[cand]
            tally = np.bincount(oc.astype(np.int64) + 1, minlength=len(OUTCOMES) + 1).tolist()
            counts = {name: tally[i + 1] for i, name in enumerate(OUTCOMES)}
            counts["called"] = oc.size - tally[0]
            class_counts[cp.vehicle_class] = counts
            accepted = counts["assembled"] + counts["en_route"]
            basis = accepted if cp.all_in_scope else cp.requested
            need = math.ceil(plan.success_fraction * basis - 1e-9)
            times = reg[cand]
            done = np.flatnonzero(~np.isnan(times))
            if need == 0 and not cp.all_in_scope:
                class_completion[cp.vehicle_class] = 0.0
                continue
            if need == 0 or done.size < need:
                class_completion[cp.vehicle_class] = math.inf
                continue
            # The need-th registration; ties broken by candidate rank (stable sort).
            order = done[np.argsort(times[done], kind="stable")]
            v = int(cand[order[need - 1]])
            class_completion[cp.vehicle_class] = float(reg[v])
            critical_vehicle[cp.vehicle_class] = v
        counts = {key: sum(c[key] for c in class_counts.values()) for key in ("called", *OUTCOMES)}
        completion = max(class_completion.values(), default=0.0)
        critical_class = None
        breakdown = dict.fromkeys(STAGES, math.nan)
        if class_completion and math.isfinite(completion):
            # The class whose need-th vehicle registered last; first in class order on ties.
            critical_class = max(class_completion, key=lambda k: class_completion[k])
            v = critical_vehicle.get(critical_class)
            if v is not None:
                breakdown = self._stages(v)
        elif class_completion:
            critical_class = next(k for k, t in class_completion.items() if math.isinf(t))
        rows = self._vehicle_rows() if self.log else None
        return ReplicationResult(
            completion, class_completion, critical_class, breakdown, counts, class_counts, rows
        )

    def _stages(self, v: int) -> dict[str, float]:
        t0 = self.t0
        return {
            "alert": self.alert_end - t0,
            "callout": self.t_accepted[v] - self.alert_end,
            "mobilisation": self.t_rolling[v] - self.t_accepted[v],
            "travel": float(self.travel[v]),
            "checkpoint_wait": float(self.cp_wait[v]),
            "staging_wait": float(self.stage_wait[v]),
        }

    def _vehicle_rows(self) -> list[tuple]:
        plan, t0 = self.plan, self.t0
        rows = []
        for cp in plan.classes:
            for v in cp.candidates.tolist():
                o = int(self.outcome[v])
                if o < 0:
                    continue
                accepted = self.t_accepted[v]
                times = (
                    self.t_called[v] - t0,
                    accepted - t0,
                    self.t_rolling[v] - t0,
                    self.t_registered[v] - t0,
                    accepted - self.alert_end,
                    self.t_rolling[v] - accepted,
                    self.travel[v],
                    self.cp_wait[v],
                    self.stage_wait[v],
                )
                rows.append(
                    (
                        v,
                        cp.vehicle_class,
                        int(plan.vehicle_depot[v]),
                        OUTCOMES[o],
                        *(float(x) for x in times),
                    )
                )
        return rows


class _Run(Trace):
    """One replication's SimPy state."""

    def __init__(self, plan: IncidentPlan, draws: Draws, log: bool):
        super().__init__(plan, log)
        self.d = draws
        self.env = simpy.Environment()
        env = self.env
        self.dispatch = [simpy.Resource(env, capacity=c) for c in plan.operator_dispatchers]
        self.cps = [
            Checkpoint(env, spec, np.random.default_rng(seed))
            for spec, seed in zip(plan.checkpoints, draws.background_seeds, strict=True)
        ]
        self.staging = simpy.Resource(env, capacity=plan.staging.lanes)
        self.outstanding = 0  # calls queued or in progress + vehicles accepted, not registered
        self.callers_done = 0
        self.done = env.event()
        # Pre-compute every draw that only depends on the vehicle (vectorised).
        self.call_min: dict[int, np.ndarray] = {}
        self.mob_min: dict[int, np.ndarray] = {}
        self.trip = plan.trip_factor.from_uniform(draws.trip) / plan.speed_factor
        self.stage_service = plan.staging.service.from_uniform(draws.service[:, 0])

    # -- processes ---------------------------------------------------------------------------
    def incident(self):
        env, plan = self.env, self.plan
        yield env.timeout(self.t0 + float(plan.alert.from_uniform(self.d.alert)))
        self.alert_end = env.now
        for k, cp in enumerate(plan.classes):
            self.call_min[k] = cp.call.from_uniform(self.d.call[cp.candidates])
            self.mob_min[k] = cp.mobilisation.from_uniform(self.d.mobilisation[cp.candidates])
            _Caller(self, k, cp).start()
        if not plan.classes or self.outstanding == 0:
            self._check_done(force=True)

    def _check_done(self, force: bool = False) -> None:
        if (force or (self.outstanding == 0 and self.callers_done == len(self.plan.classes))) and (
            not self.done.triggered
        ):
            self.done.succeed()

    def vehicle(self, v: int, mob: float):
        env, plan = self.env, self.plan
        yield env.timeout(mob)
        self.t_rolling[v] = env.now
        depot = int(plan.vehicle_depot[v])
        legs = plan.depot_legs_min[depot]
        cps = plan.depot_checkpoints[depot]
        trip = float(self.trip[v])
        travel = wait = 0.0
        for i, leg in enumerate(legs.tolist()):
            dt = leg * trip
            yield env.timeout(dt)
            travel += dt
            if i < cps.size:
                cp = self.cps[int(cps[i])]
                t = env.now
                service = float(cp.spec.service.from_uniform(self.d.service[v, 1 + i]))
                yield from cp.pass_emergency(service)
                wait += env.now - t
        self.travel[v], self.cp_wait[v] = travel, wait
        t = env.now
        with self.staging.request() as req:
            yield req
            yield env.timeout(float(self.stage_service[v]))
        self.stage_wait[v] = env.now - t
        self.t_registered[v] = env.now
        self.outcome[v] = 0
        self.outstanding -= 1
        self._check_done()


class _Caller:
    """Calls the candidates of one class in rank order, re-calling on failures."""

    def __init__(self, run: _Run, k: int, cp: ClassPlan):
        self.run, self.k, self.cp = run, k, cp
        self.next = 0  # next candidate position to call
        self.pending = 0  # calls queued or in progress
        self.accepted = 0
        self.target = cp.initial_calls

    def start(self) -> None:
        self._top_up()
        self._maybe_finish()

    def _top_up(self) -> None:
        # The command centre aims for ceil(d × over_request) acceptances: it calls that many
        # of the best-ranked candidates at once and replaces every failed call, until that many
        # have accepted or the candidates run out. So the vehicles called are always a prefix
        # of the ranking, ending at the target-th acceptance; which vehicles accept is fixed by
        # their draws, only the timing depends on the queues.
        cand = self.cp.candidates
        while self.accepted + self.pending < self.target and self.next < cand.size:
            self._place(self.next)
            self.next += 1

    def _place(self, pos: int) -> None:
        run = self.run
        run.outcome[int(self.cp.candidates[pos])] = 5  # in_call until the call is answered
        self.pending += 1
        run.outstanding += 1
        run.env.process(self._call(pos))

    def _maybe_finish(self) -> None:
        if self.pending == 0 and not getattr(self, "_finished", False):
            self._finished = True
            self.run.callers_done += 1
            self.run._check_done()

    def _call(self, pos: int):
        run, cp = self.run, self.cp
        env = run.env
        v = int(cp.candidates[pos])
        op = run.dispatch[int(run.plan.vehicle_operator[v])]
        with op.request() as req:
            yield req
            run.t_called[v] = env.now
            yield env.timeout(float(run.call_min[self.k][pos]))
        d = run.d
        self.pending -= 1
        if d.avail[v] > cp.availability:
            run.outcome[v] = 3  # unavailable
        elif d.reach[v] > cp.reach:
            run.outcome[v] = 2  # unreachable
        elif d.accept[v] > cp.accept:
            run.outcome[v] = 1  # declined
        else:
            run.outcome[v] = 4  # en route until registered
            run.t_accepted[v] = env.now
            self.accepted += 1
            env.process(run.vehicle(v, float(run.mob_min[self.k][pos])))
            self._maybe_finish()
            return  # outstanding stays counted until the vehicle registers
        run.outstanding -= 1
        self._top_up()
        self._maybe_finish()
        run._check_done()


def simulate(plan: IncidentPlan, draws: Draws, *, log_vehicles: bool = False) -> ReplicationResult:
    """Run one replication of one incident.

    Parameters
    ----------
    plan
        The incident plan (:func:`sim.experiment.prepare_incident`).
    draws
        The replication's random inputs (:func:`draw`).
    log_vehicles
        Also return one row per called vehicle (:data:`VEHICLE_FIELDS`).

    Returns
    -------
    ReplicationResult
        Completion times, the critical class and its stage breakdown, and counts.
    """
    run = _Run(plan, draws, log_vehicles)
    run.env.process(run.incident())
    horizon = run.t0 + plan.horizon_min
    run.env.run(until=run.env.any_of([run.done, run.env.timeout(horizon)]))
    return run.result()


__all__ = [
    "GREEN_CHANNELS",
    "OUTCOMES",
    "STAGES",
    "VEHICLE_CLASSES",
    "VEHICLE_FIELDS",
    "Checkpoint",
    "CheckpointSpec",
    "ClassPlan",
    "Draws",
    "IncidentPlan",
    "ReplicationResult",
    "StagingSpec",
    "draw",
    "simulate",
]
