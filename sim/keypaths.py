"""Key paths into a scenario file, and scenario variants made by writing values at them.

A key path names one number of the scenario file language (:mod:`sim.schema`), segments
separated by dots, a name with spaces or dots in double (or single) quotes, a list position in
brackets::

    staging.lanes
    vehicle_classes.taxi.mobilisation_factor
    vehicle_classes.coach.call.lognormal.median
    fleet.dispatchers."Central taxi pool"
    incidents[0].demand.taxi

:func:`parse` reads one, :func:`number_kind` checks it against the file language (an unknown
key gets the allowed keys and a did-you-mean; a path that does not end at a number is
refused) and says whether the number is an integer. :class:`ScenarioData` is a scenario as
file data, and :meth:`ScenarioData.with_values` writes values at key paths into a copy and
validates it through the normal path (:func:`sim.scenario.scenario_from_data`), so a variant is
exactly the scenario a planner would get by editing the file: every rule and check applies.
The sensitivity analysis (:mod:`sim.sensitivities`) makes its samples this way.
"""

from __future__ import annotations

import copy
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, WithJsonSchema

from sim import yamlio
from sim.dists import Dist
from sim.errors import ScenarioError, ValidationError
from sim.fields import did_you_mean, dist_to_yaml
from sim.resolved import callout_data, scenario_to_file
from sim.scenario import Scenario, scenario_from_data
from sim.schema import ScenarioFile, unwrap_type

#: A parsed key path: mapping keys as ``str``, list positions as ``int``.
KeyPath = tuple[str | int, ...]

#: The parameters of each distribution kind of the file language (``{kind: {param: x}}``).
DIST_PARAMS: dict[str, tuple[str, ...]] = {
    "lognormal": ("median", "sigma"),
    "exponential": ("mean",),
    "uniform": ("low", "high"),
}

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_SEGMENT = re.compile(
    r"""(?P<plain>[A-Za-z_][A-Za-z0-9_\-]*)|"(?P<dq>[^"]+)"|'(?P<sq>[^']+)'"""
    r"""|\[(?P<index>\d+)\]|\[(?P<bq>"[^"]+"|'[^']+')\]"""
)


class KeyPathError(ValidationError):
    """A key path that cannot be read, or that names no number of the file language."""


def parse(text: str) -> KeyPath:
    """Read a key path: ``fleet.dispatchers."Central taxi pool"`` → ``("fleet", ...)``.

    Parameters
    ----------
    text
        Dot-separated keys; a key with spaces or dots in quotes; ``[n]`` for a list position
        (``incidents[0]``); ``['name']`` is read too (the spelling of problem messages).

    Raises
    ------
    KeyPathError
        For empty text, an empty key, or a character that fits nowhere.
    """
    if not isinstance(text, str) or not text.strip():
        raise KeyPathError(f"a key path is text such as 'staging.lanes', got {text!r}")
    parts: list[str | int] = []
    pos, expect_key = 0, True
    while pos < len(text):
        if not expect_key and text[pos] == ".":
            pos, expect_key = pos + 1, True
            continue
        m = _SEGMENT.match(text, pos)
        bracket = m is not None and (m.group("index") is not None or m.group("bq") is not None)
        # A key starts the path or follows a dot; a bracket follows a key or a bracket.
        if m is None or (bracket and not parts) or (bracket and expect_key and pos > 0):
            m = None
        elif not bracket and not expect_key:
            m = None
        if m is None:
            raise KeyPathError(
                f"key path {text!r}: cannot read it at character {pos + 1} ({text[pos:]!r}); "
                'write keys separated by dots, a name with spaces or dots in quotes ("..."), '
                "a list position as [n]"
            )
        if m.group("index") is not None:
            parts.append(int(m.group("index")))
        elif m.group("bq") is not None:
            parts.append(m.group("bq")[1:-1])
        else:
            parts.append(m.group("plain") or m.group("dq") or m.group("sq"))
        pos, expect_key = m.end(), False
    if expect_key:
        raise KeyPathError(f"key path {text!r} ends with a dot")
    return tuple(parts)


