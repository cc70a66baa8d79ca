"""A faster engine for the same model, for sweeps: exact event-order processing of the FIFO
queues with a heap, no SimPy processes.

It reproduces :func:`sim.model.simulate` exactly (the tests compare every vehicle's stage
times to 1e-9 on the same draws) for the plans it supports:

* dispatchers, checkpoints, toll plazas and staging lanes with any number of lanes, and
  Poisson background traffic at checkpoints with every green-channel mode (see
  :class:`_Background`: ordinary vehicles are given lanes lazily, only up to the moment the
  next emergency vehicle arrives, because a priority green channel lets it overtake those
  still waiting);
* continuous distributions for call, mobilisation, trip factor and service times.
  Degenerate ones (``fixed``, or a lognormal sigma, uniform spread or mean of 0) create exact
  ties whose order SimPy settles through its event
  queue; rather than imitate that, such plans run on SimPy;
* phone call-outs only: a plan with a ``platform`` operator runs on SimPy (or, in a large
  run, on the batch engine, :mod:`sim.batch`), and so does one with a common traffic or
  trip-spread shock (a replication's spread may be 0: ties); a common speed shock is
  supported.

Why it is exact: a failed call is replaced while acceptances plus open calls fall short of
the target, so the vehicles called are a prefix of the ranking and their outcomes are fixed
by their draws; only *when* each call starts depends on the dispatchers' FIFO queues. With
arrivals processed in time order, a FIFO multi-server queue gives each arrival the lane that
frees first (G/G/c), which is what ``simpy.Resource`` does. Everything else is arithmetic in
the same order of floating-point operations as the SimPy processes.

:func:`simulate_fast` falls back to SimPy for a replication that would run past the horizon.
"""

from __future__ import annotations

import heapq

import numpy as np

from sim.model import day_night, simulate
from sim.plan import (
    CheckpointSpec,
    Draws,
    IncidentPlan,
    Outcome,
    background_batch,
    trip_multipliers,
)
from sim.records import ReplicationResult, Trace


def supports(plan: IncidentPlan) -> bool:
    """Whether :func:`simulate_fast` reproduces SimPy exactly for ``plan`` (not for platform
    call-outs, :class:`sim.plan.CalloutSpec`: those run on SimPy)."""
    shocks = plan.shocks
    if plan.has_platform or shocks.trip_time_spread is not None or shocks.traffic is not None:
        return False
    return not has_ties(plan)


def has_ties(plan: IncidentPlan) -> bool:
    """Whether a call, mobilisation, trip, service or platform distribution of ``plan`` is
    degenerate (``fixed``, or a lognormal sigma, uniform spread or mean of 0): its exact ties
    are ordered by SimPy's event queue, which the heap and batch engines do not imitate."""
    dists = [plan.trip_factor, plan.staging.service]
    dists += [c.call for c in plan.classes] + [c.mobilisation for c in plan.classes]
    dists += [c.service for c in plan.checkpoints]
    dists += [c.bg_service for c in plan.checkpoints if c.background_per_min > 0]
    dists += [
        d for c in plan.operator_callout if c.mode == "platform" for d in (c.response, c.confirm)
    ]
    return any(d.is_degenerate for d in dists)


class _Background:
    """The Poisson stream of ordinary vehicles at one checkpoint, drawn lazily exactly as the
    SimPy process draws it (batches of 256 (gap, service) uniforms from the checkpoint's own
    generator; arrival times accumulated gap by gap)."""

    def __init__(self, spec: CheckpointSpec, seed: np.random.SeedSequence):
        self._rng = np.random.default_rng(seed)
        self._rate = spec.background_per_min
        self._svc = spec.bg_service
        self._t = 0.0
        self._arrivals: list[float] = []
        self._services: list[float] = []
        self._i = 0

    def _refill(self) -> None:
        gaps, services = background_batch(self._rng, self._rate, self._svc)
        arrivals = []
        t = self._t
        for gap in gaps:
            t = t + gap
            arrivals.append(t)
        self._t = t
        self._arrivals, self._services, self._i = arrivals, services, 0

    def advance(self, lanes: list[float], t: float, fifo: bool) -> None:
        """Give lanes to the ordinary vehicles that take one before an emergency vehicle
        arriving at ``t``: with ``fifo`` (no green channel) every one that arrived before
        ``t``; with priority only those that *start* before ``t`` (a waiting ordinary vehicle
        is overtaken). Lanes go FIFO to the lane that frees first, as in
        ``simpy.PriorityResource``."""
        while True:
            if self._i == len(self._arrivals):
                self._refill()
            a = self._arrivals[self._i]
            if fifo and a >= t:
                return
            free = lanes[0]
            start = a if a >= free else free
            if not fifo and start >= t:
                return
            heapq.heapreplace(lanes, start + self._services[self._i])
            self._i += 1


