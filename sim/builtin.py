"""The built-in ``ordos-123`` scenario: the canonical check of the three tiers.

Three incidents, one per tier, on the embedded Ordos network with the default 2,010-vehicle
fleet. The demands are illustrative planning cases (ASSUMPTIONS), chosen to exercise every
class and both kinds of demand:

* **Kangbashi (central, 60 min)**: sample shuttles and a transfer, 300 taxis, 40 city buses and
  10 coaches from the central urban area (Hohhot's 2022 fleet did 96 % of its dispatches with
  taxis, mostly nucleic-acid sample runs: facts.md §2);
* **Xuejiawan (banner, 120 min)**: a dangerous-goods incident at the Jungar seat: every
  hazmat vehicle of the banner (``all``), 20 general freight trucks and 10 coaches from Jungar;
* **Otog Front road point (region, 180 min)**: a remote road point of Otog Front Banner about
  50 km by road from its seat Aoleqi, on the assumed Aoleqi–Galutu connector: supplies and a
  transfer, 10 freight trucks, 5 coaches and 20 taxis from anywhere in the region.
"""

from __future__ import annotations

from sim.scenario import Incident, Scenario
from sim.targets import RuleSet

#: A point of the embedded network in Otog Front Banner, ~50 km by road from Aoleqi (the
#: tests check the zone, the distance (>= 40 km) and that the tier is ``region``).
OTOG_FRONT_ROAD_POINT = "38.40,107.95"


def ordos_123(replications: int = 200, seed: int = 20220630) -> Scenario:
    """Return the built-in ``ordos-123`` scenario.

    Parameters
    ----------
    replications
        Replications per incident.
    seed
        Root seed (default: 2022-06-30, the day the G65 mainline toll stations were removed).
    """
    rules = RuleSet(scope={"central": "central", "banner": "region", "region": "region"})
    return Scenario(
        name="ordos-123",
        incidents=(
            Incident("Kangbashi (central)", "kangbashi", {"taxi": 300, "bus": 40, "coach": 10}),
            Incident(
                "Xuejiawan hazmat (banner)",
                "xuejiawan",
                {"hazmat": "all", "freight": 20, "coach": 10},
                scope="banner",
            ),
            Incident(
                "Otog Front road point (region)",
                OTOG_FRONT_ROAD_POINT,
                {"freight": 10, "coach": 5, "taxi": 20},
            ),
        ),
        rules=rules,
        replications=replications,
        seed=seed,
    )


#: Built-in scenarios by name (YAML scenario files come with the scenario-file layer).
BUILTIN_SCENARIOS = {"ordos-123": ordos_123}
