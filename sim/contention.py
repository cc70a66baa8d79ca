"""Contention: what sharing one fleet costs each incident, paired against the incident alone.

Every shared replication is run twice on the same draws (common random numbers): with every
incident, and with each incident alone (:func:`sim.sharedmodel.simulate_shared` with one
incident active). Per incident and replication this gives :class:`Contention`: the
completion alone and the vehicles it lost, i.e. vehicles that registered for it when alone
but, in the shared run, were held by another incident. The contention cost is the paired
difference *completion shared − completion alone*; :func:`contention_summary` reports its
mean with a 95 % t interval, the incident's verdict alone, and whether sharing changes it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.plan import IncidentPlan
from sim.records import ReplicationResult
from sim.results import verdict, wilson_interval
from sim.texttables import new_table, render, right


@dataclass(frozen=True)
class Contention:
    """One incident in one shared replication, against itself alone.

    Attributes
    ----------
    alone_min
        Its completion when it is the only incident (same draws; ``inf``: never).
    lost
        Vehicles that registered for it alone but, shared, were held by another incident.
    """

    alone_min: float
    lost: int


def lost_vehicles(
    alone_registered: np.ndarray,
    shared_registered: np.ndarray,
    others_called: Sequence[np.ndarray],
) -> int:
    """How many vehicles an incident lost to the others in one replication.

    Parameters
    ----------
    alone_registered
        Vehicles registered for it when alone.
    shared_registered
        Vehicles registered for it in the shared run.
    others_called
        The vehicles every other incident called (claimed) in the shared run.
    """
    missing = np.setdiff1d(alone_registered, shared_registered)
    if missing.size == 0 or not others_called:
        return 0
    taken = np.unique(np.concatenate(list(others_called)))
    return int(np.intersect1d(missing, taken).size)


def _r(x: float, nd: int = 4) -> float | None:
    return round(float(x), nd) if math.isfinite(x) else None


def paired_interval(diffs: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of paired differences and its t interval (``[mean, mean]`` when they are all equal).

    Parameters
    ----------
    diffs
        Finite paired differences.
    confidence
        Two-sided confidence level.
    """
    n = diffs.size
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(diffs.mean())
    if n == 1 or np.all(diffs == diffs[0]):
        return mean, mean, mean
    from scipy import stats  # heavy; only shared-fleet runs need it

    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * diffs.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def contention_summary(
    plan: IncidentPlan, shared: Sequence[ReplicationResult], paired: Sequence[Contention]
) -> dict[str, Any]:
    """The ``contention`` object of one incident in ``summary.json``.

    Parameters
    ----------
    plan
        The incident's plan.
    shared
        Its shared replications.
    paired
        The same replications' :class:`Contention` records.

    Returns
    -------
    dict
        ``lost_vehicles`` (mean per replication) and ``lost_vehicles_max``; ``cost_min``:
        ``mean`` and ``ci95`` of completion shared − alone over the replications where both
        are finite, with ``n`` of them; ``starved``: replications where it completes alone
        but never shared; ``p_met_alone``, its CI, ``verdict_alone`` and ``verdict_changed``.
    """
    n = len(shared)
    s = np.array([r.completion_min for r in shared], dtype=float)
    a = np.array([c.alone_min for c in paired], dtype=float)
    both = np.isfinite(s) & np.isfinite(a)
    mean, lo, hi = paired_interval(s[both] - a[both])
    deadline = plan.deadline_min
    k_alone = int(np.sum(a <= deadline))
    k_shared = int(np.sum(s <= deadline))
    lo_a, hi_a = wilson_interval(k_alone, n)
    lost = np.array([c.lost for c in paired], dtype=float)
    return {
        "lost_vehicles": _r(float(lost.mean())) if n else None,
        "lost_vehicles_max": int(lost.max()) if n else 0,
        "cost_min": {"mean": _r(mean), "ci95": [_r(lo), _r(hi)], "n": int(both.sum())},
        "starved": int(np.sum(~np.isfinite(s) & np.isfinite(a))),
        "p_met_alone": _r(k_alone / n) if n else None,
        "p_met_alone_ci95": [_r(lo_a), _r(hi_a)],
        "verdict_alone": verdict(k_alone / n) if n else None,
        "verdict_changed": bool(n) and verdict(k_alone / n) != verdict(k_shared / n),
    }


def _num(x: float | None, spec: str = "+.1f") -> str:
    return "-" if x is None else format(x, spec)


def contention_table(summary: dict[str, Any], *, ascii_only: bool = False) -> str:
    """The contention table of a shared-fleet run: per incident, alarm, verdict shared and
    alone, vehicles lost, and the paired cost with its 95 % interval.

    Parameters
    ----------
    summary
        The JSON contract of a shared run (:attr:`sim.experiment.RunResult.summary`).
    ascii_only
        ASCII characters only.
    """
    table = new_table(
        "incident",
        right("alarm"),
        "shared",
        "alone",
        right("lost"),
        right("cost (min)"),
        right("95% CI"),
        right("starved"),
    )
    for inc in summary["incidents"]:
        c = inc["contention"]
        lo, hi = c["cost_min"]["ci95"]
        table.add_row(
            inc["name"],
            f"+{inc['at_min']:.0f} min",
            inc["verdict"].upper(),
            (c["verdict_alone"] or "-").upper(),
            _num(c["lost_vehicles"], ".1f"),
            _num(c["cost_min"]["mean"]),
            f"[{_num(lo)},{_num(hi)}]",
            str(c["starved"]),
        )
    return render(
        "what sharing the fleet costs each incident (paired with the incident alone, same draws)",
        table,
        "(lost: vehicles that registered for it alone but were held by another incident, mean "
        "per replication; cost: completion shared - alone where both complete; starved: "
        "replications where it completes alone but never shared)",
        ascii_only=ascii_only,
    )
