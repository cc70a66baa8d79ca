"""The SimPy model of one shared-fleet replication: several incidents, one fleet.

This is the reference semantics of ``fleet_sharing: shared`` (README, "Several incidents at
once"). Every incident runs as in :mod:`sim.model` (alert, calls down a ranking through the
operators' dispatchers, mobilisation, travel through checkpoints, registration), with these
rules on top:

1. **Alarms.** Incident ``i`` is reported ``at_min[i]`` minutes after the first alarm; its
   command centre activates after its own alert delay.
2. **Ranking.** At activation the incident ranks, per requested class, the eligible vehicles
   (the independent run's candidates: class, scope, reachable) that are *free* at that moment
   by expected arrival from where they are: their home depot, or the staging point of the
   incident that released them (mean mobilisation + free-flow minutes); ties by vehicle
   index. Vehicles busy at that moment are not candidates of this incident. With every
   vehicle at home this is exactly the independent run's ranking.
3. **Calls and claims.** It calls down the ranking as in the independent run (aiming at
   ``ceil(d x over_request)`` acceptances, replacing failed calls). A call waits for one of
   the operator's dispatchers, which are shared by all incidents: a dispatcher takes the
   waiting call with the lowest policy key first (``first_come``: all equal; ``deadline``:
   the incident's absolute deadline; ``priority``: its ``priority``), equal keys in the order
   the calls were placed. When a dispatcher takes a call, the vehicle is *claimed* by that
   incident, unless another incident holds it already: then the call is dropped at once (no
   call time), the vehicle is **lost** to that incident, and the next candidate is called.
4. **Release.** A vehicle whose driver is unavailable, unreachable or declines is released
   when the call ends (it stays where it was). An accepting vehicle drives to the staging
   point from where it is, through the shared checkpoints and toll plazas, registers (the
   registration lanes are shared by incidents with the same staging point), and stays busy
   for the incident's ``task_min`` (default: for good); then it is free again *at that
   staging point*. There is no pre-emption: a claimed vehicle is never taken away.
5. **Horizon.** Every incident's record is its state ``horizon_min`` after its own report,
   as in an independent run; the replication ends when every incident is done or the last
   horizon has passed.

Draws are the independent run's (keyed by incident, replication, purpose and vehicle), so a
vehicle called by two incidents uses each incident's draws; the task durations use a purpose
of their own; background traffic at a checkpoint is keyed by the scenario seed, the
replication and the checkpoint, the same whichever incidents run (:func:`shared_draws`). Run
with one incident active, the model is that incident alone on the same draws: the paired
reference of the contention cost (:mod:`sim.contention`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import simpy

from sim.model import Checkpoint, day_night, drive_and_register, push_batches, refusal
from sim.plan import (
    CalloutSpec,
    ClassPlan,
    Draws,
    Outcome,
    congestion,
    draw,
    keyed_uniforms,
    name_key,
    outage_end,
    traffic_level,
    trip_multipliers,
)
from sim.records import ReplicationResult, Trace
from sim.shared import SharedPlan

#: The background-traffic stream of a shared replication, apart from every incident's.
SHARED_STREAM = name_key("\x1fshared fleet")
#: Purpose index of the task-duration draws (after :data:`sim.plan.PURPOSES`).
TASK_PURPOSE = 7


@dataclass(frozen=True)
class SharedDraws:
    """The random inputs of one shared replication.

    Attributes
    ----------
    incidents
        Every incident's draws (:func:`sim.plan.draw`), as in its independent run.
    task
        Per incident, a uniform per vehicle for its task duration.
    background_seeds
        One seed per scenario checkpoint (``None`` where on no route).
    """

    incidents: tuple[Draws, ...]
    task: tuple[np.ndarray, ...]
    background_seeds: tuple[np.random.SeedSequence | None, ...]


def shared_draws(
    splan: SharedPlan, seed: int, rep: int, roots: Sequence[np.random.SeedSequence]
) -> SharedDraws:
    """Sample the random inputs of shared replication ``rep``.

    Parameters
    ----------
    splan
        The shared plan.
    seed
        The scenario seed.
    rep
        The replication index.
    roots
        Every incident's replication seed sequence (:func:`sim.experiment.replication_seed`).
    """
    cols = splan.max_service_columns
    incidents = tuple(
        draw(p, root, n_service=cols) for p, root in zip(splan.plans, roots, strict=True)
    )
    task = []
    for p, root in zip(splan.plans, roots, strict=True):
        words = np.random.SeedSequence(
            root.entropy, spawn_key=(*root.spawn_key, TASK_PURPOSE)
        ).generate_state(1, dtype=np.uint64)
        task.append(keyed_uniforms(p.keys, int(words[0])))
    base = np.random.SeedSequence(seed, spawn_key=(SHARED_STREAM, rep))
    bg = tuple(
        None
        if c is None
        else np.random.SeedSequence(base.entropy, spawn_key=(*base.spawn_key, name_key(c.name)))
        for c in splan.checkpoints
    )
    return SharedDraws(incidents, tuple(task), bg)


@dataclass
class SharedReplication:
    """One shared replication: per incident, its result and the vehicles it held.

    Attributes
    ----------
    results
        Per incident (scenario order), as an independent run reports it; ``None`` for an
        incident that was not active.
    called
        Per incident, the vehicles it called (claimed), sorted.
    registered
        Per incident, the vehicles registered for it by its horizon, sorted.
    """

    results: list[ReplicationResult | None]
    called: list[np.ndarray | None]
    registered: list[np.ndarray | None]


class _IncidentTrace(Trace):
    """One incident's trace in a shared run (its own report time)."""