def simulate_fast(
    plan: IncidentPlan, draws: Draws, *, log_vehicles: bool = False
) -> ReplicationResult:
    """Run one replication with the heap engine (same results as :func:`sim.model.simulate`).

    Parameters
    ----------
    plan
        A plan for which :func:`supports` is true.
    draws
        The replication's random inputs.
    log_vehicles
        Also return one row per called vehicle.

    Raises
    ------
    ValueError
        If the plan is not supported.
    """
    if not supports(plan):
        raise ValueError(
            f"plan {plan.name!r} needs the SimPy engine "
            "(degenerate distributions or a platform call-out)"
        )
    tr = Trace(plan, log_vehicles)
    horizon = tr.t0 + plan.horizon_min
    tr.alert_end = 0.0 + (tr.t0 + float(plan.alert.from_uniform(draws.alert)))
    accepted = _callout(plan, draws, tr)
    if accepted:
        _queues(plan, draws, tr, accepted)
    if (
        tr.last_call_end > horizon
        or np.nanmax(np.append(tr.t_registered, tr.alert_end)) > horizon
        or np.nanmax(np.append(tr.t_accepted, tr.alert_end)) > horizon
    ):
        return simulate(plan, draws, log_vehicles=log_vehicles)
    return tr.result()


def _callout(plan: IncidentPlan, d: Draws, tr: Trace) -> list[tuple[float, int, float]]:
    """Dispatcher queues with re-calls; returns (accept time, vehicle, mobilisation) tuples,
    in order of acceptance time.

    Operators serve one class each, so classes are independent. Within a class, the calls
    placed are a prefix of the ranking: the first ``initial_calls`` at the alert, then one
    more at the end of every failed call (acceptances plus open calls stay at the target
    while candidates last). Failed calls are taken in time order from a heap, so every
    operator receives its calls in time order, and a FIFO multi-server queue that receives
    its arrivals in order gives each the dispatcher that frees first. Only the failures need
    the heap; an acceptance triggers nothing in the call-out. Whether a driver is reached
    depends on the clock time the call starts (day or night reach), so a call's outcome is
    settled when it starts; the mobilisation delay on the clock time it is accepted.
    """
    heappush, heappop, heapreplace = heapq.heappush, heapq.heappop, heapq.heapreplace
    inf = np.inf
    t_called, t_acc, outcome = tr.t_called, tr.t_accepted, tr.outcome
    vop = plan.vehicle_operator
    lanes = [[-inf] * c for c in plan.operator_dispatchers]  # free-at times per operator
    alert_end = tr.alert_end
    t0 = tr.t0
    en_route = int(Outcome.EN_ROUTE)
    acc_t: list[float] = []
    acc_v: list[int] = []
    acc_mob: list[float] = []
    for cp in plan.classes:
        cand = cp.candidates
        n = int(cand.size)
        if n == 0:
            continue
        unavailable = d.avail[cand] > cp.availability
        refuses = d.accept[cand] > cp.accept
        reach_u = d.reach[cand]
        clocked = plan.clock_hour is not None and cp.reach_day_night is not None
        if clocked:
            assert cp.reach_day_night is not None
            by_period = (
                _codes(unavailable, reach_u > cp.reach_day_night[0], refuses),
                _codes(unavailable, reach_u > cp.reach_day_night[1], refuses),
            )
            sure = (by_period[0] == en_route) & (by_period[1] == en_route)
        else:
            code_alarm = _codes(unavailable, reach_u > cp.reach, refuses)
            by_period = (code_alarm, code_alarm)
            sure = code_alarm == en_route
        # Calls are placed in rank order; only a prefix is ever placed. Computing the draws
        # of the longest possible prefix (target + failures before it, counting as failures
        # the drivers who would not be reached at some hour) keeps the work small.
        need = cp.initial_calls
        if need <= 0:
            continue
        hits = np.flatnonzero(sure)
        last = int(hits[need - 1]) + 1 if hits.size >= need else n
        calls = cp.call.from_uniform(d.call[cand[:last]]).tolist()
        codes_day, codes_night = by_period[0][:last].tolist(), by_period[1][:last].tolist()
        ops = vop[cand[:last]].tolist()
        mob_day, mob_night = day_night(plan, cp, d.mobilisation[cand[:last]])
        failures: list[float] = []  # end times of failed calls, each frees one re-call
        begin_at = [0.0] * last
        done_at = [0.0] * last
        code_at = [0] * last
        placed = 0
        for pos in range(last):
            if pos < need:
                t = alert_end
            elif failures:
                t = heappop(failures)
            else:
                break
            lane = lanes[ops[pos]]
            free = lane[0]  # the dispatcher that frees first takes the call
            begin = t if t >= free else free
            done = begin + calls[pos]
            heapreplace(lane, done)
            begin_at[pos] = begin
            done_at[pos] = done
            c = codes_night[pos] if clocked and plan.night_at(begin - t0) else codes_day[pos]
            code_at[pos] = c
            if c != en_route:
                heappush(failures, done)
            placed = pos + 1
        if placed:
            tr.last_call_end = max(tr.last_call_end, max(done_at[:placed]))
        called = cand[:placed]
        t_called[called] = begin_at[:placed]
        code = np.array(code_at[:placed], dtype=np.int8)
        outcome[called] = code
        pos_arr = np.flatnonzero(code == en_route)
        if pos_arr.size:
            t_pos = np.array(done_at)[pos_arr]
            t_acc[cand[pos_arr]] = t_pos
            acc_t += t_pos.tolist()
            acc_v += cand[pos_arr].tolist()
            night = np.array([bool(plan.night_at(t - t0)) for t in t_pos.tolist()], dtype=bool)
            acc_mob += np.where(night, mob_night[pos_arr], mob_day[pos_arr]).tolist()
    order = sorted(range(len(acc_t)), key=acc_t.__getitem__)
    return [(acc_t[i], acc_v[i], acc_mob[i]) for i in order]


