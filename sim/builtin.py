"""Built-in scenarios, shipped as scenario files in the package.

The one built-in is ``ordos-123``, the canonical check of the three tiers: the file
``sim/data/ordos-123.yaml`` is its single source (``scenarios/ordos-123.yaml`` is a link to
it, for planners), and :func:`ordos_123` loads it. Three incidents, one per tier, on the
embedded Ordos network with the default 2,010-vehicle fleet; the demands are illustrative
planning cases (ASSUMPTIONS, commented in the file):

* **Kangbashi (central, 60 min)**: 300 taxis, 40 city buses and 10 coaches from the central
  urban area;
* **Xuejiawan (banner, 120 min)**: every hazmat vehicle of Jungar (``all_accepted``), 20
  freight trucks and 10 coaches from Jungar;
* **Otog Front road point (region, 180 min)**: a remote road point about 50 km by road from
  Aoleqi: 10 freight trucks, 5 coaches and 20 taxis from anywhere in the region.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from importlib import resources

from sim.scenario import Scenario, load_scenario

#: A point of the embedded network in Otog Front Banner: the node (to 1 m) of the assumed
#: Aoleqi-Galutu connector ~50 km by road from Aoleqi (the tests check the zone, the distance
#: (>= 40 km), the tier ``region``, and that the ``ordos-123`` file uses it).
OTOG_FRONT_ROAD_POINT = "38.33956,107.98782"

#: Built-in scenario name → the packaged scenario file.
BUILTIN: dict[str, str] = {"ordos-123": "ordos-123.yaml"}


def load_builtin(name: str, replications: int | None = None, seed: int | None = None) -> Scenario:
    """Load built-in scenario ``name``, optionally with another replication count or seed.

    Parameters
    ----------
    name
        A key of :data:`BUILTIN`.
    replications, seed
        Override the file's values.
    """
    ref = resources.files("sim").joinpath("data", BUILTIN[name])
    with resources.as_file(ref) as path:
        scenario = load_scenario(path)
    changes = {k: v for k, v in (("replications", replications), ("seed", seed)) if v is not None}
    return dataclasses.replace(scenario, **changes) if changes else scenario


def ordos_123(replications: int = 200, seed: int = 20220630) -> Scenario:
    """Return the built-in ``ordos-123`` scenario (``sim/data/ordos-123.yaml``).

    Parameters
    ----------
    replications
        Replications per incident.
    seed
        Root seed (default: 2022-06-30, the day the G65 mainline toll stations were removed).
    """
    return load_builtin("ordos-123", replications, seed)


#: Built-in scenarios by name: functions returning the scenario.
BUILTIN_SCENARIOS: dict[str, Callable[[], Scenario]] = {"ordos-123": ordos_123}
