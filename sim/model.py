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
:class:`sim.plan.IncidentPlan`; a replication only samples (:func:`sim.plan.draw`) and
simulates.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import simpy

from sim.dists import Dist
from sim.plan import (
    CalloutSpec,
    CheckpointSpec,
    ClassPlan,
    Draws,
    IncidentPlan,
    Outcome,
    background_batch,
    congestion,
    outage_end,
    traffic_level,
    trip_multipliers,
)
from sim.records import ReplicationResult, Trace

_EMERGENCY, _BACKGROUND = 0, 1  # PriorityResource priorities (lower is served first)


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
            gaps, services = background_batch(self._rng, rate, svc)
            for gap, s in zip(gaps, services, strict=True):
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
        self.mob_min: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # by day, by night
        self.trip = trip_multipliers(plan, draws, draws.trip)
        self.traffic_level = traffic_level(plan, draws)
        self.stage_service = plan.staging.service.from_uniform(draws.service[:, 0])

    # -- processes ---------------------------------------------------------------------------
    def incident(self):
        env, plan = self.env, self.plan
        yield env.timeout(self.t0 + float(plan.alert.from_uniform(self.d.alert)))
        self.alert_end = env.now
        for k, cp in enumerate(plan.classes):
            self.call_min[k] = cp.call.from_uniform(self.d.call[cp.candidates])
            self.mob_min[k] = day_night(plan, cp, self.d.mobilisation[cp.candidates])
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
        self.travel[v], self.cp_wait[v], self.stage_wait[v] = yield from drive_and_register(
            env,
            legs.tolist(),
            cps,
            self.cps,
            float(self.trip[v]),
            self.d.service[v],
            self.staging,
            float(self.stage_service[v]),
            congestion(
                plan,
                self.traffic_level,
                self.t0,
                legs,
                plan.depot_central_min[depot] if plan.depot_central_min else None,
            ),
        )
        self.t_registered[v] = env.now
        self.outcome[v] = Outcome.ASSEMBLED
        self.outstanding -= 1
        self._check_done()


class _Caller:
    """Calls the candidates of one class in rank order, re-calling on failures; the candidates
    of platform operators are pushed by their platforms instead (:class:`sim.plan.CalloutSpec`)."""

    def __init__(self, run: _Run, k: int, cp: ClassPlan):
        self.run, self.k, self.cp = run, k, cp
        self.next = 0  # next phone candidate (index into self.phone) to call
        self.pending = 0  # phone calls queued or in progress
        self.responding = 0  # platform pushes whose driver will respond, not yet answered
        self.pushing = 0  # platforms still pushing batches
        self.accepted = 0
        self.target = cp.initial_calls
        plan = run.plan
        if plan.has_platform:
            ops = plan.vehicle_operator[cp.candidates]
            platform = np.array([plan.callout(int(o)).mode == "platform" for o in ops], dtype=bool)
            self.phone = np.flatnonzero(~platform)
            # A driver's batch goes by his rank among the class's platform candidates (of
            # every platform operator), so a platform does not push far drivers before
            # another platform has pushed the near ones.
            self.rank = np.cumsum(platform) - 1
            self.platforms = [
                (int(o), np.flatnonzero(platform & (ops == o)))
                for o in dict.fromkeys(ops[platform].tolist())
            ]
        else:
            self.phone = np.arange(cp.candidates.size)
            self.platforms = []

    def start(self) -> None:
        run = self.run
        for op, positions in self.platforms:
            self.pushing += 1
            run.outstanding += 1  # until the platform has pushed its last batch
            run.env.process(self._push(run.plan.callout(op), positions))
        self._top_up()
        self._maybe_finish()

    def _top_up(self) -> None:
        # The command centre aims for ceil(d × over_request) acceptances: it calls that many
        # of the best-ranked candidates at once and replaces every failed call, until that many
        # have accepted or the candidates run out. So the vehicles called are always a prefix
        # of the ranking, ending at the target-th acceptance; which vehicles accept is fixed by
        # their draws, only the timing depends on the queues.
        phone = self.phone
        while self.accepted + self.pending < self.target and self.next < phone.size:
            self._place(int(phone[self.next]))
            self.next += 1

    def _place(self, pos: int) -> None:
        run = self.run
        run.outcome[int(self.cp.candidates[pos])] = Outcome.IN_CALL  # until answered
        self.pending += 1
        run.outstanding += 1
        run.env.process(self._call(pos))

    def _maybe_finish(self) -> None:
        if (
            self.pending == 0
            and self.responding == 0
            and self.pushing == 0
            and not getattr(self, "_finished", False)
        ):
            self._finished = True
            self.run.callers_done += 1
            self.run._check_done()

    def _failure(self, v: int, night: bool | None) -> Outcome | None:
        return refusal(self.run.d, self.cp, v, night)

    def _accept(self, pos: int, v: int) -> None:
        run = self.run
        run.outcome[v] = Outcome.EN_ROUTE  # until registered
        run.t_accepted[v] = run.env.now
        night = run.plan.night_at(run.env.now - run.t0)  # mobilisation by the acceptance's clock
        run.env.process(run.vehicle(v, float(run.mob_min[self.k][1 if night else 0][pos])))

    def _call(self, pos: int):
        run, cp = self.run, self.cp
        env = run.env
        v = int(cp.candidates[pos])
        op = run.dispatch[int(run.plan.vehicle_operator[v])]
        with op.request() as req:
            yield req
            run.t_called[v] = env.now
            night = run.plan.night_at(env.now - run.t0)  # reach by the call's clock
            yield env.timeout(float(run.call_min[self.k][pos]))
        self.pending -= 1
        failure = self._failure(v, night)
        if failure is None:
            self.accepted += 1
            self._accept(pos, v)
            self._maybe_finish()
            return  # outstanding stays counted until the vehicle registers
        run.outcome[v] = failure
        run.outstanding -= 1
        self._top_up()
        self._maybe_finish()
        run._check_done()

    def _push(self, spec: CalloutSpec, positions: np.ndarray):
        """A platform pushes the request to its drivers, ``batch_size`` at a time."""
        run, cp = self.run, self.cp
        env = run.env
        up = outage_end(run.plan, run.d, run.alert_end)  # after a platform outage, if any
        for batch, group in push_batches(self.rank[positions], positions, spec.batch_size):
            leave = up + batch * spec.batch_interval_min
            if env.now < leave:
                yield env.timeout(leave - env.now)
            if self.accepted >= self.target:
                break
            night = run.plan.night_at(env.now - run.t0)  # reach by the push's clock
            for pos in group.tolist():
                v = int(cp.candidates[pos])
                run.t_called[v] = env.now
                failure = self._failure(v, night)
                if failure is not None:
                    run.outcome[v] = failure  # never responds
                    continue
                run.outcome[v] = Outcome.IN_CALL  # until answered
                self.responding += 1
                run.outstanding += 1
                env.process(self._respond(spec, pos, v))
        self.pushing -= 1
        run.outstanding -= 1
        self._maybe_finish()
        run._check_done()

    def _respond(self, spec: CalloutSpec, pos: int, v: int):
        """A pushed driver responds; the first responses up to the target are taken."""
        run = self.run
        env = run.env
        d = run.d
        yield env.timeout(float(spec.response.from_uniform(d.response[v])))
        if self.accepted < self.target:
            self.accepted += 1
            yield env.timeout(float(spec.confirm.from_uniform(d.confirm[v])))
            self.responding -= 1
            self._accept(pos, v)
            self._maybe_finish()
            return  # outstanding stays counted until the vehicle registers
        self.responding -= 1
        run.outcome[v] = -1  # turned away: the target was filled; not counted as called
        run.t_called[v] = np.nan
        run.outstanding -= 1
        self._maybe_finish()
        run._check_done()


