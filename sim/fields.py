"""Value types shared by the scenario file language and the runtime records.

Each rule on a single value is written once, here, as an annotated type: a probability lies in
[0, 1], a count is an integer >= 0, a distribution is one of four forms, a green channel is one
of three words. The file language (:mod:`sim.schema`, :mod:`sim.vehicles`) and the runtime
records (:class:`~sim.vehicles.ClassParams`, :class:`~sim.fleet.Depot`,
:class:`~sim.scenario.Scenario`, :class:`~sim.plan.CheckpointSpec`, ...) declare their fields
with these types, so a bad value gets the same verdict and the same message whether it comes
from a YAML file or from Python.

:func:`record` makes such a runtime record: a frozen dataclass validated by pydantic whose bad
values raise :class:`sim.errors.ValidationError` naming the record, the parameter and the value
(``depot 'A': `count`: must be >= 0, got -3``). Rules that tie several values together (the
depots' operators exist, incident names are unique) stay in the record's ``__post_init__``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar

import pydantic.dataclasses
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError, core_schema

from sim.demand import WORDS, normal_word
from sim.dists import Dist
from sim.errors import ValidationError
from sim.limits import (
    MAX_BACKGROUND_PER_MIN,
    MAX_DISPATCHERS,
    MAX_DURATION_MIN,
    MAX_LANES,
    MAX_OVER_REQUEST,
    MAX_SIGMA,
    MAX_VEHICLES,
)

T = TypeVar("T")


def fail(message: str) -> PydanticCustomError:
    """An error for a validator to raise: pydantic reports ``message`` as it is."""
    return PydanticCustomError("fleetsim", message)


def shown(value: object, width: int = 60) -> str:
    """``repr(value)`` for a message, shortened when long (a huge number or text)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    text = repr(value)
    return text if len(text) <= width else f"{text[: width - 5]}...{text[-2:]}"


