"""The batch engine: many replications of one incident plan in one compiled pass.

It computes exactly what the heap engine (:mod:`sim.engine`) computes, and so what the SimPy
reference (:mod:`sim.model`) computes, replication by replication, but for a whole range of
replications at once:

* **per plan, once**: candidate keys, operators, first legs, thresholds (not per replication);
* **the draws**: each replication's stream keys come from its seed sequence as in
  :func:`sim.plan.draw`; the keyed uniforms (:func:`sim.plan.keyed_uniforms`) are hashed in
  compiled code and turned into durations by the distributions' own inverse CDFs
  (:meth:`sim.dists.Dist.from_uniform`, :func:`sim.dists.from_uniform_by`: numpy and
  scipy) on all replications at once: every value is the one the other engines draw. A
  uniform is keyed by its vehicle, so drawing some vehicles' and not others' changes no
  value, and only what is read is drawn: calls and platform responses for the candidates a
  replication can call (the prefix through the target-th sure acceptance), then, once the
  call-outs are known, confirmations, mobilisations (of the period the acceptance falls
  in), trips and registrations for the vehicles that accepted;
* **the queues**: the dispatcher recursion with re-calls and the platforms' batches and
  responses (:func:`sim.kernels.callouts`), then the staging lanes and the per-class
  figures of :meth:`sim.records.Trace.result` (:func:`sim.kernels.staging`), compiled with
  numba, a few hundred replications at a time (:data:`SUB_BATCH`).

It covers the plans without checkpoints that the heap engine covers, and platform call-outs
too, with the platform-outage shock, when every candidate of a class is on the phone or every
one on a platform (each operator's platform with its own settings; :func:`supports`); a
replication that runs past the horizon runs on SimPy, as in the heap engine.

**Platforms, exactly.** A pushed driver's response and the batches leaving are continuous in
time, so a response never ties with a batch; the batches of a class leave in time order
(each operator's by its own clock) until it has its target of responses, so only the
candidates of the first batches are ever pushed. The batch engine draws a prefix of them (the
batches through the target-th sure acceptance and :data:`PLATFORM_SLACK` more of the class's
largest), and a replication whose platforms would push past that prefix runs again with every
candidate: results never depend on the prefix.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sim.demand import Basis
from sim.dists import from_uniform_by
from sim.engine import has_ties
from sim.gcpause import collector_paused
from sim.model import mobilisation_dists, simulate
from sim.plan import (
    PHONE,
    PURPOSES,
    ClassPlan,
    IncidentPlan,
    draw,
    mix64,
    name_key,
    replication_seed,
    shock_uniforms,
)
from sim.records import COUNT_KEYS, OUTCOMES, STAGES, ReplicationResult, Trace, assemble

_CALLOUT_STEP = np.uint64(0x632BE59BD9B4E019)  # sim.plan.draw: stream("callout", k)
#: Sure acceptances (by day and by night) drawn past a platform class's target, in batches:
#: enough for nearly every replication (a response takes a few batch intervals); the rest
#: run again with every candidate.
PLATFORM_SLACK = 1
#: Replications computed together: the arrays of a few hundred (a few hundred kilobytes
#: each) stay in the caches and reuse freed memory, where a thousand's page-fault fresh
#: memory at every step; fewer pay the fixed cost of a pass more often. Results never depend
#: on it.
SUB_BATCH = 256


def kernels_compiled() -> bool:
    """Whether this machine has the batch engine's compiled kernels for this source.

    numba keeps the machine code of :mod:`sim.kernels` (``cache=True``) in its
    ``__pycache__`` (or under ``NUMBA_CACHE_DIR``) and compiles again, for about a minute,
    when the source is newer than its index. This looks at the files only, without importing
    numba, so the command line can say why the first run on a fresh checkout sits at 0 %.
    """
    source = Path(__file__).with_name("kernels.py")
    pattern = "kernels.staging-*.nbi"  # the last kernel a batch run compiles
    beside = source.parent / "__pycache__"
    if os.environ.get("NUMBA_CACHE_DIR"):
        found = Path(os.environ["NUMBA_CACHE_DIR"]).rglob(pattern)
    elif os.access(beside if beside.is_dir() else source.parent, os.W_OK):
        found = beside.glob(pattern)
    else:  # numba's fallback for a read-only install: the user's cache folder
        found = (Path.home() / ".cache" / "numba").rglob(pattern)
    try:
        mtime = source.stat().st_mtime
        return any(index.stat().st_mtime >= mtime for index in found)
    except OSError:
        return False


def supports(plan: IncidentPlan) -> bool:
    """Whether :func:`simulate_batch` runs ``plan``: no checkpoints, no traffic or trip-spread
    shock, no degenerate distribution (:func:`sim.engine.has_ties`), and every class all on
    the phone or all on platforms (:func:`class_mode`; the platforms' settings may differ by
    operator); the others run on the heap engine or SimPy."""
    shocks = plan.shocks
    if plan.checkpoints or shocks.trip_time_spread is not None or shocks.traffic is not None:
        return False
    return not has_ties(plan) and all(class_mode(plan, cp) is not None for cp in plan.classes)


def class_mode(plan: IncidentPlan, cp: ClassPlan) -> str | None:
    """``"phone"`` or ``"platform"``: how every candidate of class ``cp`` is called, ``None``
    when its operators mix the two."""
    modes = {plan.callout(o).mode for o in _operators(plan, cp)}
    if len(modes) > 1:
        return None
    return modes.pop() if modes else PHONE.mode


def _operators(plan: IncidentPlan, cp: ClassPlan) -> list[int]:
    """The operators of class ``cp``'s candidates, in index order."""
    return sorted(set(plan.vehicle_operator[cp.candidates].tolist()))


