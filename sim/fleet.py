"""The reserve fleet: operators with dispatchers, depots, and the classes they run.

The default is the 2,010-vehicle Ordos reserve of the founding article (2022). Its split by
class and its depots are *assumptions*, documented next to each number below and in the
README ("Model and assumptions"); only the total (2,010) and the five classes are sourced.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import field, replace
from typing import Annotated

import numpy as np

from sim.dists import Dist
from sim.errors import ValidationError
from sim.fields import AsTuple, CapacityUnit, ClassName, Count, PositiveInt, record
from sim.plan import PHONE, CalloutSpec, vehicle_keys
from sim.vehicles import DEFAULT_CLASSES, ClassParams, check_class, class_problem


@record(lambda v: f"operator {v.get('name')!r}")
class Operator:
    """A company that dispatches reserve vehicles of one class.

    Parameters
    ----------
    name
        Unique operator name.
    vehicle_class
        The class it operates.
    dispatchers
        Number of dispatchers who place calls in parallel (a SimPy ``Resource``).
    callout
        How it reaches its drivers: by phone through its dispatchers (the default) or by a
        platform push (:class:`sim.plan.CalloutSpec`).
    """

    name: str
    vehicle_class: ClassName
    dispatchers: PositiveInt
    callout: CalloutSpec = PHONE


#: The call-out of the default fleet's taxi operators: a taxi dispatch platform (ASSUMPTION:
#: the article names no taxi platform; ride-hailing and taxi apps push orders to every driver
#: online). Batches of the 50 nearest drivers not yet pushed, one every 2 minutes (near
#: drivers are asked first, and about 90 % of a batch has answered before the next widens
#: the circle), a response within minutes (median 1, sigma 0.8: drivers at work have the app
#: open), confirmation in about half a minute.
TAXI_PLATFORM = CalloutSpec("platform", 50, 2.0, Dist.lognormal(1.0, 0.8), Dist.lognormal(0.5, 0.3))
#: The call-out of the default fleet's freight hauliers: the city's smart logistics platform
#: (鄂尔多斯智慧物联科技平台, SOURCED [A]: 3,044 traders and logistics companies and 379,000
#: registered drivers; electronic pick-up orders, remote queueing). That it pushes requests to
#: drivers, that the reserve's hauliers call through it, and every number of its push, are
#: ASSUMPTIONS: batches of the 25 nearest trucks not yet pushed every 10 min, a
#: response in a median 3 min (sigma 0.8: drivers on the road pull over first; about 90 %
#: answer within 10 min), confirmation in about 1 min (the haulier checks the truck). The
#: first responses are taken (issue 14), so a shorter interval lets far trucks of a later
#: batch answer before near ones: at 2 min, ordos-123's Otog Front incident falls from P 0.99
#: to 0.16 (freight from 150 km). `fleetsim sensitivity` ranks the interval.
LOGISTICS_PLATFORM = CalloutSpec(
    "platform", 25, 10.0, Dist.lognormal(3.0, 0.8), Dist.lognormal(1.0, 0.3)
)


@record(lambda v: f"depot {v.get('name')!r}")
class Depot:
    """Where reserve vehicles of one class and one operator wait.

    Parameters
    ----------
    name
        Unique depot name.
    location
        A place known to the network, or ``"LAT,LON"``.
    vehicle_class
        The class of its vehicles.
    count
        Number of reserve vehicles (>= 0).
    operator
        Name of the operator that dispatches them.
    """

    name: str
    location: str
    vehicle_class: ClassName
    count: Count
    operator: str


@record("fleet")
class Fleet:
    """The whole reserve: its vehicle classes, operators and depots.

    ``classes`` are the classes that exist in this fleet (usually
    :data:`sim.vehicles.DEFAULT_CLASSES`, plus a scenario's own), in table and figure order;
    every operator and depot runs one of them. Vehicles are numbered in a fixed order (depot
    order, then 0..count-1), so vehicle ``i`` is the same vehicle in every replication and
    every scenario variant that keeps the depots.
    """

    classes: Mapping[ClassName, ClassParams]
    operators: Annotated[tuple[Operator, ...], AsTuple]
    depots: Annotated[tuple[Depot, ...], AsTuple]
    _vehicles: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.classes:
            raise ValidationError("fleet: `classes` is empty")
        for what, item in [("operator", o) for o in self.operators] + [
            ("depot", d) for d in self.depots
        ]:
            problem = class_problem(item.vehicle_class, self.classes)
            if problem:
                raise ValidationError(f"{what} {item.name!r}: `vehicle_class`: {problem}")
        names = [o.name for o in self.operators]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValidationError(f"fleet.operators: duplicate operator names {dup}")
        by_name = {o.name: o for o in self.operators}
        dnames = [d.name for d in self.depots]
        ddup = sorted({n for n in dnames if dnames.count(n) > 1})
        if ddup:
            raise ValidationError(f"fleet.depots: duplicate depot names {ddup}")
        for d in self.depots:
            op = by_name.get(d.operator)
            if op is None:
                raise ValidationError(
                    f"depot {d.name!r}: unknown operator {d.operator!r}; known: {names}"
                )
            if op.vehicle_class != d.vehicle_class:
                raise ValidationError(
                    f"depot {d.name!r}: operator {op.name!r} runs {op.vehicle_class!r}, "
                    f"not {d.vehicle_class!r}"
                )
        if self.total == 0:
            raise ValidationError("fleet: the fleet is empty (every depot count is 0)")

    @property
    def total(self) -> int:
        """Number of reserve vehicles."""
        return sum(d.count for d in self.depots)

    def count_by_class(self) -> dict[str, int]:
        """Number of reserve vehicles per class (every class present, possibly 0)."""
        out = dict.fromkeys(self.classes, 0)
        for d in self.depots:
            out[d.vehicle_class] += d.count
        return out

    def operator_index(self) -> dict[str, int]:
        """Operator name → position in :attr:`operators`."""
        return {o.name: i for i, o in enumerate(self.operators)}

    def vehicle_depots(self) -> np.ndarray:
        """Depot index of every vehicle, in vehicle order (int64, length :attr:`total`)."""
        if "depot" not in self._vehicles:
            counts = np.array([d.count for d in self.depots], dtype=np.int64)
            self._vehicles["depot"] = np.repeat(np.arange(len(self.depots)), counts)
        return self._vehicles["depot"]

    def vehicle_keys(self) -> np.ndarray:
        """Identity key of every vehicle (depot name, class, index within the depot), in
        vehicle order: what its random draws are keyed by (:func:`sim.plan.vehicle_keys`)."""
        if "key" not in self._vehicles:
            self._vehicles["key"] = vehicle_keys(
                [(d.name, d.vehicle_class, d.count) for d in self.depots]
            )
        return self._vehicles["key"]

    def with_totals(self, **totals: int) -> Fleet:
        """Return a copy with new class totals, each spread over the class's depots.

        The same rule as ``fleet: {totals: ...}`` in a scenario file: a class's new total is
        split over its depots in proportion to their current counts (largest remainder,
        deterministic). Other classes are unchanged.

        Parameters
        ----------
        **totals
            Class → new number of vehicles, e.g. ``coach=264``.

        Returns
        -------
        Fleet
            The new fleet. Every vehicle keeps its identity (depot, class, index within the
            depot) and so its random draws: only the added or removed vehicles differ.

        Raises
        ------
        ValidationError
            For an unknown class, a total below 0, or a class without any depot.

        Examples
        --------
        >>> from sim.fleet import default_fleet
        >>> fleet = default_fleet()
        >>> fleet.with_totals(coach=264).count_by_class()["coach"]
        264
        """
        depots = list(self.depots)
        for k, total in totals.items():
            check_class(k, self.classes, parameter="with_totals")
            if isinstance(total, bool) or not isinstance(total, int) or total < 0:
                raise ValidationError(f"`{k}` must be an integer >= 0, got {total!r}")
            depots = spread_total(depots, k, total)
        return replace(self, depots=tuple(depots))


# --------------------------------------------------------------------------------------------
# The default Ordos fleet. Every number below is an ASSUMPTION unless a source is named.
# --------------------------------------------------------------------------------------------

#: 2020 census population by banner/district (../shared/data/ordos/banners.csv). Uxin, Hanggin
#: and Otog Front are not found separately: their derived combined total 361,914 is split in
#: three equal parts (ASSUMPTION).
BANNER_POPULATION: dict[str, int] = {
    "Dongsheng": 574_442,
    "Kangbashi": 118_796,
    "Ejin Horo": 247_983,
    "Dalad": 328_593,
    "Jungar": 359_184,
    "Otog": 162_726,
    "Uxin": 120_638,
    "Hanggin": 120_638,
    "Otog Front": 120_638,
}

#: Seat place id of every banner/district (places.csv).
BANNER_SEAT: dict[str, str] = {
    "Dongsheng": "dongsheng",
    "Kangbashi": "kangbashi",
    "Ejin Horo": "altan_xire",
    "Dalad": "shulinzhao",
    "Jungar": "xuejiawan",
    "Otog": "ulan",
    "Uxin": "galutu",
    "Hanggin": "xini",
    "Otog Front": "aoleqi",
}

#: The one urban taxi market of Dongsheng, Kangbashi and Ejin Horo (2020 transport-bureau
#: notice, facts.md §1: "三地互通经营、同城管理").
CENTRAL_TAXI_POOL: tuple[str, ...] = ("Dongsheng", "Kangbashi", "Ejin Horo")


def _largest_remainder(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Split ``total`` in integers proportional to ``weights`` (Hamilton's method)."""
    wsum = sum(weights.values())
    exact = {k: total * w / wsum for k, w in weights.items()}
    out = {k: math.floor(v) for k, v in exact.items()}
    short = total - sum(out.values())
    # Ties broken by name so the split is deterministic.
    for k in sorted(exact, key=lambda k: (-(exact[k] - out[k]), k))[:short]:
        out[k] += 1
    return out


def spread_total(depots: Sequence[Depot], vehicle_class: str, total: int) -> list[Depot]:
    """Set the total of one class, spread over its depots in proportion to their counts.

    Parameters
    ----------
    depots
        The depots (of every class).
    vehicle_class
        The class whose total changes.
    total
        Its new total (>= 0).

    Returns
    -------
    list of Depot
        The depots in the same order; only those of ``vehicle_class`` change count
        (largest remainder, deterministic).

    Raises
    ------
    ValidationError
        When the class has no depot with a vehicle to spread the total over.
    """
    idx = [i for i, d in enumerate(depots) if d.vehicle_class == vehicle_class]
    current = sum(depots[i].count for i in idx)
    out = list(depots)
    if total == current:
        return out
    if current == 0:
        raise ValidationError(
            f"cannot set {vehicle_class} to {total}: the fleet has no {vehicle_class} depot "
            "to spread them over"
        )
    split = _largest_remainder(total, {str(i): depots[i].count for i in idx})
    for i in idx:
        out[i] = replace(depots[i], count=split[str(i)])
    return out


def resized(
    depots: Sequence[Depot], *, scale: float = 1.0, totals: Mapping[str, int] | None = None
) -> tuple[list[Depot], dict[str, str]]:
    """Scale every class total and set some class totals, each spread over the class's depots.

    The rule of ``fleet: {scale, totals}`` in a scenario file: a class's new total is
    ``totals[class]`` when given, else ``round(current x scale)``, split over its depots in
    proportion to their current counts (:func:`spread_total`).

    Parameters
    ----------
    depots
        The depots (of every class).
    scale
        Factor on every class total.
    totals
        Class → new total, instead of the scaled one.

    Returns
    -------
    depots, problems
        The depots in the same order, and class → message for every class whose new total
        cannot be spread (it has no vehicle to spread it over); those classes are unchanged.
    """
    totals = dict(totals or {})
    out = list(depots)
    problems: dict[str, str] = {}
    for k in dict.fromkeys([*(d.vehicle_class for d in depots), *totals]):
        current = sum(d.count for d in out if d.vehicle_class == k)
        target = totals[k] if k in totals else round(current * scale)
        try:
            out = spread_total(out, k, target)
        except ValidationError as exc:
            problems[k] = str(exc)
    return out, problems


def people_to_vehicles(
    amount: float,
    classes: Mapping[str, float | None] | Sequence[str],
    fleet: Fleet,
    *,
    unit: CapacityUnit = "persons",
) -> dict[str, int]:
    """Convert an amount to move (people or tonnes) into vehicles per class.

    The rule: the amount is split over ``classes`` in proportion to their weights, and each
    part becomes ``ceil(part / capacity)`` vehicles of that class. Weights not given (a list,
    or ``None`` values) default to the class's capacity in the fleet, ``count x capacity``
    (so 2,000 people by coach and bus go in proportion to the reserve's coach and bus seats).

    Parameters
    ----------
    amount
        People or tonnes to move (>= 0).
    classes
        Class names, or class → weight (``None`` = the class's fleet capacity).
    fleet
        The fleet (capacities and counts).
    unit
        ``persons`` or ``tonnes``: every class must carry that unit.

    Returns
    -------
    dict
        Vehicles per class (every listed class, possibly 0).

    Raises
    ------
    ValidationError
        For a class of the wrong unit, an empty list, or no capacity to split by.
    """
    weights = dict.fromkeys(classes) if not isinstance(classes, Mapping) else dict(classes)
    if not weights:
        raise ValidationError(f"no classes given to carry the {unit}")
    if not (isinstance(amount, int | float) and math.isfinite(amount) and amount >= 0):
        raise ValidationError(f"the amount to move must be >= 0, got {amount!r}")
    counts = fleet.count_by_class()
    for k in weights:
        check_class(k, fleet.classes, parameter="classes")
        if fleet.classes[k].capacity_unit != unit:
            raise ValidationError(
                f"class {k!r} carries {fleet.classes[k].capacity_unit}, not {unit}"
            )
    w = {
        k: float(v) if v is not None else counts[k] * fleet.classes[k].capacity
        for k, v in weights.items()
    }
    total = sum(w.values())
    if total <= 0:
        raise ValidationError(
            f"no capacity to split {amount:g} {unit} over {', '.join(weights)}: the fleet has "
            f"none of these vehicles; give weights ({{class: weight}})"
        )
    return {
        k: math.ceil(amount * wk / total / fleet.classes[k].capacity - 1e-9) for k, wk in w.items()
    }


def default_fleet() -> Fleet:
    """Return the default 2,010-vehicle Ordos reserve fleet.

    Split (ASSUMPTION, following DESIGN.md from Hohhot's 2022 reserve, 86 % taxis, adjusted to
    the five Ordos classes): taxi 1,300 · coach 220 · bus 280 · freight 160 · hazmat 50.
    Taxis are allocated to banners in proportion to 2020 population; coaches at the banner
    bus stations (Dongsheng's main station larger); buses by urban size; freight and hazmat
    near the industrial areas (Jungar, Ejin Horo, Otog/Qipanjing, Uxin, Dalad), placed at the
    banner seats because the industrial parks have no coordinates offline.

    Returns
    -------
    Fleet
        The default fleet (2,010 vehicles).
    """
    taxis = _largest_remainder(1300, BANNER_POPULATION)
    coaches = {"Dongsheng": 60, "Kangbashi": 20} | {
        b: 20 for b in BANNER_SEAT if b not in ("Dongsheng", "Kangbashi")
    }
    buses = {
        "Dongsheng": 130,
        "Kangbashi": 40,
        "Ejin Horo": 30,
        "Dalad": 20,
        "Jungar": 25,
        "Otog": 10,
        "Uxin": 10,
        "Hanggin": 8,
        "Otog Front": 7,
    }
    freight = {"Jungar": 45, "Ejin Horo": 35, "Otog": 30, "Uxin": 25, "Dalad": 25}
    hazmat = {"Jungar": 15, "Otog": 15, "Uxin": 10, "Ejin Horo": 10}

    operators: list[Operator] = [
        Operator("Central taxi pool", "taxi", dispatchers=8, callout=TAXI_PLATFORM),
        Operator("Dongsheng bus company", "bus", dispatchers=3),
        Operator("Dongsheng coach station", "coach", dispatchers=3),
    ]
    depots: list[Depot] = []

    def add(kind: str, banner: str, count: int, operator: str, dispatchers: int) -> None:
        if operator not in {o.name for o in operators}:
            callout = {"taxi": TAXI_PLATFORM, "freight": LOGISTICS_PLATFORM}.get(kind, PHONE)
            operators.append(Operator(operator, kind, dispatchers, callout))
        depots.append(Depot(f"{banner} {kind}", BANNER_SEAT[banner], kind, count, operator))

    for banner, n in taxis.items():
        if banner in CENTRAL_TAXI_POOL:
            add("taxi", banner, n, "Central taxi pool", 8)
        else:
            add("taxi", banner, n, f"{banner} taxi company", 2)
    for banner, n in coaches.items():
        op = "Dongsheng coach station" if banner == "Dongsheng" else f"{banner} coach station"
        add("coach", banner, n, op, 2)
    for banner, n in buses.items():
        op = "Dongsheng bus company" if banner == "Dongsheng" else f"{banner} bus company"
        add("bus", banner, n, op, 2)
    for banner, n in freight.items():
        add("freight", banner, n, f"{banner} freight haulier", 2)
    for banner, n in hazmat.items():
        add("hazmat", banner, n, f"{banner} hazmat carrier", 1)
    return Fleet(DEFAULT_CLASSES, tuple(operators), tuple(depots))