def did_you_mean(value: object, options: Sequence[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest ``options`` to ``value``, or ``""``."""
    text = value if isinstance(value, str) else shown(value)
    if len(text) > 100:  # no name is that long; difflib would take quadratic time
        return ""
    close = difflib.get_close_matches(text, [str(o) for o in options], n=3, cutoff=0.5)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


@dataclasses.dataclass(frozen=True)
class AtMost:
    """Field metadata: refuse a number above ``limit`` (a mapping or list: more items), with a
    message naming the limit (:mod:`sim.limits`); the JSON Schema carries it."""

    limit: float
    unit: str = ""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        out = handler(schema)
        key = {"object": "maxProperties", "array": "maxItems"}.get(out.get("type"), "maximum")
        out[key] = self.limit
        return out

    def _check(self, value: Any) -> Any:
        if isinstance(value, dict | list):
            if len(value) > self.limit:
                raise fail(
                    f"must have at most {self.limit:,g}{self.unit} items (the limit), "
                    f"got {len(value):,}"
                )
        elif value > self.limit:
            raise fail(
                f"must be at most {self.limit:,g}{self.unit} (the limit), got {shown(value)}"
            )
        return value


# ---------------------------------------------------------------------------------------------
# Numbers, words and names
# ---------------------------------------------------------------------------------------------


def _probability(value: float) -> float:
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise fail(f"must be a probability in [0, 1], got {value!r}")
    return value


Probability = Annotated[
    float,
    AfterValidator(_probability),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1}, mode="validation"),
]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
#: A speed cap (km/h): > 0, ``inf`` for none.
SpeedCap = Annotated[float, Field(gt=0)]
#: A share of the requested vehicles, in (0, 1].
Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
#: Call ``ceil(demand x over_request)`` vehicles at once: >= 1.
OverRequest = Annotated[float, Field(ge=1, allow_inf_nan=False), AtMost(MAX_OVER_REQUEST)]
#: An hour of the day, in [0, 24).
Hour = Annotated[float, Field(ge=0, lt=24)]
Count = Annotated[int, Field(ge=0)]
PositiveInt = Annotated[int, Field(ge=1)]
# Bounded values of a scenario file (sim.limits): the message names the limit.
VehicleCount = Annotated[int, Field(ge=0), AtMost(MAX_VEHICLES)]
Dispatchers = Annotated[int, Field(ge=1), AtMost(MAX_DISPATCHERS)]
Lanes = Annotated[int, Field(ge=1), AtMost(MAX_LANES)]
BackgroundRate = Annotated[NonNegFloat, AtMost(MAX_BACKGROUND_PER_MIN, " vehicles/min")]
Tier = Literal["central", "banner", "region"]
ScopeName = Literal["central", "banner", "region"]
Green = Literal["none", "priority", "dedicated"]
FleetSharing = Literal["independent", "shared"]
DispatchPolicy = Literal["first_come", "deadline", "priority"]
CalloutMode = Literal["phone", "platform"]
CapacityUnit = Literal["persons", "tonnes"]

_CLASS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")


def class_name_problem(value: object) -> str | None:
    """What is wrong with ``value`` as the name of a vehicle class (``None``: nothing)."""
    if isinstance(value, str) and _CLASS_NAME.match(value):
        return None
    return (
        "a vehicle class name is a letter followed by at most 31 letters, digits or _ "
        f"(it names table columns such as completion_<class>_min), got {value!r}"
    )


def _class_name(value: str) -> str:
    problem = class_name_problem(value)
    if problem:
        raise fail(problem)
    return value


#: The name of a vehicle class (its spelling only; which classes exist is the scenario's).
ClassName = Annotated[
    str,
    AfterValidator(_class_name),
    WithJsonSchema(
        {"type": "string", "pattern": _CLASS_NAME.pattern, "description": "A vehicle class name"},
        mode="validation",
    ),
]

_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def _colour(value: str) -> str:
    if not _COLOUR.match(value):
        raise fail(f'a colour is "#RRGGBB" (hexadecimal), got {value!r}')
    return value


#: A colour for figures, ``"#RRGGBB"``.
Colour = Annotated[
    str,
    AfterValidator(_colour),
    WithJsonSchema({"type": "string", "pattern": _COLOUR.pattern}, mode="validation"),
]


# ---------------------------------------------------------------------------------------------
# Demands and distributions
# ---------------------------------------------------------------------------------------------


_WITH_UNIT = re.compile(r"^\s*[-+]?\d+(?:[.,]\d+)?\s*[^\d\s.,]")


def unit_hint(value: Any) -> str:
    """A hint when a number was written with a unit (``60min``, ``80 km/h``), else ``""``."""
    if isinstance(value, str) and _WITH_UNIT.match(value):
        return (
            " (write the number alone, without a unit: durations are in minutes, speeds in "
            "km/h, rates in vehicles per minute)"
        )
    return ""


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(f"{what} must be a number, got {shown(value)}{unit_hint(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond every float
        number = math.inf
    if not math.isfinite(number) or number < 0:
        raise fail(f"{what} must be a finite number >= 0, got {shown(value)}")
    return number


def _minutes(value: Any, what: str) -> float:
    """A duration of a distribution in a file: a number in [0, MAX_DURATION_MIN]."""
    minutes = _number(value, what)
    if minutes > MAX_DURATION_MIN:
        raise fail(
            f"{what} must be at most {MAX_DURATION_MIN:,g} minutes (the limit: a run stops 24 h "
            f"after the incident is reported), got {shown(value)}"
        )
    return minutes


def _demand(value: Any) -> int | str:
    word = normal_word(value)
    if word is not None:
        return word  # like place names, the words ignore case (`ALL`, `All_Accepted`)
    if isinstance(value, bool) or not isinstance(value, int):
        hint = did_you_mean(value.strip().lower(), list(WORDS)) if isinstance(value, str) else ""
        raise fail(
            "a demand is a count (integer >= 0), 'all_in_scope' (every vehicle in scope must "
            f"arrive) or 'all_accepted' (every vehicle that accepted must arrive){hint}, "
            f"got {value!r}"
        )
    if value < 0:
        raise fail(f"a demand must be >= 0, got {shown(value)}")
    if value > MAX_VEHICLES:
        raise fail(f"a demand must be at most {MAX_VEHICLES:,} (the limit), got {shown(value)}")
    return value


#: The demand words in any case, as a JSON Schema (ECMA-262) pattern: ``[Aa][Ll][Ll]|…``.
_DEMAND_WORDS = (
    "^\\s*("
    + "|".join("".join(f"[{c.upper()}{c}]" if c.isalpha() else c for c in w) for w in WORDS)
    + ")\\s*$"
)

#: Vehicles requested of one class: a count, ``"all_in_scope"``, ``"all_accepted"`` or plain
#: ``"all"`` (read as ``all_accepted``, with a warning): :mod:`sim.demand`.
DemandValue = Annotated[
    Any,
    AfterValidator(_demand),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": _DEMAND_WORDS},
            ]
        },
        mode="validation",
    ),
]

DIST_FORMS = (
    "a number (fixed), {fixed: X}, {lognormal: {median: M, sigma: S}}, "
    "{exponential: {mean: M}} or {uniform: {low: A, high: B}}"
)
_DIST_KEYS = {
    "fixed": (),
    "lognormal": ("median", "sigma"),
    "exponential": ("mean",),
    "uniform": ("low", "high"),
}


def parse_dist(value: Any) -> Dist:
    """A distribution from its file form: a number (fixed) or a one-key mapping naming the kind.

    A file's durations are at most :data:`sim.limits.MAX_DURATION_MIN` and its lognormal sigma
    at most :data:`sim.limits.MAX_SIGMA`. A :class:`~sim.dists.Dist` passes unchanged.
    """
    if isinstance(value, Dist):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Dist.fixed(_minutes(value, "a fixed value"))
    if not isinstance(value, dict) or len(value) != 1:
        raise fail(f"a distribution is {DIST_FORMS}; got {shown(value)}")
    ((kind, params),) = value.items()
    if kind not in _DIST_KEYS:
        raise fail(
            f"unknown distribution {kind!r}{did_you_mean(kind, list(_DIST_KEYS))}; "
            f"a distribution is {DIST_FORMS}"
        )
    if kind == "fixed":
        return Dist.fixed(_minutes(params, "fixed"))
    keys = _DIST_KEYS[kind]
    if not isinstance(params, dict):
        raise fail(f"{kind} needs a mapping {{{', '.join(keys)}}}, got {shown(params)}")
    unknown = [k for k in params if k not in keys]
    missing = [k for k in keys if k not in params]
    if unknown or missing:
        bits = [f"unknown key {k!r}{did_you_mean(k, keys)}" for k in unknown]
        bits += [f"missing key {k!r}" for k in missing]
        raise fail(f"{kind}: {'; '.join(bits)}; {kind} takes {', '.join(keys)}")
    p = {k: _number(params[k], f"{kind}.{k}") for k in keys}
    if kind == "lognormal" and p["sigma"] > MAX_SIGMA:
        raise fail(f"lognormal.sigma must be at most {MAX_SIGMA:g} (the limit), got {p['sigma']:g}")
    for k in ("median", "mean", "high"):
        if k in p:
            _minutes(p[k], f"{kind}.{k}")
    if kind == "lognormal":
        return Dist.lognormal(p["median"], p["sigma"])
    if kind == "exponential":
        return Dist.exponential(p["mean"])
    if p["high"] < p["low"]:
        raise fail(f"uniform: `high` ({p['high']:g}) must be >= `low` ({p['low']:g})")
    return Dist("uniform", (p["low"] + p["high"]) / 2, spread=(p["high"] - p["low"]) / 2)


def dist_over_limit(dist: Dist) -> str | None:
    """What of ``dist`` a scenario file could not say (a duration beyond
    :data:`sim.limits.MAX_DURATION_MIN`, a sigma beyond :data:`sim.limits.MAX_SIGMA`), or
    ``None``; e.g. a file's distribution scaled by a factor."""
    if dist.kind == "lognormal" and dist.sigma > MAX_SIGMA:
        return f"a lognormal sigma of {dist.sigma:g}, more than the limit of {MAX_SIGMA:g}"
    longest = dist.value + dist.spread if dist.kind == "uniform" else dist.value
    if longest > MAX_DURATION_MIN:
        what = {"lognormal": "median", "uniform": "upper bound"}.get(dist.kind, "value")
        return (
            f"a {dist.kind} distribution whose {what} is {longest:,g} minutes, more than the "
            f"limit of {MAX_DURATION_MIN:,g} (a run stops 24 h after the incident is reported)"
        )
    return None


def dist_to_yaml(dist: Dist) -> float | dict[str, Any]:
    """The file-language form of a distribution (the inverse of :func:`parse_dist`)."""
    if dist.kind == "fixed":
        return dist.value
    if dist.kind == "lognormal":
        return {"lognormal": {"median": dist.value, "sigma": dist.sigma}}
    if dist.kind == "exponential":
        return {"exponential": {"mean": dist.value}}
    low, high = _uniform_bounds(dist.value, dist.spread)
    return {"uniform": {"low": low, "high": high}}


def _uniform_bounds(value: float, spread: float) -> tuple[float, float]:
    """``low`` and ``high`` that parse back to exactly ``value`` and ``spread``, if any.

    ``value - spread`` and ``value + spread`` can be a rounding away from bounds that give
    ``value`` and ``spread`` back (such bounds always exist for a distribution read from a
    file); the neighbouring floats are tried too, and the shortest exact pair is kept.
    """

    def near(x: float) -> list[float]:
        out = [x]
        down = up = x
        for _ in range(3):
            down, up = math.nextafter(down, -math.inf), math.nextafter(up, math.inf)
            out += [down, up]
        return out

    exact = [
        (low, high)
        for low in near(value - spread)
        for high in near(value + spread)
        if (low + high) / 2 == value and (high - low) / 2 == spread
    ]
    if not exact:
        return value - spread, value + spread
    return min(exact, key=lambda b: len(repr(b[0])) + len(repr(b[1])))


_NUM = {"type": "number", "minimum": 0}
_DIST_SCHEMA = {
    "description": "A distribution (minutes, or a factor): " + DIST_FORMS,
    "anyOf": [
        _NUM,
        {
            "type": "object",
            "properties": {"fixed": _NUM},
            "required": ["fixed"],
            "additionalProperties": False,
        },
        *(
            {
                "type": "object",
                "properties": {
                    kind: {
                        "type": "object",
                        "properties": dict.fromkeys(keys, _NUM),
                        "required": list(keys),
                        "additionalProperties": False,
                    }
                },
                "required": [kind],
                "additionalProperties": False,
            }
            for kind, keys in _DIST_KEYS.items()
            if keys
        ),
    ],
}

#: A distribution: a :class:`~sim.dists.Dist`, or its file form (:data:`DIST_FORMS`).
DistField = Annotated[
    Dist,
    BeforeValidator(parse_dist),
    PlainSerializer(dist_to_yaml),
    WithJsonSchema(_DIST_SCHEMA, mode="validation"),
]


# ---------------------------------------------------------------------------------------------
# File models and runtime records
# ---------------------------------------------------------------------------------------------


class FileModel(BaseModel):
    """Base of the file language's mappings: unknown keys rejected, strict types, frozen."""

    model_config = ConfigDict(
        extra="forbid", strict=True, arbitrary_types_allowed=True, frozen=True
    )


_TYPE_WORDS = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "string_type": "a text string",
    "bool_type": "true or false",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "list_type": "a list",
    "tuple_type": "a tuple",
    "finite_number": "a finite number",
}
_BOUNDS = {
    "greater_than_equal": ">=",
    "greater_than": ">",
    "less_than_equal": "<=",
    "less_than": "<",
}


def describe(err: Mapping[str, Any]) -> str:
    """One planner-readable message for one pydantic error: the rule and the bad value."""
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "missing":
        return "required key is missing"
    if kind in _TYPE_WORDS:
        return f"must be {_TYPE_WORDS[kind]}, got {shown(value)}{unit_hint(value)}"
    if kind in _BOUNDS:
        bound = next(iter(ctx.values())) if ctx else "?"
        return f"must be {_BOUNDS[kind]} {bound:g}, got {shown(value)}"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = did_you_mean(value, options)
        return f"got {shown(value)}{hint}; allowed values: {', '.join(options)}"
    if kind == "too_short" and "min_length" in ctx:
        n = ctx["min_length"]
        return f"must have at least {n} item{'s' if n != 1 else ''}, got {shown(value)}"
    if kind == "too_long" and "max_length" in ctx:
        n = ctx["max_length"]
        return f"must have at most {n} item{'s' if n != 1 else ''}, got {shown(value)}"
    if kind == "fleetsim":
        return str(err["msg"])
    if kind == "unexpected_keyword_argument":
        return f"no such parameter, got {shown(value)}"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return f"{err['msg']}, got {shown(value)}"


def error_path(loc: Sequence[str | int]) -> tuple[str | int, ...]:
    """A pydantic error location without its ``[key]`` markers."""
    return tuple(p for p in loc if p != "[key]")


_RECORD_CONFIG = ConfigDict(strict=True, arbitrary_types_allowed=True, extra="forbid")


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


#: A tuple field of a record that also takes a list (and keeps a tuple).
AsTuple = BeforeValidator(_tuple)


def record(
    label: str | Callable[[Mapping[str, Any]], str] | None = None,
) -> Callable[[type[T]], type[T]]:
    """Make a frozen, validated runtime record of a class with annotated fields.

    The class becomes a pydantic dataclass (strict types: ``True`` is not a count, ``"3"`` is
    not a number), so :func:`dataclasses.replace`, :func:`dataclasses.fields` and pickling work
    as for any frozen dataclass. A bad value raises :class:`sim.errors.ValidationError`
    (not pydantic's) naming the record, the parameter and the value; an error raised by the
    class's ``__post_init__`` passes through unchanged.

    Parameters
    ----------
    label
        How messages name the record: a text, or a function of the given arguments
        (``lambda v: f"depot {v.get('name')!r}"``).
    """

    def wrap(cls: type[T]) -> type[T]:
        made: Any = pydantic.dataclasses.dataclass(frozen=True, config=_RECORD_CONFIG)(cls)
        init = made.__init__
        names = [f.name for f in dataclasses.fields(made) if f.init]

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            try:
                init(self, *args, **kwargs)
            except PydanticValidationError as exc:
                given = {**dict(zip(names, args, strict=False)), **kwargs}
                raise _record_error(label, names, given, exc) from None

        made.__init__ = __init__
        return made

    return wrap


def _record_error(
    label: str | Callable[[Mapping[str, Any]], str] | None,
    names: Sequence[str],
    given: Mapping[str, Any],
    exc: PydanticValidationError,
) -> Exception:
    errors = exc.errors()
    if len(errors) == 1 and isinstance((errors[0].get("ctx") or {}).get("error"), ValidationError):
        return errors[0]["ctx"]["error"]  # raised by __post_init__: already says it all
    name = label(given) if callable(label) else label
    parts = []
    for err in errors:
        loc = error_path(err["loc"])
        if loc and isinstance(loc[0], int) and loc[0] < len(names):  # a positional argument
            loc = (names[loc[0]], *loc[1:])
        path = ".".join(str(p) for p in loc)
        text = "missing" if err["type"] in ("missing", "missing_argument") else describe(err)
        parts.append(f"`{path}`: {text}" if path else text)
    text = "; ".join(parts)
    return ValidationError(f"{name}: {text}" if name else text)