class _SharedRun:
    def __init__(
        self, splan: SharedPlan, draws: SharedDraws, active: Sequence[int], log: bool
    ) -> None:
        self.sp, self.dr = splan, draws
        self.active = list(active)
        self.env = env = simpy.Environment()
        first = splan.plans[0]
        self.holder = np.full(first.n_vehicles, -1, dtype=np.int64)  # incident holding it
        self.where = np.full(first.n_vehicles, -1, dtype=np.int64)  # -1 home, else incident
        self.dispatch = [
            simpy.PriorityResource(env, capacity=c) for c in first.operator_dispatchers
        ]
        self.cps = {
            i: Checkpoint(env, spec, np.random.default_rng(draws.background_seeds[i]))
            for i, spec in enumerate(splan.checkpoints)
            if spec is not None
        }
        lanes: dict[int, int] = {}
        for p, slot in zip(splan.plans, splan.staging_slot, strict=True):
            lanes.setdefault(slot, p.staging.lanes)
        self.staging = {slot: simpy.Resource(env, capacity=n) for slot, n in lanes.items()}
        self.traces: dict[int, Trace] = {}
        self.frozen: dict[int, Trace] = {}
        self.incidents: dict[int, _Incident] = {}
        for i in self.active:
            tr = _IncidentTrace(splan.plans[i], log)
            tr.t0 = splan.t0 + splan.at_min[i]
            self.traces[i] = tr
        self.activations: list[_Incident] = []
        self.pending_incidents = len(self.active)
        self.all_done = env.event()

    def run(self) -> None:
        env, sp = self.env, self.sp
        for i in self.active:
            inc = _Incident(self, i)
            self.incidents[i] = inc
            env.process(inc.alarm())
            env.process(self._freeze_at_horizon(i))
        end = sp.t0 + max(sp.at_min[i] + sp.plans[i].horizon_min for i in self.active)
        env.run(until=env.any_of([self.all_done, env.timeout(end)]))
        for i in self.active:
            if i not in self.frozen:
                self.frozen[i] = self.traces[i]

    def _freeze_at_horizon(self, i: int):
        tr = self.traces[i]
        yield self.env.timeout(tr.t0 + self.sp.plans[i].horizon_min)
        if i not in self.frozen:
            snap = copy.copy(tr)
            for name, value in vars(tr).items():
                if isinstance(value, np.ndarray):
                    setattr(snap, name, value.copy())
            self.frozen[i] = snap

    def activate(self, inc: _Incident) -> None:
        """Queue an activation; those of one instant are processed in policy order."""
        self.activations.append(inc)
        if len(self.activations) == 1:
            self.env.process(self._activate_now())

    def _activate_now(self):
        # Every alarm of this instant was scheduled before this zero-delay step, so all the
        # incidents activated now are in the list: the policy decides who ranks and calls
        # first (then scenario order).
        yield self.env.timeout(0)
        batch = sorted(self.activations, key=lambda inc: (inc.key, inc.i))
        self.activations = []
        for inc in batch:
            inc.activate()

    def incident_done(self, i: int) -> None:
        if i not in self.frozen:
            self.frozen[i] = self.traces[i]  # nothing changes it any more
        self.pending_incidents -= 1
        if self.pending_incidents == 0 and not self.all_done.triggered:
            self.all_done.succeed()

    def release_later(self, v: int, i: int, minutes: float):
        yield self.env.timeout(minutes)
        self.holder[v] = -1
        self.where[v] = i