def _words32(value: int) -> list[int]:
    """An integer as little-endian 32-bit words (numpy's ``_coerce_to_uint32_array``)."""
    words = []
    while True:
        words.append(value & 0xFFFFFFFF)
        value >>= 32
        if not value:
            return words


def seed_words(seed: int, key: int, reps: Sequence[int], n_words: int) -> np.ndarray:
    """``SeedSequence(seed, spawn_key=(key, r)).generate_state(n_words, np.uint64)`` for
    every ``r`` of ``reps`` at once (rows), by numpy's algorithm (:func:`sim.kernels.seed_words`).

    The same words as numpy's own class (the tests compare them), in a small fraction of the
    time: one seed sequence per replication was a tenth of a batch replication's time.

    Parameters
    ----------
    seed, key
        The entropy and the first spawn-key word (an incident's :func:`sim.plan.name_key`).
    reps
        Replication indices (the last spawn-key word), each below ``2**32``.
    n_words
        64-bit words per replication.
    """
    from sim import kernels  # numba: imported only when a batch runs

    r = np.asarray(reps, dtype=np.uint64).reshape(-1)
    if r.size and int(r.max()) > 0xFFFFFFFF:
        raise ValueError("replication indices must be below 2**32")
    run = _words32(seed)
    run += [0] * (4 - len(run))  # numpy pads the run entropy to the pool size
    entropy = np.array([*run, *_words32(key)], dtype=np.uint64)
    return kernels.seed_words(entropy, r, n_words)


def _salts(plan: IncidentPlan, seed: int, reps: Sequence[int]) -> tuple[np.ndarray, list]:
    """Per replication, the salts of the purposes' streams, in columns alert, availability,
    reach, accept, call, mobilisation, travel, staging service, platform response and
    confirmation (the ``mix64`` of the stream keys of :func:`sim.plan.draw`), and the shock
    uniforms (``None`` without shocks)."""
    words = seed_words(seed, name_key(plan.stream), reps, len(PURPOSES) + 2)
    callout = words[:, PURPOSES["callout"]]
    streams = np.stack(
        [
            words[:, PURPOSES["alert"]],
            words[:, PURPOSES["availability"]],
            callout,
            callout + _CALLOUT_STEP,
            callout + np.uint64(2) * _CALLOUT_STEP,
            words[:, PURPOSES["mobilisation"]],
            words[:, PURPOSES["travel"]],
            words[:, PURPOSES["service"]],
            words[:, PURPOSES["platform"]],
            words[:, PURPOSES["platform"]] + _CALLOUT_STEP,
        ],
        axis=1,
    )
    if plan.shocks.active:
        shocks = [shock_uniforms(replication_seed(seed, plan.stream, r)) for r in reps]
    else:
        shocks = [None] * len(reps)
    return mix64(streams), shocks