def _codes(unavailable: np.ndarray, unreached: np.ndarray, refuses: np.ndarray) -> np.ndarray:
    """Outcome codes of calls: unavailable first, then not reached, then declined."""
    unreachable = ~unavailable & unreached
    declined = ~unavailable & ~unreachable & refuses
    code = np.full(unavailable.size, Outcome.EN_ROUTE, dtype=np.int8)
    code[declined] = Outcome.DECLINED
    code[unreachable] = Outcome.UNREACHABLE
    code[unavailable] = Outcome.UNAVAILABLE
    return code


def _queues(plan: IncidentPlan, d: Draws, tr: Trace, accepted: list) -> None:
    """Mobilisation, travel, checkpoint and staging queues, in event-time order."""
    if not plan.checkpoints:
        _staging_only(plan, d, tr, accepted)
        return
    trip = trip_multipliers(plan, d, d.trip).tolist()
    vdepot = plan.vehicle_depot
    legs = [x.tolist() for x in plan.depot_legs_min]
    stops = [x.tolist() for x in plan.depot_checkpoints]
    n_cp = len(plan.checkpoints)
    lanes = [
        [0.0] * (c.green_lanes if c.green == "dedicated" else c.lanes) for c in plan.checkpoints
    ]
    lanes.append([0.0] * plan.staging.lanes)  # the staging lanes are queue n_cp
    for q in lanes:
        q[:] = [-np.inf] * len(q)
    services = [c.service for c in plan.checkpoints]
    # Ordinary traffic matters where the fleet shares the lanes (no dedicated green lane).
    background = [
        _Background(c, seed) if c.background_per_min > 0 and c.green != "dedicated" else None
        for c, seed in zip(plan.checkpoints, d.background_seeds, strict=True)
    ]
    fifo = [c.green == "none" for c in plan.checkpoints]
    stage_service = plan.staging.service.from_uniform(d.service[:, 0])
    heap: list[tuple[float, int, int, int]] = []  # (arrival time, seq, vehicle, leg index)
    seq = 0
    travel_acc: dict[int, float] = {}
    wait_acc: dict[int, float] = {}
    t_roll = tr.t_rolling
    for t_acc, v, mob in accepted:
        t = t_acc + mob
        t_roll[v] = t
        dt = legs[vdepot[v]][0] * trip[v]
        travel_acc[v] = 0.0 + dt
        wait_acc[v] = 0.0
        heapq.heappush(heap, (t + dt, seq, v, 0))
        seq += 1
    while heap:
        t, _, v, i = heapq.heappop(heap)
        dep = vdepot[v]
        cps = stops[dep]
        if i < len(cps):
            c = cps[i]
            service = float(services[c].from_uniform(d.service[v, 1 + i]))
            if background[c] is not None:
                background[c].advance(lanes[c], t, fifo[c])
            free_at = heapq.heappop(lanes[c])
            begin = t if t >= free_at else free_at
            done = begin + service
            heapq.heappush(lanes[c], done)
            wait_acc[v] += done - t
            dt = legs[dep][i + 1] * trip[v]
            travel_acc[v] += dt
            heapq.heappush(heap, (done + dt, seq, v, i + 1))
            seq += 1
            continue
        free_at = heapq.heappop(lanes[n_cp])
        begin = t if t >= free_at else free_at
        done = begin + float(stage_service[v])
        heapq.heappush(lanes[n_cp], done)
        tr.stage_wait[v] = done - t
        tr.t_registered[v] = done
        tr.travel[v] = travel_acc[v]
        tr.cp_wait[v] = wait_acc[v]
        tr.outcome[v] = Outcome.ASSEMBLED


