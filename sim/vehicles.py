"""Vehicle classes as data: their parameters, their file form and the five defaults.

A vehicle class is a :class:`ClassParams` record: legal speed caps (:class:`SpeedProfile`),
availability, reach and acceptance, call and mobilisation delays, capacity, a colour for
figures and a one-line description. The five classes of the Ordos reserve fleet (taxi, coach,
bus, freight, hazmat) are defined in ``sim/data/vehicle_classes.yaml``, with the sources of the
speed caps and the assumptions behind every other number; :data:`DEFAULT_CLASSES` is that file,
loaded once.

A scenario file overrides a default class or defines a new one (a minibus, an ambulance, a
tanker) under ``vehicle_classes``, in the very form of the data file (:class:`ClassSpec`,
turned into a record by :func:`build_class`). Which classes exist is therefore the scenario's
business: its fleet holds them (``fleet.classes``, in table and figure order) and the road
network routes them (``network.classes``); :func:`check_class` checks a name against such a set.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, Field, TypeAdapter, ValidationInfo, WithJsonSchema
from pydantic import ValidationError as PydanticValidationError

from sim.dists import Dist
from sim.errors import ValidationError
from sim.fields import (
    AtMost,
    CapacityUnit,
    ClassName,
    Colour,
    DistField,
    FileModel,
    PositiveFloat,
    Probability,
    SpeedCap,
    describe,
    did_you_mean,
    error_path,
    fail,
    record,
)
from sim.limits import MAX_FACTOR

Period = Literal["day", "night"]

#: OSM ``highway`` values counted as expressway (高速公路) for the legal caps.
EXPRESSWAY_HIGHWAYS: frozenset[str] = frozenset({"motorway", "motorway_link"})


@record("speed profile")
class SpeedProfile:
    """Speed caps of one vehicle class.

    Parameters
    ----------
    expressway_kmh
        Cap on expressways (``highway=motorway`` / ``motorway_link``).
    other_kmh
        Cap on every other road; ``math.inf`` means the posted (edge) speed governs alone.
    factor
        Multiplier on the resulting speed, for what-ifs such as "taxis 20 % slower";
        1.0 means the class drives at the cap or the posted speed, whichever is lower.
    """

    expressway_kmh: PositiveFloat
    other_kmh: SpeedCap = math.inf
    factor: PositiveFloat = 1.0

    def cap_kmh(self, expressway: bool) -> float:
        """Return the cap in km/h on an expressway (``True``) or another road."""
        return self.expressway_kmh if expressway else self.other_kmh


@record()
class ClassParams:
    """One vehicle class: its operational parameters, speed caps, colour and description.

    Parameters
    ----------
    availability
        Probability that a reserve vehicle is available when called (not on a long-haul trip
        or in maintenance).
    reach_day, reach_night
        Probability that the driver answers the call, by day and by night.
    accept
        Probability that a reached driver accepts.
    call
        Dispatcher time for one call attempt, minutes (whatever its outcome).
    mobilisation_day, mobilisation_night
        From accepted call to vehicle rolling, minutes.
    capacity
        Persons (passenger classes) or tonnes (freight classes) per vehicle, for converting
        "people/tonnes to move" into vehicles.
    capacity_unit
        ``"persons"`` or ``"tonnes"``.
    speed
        Legal speed caps.
    colour
        ``"#RRGGBB"`` in figures; ``None`` takes a free colour of a fixed palette
        (:func:`class_colours`).
    description
        One line for people.
    """

    availability: Probability
    reach_day: Probability
    reach_night: Probability
    accept: Probability
    call: DistField
    mobilisation_day: DistField
    mobilisation_night: DistField
    capacity: PositiveFloat
    capacity_unit: CapacityUnit
    speed: SpeedProfile
    colour: Colour | None = None
    description: str = ""

    def reach(self, period: Period) -> float:
        """Probability that the driver answers, in ``period``."""
        return self.reach_day if period == "day" else self.reach_night

    def mobilisation(self, period: Period) -> Dist:
        """Mobilisation-delay distribution in ``period``."""
        return self.mobilisation_day if period == "day" else self.mobilisation_night


# ---------------------------------------------------------------------------------------------
# The file form of a class (the data file and a scenario's `vehicle_classes`)
# ---------------------------------------------------------------------------------------------


def _check_class(value: str, info: ValidationInfo) -> str:
    ctx = info.context
    classes = ctx.get("classes") if isinstance(ctx, dict) else None
    problem = class_problem(value, DEFAULT_CLASSES if classes is None else classes)
    if problem:
        raise fail(problem)
    return value


#: A class a file names: one of the validation context's ``classes`` (a scenario file's: the
#: defaults and its own, :func:`sim.schema.file_classes`), by default the default classes.
VehicleClass = Annotated[
    str,
    AfterValidator(_check_class),
    WithJsonSchema(
        {
            "type": "string",
            "description": "A vehicle class: a default one (sim/data/vehicle_classes.yaml) or "
            "one defined under vehicle_classes",
        },
        mode="validation",
    ),
]


class SpeedSpec(FileModel):
    """Speed caps of a class (km/h) and a factor on the resulting speed."""

    expressway_kmh: PositiveFloat | None = Field(
        None, description="Cap on expressways (highway=motorway/motorway_link)"
    )
    other_kmh: SpeedCap | None = Field(
        None, description="Cap on other roads; .inf for none (the default of a new class)"
    )
    factor: PositiveFloat | None = Field(
        None, description="Multiply the resulting speed (the default of a new class: 1)"
    )


class ClassSpec(FileModel):
    """A vehicle class: overrides of a default class, or a new class.

    A default class (:data:`DEFAULT_CLASSES`) keeps every parameter not given. A new
    class gives ``like: CLASS`` to start from another class's parameters (not its colour or
    description), or gives every parameter (``speed`` needs at least ``expressway_kmh``).
    """

    like: VehicleClass | None = Field(
        None,
        description="Start from this class's parameters (a default class or one defined "
        "above); its colour and description are not copied",
    )
    description: str | None = Field(None, description="One line for people")
    colour: Colour | None = Field(
        None, description='"#RRGGBB" in figures; default: a free colour of a fixed palette'
    )
    availability: Probability | None = Field(
        None, description="P(a reserve vehicle is available when called)"
    )
    reach_day: Probability | None = Field(None, description="P(the driver answers), by day")
    reach_night: Probability | None = Field(
        None, description="P(the driver answers), by night (22:00-06:00)"
    )
    accept: Probability | None = Field(None, description="P(a reached driver accepts)")
    call: DistField | None = Field(None, description="Dispatcher time per call attempt, minutes")
    mobilisation_day: DistField | None = Field(
        None, description="Accepted call to vehicle rolling, minutes, by day"
    )
    mobilisation_night: DistField | None = Field(
        None, description="Accepted call to vehicle rolling, minutes, by night"
    )
    mobilisation_factor: Annotated[PositiveFloat, AtMost(MAX_FACTOR)] | None = Field(
        None, description="Multiply the day and night mobilisation delays (1.2 = 20 % slower)"
    )
    capacity: PositiveFloat | None = Field(None, description="Persons or tonnes per vehicle")
    capacity_unit: CapacityUnit | None = None
    speed: SpeedSpec | None = None


#: Parameters a new class must give when it has no ``like``.
_PARAMETERS: tuple[str, ...] = (
    "availability",
    "reach_day",
    "reach_night",
    "accept",
    "call",
    "mobilisation_day",
    "mobilisation_night",
    "capacity",
    "capacity_unit",
)


def build_class(name: str, spec: ClassSpec, known: Mapping[str, ClassParams]) -> ClassParams:
    """Turn the file form of a class into a record.

    Parameters
    ----------
    name
        The class name.
    spec
        Its file form.
    known
        The classes defined so far. ``spec.like`` names one of them; otherwise, when ``name``
        is one of them, its parameters are the base that ``spec`` overrides.

    Returns
    -------
    ClassParams
        The class. Its colour and description are those of ``known[name]`` unless ``spec``
        gives them (never those of ``like``).

    Raises
    ------
    ValidationError
        For an unknown ``like``, or a new class that leaves parameters out without ``like``.
    """
    own = known.get(name)
    base = own
    if spec.like is not None:
        problem = class_problem(spec.like, known)
        if problem:
            raise ValidationError(f"`like`: {problem}")
        base = known[spec.like]
    values: dict[str, Any] = {}
    if base is not None:
        values = {f.name: getattr(base, f.name) for f in dataclasses.fields(ClassParams)}
    values["colour"] = own.colour if own is not None else None
    values["description"] = own.description if own is not None else ""
    for key in (*_PARAMETERS, "colour", "description"):
        if getattr(spec, key) is not None:
            values[key] = getattr(spec, key)
    if spec.mobilisation_factor is not None:
        for key in ("mobilisation_day", "mobilisation_night"):
            if key in values:
                values[key] = values[key].scaled(spec.mobilisation_factor)
    given = {
        key: getattr(spec.speed, key)
        for key in SpeedSpec.model_fields
        if spec.speed is not None and getattr(spec.speed, key) is not None
    }
    if "speed" in values:
        values["speed"] = dataclasses.replace(values["speed"], **given)
    elif "expressway_kmh" in given:
        values["speed"] = SpeedProfile(**given)
    missing = [key for key in _PARAMETERS if key not in values]
    missing += [] if "speed" in values else ["speed.expressway_kmh"]
    if missing:
        raise ValidationError(
            f"{name!r} is a new vehicle class: give `like: CLASS` to start from another "
            f"class's parameters, or every parameter; missing: {', '.join(missing)}"
        )
    return ClassParams(**values)


_CLASS_SPECS = TypeAdapter(dict[ClassName, ClassSpec])
# libyaml's safe loader when PyYAML has it (the same data, parsed in C: a shorter start-up).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_classes(text: str, *, source: str = "vehicle classes") -> dict[str, ClassParams]:
    """Read classes from YAML text of the form ``vehicle_classes: {NAME: CLASS, ...}``.

    Each class is built over the ones before it (:func:`build_class` with no default), so
    every class gives all its parameters or a ``like``.

    Raises
    ------
    ValidationError
        Naming ``source``, the key path and the problem.
    """
    data = yaml.load(text, Loader=_SAFE_LOADER)
    if not isinstance(data, dict) or set(data) != {"vehicle_classes"}:
        raise ValidationError(f"{source}: expected one key, `vehicle_classes`")
    try:
        specs = _CLASS_SPECS.validate_python(
            data["vehicle_classes"], context={"classes": tuple(data["vehicle_classes"] or ())}
        )
    except PydanticValidationError as exc:
        problems = [
            f"vehicle_classes.{'.'.join(str(p) for p in error_path(e['loc']))}: {describe(e)}"
            for e in exc.errors()
        ]
        raise ValidationError(f"{source}: {'; '.join(problems)}") from None
    classes: dict[str, ClassParams] = {}
    for name, spec in specs.items():
        try:
            classes[name] = build_class(name, spec, classes)
        except ValidationError as exc:
            raise ValidationError(f"{source}: vehicle_classes.{name}: {exc}") from None
    return classes


#: The default classes (``sim/data/vehicle_classes.yaml``), in table and figure order.
DEFAULT_CLASSES: Mapping[str, ClassParams] = load_classes(
    resources.files("sim").joinpath("data", "vehicle_classes.yaml").read_text(encoding="utf-8"),
    source="sim/data/vehicle_classes.yaml",
)

#: Legal caps of the default classes.
DEFAULT_SPEED_PROFILES: Mapping[str, SpeedProfile] = {
    k: c.speed for k, c in DEFAULT_CLASSES.items()
}


# ---------------------------------------------------------------------------------------------
# Names and colours
# ---------------------------------------------------------------------------------------------


def class_problem(name: object, classes: Iterable[str]) -> str | None:
    """What is wrong with ``name`` as one of ``classes`` (``None`` when it is one).

    The message lists the classes and the closest matches.
    """
    known = list(classes)
    if name in known:
        return None
    return f"unknown vehicle class {name!r}{did_you_mean(name, known)}; classes: {', '.join(known)}"


def check_class(name: str, classes: Iterable[str], *, parameter: str = "vehicle") -> str:
    """Return ``name`` if it is one of ``classes``, else raise a clear error.

    Parameters
    ----------
    name
        The class name to check.
    classes
        The classes that exist here (a fleet's or a network's).
    parameter
        The parameter or key path to name in the error message.

    Raises
    ------
    ValidationError
        Naming ``parameter``, the classes and the closest matches.
    """
    problem = class_problem(name, classes)
    if problem:
        raise ValidationError(f"`{parameter}`: {problem}")
    return name


#: Colours for classes that do not give one, in the order they are handed out.
PALETTE: tuple[str, ...] = (
    "#56B4E9",
    "#CC79A7",
    "#F0E442",
    "#000000",
    "#9467BD",
    "#17BECF",
    "#BCBD22",
    "#7F7F7F",
)


def class_colours(classes: Mapping[str, ClassParams]) -> dict[str, str]:
    """The figure colour of every class: its own, or the next :data:`PALETTE` colour unused.

    Deterministic: classes without a colour take palette colours in their order. When the
    palette runs out it starts again.
    """
    used = {c.colour for c in classes.values() if c.colour is not None}
    free = [p for p in PALETTE if p not in used] or list(PALETTE)
    out, k = {}, 0
    for name, c in classes.items():
        if c.colour is not None:
            out[name] = c.colour
        else:
            out[name] = free[k % len(free)]
            k += 1
    return out
