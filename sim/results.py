"""Summaries of replications: P(target holds) with a Wilson interval, completion-time
percentiles, per-class results, stage breakdown, bottleneck class, counts; the JSON contract
and the verdict table.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.special import ndtri

from sim.demand import Basis, describe
from sim.plan import IncidentPlan
from sim.records import COUNT_KEYS, DEMAND_KEYS, STAGES, ReplicationResult
from sim.texttables import new_table, render, right

#: Verdict thresholds on P(target holds): "holds" at >= 0.95, "fails" below 0.5.
HOLDS_AT, FAILS_BELOW = 0.95, 0.5


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    The formulas of :func:`scipy.stats.binomtest` ``.proportion_ci(method="wilson")``
    (Newcombe 1998), operation for operation, so the bounds are the same to the last bit;
    written out here because importing :mod:`scipy.stats` costs a second of every start-up.

    Parameters
    ----------
    successes
        Number of successes.
    n
        Number of trials; ``(0, 1)`` when there are none.
    confidence
        Two-sided confidence level.

    Returns
    -------
    tuple of float
        ``(low, high)``.
    """
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n={n}], got {successes}")
    p = successes / n
    z = ndtri(0.5 + 0.5 * confidence)
    denom = 2 * (n + z**2)
    center = (2 * n * p + z**2) / denom
    delta = z / denom * math.sqrt(4 * n * p * (1 - p) + z**2)
    low = 0.0 if successes == 0 else center - delta
    high = 1.0 if successes == n else center + delta
    return (float(low), float(high))


def _r(x: float | None, nd: int = 4) -> float | None:
    """Round for JSON; non-finite values become ``None`` (JSON has no infinity)."""
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), nd)


def quantile(values: np.ndarray, q: float | Sequence[float], axis: int | None = None) -> Any:
    """Linear-interpolation quantile of completion times where ``inf`` means "never".

    A quantile that falls on, or is interpolated towards, a "never" value (however little)
    is ``inf``: it lies above every finite value. Used by every summary, the comparison and
    the regression check, so they agree.

    Parameters
    ----------
    values
        Completion times (minutes), ``inf`` for "never".
    q
        Quantile(s) in [0, 1].
    axis
        Axis along which to compute (``None``: the flattened array).
    """
    a = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(a)
    qs = np.quantile(np.where(finite, a, 1e300), q, axis=axis)
    top = np.max(np.where(finite, a, -np.inf), axis=axis)
    if np.ndim(q):  # quantiles come first in numpy's output shape
        top = np.broadcast_to(top, qs.shape)
    return np.where(qs > top, np.inf, qs)


def completion_stats(values: Sequence[float]) -> dict[str, float | None]:
    """Mean, p50, p90, p95 and max of completion times (minutes).

    Infinite values (target never met: too few vehicles accepted) are kept in the ranks, so
    a percentile that falls on them is ``None``; so are the mean and max then.
    """
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return dict.fromkeys(("mean", "p50", "p90", "p95", "max"))
    q = [None if math.isinf(v) else v for v in quantile(a, [0.5, 0.9, 0.95]).tolist()]
    finite = bool(np.all(np.isfinite(a)))
    return {
        "mean": _r(float(a.mean())) if finite else None,
        "p50": _r(q[0]),
        "p90": _r(q[1]),
        "p95": _r(q[2]),
        "max": _r(float(a.max())) if finite else None,
    }


def count_stats(values: Sequence[int]) -> dict[str, float | int | None]:
    """Mean and minimum over replications of a vehicle count (``None`` for none)."""
    if not len(values):
        return {"mean": None, "min": None}
    return {"mean": _r(float(np.mean(values))), "min": int(min(values))}


def verdict(p_met: float) -> str:
    """``holds`` (P >= 0.95), ``at risk`` (0.5 <= P < 0.95) or ``fails`` (P < 0.5)."""
    if p_met >= HOLDS_AT:
        return "holds"
    return "at risk" if p_met >= FAILS_BELOW else "fails"


