"""Result records of one replication, shared by both engines.

Both engines fill a :class:`Trace` (per-vehicle event times); :meth:`Trace.result` turns it
into a :class:`ReplicationResult` by one function, so the engines cannot disagree on
summaries. Vehicle log rows are :class:`VehicleRow` named tuples.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from sim.demand import Basis
from sim.plan import IncidentPlan, Outcome

STAGES: tuple[str, ...] = (
    "alert",
    "callout",
    "mobilisation",
    "travel",
    "checkpoint_wait",
    "staging_wait",
)
#: What became of a called vehicle, by :class:`sim.plan.Outcome` code.
OUTCOMES: tuple[str, ...] = tuple(o.name.lower() for o in Outcome)

#: The per-replication counts of an incident (``called`` = every outcome summed).
COUNT_KEYS: tuple[str, ...] = ("called", *OUTCOMES)

#: Per class and replication, what the demand came to (:meth:`ReplicationResult.demand_counts`):
#: vehicles requested, vehicles that accepted the call (``assembled`` + ``en_route``) and
#: vehicles registered at the staging point by the deadline.
DEMAND_KEYS: tuple[str, ...] = ("requested", "accepted", "arrived")


class VehicleRow(NamedTuple):
    """One called vehicle of one replication (times in minutes from the incident report;
    NaN where not reached; stage durations for the stages it went through)."""

    vehicle: int
    vehicle_class: str
    depot: int
    outcome: str
    called_min: float
    accepted_min: float
    rolling_min: float
    registered_min: float
    callout: float
    mobilisation: float
    travel: float
    checkpoint_wait: float
    staging_wait: float


#: Vehicle log columns, in :class:`VehicleRow` order.
VEHICLE_FIELDS: tuple[str, ...] = VehicleRow._fields


@dataclass
class ReplicationResult:
    """Flat outcome of one replication of one incident."""

    completion_min: float  # inf when the target can never be met
    class_completion_min: dict[str, float]
    critical_class: str | None
    breakdown_min: dict[str, float]  # stages of the vehicle that set the completion time
    counts: dict[str, int]
    class_counts: dict[str, dict[str, int]]
    vehicles: list[VehicleRow] | None = None  # when logged
    #: Registration times (minutes from the report) of every assembled vehicle of the
    #: requested classes, sorted: 8 bytes a vehicle, enough for the arrival curves, so figures
    #: never need the vehicle log.
    registered_min: np.ndarray | None = None
    #: Per requested class, the vehicles registered at the staging point by the deadline.
    class_arrived: dict[str, int] = field(default_factory=dict)

    def demand_counts(self, plan: IncidentPlan) -> dict[str, dict[str, int]]:
        """Per requested class: vehicles ``requested``, ``accepted`` and ``arrived`` by the
        deadline (:data:`DEMAND_KEYS`) in this replication.

        Parameters
        ----------
        plan
            The incident plan the replication ran (it holds what was requested).
        """
        out = {}
        for cp in plan.classes:
            c = self.class_counts[cp.vehicle_class]
            out[cp.vehicle_class] = {
                "requested": cp.requested,
                "accepted": c["assembled"] + c["en_route"],
                "arrived": self.class_arrived[cp.vehicle_class],
            }
        return out


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
        self.outcome = np.full(n, -1, dtype=np.int8)  # Outcome code; -1: not called
        self.alert_end = np.nan
        self.last_call_end = -np.inf  # the heap engine's horizon check

    # -- results -----------------------------------------------------------------------------
    def result(self) -> ReplicationResult:
        plan, t0 = self.plan, self.t0
        reg = self.t_registered - t0
        class_completion: dict[str, float] = {}
        critical_vehicle: dict[str, int] = {}
        class_counts: dict[str, dict[str, int]] = {}
        class_arrived: dict[str, int] = {}
        for cp in plan.classes:
            cand = cp.candidates
            oc = self.outcome[cand]
            tally = np.bincount(oc.astype(np.int64) + 1, minlength=len(OUTCOMES) + 1).tolist()
            counts = {name: tally[i + 1] for i, name in enumerate(OUTCOMES)}
            counts["called"] = oc.size - tally[0]
            class_counts[cp.vehicle_class] = counts
            times = reg[cand]
            class_arrived[cp.vehicle_class] = int(np.count_nonzero(times <= plan.deadline_min))
            # What the target counts against (sim.demand): the vehicles that accepted the call
            # for `all_accepted`, else those requested (every candidate for `all_in_scope`).
            accepted = counts["assembled"] + counts["en_route"]
            basis = accepted if cp.basis is Basis.ALL_ACCEPTED else cp.requested
            need = math.ceil(plan.success_fraction * basis - 1e-9)
            done = np.flatnonzero(~np.isnan(times))
            if need == 0 and cp.basis is Basis.COUNT:
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
        rows = self._vehicle_rows() if self.log else None
        if plan.classes:
            cand = np.concatenate([cp.candidates for cp in plan.classes])
            registered = np.sort(reg[cand[self.outcome[cand] == Outcome.ASSEMBLED]])
        else:
            registered = np.zeros(0)

        def stages(k: str) -> dict[str, float] | None:
            v = critical_vehicle.get(k)
            return None if v is None else self._stages(v)

        return assemble(class_completion, stages, class_counts, class_arrived, registered, rows)

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

    def _vehicle_rows(self) -> list[VehicleRow]:
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
                    VehicleRow(
                        v,
                        cp.vehicle_class,
                        int(plan.vehicle_depot[v]),
                        OUTCOMES[o],
                        *(float(x) for x in times),
                    )
                )
        return rows


def assemble(
    class_completion: dict[str, float],
    stages: Callable[[str], dict[str, float] | None],
    class_counts: dict[str, dict[str, int]],
    class_arrived: dict[str, int],
    registered: np.ndarray,
    rows: list[VehicleRow] | None,
    counts: dict[str, int] | None = None,
) -> ReplicationResult:
    """A replication's result from its per-class figures (both the trace of one replication,
    :meth:`Trace.result`, and the batch engine, :mod:`sim.batch`, end here).

    Parameters
    ----------
    class_completion
        Per class, in class order: the completion (minutes from the report; ``inf`` never).
    stages
        The stage minutes (:data:`STAGES`) of a class's critical vehicle, ``None`` if none.
    class_counts, class_arrived
        Per class: outcome tallies with ``called``; vehicles registered by the deadline.
    registered
        Sorted registration minutes of every assembled vehicle.
    rows
        The vehicle log, when kept.
    counts
        The tallies of ``class_counts`` summed over the classes, in :data:`COUNT_KEYS` order
        (summed here when ``None``).
    """
    if counts is None:
        counts = {key: sum(c[key] for c in class_counts.values()) for key in COUNT_KEYS}
    completion = max(class_completion.values(), default=0.0)
    critical_class = None
    breakdown = dict.fromkeys(STAGES, math.nan)
    if class_completion and math.isfinite(completion):
        # The class whose need-th vehicle registered last; first in class order on ties.
        critical_class = max(class_completion, key=lambda k: class_completion[k])
        found = stages(critical_class)
        if found is not None:
            breakdown = found
    elif class_completion:
        critical_class = next(k for k, t in class_completion.items() if math.isinf(t))
    return ReplicationResult(
        completion,
        class_completion,
        critical_class,
        breakdown,
        counts,
        class_counts,
        rows,
        registered,
        class_arrived,
    )