def simulate_batch(
    plan: IncidentPlan, seed: int, reps: Sequence[int], *, log_vehicles: bool = False
) -> list[ReplicationResult]:
    """Run replications ``reps`` of ``plan`` (the results of :func:`sim.engine.simulate_fast`
    and :func:`sim.model.simulate` on the same draws).

    Parameters
    ----------
    plan
        A plan for which :func:`supports` is true.
    seed
        The scenario seed (replication ``r`` draws from :func:`sim.plan.replication_seed`).
    reps
        Replication indices.
    log_vehicles
        Also return one row per called vehicle.

    Raises
    ------
    ValueError
        If the plan is not supported.
    """
    if not supports(plan):
        raise ValueError(f"plan {plan.name!r} needs the heap engine or SimPy")
    reps = list(reps)
    # The results are many small objects without cycles: the cyclic garbage collector would
    # only walk the whole heap (the network, the plans) again and again while they are made.
    with collector_paused():
        out = []
        for start in range(0, len(reps), SUB_BATCH):
            part = reps[start : start + SUB_BATCH]
            done, short = _simulate(plan, seed, part, log_vehicles, widen=False)
            if short:  # platforms that pushed past the prefix: again with every candidate
                again, _ = _simulate(plan, seed, [part[i] for i in short], log_vehicles, True)
                for i, result in zip(short, again, strict=True):
                    done[i] = result
            out += done
    return out


