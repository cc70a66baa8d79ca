"""A faster engine for the same model, for sweeps: exact event-order processing of the FIFO
queues with a heap, no SimPy processes.

It reproduces :func:`sim.model.simulate` exactly (the tests compare every vehicle's stage
times to 1e-9 on the same draws) for the plans it supports:

* no background traffic at checkpoints (the fleet's own queues at checkpoints, toll plazas
  and staging lanes are supported, with any number of lanes);
* continuous distributions for call, mobilisation, trip factor and service times. Fixed
  (degenerate) distributions create exact ties whose order SimPy settles through its event
  queue; rather than imitate that, such plans run on SimPy.

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
from collections import deque

import numpy as np

from sim.model import Draws, IncidentPlan, ReplicationResult, Trace, simulate


def supports(plan: IncidentPlan) -> bool:
    """Whether :func:`simulate_fast` reproduces SimPy exactly for ``plan``."""
    if plan.has_background:
        return False
    dists = [plan.trip_factor, plan.staging.service]
    dists += [c.call for c in plan.classes] + [c.mobilisation for c in plan.classes]
    dists += [c.service for c in plan.checkpoints]
    return all(d.kind != "fixed" for d in dists)


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
        raise ValueError(f"plan {plan.name!r} needs the SimPy engine (background or ties)")
    tr = Trace(plan, log_vehicles)
    horizon = tr.t0 + plan.horizon_min
    tr.alert_end = 0.0 + (tr.t0 + float(plan.alert.from_uniform(draws.alert)))
    accepted = _callout(plan, draws, tr)
    if accepted and not _queues(plan, draws, tr, accepted):
        return simulate(plan, draws, log_vehicles=log_vehicles)
    if np.nanmax(np.append(tr.t_registered, tr.alert_end)) > horizon or (
        np.nanmax(np.append(tr.t_accepted, tr.alert_end)) > horizon
    ):
        return simulate(plan, draws, log_vehicles=log_vehicles)
    return tr.result()


def _callout(plan: IncidentPlan, d: Draws, tr: Trace) -> list[tuple[float, int, float]]:
    """Dispatcher queues with re-calls; returns (accept time, vehicle, mobilisation) tuples."""
    free = list(plan.operator_dispatchers)
    waiting: list[deque] = [deque() for _ in free]
    heap: list[tuple[float, int, int, int]] = []
    seq = 0
    t_called, outcome = tr.t_called, tr.outcome
    vop = plan.vehicle_operator
    state = []  # per class: [next, pending, accepted]
    calls, mobs, cands, fails = [], [], [], []
    for cp in plan.classes:
        cand = cp.candidates
        cands.append(cand.tolist())
        calls.append(cp.call.from_uniform(d.call[cand]).tolist())
        mobs.append(cp.mobilisation.from_uniform(d.mobilisation[cand]).tolist())
        unavailable = d.avail[cand] > cp.availability
        unreachable = ~unavailable & (d.reach[cand] > cp.reach)
        declined = ~unavailable & ~unreachable & (d.accept[cand] > cp.accept)
        code = np.full(cand.size, 4, dtype=np.int8)
        code[declined], code[unreachable], code[unavailable] = 1, 2, 3
        fails.append(code.tolist())
        state.append([0, 0, 0])

    def start(k: int, pos: int, t: float) -> None:
        nonlocal seq
        v = cands[k][pos]
        free[vop[v]] -= 1
        t_called[v] = t
        heapq.heappush(heap, (t + calls[k][pos], seq, k, pos))
        seq += 1

    def top_up(k: int, t: float) -> None:
        st, cand, target = state[k], cands[k], plan.classes[k].initial_calls
        while st[2] + st[1] < target and st[0] < len(cand):
            pos = st[0]
            st[0] += 1
            st[1] += 1
            op = vop[cand[pos]]
            if free[op] > 0 and not waiting[op]:
                start(k, pos, t)
            else:
                waiting[op].append((k, pos))

    t = tr.alert_end
    for k in range(len(plan.classes)):
        top_up(k, t)
    accepted: list[tuple[float, int, float]] = []
    t_acc = tr.t_accepted
    while heap:
        t, _, k, pos = heapq.heappop(heap)
        v = cands[k][pos]
        op = vop[v]
        free[op] += 1
        if waiting[op]:
            k2, pos2 = waiting[op].popleft()
            start(k2, pos2, t)
        st = state[k]
        st[1] -= 1
        code = fails[k][pos]
        outcome[v] = code
        if code == 4:
            st[2] += 1
            t_acc[v] = t
            accepted.append((t, v, mobs[k][pos]))
        else:
            top_up(k, t)
    return accepted


def _queues(plan: IncidentPlan, d: Draws, tr: Trace, accepted: list) -> bool:
    """Mobilisation, travel, checkpoint and staging queues, in event-time order."""
    trip = (plan.trip_factor.from_uniform(d.trip) / plan.speed_factor).tolist()
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
        tr.outcome[v] = 0
    return True