def summarize(
    plan: IncidentPlan, reps: Sequence[ReplicationResult], classes: Sequence[str]
) -> dict[str, Any]:
    """Summarise one incident's replications into the JSON contract's incident object.

    Parameters
    ----------
    plan
        The incident plan.
    reps
        Its replications.
    classes
        The scenario's vehicle classes in their order (``scenario.fleet.classes``): the
        bottleneck class is the most frequent critical class, ties going to the first.

    Returns
    -------
    dict
        Keys ``name, tier, deadline_min, demand, demand_basis, p_met, p_met_ci95,
        completion_min, by_class, breakdown_min, bottleneck_class, counts`` (plus ``verdict``,
        ``demand_all`` and ``replications``). ``by_class`` gives per class the
        completion times, P(holds), and the vehicles ``requested``, ``accepted`` and
        ``arrived`` by the deadline (``{mean, min}`` over replications).
    """
    n = len(reps)
    deadline = plan.deadline_min
    met = [r.completion_min <= deadline for r in reps]
    k = int(sum(met))
    by_class: dict[str, Any] = {}
    demand_counts = [r.demand_counts(plan) for r in reps]
    for cp in plan.classes:
        cls = cp.vehicle_class
        t = [r.class_completion_min[cls] for r in reps]
        by_class[cls] = {
            "completion_min": completion_stats(t),
            "p_met": _r(sum(x <= deadline for x in t) / n),
            "requested": cp.requested,
            **{key: count_stats([c[cls][key] for c in demand_counts]) for key in DEMAND_KEYS[1:]},
        }
    crit = [r.breakdown_min for r in reps if math.isfinite(r.completion_min)]
    breakdown = {s: (_r(float(np.mean([b[s] for b in crit]))) if crit else None) for s in STAGES}
    tally = Counter(r.critical_class for r in reps if r.critical_class is not None)
    order = {c: i for i, c in enumerate(classes)}
    bottleneck = min(tally, key=lambda c: (-tally[c], order[c])) if tally else None
    count_keys = COUNT_KEYS
    counts = {key: _r(float(np.mean([r.counts[key] for r in reps]))) for key in count_keys}
    p = k / n
    lo, hi = wilson_interval(k, n)
    return {
        "name": plan.name,
        "tier": plan.tier,
        "deadline_min": _r(deadline),
        "demand": {cp.vehicle_class: cp.requested for cp in plan.classes},
        "demand_basis": {cp.vehicle_class: cp.basis.value for cp in plan.classes},
        "demand_all": [cp.vehicle_class for cp in plan.classes if cp.basis is not Basis.COUNT],
        "p_met": _r(p),
        "p_met_ci95": [_r(lo), _r(hi)],
        "verdict": verdict(p),
        "completion_min": completion_stats([r.completion_min for r in reps]),
        "by_class": by_class,
        "breakdown_min": breakdown,
        "bottleneck_class": bottleneck,
        "counts": counts,
        "replications": n,
        "snap_km": {"location": _r(plan.snap_km[0]), "staging_point": _r(plan.snap_km[1])},
        "access_min": _r(plan.access_min),
    }