def format_path(path: Sequence[str | int]) -> str:
    """Write a key path as :func:`parse` reads it (names with spaces or dots in double quotes)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = part if _PLAIN.fullmatch(part) else f'"{part}"'
            out += f".{key}" if out else key
    return out


def _number_type(tp: Any) -> Literal["integer", "number"] | None:
    """``integer`` or ``number`` for a numeric leaf type, else ``None``."""
    if get_origin(tp) is Annotated:  # a value checked by hand, typed by its JSON Schema
        for meta in get_args(tp)[1:]:
            if isinstance(meta, WithJsonSchema) and isinstance(meta.json_schema, dict):
                types_ = {alt.get("type") for alt in meta.json_schema.get("anyOf", [])}
                if "number" in types_:
                    return "number"
                if "integer" in types_:
                    return "integer"
    tp = unwrap_type(tp)
    if get_origin(tp) in (Union, types.UnionType):  # e.g. a demand: a count or "all_accepted"
        kinds = {_number_type(a) for a in get_args(tp)} - {None}
        return "number" if "number" in kinds else ("integer" if kinds else None)
    if tp is bool:
        return None
    if tp is int:
        return "integer"
    if tp is float or tp is Dist:
        return "number"
    return None


def _field_type(tp: Any, part: str | int, path: KeyPath, i: int) -> Any:
    """The type one step below ``tp`` (a model, a mapping or a list) at ``part``."""
    where = format_path(path[:i]) or "the scenario"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        fields = tp.model_fields
        if not isinstance(part, str) or part not in fields:
            allowed = [k for k in fields if k not in ("extends", "provenance")]
            raise KeyPathError(
                f"{format_path(path)}: {where} has no key {part!r}{did_you_mean(part, allowed)}; "
                f"its keys: {', '.join(allowed)}"
            )
        return fields[part]
    origin = get_origin(tp)
    if origin is dict and isinstance(part, str):
        return get_args(tp)[1]
    if origin is list and isinstance(part, int):
        return get_args(tp)[0]
    if origin is list:
        raise KeyPathError(f"{format_path(path)}: {where} is a list; give a position, e.g. [0]")
    raise KeyPathError(f"{format_path(path)}: {where} is a single value, it has no keys below it")


def _annotation(tp: Any) -> Any:
    """A field's annotation (a ``FieldInfo`` carries its metadata apart)."""
    return tp.annotation if hasattr(tp, "annotation") and hasattr(tp, "metadata") else tp


def number_kind(path: KeyPath) -> Literal["integer", "number"]:
    """Check that ``path`` names a number of the file language; say whether an integer.

    Parameters
    ----------
    path
        A parsed key path (:func:`parse`). A distribution is entered by its kind and
        parameter (``call.lognormal.median``); a distribution given as a fixed number is the
        number itself (``call``).

    Returns
    -------
    str
        ``"integer"`` (a count, lanes, dispatchers: values stay integers) or ``"number"``.

    Raises
    ------
    KeyPathError
        For an unknown key (with the allowed keys and a did-you-mean), a list entered by name,
        or a path that ends at something other than a number (text, a flag, a mapping).
    """
    tp: Any = ScenarioFile
    for i, part in enumerate(path):
        tp = unwrap_type(_annotation(tp))
        if tp is Dist:
            rest = path[i:]
            kind = rest[0]
            if kind not in DIST_PARAMS:
                raise KeyPathError(
                    f"{format_path(path)}: a distribution is entered by its kind, one of "
                    f"{', '.join(DIST_PARAMS)}{did_you_mean(kind, list(DIST_PARAMS))}"
                )
            params = DIST_PARAMS[str(kind)]
            if len(rest) != 2 or rest[1] not in params:
                got = rest[1] if len(rest) > 1 else None
                raise KeyPathError(
                    f"{format_path(path)}: {kind} takes {', '.join(params)}"
                    + (did_you_mean(got, params) if got is not None else "")
                )
            return "number"
        tp = _field_type(tp, part, path, i)
    kind = _number_type(_annotation(tp))
    if kind is None:
        raise KeyPathError(
            f"{format_path(path)}: not a number of the scenario (a section, text or a flag); "
            "only numbers can be varied"
        )
    return kind


def _shorthand(tp: Any, value: Any) -> Any:
    """A field's short form in full (``fleet: default`` → ``{base: default}``), by the field's
    own ``BeforeValidator``s, so that keys can be written below it."""
    for meta in getattr(tp, "metadata", ()):
        if isinstance(meta, BeforeValidator):
            value = meta.func(value)
    return value


def _value_at(data: Any, path: KeyPath) -> tuple[bool, Any]:
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return False, None
    return True, data


def _file_form(value: Any) -> Any:
    """Plain file data: distributions written as the file writes them."""
    if isinstance(value, Dist):
        return dist_to_yaml(value)
    if isinstance(value, dict):
        return {k: _file_form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_file_form(v) for v in value]
    return value


def _scenario_view(scenario: Scenario) -> dict[str, Any]:
    """The scenario with every default filled in (:func:`scenario_to_file`), plus what the
    fleet's name-keyed settings stand at (``fleet.dispatchers``, ``depot_counts``, ``totals``)."""
    try:
        view = _file_form(scenario_to_file(scenario))
    except ValidationError:
        view = {}
    fleet = scenario.fleet
    view.setdefault("fleet", {}).update(
        dispatchers={o.name: o.dispatchers for o in fleet.operators},
        callout={o.name: _file_form(callout_data(o.callout)) for o in fleet.operators},
        depot_counts={d.name: d.count for d in fleet.depots},
        totals=dict(fleet.count_by_class()),
    )
    return view