class _Incident:
    """One incident of a shared run: activation, callers, vehicles."""

    def __init__(self, run: _SharedRun, i: int) -> None:
        self.run, self.i = run, i
        sp = run.sp
        self.plan = sp.plans[i]
        self.d = run.dr.incidents[i]
        self.tr = run.traces[i]
        self.key = sp.policy_key[i]
        self.horizon = self.tr.t0 + self.plan.horizon_min
        self.outstanding = 0
        self.callers_done = 0
        self.finished = False
        plan = self.plan
        self.trip = trip_multipliers(plan, self.d, self.d.trip)
        self.traffic_level = traffic_level(plan, self.d)
        self.stage_service = plan.staging.service.from_uniform(self.d.service[:, 0])
        task = sp.task[i]
        self.task_min = None if task is None else task.from_uniform(run.dr.task[i])
        n = plan.n_vehicles
        self.call_min = np.full(n, np.nan)
        self.mob_min = (np.full(n, np.nan), np.full(n, np.nan))  # by day, by night
        self.called: list[int] = []

    def alarm(self):
        run, plan = self.run, self.plan
        env = run.env
        yield env.timeout(self.tr.t0 + float(plan.alert.from_uniform(self.d.alert)))
        self.tr.alert_end = env.now
        run.activate(self)

    def activate(self) -> None:
        """Rank the free vehicles and place the first calls."""
        plan = self.plan
        callers = []
        for k, cp in enumerate(plan.classes):
            self.call_min[cp.candidates] = cp.call.from_uniform(self.d.call[cp.candidates])
            by_day, by_night = day_night(plan, cp, self.d.mobilisation[cp.candidates])
            self.mob_min[0][cp.candidates] = by_day
            self.mob_min[1][cp.candidates] = by_night
            callers.append(_SharedCaller(self, k, cp, self.ranking(k, cp)))
        for c in callers:
            c.start()
        if not plan.classes or self.outstanding == 0:
            self.check_done(force=True)

    def ranking(self, k: int, cp: ClassPlan) -> np.ndarray:
        """The class's free eligible vehicles, best expected arrival from where they are."""
        run, sp = self.run, self.run.sp
        cand = cp.candidates
        key = sp.expected_min[self.i][k].copy()
        free = run.holder[cand] < 0
        moved = run.where[cand]
        for pos in np.flatnonzero(free & (moved >= 0)).tolist():
            m = sp.moves[self.i][k][int(moved[pos])]
            if m is None:
                free[pos] = False
            else:
                key[pos] = m.expected_min
        cand, key = cand[free], key[free]
        return cand[np.lexsort((cand, key))]

    def check_done(self, force: bool = False) -> None:
        if self.finished:
            return
        if force or (self.outstanding == 0 and self.callers_done == len(self.plan.classes)):
            self.finished = True
            self.run.incident_done(self.i)

    def route(self, v: int, k: int) -> tuple[list[float], np.ndarray, np.ndarray | None]:
        """The legs, scenario checkpoint indices and central minutes per leg (``None``
        without a traffic shock) of vehicle ``v``'s trip from where it is."""
        sp = self.run.sp
        src = int(self.run.where[v])
        if src < 0:
            depot = int(self.plan.vehicle_depot[v])
            local = self.plan.depot_checkpoints[depot]
            central = self.plan.depot_central_min[depot] if self.plan.depot_central_min else None
            legs = self.plan.depot_legs_min[depot].tolist()
            return legs, sp.home_checkpoints[self.i][local], central
        m = sp.moves[self.i][k][src]
        assert m is not None  # ranked only when reachable
        return m.legs_min.tolist(), m.checkpoints, m.central_min

    def vehicle(self, v: int, k: int, mob: float):
        run, tr = self.run, self.tr
        env = run.env
        legs, cps, central = self.route(v, k)
        yield env.timeout(mob)
        tr.t_rolling[v] = env.now
        tr.travel[v], tr.cp_wait[v], tr.stage_wait[v] = yield from drive_and_register(
            env,
            legs,
            cps,
            run.cps,
            float(self.trip[v]),
            self.d.service[v],
            run.staging[run.sp.staging_slot[self.i]],
            float(self.stage_service[v]),
            congestion(self.plan, self.traffic_level, tr.t0, legs, central),
        )
        tr.t_registered[v] = env.now
        tr.outcome[v] = Outcome.ASSEMBLED
        if self.task_min is not None:
            env.process(run.release_later(v, self.i, float(self.task_min[v])))
        self.outstanding -= 1
        self.check_done()