def study_json(
    scenario_name: str,
    seed: int,
    replications: int,
    incidents: Sequence[Mapping[str, Any]],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The top-level JSON object: ``scenario, seed, replications, incidents`` (+ ``extra``)."""
    out: dict[str, Any] = {
        "scenario": scenario_name,
        "seed": seed,
        "replications": replications,
        "incidents": list(incidents),
    }
    if extra:
        out.update(extra)
    return out


def _fmt(x: float | None, spec: str = ".0f") -> str:
    return "never" if x is None else format(x, spec)


def verdict_table(summary: Mapping[str, Any], *, ascii_only: bool = False) -> str:
    """Render the verdict table a planner reads (one row per incident).

    Parameters
    ----------
    summary
        The JSON contract (:func:`study_json`).
    ascii_only
        ASCII characters only (:func:`sim.texttables.render`).
    """

    def snap(inc: Mapping[str, Any]) -> float:
        return max((v for v in (inc.get("snap_km") or {}).values() if v is not None), default=0)

    # A column only when some point lies > 0.5 km off its road node (details in the note).
    snap_column = any(snap(inc) > SNAP_NOTE_KM for inc in summary["incidents"])
    table = new_table(
        "incident",
        "tier",
        *([right("snap km")] if snap_column else []),
        "demand",
        right("deadline"),
        right("P(holds)"),
        right("95% CI"),
        right("p50"),
        right("p90"),
        "bottleneck",
        "verdict",
    )
    for inc in summary["incidents"]:
        lo, hi = inc["p_met_ci95"]
        c = inc["completion_min"]
        table.add_row(
            inc["name"],
            inc["tier"],
            *([f"{snap(inc):.1f}"] if snap_column else []),
            describe(inc["demand"], inc.get("demand_basis")),
            f"{inc['deadline_min']:.0f} min",
            f"{inc['p_met']:.3f}",
            f"[{lo:.3f},{hi:.3f}]",
            _fmt(c["p50"]),
            _fmt(c["p90"]),
            inc["bottleneck_class"] or "-",
            inc["verdict"].upper()
            + (" *" if inc.get("contention", {}).get("verdict_changed") else ""),
        )
    shared = summary.get("fleet_sharing") == "shared"
    note = (
        f"(p50/p90: completion minutes, last requested vehicle registered; verdict HOLDS at "
        f"P >= {HOLDS_AT}, FAILS below {FAILS_BELOW}"
        + ("; * the verdict alone differs: changed by sharing the fleet)" if shared else ")")
    )
    snaps = []
    for inc in summary["incidents"]:  # a note only where a point lies > 0.5 km off its node
        snap = inc.get("snap_km") or {}
        far = {k: v for k, v in snap.items() if v is not None and v > SNAP_NOTE_KM}
        if far:
            parts = ", ".join(f"{k.replace('_', ' ')} {v:.1f} km" for k, v in far.items())
            access = inc.get("access_min") or 0.0
            leg = f", off-road access leg {access:.0f} min" if access else ""
            snaps.append(f"{inc['name']}: {parts} from its road node{leg}")
    if snaps:
        note += "\n(snapped to the road network: " + "; ".join(snaps) + ")"
    return render(
        f"scenario {summary['scenario']} · seed {summary['seed']} · "
        f"{summary['replications']} replications per incident"
        + (f" · one shared fleet, policy {summary.get('dispatch_policy')}" if shared else ""),
        table,
        note,
        ascii_only=ascii_only,
    )


def _count(stats: Mapping[str, Any] | None, key: str, spec: str = "") -> str:
    value = (stats or {}).get(key)
    return "-" if value is None else format(value, spec)


def arrivals_table(summary: Mapping[str, Any], *, ascii_only: bool = False) -> str:
    """Render what each demand came to: per incident and class, vehicles requested, accepted
    and arrived by the deadline (mean and minimum over replications).

    Parameters
    ----------
    summary
        The JSON contract (:func:`study_json`).
    ascii_only
        ASCII characters only (:func:`sim.texttables.render`).
    """
    table = new_table(
        "incident",
        "class",
        "demand",
        right("requested"),
        right("accepted mean"),
        right("accepted min"),
        right("arrived mean"),
        right("arrived min"),
    )
    for inc in summary["incidents"]:
        basis = inc.get("demand_basis") or {}
        for k, c in (inc.get("by_class") or {}).items():
            table.add_row(
                inc["name"],
                k,
                describe({k: inc["demand"][k]}, basis).removeprefix(f"{k} "),
                _count(c, "requested"),
                _count(c.get("accepted"), "mean", ".1f"),
                _count(c.get("accepted"), "min"),
                _count(c.get("arrived"), "mean", ".1f"),
                _count(c.get("arrived"), "min"),
            )
    return render(
        "what arrived: vehicles per incident and class, over the replications",
        table,
        "(requested: for 'all in scope' / 'all accepted', every vehicle in scope that can reach "
        "the staging point; accepted: took the call;",
        " arrived: registered at the staging point by the deadline. 'all in scope' needs every "
        "vehicle requested, 'all accepted' those that accepted)",
        ascii_only=ascii_only,
    )


#: The verdict table notes a location or staging point farther than this from its node (km).
SNAP_NOTE_KM = 0.5