def refusal(d: Draws, cp: ClassPlan, v: int, night: bool | None) -> Outcome | None:
    """Why vehicle ``v``'s driver does not accept a call placed by ``night`` (``None``: he
    accepts): unavailable, then unreachable, then declined, by the replication's draws ``d``."""
    if d.avail[v] > cp.availability:
        return Outcome.UNAVAILABLE
    if d.reach[v] > cp.reach_at(night):
        return Outcome.UNREACHABLE
    if d.accept[v] > cp.accept:
        return Outcome.DECLINED
    return None


def drive_and_register(
    env: simpy.Environment,
    legs: list[float],
    stops: np.ndarray,
    checkpoints: list[Checkpoint],
    trip: float,
    service_u: np.ndarray,
    staging: simpy.Resource,
    stage_service: float,
    congested: Callable[[int, float], float] | None = None,
):
    """Drive ``legs`` (free-flow minutes × ``trip``), passing checkpoint ``stops[i]`` after
    leg ``i``, then register at ``staging``; one process step of both SimPy models.

    ``service_u`` is the vehicle's row of service uniforms (column ``1 + i`` for stop ``i``).
    ``congested(i, now)``, when given, replaces leg ``i``'s free-flow minutes by those of a
    leg starting at ``now`` (the traffic shock, :func:`sim.plan.leg_minutes`).
    Returns ``(travel, checkpoint wait, staging wait)`` in minutes.
    """
    travel = wait = 0.0
    for i, leg in enumerate(legs):
        dt = (leg if congested is None else congested(i, env.now)) * trip
        yield env.timeout(dt)
        travel += dt
        if i < stops.size:
            cp = checkpoints[int(stops[i])]
            t = env.now
            service = float(cp.spec.service.from_uniform(service_u[1 + i]))
            yield from cp.pass_emergency(service)
            wait += env.now - t
    t = env.now
    with staging.request() as req:
        yield req
        yield env.timeout(stage_service)
    return travel, wait, env.now - t


def push_batches(rank: np.ndarray, items: np.ndarray, size: int):
    """``(batch, items)`` in push order: item ``j`` goes in batch ``rank[j] // size`` (ranks
    among the class's platform candidates, increasing)."""
    batch = rank // size
    starts = np.flatnonzero(np.r_[True, batch[1:] != batch[:-1]])
    for a, b in zip(starts.tolist(), [*starts[1:].tolist(), batch.size], strict=True):
        yield int(batch[a]), items[a:b]


def mobilisation_dists(plan: IncidentPlan, cp: ClassPlan) -> tuple[Dist, Dist]:
    """The mobilisation delays of class ``cp`` for an acceptance by day and by night (both
    the alarm period's when the plan has no clock)."""
    return cp.mobilisations if plan.clock_hour is not None else (cp.mobilisation,) * 2


def day_night(plan: IncidentPlan, cp: ClassPlan, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mobilisation delays from uniforms ``u``, for an acceptance by day and by night (both
    in the alarm's period when the plan has no clock)."""
    day, night = mobilisation_dists(plan, cp)
    if night == day:
        by_day = day.from_uniform(u)
        return by_day, by_day
    return day.from_uniform_pair(night, u)


def simulate(plan: IncidentPlan, draws: Draws, *, log_vehicles: bool = False) -> ReplicationResult:
    """Run one replication of one incident.

    Parameters
    ----------
    plan
        The incident plan (:func:`sim.planning.prepare_incident`).
    draws
        The replication's random inputs (:func:`sim.plan.draw`).
    log_vehicles
        Also return one :class:`sim.records.VehicleRow` per called vehicle.

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
