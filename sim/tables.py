"""The tables of a run: one row per incident per replication, one row per called vehicle.

:func:`incident_rows` and :func:`vehicle_rows` are the single source of ``incidents.csv``
and ``vehicles.csv`` (:mod:`sim.outputs`) and of
:meth:`sim.experiment.RunResult.to_dataframe` (:func:`run_table`); :func:`typed_frame` gives
tables built in memory and tables read back from CSV the same column types.

The functions take any object with the attributes of a :class:`sim.experiment.RunResult`
(``scenario``, ``plans``, ``results``): this module sits below the experiment in the data flow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from sim.errors import ValidationError
from sim.records import COUNT_KEYS, DEMAND_KEYS, STAGES, VEHICLE_FIELDS

_COUNTS = COUNT_KEYS


def incident_fields(classes: Iterable[str]) -> tuple[str, ...]:
    """Columns of ``incidents.csv`` for a scenario with these vehicle classes.

    Parameters
    ----------
    classes
        The scenario's classes in their order (``scenario.fleet.classes``): one
        ``completion_<class>_min`` column each, and at the end ``requested_<class>``,
        ``accepted_<class>`` and ``arrived_<class>`` (vehicles registered by the deadline;
        :data:`sim.records.DEMAND_KEYS`), empty for a class the incident does not request.
    """
    return (
        "incident",
        "replication",
        "tier",
        "deadline_min",
        "completion_min",
        "met",
        *(f"completion_{k}_min" for k in classes),
        "critical_class",
        *(f"{s}_min" for s in STAGES),
        *_COUNTS,
        *(f"{key}_{k}" for k in classes for key in DEMAND_KEYS),
    )


#: Columns of ``vehicles.csv``.
VEHICLE_LOG_FIELDS: tuple[str, ...] = ("incident", "replication", *VEHICLE_FIELDS, "depot_name")

#: Columns of ``arrivals.csv``: per incident and minute since the report, the vehicles of the
#: requested classes registered at the staging point by then, 10/50/90 % over replications.
ARRIVAL_FIELDS: tuple[str, ...] = (
    "incident",
    "minute",
    "assembled_p10",
    "assembled_p50",
    "assembled_p90",
)


def incident_rows(result: Any) -> Iterator[tuple[Any, ...]]:
    """One row per incident per replication, in :func:`incident_fields` order.

    The single source of ``incidents.csv`` and of ``RunResult.to_dataframe("incidents")``.
    Values are raw: completion ``inf`` where the target can never be met, ``None`` for a class
    the incident does not request, ``NaN`` stage minutes where the target was never met.

    Parameters
    ----------
    result
        A :class:`sim.experiment.RunResult`.
    """
    classes = tuple(result.scenario.fleet.classes)
    for plan, reps in zip(result.plans, result.results, strict=True):
        for r, rep in enumerate(reps):
            demand = rep.demand_counts(plan)
            yield (
                plan.name,
                r,
                plan.tier,
                plan.deadline_min,
                rep.completion_min,
                rep.completion_min <= plan.deadline_min,
                *(rep.class_completion_min.get(k) for k in classes),
                rep.critical_class,
                *(rep.breakdown_min.get(s) for s in STAGES),
                *(rep.counts.get(k) for k in _COUNTS),
                *(demand.get(k, {}).get(key) for k in classes for key in DEMAND_KEYS),
            )


def vehicle_rows(result: Any) -> Iterator[tuple[Any, ...]]:
    """One row per called vehicle per replication, in :data:`VEHICLE_LOG_FIELDS` order.

    The single source of ``vehicles.csv`` and of ``RunResult.to_dataframe("vehicles")``.

    Parameters
    ----------
    result
        A :class:`sim.experiment.RunResult` run with ``log_vehicles=True``.

    Raises
    ------
    ValidationError
        When the run kept no vehicle log.
    """
    depots = [d.name for d in result.scenario.fleet.depots]
    col = VEHICLE_FIELDS.index("depot")
    for plan, reps in zip(result.plans, result.results, strict=True):
        for r, rep in enumerate(reps):
            if rep.vehicles is None:
                raise ValidationError(
                    "the run kept no vehicle log: run with log_vehicles=True "
                    "(sim.run(..., log_vehicles=True), fleetsim run --vehicle-log)"
                )
            for v in rep.vehicles:
                yield (plan.name, r, *v, depots[int(v[col])])


def assembled_counts(reps: Any, grid: np.ndarray) -> np.ndarray:
    """Vehicles registered at the staging point by each time of ``grid``, per replication.

    Counted from the registration times every replication keeps
    (:attr:`sim.records.ReplicationResult.registered_min`, 8 bytes a vehicle), so no vehicle
    log is needed.

    Parameters
    ----------
    reps
        One incident's replications (:class:`sim.records.ReplicationResult`).
    grid
        Minutes since the incident report.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(reps), grid.size)``.

    Raises
    ------
    ValidationError
        When a replication carries no registration times.
    """
    out = np.zeros((len(reps), grid.size))
    for i, r in enumerate(reps):
        if r.registered_min is None:
            raise ValidationError("arrival curve: the replications carry no registration times")
        out[i] = np.searchsorted(r.registered_min, grid, side="right")
    return out


def arrival_horizon(deadline_min: float, completion_min: np.ndarray) -> float:
    """How far an arrival curve goes: 1.25 × the deadline, or 1.1 × the p95 completion."""
    finite = completion_min[np.isfinite(completion_min)]
    return max(deadline_min * 1.25, float(np.quantile(finite, 0.95)) * 1.1 if finite.size else 0)


def arrival_rows(result: Any) -> Iterator[tuple[Any, ...]]:
    """The arrival curves of a run, in :data:`ARRIVAL_FIELDS` order (``arrivals.csv``).

    Per incident, one row per whole minute from 0 to :func:`arrival_horizon`: the 10 %,
    50 % and 90 % quantiles over replications of the vehicles registered by that minute.

    Parameters
    ----------
    result
        A :class:`sim.experiment.RunResult`.
    """
    for plan, reps in zip(result.plans, result.results, strict=True):
        completion = np.array([r.completion_min for r in reps], dtype=float)
        grid = np.arange(0.0, math.ceil(arrival_horizon(plan.deadline_min, completion)) + 1.0)
        lo, med, hi = np.quantile(assembled_counts(reps, grid), [0.1, 0.5, 0.9], axis=0)
        for k, minute in enumerate(grid.tolist()):
            yield (plan.name, minute, float(lo[k]), float(med[k]), float(hi[k]))


# ---------------------------------------------------------------------------------------------
# DataFrames (the same rows as the CSV files)
# ---------------------------------------------------------------------------------------------

#: The tables of a run: kind → (columns of a run, row builder). ``<kind>.csv`` is the file
#: of each.
TABLES: dict[
    str,
    tuple[Callable[[Any], tuple[str, ...]], Callable[[Any], Iterator[tuple[Any, ...]]]],
] = {
    "incidents": (lambda result: incident_fields(result.scenario.fleet.classes), incident_rows),
    "vehicles": (lambda result: VEHICLE_LOG_FIELDS, vehicle_rows),
}


def columns(result: Any, kind: str = "incidents") -> tuple[str, ...]:
    """The columns of a run's ``<kind>.csv`` (``incidents`` or ``vehicles``).

    Parameters
    ----------
    result
        A :class:`sim.experiment.RunResult`.
    kind
        ``incidents`` or ``vehicles``.

    Raises
    ------
    ValidationError
        For an unknown ``kind``.
    """
    if kind not in TABLES:
        raise ValidationError(f"`kind` must be one of {tuple(TABLES)}, got {kind!r}")
    return TABLES[kind][0](result)


_TEXT_COLUMNS = {
    "incident", "tier", "critical_class", "vehicle_class", "outcome", "depot_name",
    "site", "place", "label", "zone", "bottleneck_class", "verdict", "note",
    "a", "b", "tier_a", "tier_b",
}  # fmt: skip
_INT_COLUMNS = {"replication", "vehicle", "depot", "node", *_COUNTS}


def typed_frame(df: Any) -> Any:
    """Give a table its column types, whether built in memory or read from a CSV file.

    Identifiers and counts become ``int64``, ``met`` ``bool``, names text (missing: ``NaN``)
    and everything else ``float64`` (missing: ``NaN``; never met: ``inf``).

    Parameters
    ----------
    df
        A ``pandas.DataFrame`` with the columns of ``incidents.csv``
        (:func:`incident_fields`), ``vehicles.csv`` (:data:`VEHICLE_LOG_FIELDS`) or
        ``sites.csv`` (:data:`sim.sweeps.SITE_FIELDS`, the interval as two columns).
    """
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if c == "met":
            out[c] = s.astype(bool)
        elif c in _INT_COLUMNS:
            out[c] = s.astype("int64")
        elif c in _TEXT_COLUMNS:
            out[c] = s.astype(object).where(s.notna(), np.nan).infer_objects()
        else:
            out[c] = s.astype("float64")
    return out


def run_table(result: Any, kind: str = "incidents") -> Any:
    """A run's table as a ``pandas.DataFrame``: the rows of ``<kind>.csv``, unrounded.

    Parameters
    ----------
    result
        A :class:`sim.experiment.RunResult` (for ``vehicles``, run with ``log_vehicles=True``).
    kind
        ``incidents`` (one row per incident per replication) or ``vehicles`` (one row per
        called vehicle per replication).

    Raises
    ------
    ValidationError
        For an unknown ``kind``, or ``vehicles`` of a run without a vehicle log.
    """
    import pandas as pd

    fields = columns(result, kind)
    rows = TABLES[kind][1]
    return typed_frame(pd.DataFrame.from_records(list(rows(result)), columns=list(fields)))