class _SharedCaller:
    """Calls one class's ranking in order, re-calling on failures and lost vehicles; the
    vehicles of platform operators are pushed by their platforms instead (as in
    :mod:`sim.model`; a pushed driver is claimed when his response is taken, and lost if
    another incident holds him by then; a platform does not push a driver held elsewhere)."""

    def __init__(self, inc: _Incident, k: int, cp: ClassPlan, ranking: np.ndarray) -> None:
        self.inc, self.k, self.cp = inc, k, cp
        self.next = 0
        self.pending = 0
        self.responding = 0
        self.pushing = 0
        self.accepted = 0
        self.finished = False
        plan = inc.plan
        if plan.has_platform:
            ops = plan.vehicle_operator[ranking]
            platform = np.array([plan.callout(int(o)).mode == "platform" for o in ops], dtype=bool)
            self.ranking = ranking[~platform]
            rank = np.cumsum(platform) - 1  # among the class's platform candidates
            self.platforms = [
                (int(o), ranking[platform & (ops == o)], rank[platform & (ops == o)])
                for o in dict.fromkeys(ops[platform].tolist())
            ]
        else:
            self.ranking = ranking
            self.platforms = []

    def start(self) -> None:
        inc = self.inc
        for op, vehicles, rank in self.platforms:
            self.pushing += 1
            inc.outstanding += 1  # until the platform has pushed its last batch
            inc.run.env.process(self._push(inc.plan.callout(op), vehicles, rank))
        self._top_up()
        self._maybe_finish()

    def _top_up(self) -> None:
        inc = self.inc
        if inc.run.env.now > inc.horizon:
            return
        while (
            self.accepted + self.pending < self.cp.initial_calls and self.next < self.ranking.size
        ):
            self._place(int(self.ranking[self.next]))
            self.next += 1

    def _place(self, v: int) -> None:
        inc = self.inc
        self.pending += 1
        inc.outstanding += 1
        inc.run.env.process(self._call(v))

    def _maybe_finish(self) -> None:
        if self.pending == 0 and self.responding == 0 and self.pushing == 0 and not self.finished:
            self.finished = True
            self.inc.callers_done += 1
            self.inc.check_done()

    def _failure(self, v: int, night: bool | None) -> Outcome | None:
        return refusal(self.inc.d, self.cp, v, night)

    def _accept(self, v: int) -> None:
        inc = self.inc
        env = inc.run.env
        inc.tr.outcome[v] = Outcome.EN_ROUTE  # until registered
        inc.tr.t_accepted[v] = env.now
        night = inc.plan.night_at(env.now - inc.tr.t0)  # mobilisation by the acceptance's clock
        env.process(inc.vehicle(v, self.k, float(inc.mob_min[1 if night else 0][v])))

    def _call(self, v: int):
        inc = self.inc
        run, tr = inc.run, inc.tr
        env = run.env
        op = run.dispatch[int(inc.plan.vehicle_operator[v])]
        with op.request(priority=inc.key) as req:
            yield req
            if run.holder[v] >= 0:  # another incident holds it: lost, no call made
                lost = True
            else:
                lost = False
                run.holder[v] = inc.i
                inc.called.append(v)
                tr.outcome[v] = Outcome.IN_CALL  # until answered
                tr.t_called[v] = env.now
                night = inc.plan.night_at(env.now - tr.t0)  # reach by the call's clock
                yield env.timeout(float(inc.call_min[v]))
        self.pending -= 1
        if not lost:
            failure = self._failure(v, night)
            if failure is None:
                self.accepted += 1
                self._accept(v)
                self._maybe_finish()
                return  # outstanding stays counted until the vehicle registers
            tr.outcome[v] = failure
            run.holder[v] = -1  # released where it is
        inc.outstanding -= 1
        self._top_up()
        self._maybe_finish()
        inc.check_done()

    def _push(self, spec: CalloutSpec, vehicles: np.ndarray, rank: np.ndarray):
        """A platform pushes the request to its free drivers, ``batch_size`` at a time."""
        inc = self.inc
        run, tr = inc.run, inc.tr
        env = run.env
        up = outage_end(inc.plan, inc.d, tr.alert_end)  # after a platform outage, if any
        for batch, group in push_batches(rank, vehicles, spec.batch_size):
            leave = up + batch * spec.batch_interval_min
            if env.now < leave:
                yield env.timeout(leave - env.now)
            if self.accepted >= self.cp.initial_calls or env.now > inc.horizon:
                break
            night = inc.plan.night_at(env.now - tr.t0)  # reach by the push's clock
            for v in group.tolist():
                if run.holder[v] >= 0:  # busy with another incident: not pushed
                    continue
                tr.t_called[v] = env.now
                failure = self._failure(v, night)
                if failure is not None:
                    tr.outcome[v] = failure  # never responds
                    continue
                tr.outcome[v] = Outcome.IN_CALL  # until answered
                self.responding += 1
                inc.outstanding += 1
                env.process(self._respond(spec, v))
        self.pushing -= 1
        inc.outstanding -= 1
        self._maybe_finish()
        inc.check_done()

    def _respond(self, spec: CalloutSpec, v: int):
        """A pushed driver responds; the first responses up to the target are taken."""
        inc = self.inc
        run, tr = inc.run, inc.tr
        env = run.env
        d = inc.d
        yield env.timeout(float(spec.response.from_uniform(d.response[v])))
        if self.accepted < self.cp.initial_calls and run.holder[v] < 0:
            self.accepted += 1
            run.holder[v] = inc.i
            inc.called.append(v)
            yield env.timeout(float(spec.confirm.from_uniform(d.confirm[v])))
            self.responding -= 1
            self._accept(v)
            self._maybe_finish()
            return  # outstanding stays counted until the vehicle registers
        self.responding -= 1
        tr.outcome[v] = -1  # turned away (target filled) or lost: not counted as called
        tr.t_called[v] = np.nan
        inc.outstanding -= 1
        self._maybe_finish()
        inc.check_done()