#: Load-time factors (not kept in the resolved scenario) and their value when left out.
_NEUTRAL: dict[str, float] = {"mobilisation_factor": 1.0}


@dataclass
class ScenarioData:
    """A scenario as the data of its file, to make variants of it.

    Attributes
    ----------
    data
        The file's data (``extends`` merged, network paths absolute), or for a scenario built
        in Python its resolved file (:func:`sim.resolved.scenario_to_file`).
    file
        The file named in problems.
    name
        The scenario's name.
    view
        Every value of the scenario with the defaults filled in (to read a value the file
        does not write, and to complete a distribution when one parameter is written).
    """

    data: dict[str, Any]
    file: str
    name: str
    view: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, scenario: Scenario) -> ScenarioData:
        """The data of ``scenario``: its file when it was loaded from one, else its resolved
        file (every default written out)."""
        view = _scenario_view(scenario)
        source = Path(scenario.source) if scenario.source else None
        if source is not None and source.is_file():
            data, _, problems = yamlio.load_tree(source)
            if isinstance(data, dict) and not problems:
                return cls(data, yamlio.display(source), scenario.name, view)
        return cls(scenario_to_file(scenario), f"<scenario {scenario.name}>", scenario.name, view)

    def value(self, path: KeyPath) -> Any:
        """The value at ``path`` in this scenario (the file's, else the default), or ``None``.

        A factor the file leaves out and that no resolved value holds (``mobilisation_factor``
        scales the distributions on loading) is its neutral value, 1.
        """
        for source in (self.data, self.view):
            found, value = _value_at(source, path)
            if found:
                value = _file_form(value)
                if isinstance(value, dict):  # a distribution's fixed form is the number
                    return None
                return value
            # A path into a distribution the file gives as a fixed number, or not at all.
        return _NEUTRAL.get(str(path[-1])) if path else None

    def written(self, values: Mapping[KeyPath, float | int]) -> dict[str, Any]:
        """A copy of the data with ``values`` written at their key paths.

        A short form on the way is expanded (``fleet: default``), missing sections are
        created, and a distribution one parameter of which is written is first copied whole
        from the scenario (``vehicle_classes.taxi.call.lognormal.median`` keeps the sigma).

        Raises
        ------
        KeyPathError
            When a key path crosses a value that has no keys (e.g. a distribution written as
            a fixed number, entered as ``lognormal``).
        """
        data = copy.deepcopy(self.data)
        for path, value in values.items():
            tp: Any = ScenarioFile
            holder: Any = data
            for i, part in enumerate(path[:-1]):
                field_tp = (
                    None
                    if unwrap_type(_annotation(tp)) is Dist
                    else _field_type(unwrap_type(_annotation(tp)), part, path, i)
                )
                here = path[: i + 1]
                if isinstance(holder, list):
                    if not 0 <= int(part) < len(holder):
                        raise KeyPathError(
                            f"{format_path(path)}: {format_path(path[:i]) or 'the list'} has "
                            f"{len(holder)} entries, no [{part}]"
                        )
                    child = holder[part]
                else:
                    child = holder.get(part)
                    if child is None:
                        found, default = _value_at(self.view, here)
                        field = unwrap_type(_annotation(field_tp)) if field_tp is not None else None
                        is_dist = field is Dist
                        child = copy.deepcopy(_file_form(default)) if found and is_dist else {}
                    elif field_tp is not None:
                        child = _shorthand(field_tp, child)
                    holder[part] = child
                if not isinstance(child, dict | list):
                    raise KeyPathError(
                        f"{format_path(path)}: {format_path(here)} is {child!r} in the scenario, "
                        "not a mapping; write the whole value in the scenario first"
                    )
                holder = child
                tp = field_tp if field_tp is not None else Dist
            holder[path[-1]] = value
        return data

    def with_values(self, values: Mapping[KeyPath, float | int]) -> Scenario:
        """The scenario with ``values`` written at their key paths, validated as a file is.

        Parameters
        ----------
        values
            Key path → number (:func:`parse` paths; integers for integer parameters).

        Returns
        -------
        Scenario
            Validated through :func:`sim.scenario.scenario_from_data`: every rule of the file
            language and every check of a scenario file applies.

        Raises
        ------
        ScenarioError
            When the variant is not a valid scenario (e.g. a dispatcher count for an operator
            the fleet does not have, or a probability above 1).
        KeyPathError
            When a key path cannot be written into this scenario.
        """
        return scenario_from_data(self.written(values), file=self.file, name=self.name)


__all__ = [
    "DIST_PARAMS",
    "KeyPath",
    "KeyPathError",
    "ScenarioData",
    "ScenarioError",
    "format_path",
    "number_kind",
    "parse",
]