def _simulate(
    plan: IncidentPlan, seed: int, reps: list[int], log_vehicles: bool, widen: bool
) -> tuple[list, list[int]]:
    """:func:`simulate_batch` with the platform classes' candidates drawn to a prefix
    (``widen``: all of them); returns the results and the indices of the replications whose
    platforms would push past the prefix (their results are ``None``)."""
    from sim import kernels  # numba: imported only when a batch runs

    if not reps:
        return [], []
    n_rep = len(reps)
    salts, shocks = _salts(plan, seed, reps)
    t0 = plan.warmup_min if plan.has_background else 0.0
    zero = np.zeros(1, dtype=np.uint64)
    alert_u = kernels.uniforms(zero, salts[:, 0])[:, 0]
    alert_end = 0.0 + (t0 + plan.alert.from_uniform(alert_u))
    classes = plan.classes
    clock = plan.clock_hour is not None
    keys = plan.keys
    platform = [class_mode(plan, cp) == "platform" for cp in classes]
    callouts = [plan.callout(o) for o in range(len(plan.operator_dispatchers))]
    codes_day, codes_night, last, widths = [], [], [], []
    for cp, plat in zip(classes, platform, strict=True):
        clocked = clock and cp.reach_day_night is not None
        rdn = cp.reach_day_night if clocked and cp.reach_day_night else (cp.reach, cp.reach)
        need, block = cp.initial_calls, 1
        if plat:  # the prefix in batches of the class's largest
            block = max(callouts[o].batch_size for o in _operators(plan, cp))
            need = cp.candidates.size + 1 if widen else need + PLATFORM_SLACK * block
        day, night, lst = kernels.callout_codes(
            keys[cp.candidates],
            np.ascontiguousarray(salts[:, 1:4]),
            cp.availability,
            rdn[0],
            rdn[1],
            cp.accept,
            need,
            block,
        )
        if cp.candidates.size == 0 or cp.initial_calls <= 0:
            lst[:] = 0
        width = int(lst.max())
        codes_day.append(day[:, :width])
        codes_night.append(night[:, :width])
        last.append(lst)
        widths.append(width)
    col_off = np.concatenate([[0], np.cumsum(widths, dtype=np.int64)]).astype(np.int64)
    cols = np.concatenate([cp.candidates[:w] for cp, w in zip(classes, widths, strict=True)])
    cols = cols.astype(np.int64)
    ck = keys[cols]
    first_leg = np.array([float(x[0]) if x.size else 0.0 for x in plan.depot_legs_min])
    # The durations the call-outs read (calls for the placeable prefix, platform responses
    # for the candidates who may accept), uniforms hashed at those (replication, column)
    # pairs only; the others are drawn after the call-outs, for the vehicles that accept
    # only (their uniforms are keyed by vehicle, so which others are drawn changes no value).
    width = int(col_off[-1])
    calls, resp = np.zeros((n_rep, width)), np.zeros((n_rep, width))

    def draws(purpose: int, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        return kernels.uniforms_at(ck, salts[:, purpose], rows, columns)

    col_op = plan.vehicle_operator[cols]
    responses = [c.response for c in callouts]
    for cp, plat, a, day, night, lst in zip(
        classes,
        platform,
        col_off[:-1].tolist(),
        codes_day,
        codes_night,
        last,
        strict=True,
    ):
        if plat:  # each operator's platform draws by its own distributions
            at = kernels.positions(day, night, lst, a, True)
            resp[at] = from_uniform_by(responses, col_op[at[1]], draws(8, *at))
        else:
            placed = kernels.positions(day, night, lst, a, False)
            calls[placed] = cp.call.from_uniform(draws(4, *placed))
    n_cls = len(classes)
    class_ops = [_operators(plan, cp) for cp in classes]
    clock_spec = np.array(
        [1.0 if clock else 0.0, plan.clock_hour if clock else 0.0, *plan.night_hours]
    )
    (e_t, e_rep, e_col, e_plat, e_off), called = kernels.callouts(
        alert_end,
        t0,
        col_off,
        np.array([cp.initial_calls for cp in classes], dtype=np.int64),
        np.array([cp.candidates.size for cp in classes], dtype=np.int64),
        np.stack(last, axis=1) if n_cls else np.zeros((n_rep, 0), dtype=np.int64),
        np.array([clock and cp.reach_day_night is not None for cp in classes], dtype=np.bool_),
        _hstack(codes_day, n_rep, np.int8),
        _hstack(codes_night, n_rep, np.int8),
        col_op.astype(np.int64),
        calls,
        np.concatenate([[0], np.cumsum(plan.operator_dispatchers, dtype=np.int64)]).astype(
            np.int64
        ),
        np.array(platform, dtype=np.bool_),
        np.array([c.batch_size if c.mode == "platform" else 1 for c in callouts], dtype=np.int64),
        np.array([c.batch_interval_min if c.mode == "platform" else 0.0 for c in callouts]),
        np.concatenate(
            [plan.vehicle_operator[cp.candidates] for cp in classes] or [np.zeros(0)]
        ).astype(np.int64),
        np.concatenate([[0], np.cumsum([cp.candidates.size for cp in classes])]).astype(np.int64),
        np.array([o for ops in class_ops for o in ops], dtype=np.int64),
        np.concatenate([[0], np.cumsum([len(ops) for ops in class_ops])]).astype(np.int64),
        _up(plan, alert_end, shocks),
        resp,
        clock_spec,
        log_vehicles,
    )
    # Each acceptance's confirmation (a platform's, by its operator's distribution: the
    # acceptance is the response plus it), mobilisation (by day or by night, from the
    # acceptance time), trip multiplier and registration, in the order of the acceptances.
    last_end, tally, short, v_called, v_out = called
    plat_at = np.flatnonzero(e_plat)
    if plat_at.size:
        conf = [c.confirm for c in callouts]
        e_t[plat_at] = e_t[plat_at] + from_uniform_by(
            conf, col_op[e_col[plat_at]], draws(9, e_rep[plat_at], e_col[plat_at])
        )
    night = kernels.night_flags(e_t, t0, clock_spec)
    e_cls = np.repeat(np.arange(n_cls), widths)[e_col]
    mobs = [d for cp in classes for d in mobilisation_dists(plan, cp)]
    mob = from_uniform_by(mobs, 2 * e_cls + night, draws(5, e_rep, e_col))
    factor = plan.trip_factor.from_uniform(draws(6, e_rep, e_col))
    speeds = _speeds(plan, shocks)
    trip = factor / (plan.speed_factor if speeds is None else speeds[e_rep])
    service = plan.staging.service.from_uniform(draws(7, e_rep, e_col))
    per_vehicle, per_class = kernels.staging(
        alert_end,
        t0,
        t0 + plan.horizon_min,
        width,
        col_off,
        first_leg[plan.vehicle_depot[cols]],
        e_t,
        e_col,
        e_off,
        mob,
        trip,
        service,
        last_end,
        tally,
        plan.staging.lanes,
        plan.deadline_min,
        plan.success_fraction,
        np.array([cp.basis is Basis.ALL_ACCEPTED for cp in classes], dtype=np.bool_),
        np.array([cp.basis is Basis.COUNT for cp in classes], dtype=np.bool_),
        np.array([cp.requested for cp in classes], dtype=np.int64),
        log_vehicles,
    )
    comp, crit, stages, arrived, registered, n_registered, past = per_class
    per_vehicle = (v_called, *per_vehicle, v_out)
    per_class = (comp, crit, stages, tally, arrived, registered, n_registered, past, short)
    past, short = per_class[-2].tolist(), per_class[-1].tolist()
    fast = None if log_vehicles else _results(plan, per_class)
    out = []
    for i, r in enumerate(reps):
        if short[i]:
            out.append(None)
        elif past[i]:
            d = draw(plan, replication_seed(seed, plan.stream, r))
            out.append(simulate(plan, d, log_vehicles=log_vehicles))
        elif fast is not None:
            out.append(fast[i])
        else:
            out.append(_traced(plan, cols, alert_end[i], t0, [a[i] for a in per_vehicle]))
    return out, [i for i, s in enumerate(short) if s]


def _up(plan: IncidentPlan, alert_end: np.ndarray, shocks: list) -> np.ndarray:
    """Per replication, when the platforms are up (:func:`sim.plan.outage_end`)."""
    up = alert_end.copy()
    p = plan.shocks.outage_probability
    if p > 0:
        for i, s in enumerate(shocks):
            if s[2] <= p:
                up[i] = alert_end[i] + float(plan.shocks.outage_min.from_uniform(s[3]))
    return up


def _speeds(plan: IncidentPlan, shocks: list) -> np.ndarray | None:
    """Per replication, the speed factor under the common speed shock (``None``: no shock),
    as :func:`sim.plan.trip_multipliers` computes it."""
    shock = plan.shocks.speed_factor
    if shock is None:
        return None
    return np.array([plan.speed_factor * float(shock.from_uniform(s[0])) for s in shocks])


def _hstack(parts: list[np.ndarray], n_rep: int, dtype: type) -> np.ndarray:
    if not parts:
        return np.zeros((n_rep, 0), dtype=dtype)
    return np.ascontiguousarray(np.hstack(parts), dtype=dtype)


def _results(plan: IncidentPlan, per_class: tuple) -> list[ReplicationResult]:
    """Every replication's result from the kernel's per-class figures."""
    comp, crit, stages, tally, arrived, registered, n_registered = per_class[:7]
    names = [cp.vehicle_class for cp in plan.classes]
    # Per class, the outcome tallies keyed as Trace.result keys them, ``called`` last.
    keys = (*OUTCOMES, "called")
    counts = np.concatenate([tally[:, :, 1:], tally[:, :, :1]], axis=2).tolist()
    totals = tally.sum(axis=1).tolist()
    n_reg = n_registered.tolist()
    # Every row has one entry per class (or per key) by construction: the zips need no
    # length check, which took a tenth of this loop (strict=False).
    return [
        assemble(
            dict(zip(names, comp_i, strict=False)),
            _Stages(names, crit_i, stages_i).of,
            {
                name: dict(zip(keys, c, strict=False))
                for name, c in zip(names, counts_i, strict=False)
            },
            dict(zip(names, arrived_i, strict=False)),
            registered[i, : n_reg[i]].copy(),
            None,
            dict(zip(COUNT_KEYS, totals[i], strict=False)),
        )
        for i, (comp_i, crit_i, stages_i, counts_i, arrived_i) in enumerate(
            zip(
                comp.tolist(),
                crit.tolist(),
                stages.tolist(),
                counts,
                arrived.tolist(),
                strict=True,
            )
        )
    ]


class _Stages:
    """The stage minutes of a replication's critical vehicles, made for the class asked."""

    __slots__ = ("critical", "names", "stages")

    def __init__(self, names: list[str], critical: list[int], stages: list[list[float]]):
        self.names, self.critical, self.stages = names, critical, stages

    def of(self, name: str) -> dict[str, float] | None:
        k = self.names.index(name)
        if self.critical[k] < 0:
            return None
        return dict(zip(STAGES, self.stages[k], strict=False))  # a row per stage


def _traced(
    plan: IncidentPlan, cols: np.ndarray, alert_end: float, t0: float, per_vehicle: list
) -> ReplicationResult:
    """Replication's result with its vehicle log, through :class:`sim.records.Trace`."""
    called, acc, roll, reg, travel, wait, outcome = per_vehicle
    tr = Trace(plan, True)
    tr.alert_end = float(alert_end)
    tr.t_called[cols] = called
    tr.t_accepted[cols] = acc
    tr.t_rolling[cols] = roll
    tr.t_registered[cols] = reg
    tr.travel[cols] = travel
    tr.stage_wait[cols] = wait
    tr.cp_wait[cols] = np.where(np.isnan(travel), np.nan, 0.0)
    tr.outcome[cols] = outcome
    return tr.result()
