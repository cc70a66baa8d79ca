"""The scenario as run, written back in the file language.

:func:`scenario_to_file` is the inverse of :func:`sim.scenario.load_scenario`: it writes a
:class:`~sim.scenario.Scenario` (loaded from a file or built in Python) as a scenario file with
every default filled in and every rule applied, which loads back to an equal scenario. A
results folder's ``scenario.resolved.yaml`` is this file (:mod:`sim.outputs`), so that
``fleetsim run`` on it reproduces the results; :func:`resolved_file` does it for a file.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from sim.demand import explicit
from sim.errors import ValidationError
from sim.plan import NIGHT_HOURS, NO_SHOCKS, PHONE, CalloutSpec, ShockSpec
from sim.scenario import Scenario, format_path, load_scenario
from sim.schema import schema_messages, validate_file_data

__all__ = ["resolved_file", "scenario_to_file"]


def scenario_to_file(scenario: Scenario) -> dict[str, Any]:
    """Write a :class:`Scenario` in the file language, with every default filled in.

    The result, dumped as YAML, is a scenario file that :func:`load_scenario` reads back to
    an equal :class:`Scenario` (its ``source`` aside), on any machine with the same network:
    the fleet is written out depot by depot from no base (``base: none``), every class with
    all its parameters, each incident's demand as counts (``move`` applied), every checkpoint
    and toll plaza as a site pinned to its graph node, the rules with every tier, and the
    ``locations`` settings. Nothing depends on the defaults of the fleetsim version that
    reads it.

    Parameters
    ----------
    scenario
        A scenario, loaded from a file or built in Python.

    Returns
    -------
    dict
        Plain data (mappings, lists, numbers, text) in the order of :class:`ScenarioFile`.

    Raises
    ------
    ValidationError
        When the scenario says something a file cannot: a depot name that is not
        ``"<label> <class>"``, a trip-time factor that is not lognormal, or a value the file
        language refuses (e.g. an incident that requests nothing).
    """
    problems: list[str] = []
    depots: list[dict[str, Any]] = []
    for d in scenario.fleet.depots:
        label = d.name.removesuffix(f" {d.vehicle_class}")
        if label == d.name or not label:
            problems.append(
                f"depot {d.name!r}: a scenario file names a depot '<label> <class>' "
                f"(e.g. 'Main garage {d.vehicle_class}'), rename it"
            )
        depots.append(
            {
                "name": label,
                "location": d.location,
                "vehicles": {d.vehicle_class: d.count},
                "operators": {d.vehicle_class: d.operator},
            }
        )
    trip = scenario.trip_factor
    if trip.kind != "lognormal":
        problems.append(
            f"trip_factor: a scenario file gives a lognormal trip-time factor (weather."
            f"trip_time_median and trip_time_spread), got {trip.kind}"
        )
    if problems:
        raise ValidationError(
            f"scenario {scenario.name!r} cannot be written as a scenario file: "
            + "; ".join(problems)
        )
    network: dict[str, Any] = {"source": scenario.network}
    if scenario.network.startswith("place:"):
        network["allow_online"] = True
    elif scenario.network != "ordos" and not os.path.isabs(scenario.network):
        network["source"] = os.path.abspath(scenario.network)
    data: dict[str, Any] = {
        "name": scenario.name,
        "description": scenario.description,
        "network": network,
        "vehicle_classes": {
            k: {
                **{f.name: getattr(c, f.name) for f in dataclasses.fields(c) if f.name != "speed"},
                "speed": dataclasses.asdict(c.speed),
            }
            for k, c in scenario.fleet.classes.items()
        },
        "fleet": {
            "base": "none",
            "operators": [
                {"name": o.name, "vehicle_class": o.vehicle_class, "dispatchers": o.dispatchers}
                | ({} if o.callout == PHONE else {"callout": callout_data(o.callout)})
                for o in scenario.fleet.operators
            ],
            "depots": depots,
        },
        "start": scenario.start_hour,
        **({} if scenario.shocks == NO_SHOCKS else {"shocks": shocks_data(scenario.shocks)}),
        **(
            {}
            if scenario.night_hours == NIGHT_HOURS
            else {"night": dict(zip(("start", "end"), scenario.night_hours, strict=True))}
        ),
        "weather": {
            "speed_factor": scenario.speed_factor,
            "trip_time_spread": trip.sigma,
            "trip_time_median": trip.value,
        },
        "dispatch": {
            "alert": scenario.alert,
            "over_request": scenario.over_request,
            "policy": scenario.dispatch_policy,
        },
        "fleet_sharing": scenario.fleet_sharing,
        "closures": [
            {
                "name": c.name or None,
                "road": c.road,
                "between": list(c.between) if c.between is not None else None,
                "near": c.near,
                "radius_km": c.radius_km,
            }
            for c in scenario.closures
        ],
        "checkpoints": {
            "sites": [
                {
                    "name": c.name,
                    "location": c.location,
                    "node": c.node_id,
                    "kind": c.kind,
                    "lanes": c.lanes,
                    "service": c.service,
                    "background_per_min": c.background_per_min,
                    "background_service": c.background_service,
                    "green": c.green,
                    "green_lanes": c.green_lanes,
                }
                for c in scenario.checkpoints
            ]
        },
        "tolls": {"enabled": False},
        "staging": {"lanes": scenario.staging.lanes, "service": scenario.staging.service},
        "rules": {
            "name": scenario.rules.name,
            "deadlines_min": dict(scenario.rules.deadlines_min),
            "banner_radius_km": scenario.rules.banner_radius_km,
            "scope": dict(scenario.rules.scope),
            "success_fraction": scenario.rules.success_fraction,
        },
        "locations": {
            "max_snap_km": scenario.max_snap_km,
            "access_legs": scenario.access_legs,
        },
        "warmup_min": scenario.warmup_min,
        "incidents": [
            {
                "name": i.name,
                "location": i.location,
                "staging_point": i.staging_point,
                "demand": {k: explicit(v) for k, v in i.demand.items()},
                "tier": i.tier or "auto",
                "deadline_min": i.deadline_min,
                "scope": i.scope,
                "at_min": i.at_min or None,
                "priority": i.priority,
                "task_min": i.task_min,
            }
            for i in scenario.incidents
        ],
        "replications": scenario.replications,
        "seed": scenario.seed,
    }
    try:
        spec = validate_file_data(data, None)
    except PydanticValidationError as exc:
        raise ValidationError(
            f"scenario {scenario.name!r} cannot be written as a scenario file: "
            + "; ".join(f"{format_path(loc)}: {message}" for loc, message in schema_messages(exc))
        ) from None
    return spec.model_dump(
        mode="python", exclude={"extends", "provenance", "waves"}, exclude_none=True
    )


def resolved_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return a scenario file as run: :func:`scenario_to_file` of :func:`load_scenario`.

    ``extends`` is merged in, every default is filled in and every rule applied (the fleet
    as depots, ``move`` as demand, checkpoints as sites); written as YAML, the result loads
    back to the same :class:`Scenario` on its own.

    Parameters
    ----------
    path
        The scenario file.

    Raises
    ------
    ScenarioError
        Listing every problem of the file.
    """
    return scenario_to_file(load_scenario(path))


def callout_data(callout: CalloutSpec) -> dict[str, Any]:
    """An operator's call-out as the file writes it (``callout`` of an operator)."""
    return {
        "mode": callout.mode,
        "batch_size": callout.batch_size,
        "batch_interval_min": callout.batch_interval_min,
        "response": callout.response,
        "confirm": callout.confirm,
    }


def shocks_data(shocks: ShockSpec) -> dict[str, Any]:
    """The common shocks as the file writes them (``shocks``)."""
    out: dict[str, Any] = {
        "platform_outage": {
            "probability": shocks.outage_probability,
            "duration": shocks.outage_min,
        }
    }
    if shocks.speed_factor is not None:
        out["speed_factor"] = shocks.speed_factor
    if shocks.trip_time_spread is not None:
        out["trip_time_spread"] = shocks.trip_time_spread
    traffic = shocks.traffic
    if traffic is not None:
        out["traffic"] = {
            "level": traffic.level,
            "central": dict(zip(("peak", "offpeak"), traffic.central, strict=True)),
            "elsewhere": dict(zip(("peak", "offpeak"), traffic.elsewhere, strict=True)),
            "peaks": [{"start": a, "end": b} for a, b in traffic.peaks],
        }
    return out