def simulate_shared(
    splan: SharedPlan,
    draws: SharedDraws,
    *,
    active: Sequence[int] | None = None,
    log_vehicles: bool = False,
) -> SharedReplication:
    """Run one shared-fleet replication.

    Parameters
    ----------
    splan
        The shared plan (:func:`sim.shared.prepare_shared`).
    draws
        The replication's random inputs (:func:`shared_draws`).
    active
        The incidents that happen (default: all); one incident alone is the paired reference
        of its contention cost.
    log_vehicles
        Also return one :class:`sim.records.VehicleRow` per called vehicle per incident.

    Returns
    -------
    SharedReplication
        Per incident, its result (times from its own report) and the vehicles it called.
    """
    which = list(range(splan.n_incidents)) if active is None else sorted(set(active))
    run = _SharedRun(splan, draws, which, log_vehicles)
    run.run()
    results: list[ReplicationResult | None] = [None] * splan.n_incidents
    called: list[np.ndarray | None] = [None] * splan.n_incidents
    registered: list[np.ndarray | None] = [None] * splan.n_incidents
    for i in which:
        trace = run.frozen[i]
        results[i] = trace.result()
        called[i] = np.array(sorted(run.incidents[i].called), dtype=np.int64)
        registered[i] = np.flatnonzero(trace.outcome == Outcome.ASSEMBLED)
    return SharedReplication(results, called, registered)