def _staging_only(plan: IncidentPlan, d: Draws, tr: Trace, accepted: list) -> None:
    """Without checkpoints a vehicle's only queue is staging: arrivals are computed at once
    (the same floating-point operations as the SimPy processes) and served in arrival order
    (ties in acceptance order, as the heap would) by the lane that frees first."""
    heapreplace = heapq.heapreplace
    t_acc = np.array([a[0] for a in accepted])
    v = np.array([a[1] for a in accepted], dtype=np.int64)
    mob = np.array([a[2] for a in accepted])
    t_roll = t_acc + mob
    trip = trip_multipliers(plan, d, d.trip[v])
    leg = np.array([float(x[0]) if x.size else 0.0 for x in plan.depot_legs_min])
    dt = leg[plan.vehicle_depot[v]] * trip
    arrive = t_roll + dt
    service = plan.staging.service.from_uniform(d.service[v, 0])
    order = np.argsort(arrive, kind="stable")
    lanes = [-np.inf] * plan.staging.lanes
    done = [0.0] * v.size
    arrive_l, service_l = arrive.tolist(), service.tolist()
    for i in order.tolist():
        t = arrive_l[i]
        free = lanes[0]  # the lane that frees first
        end = (t if t >= free else free) + service_l[i]
        heapreplace(lanes, end)
        done[i] = end
    registered = np.array(done)
    tr.t_rolling[v] = t_roll
    tr.travel[v] = 0.0 + dt
    tr.cp_wait[v] = 0.0
    tr.stage_wait[v] = registered - arrive
    tr.t_registered[v] = registered
    tr.outcome[v] = Outcome.ASSEMBLED
