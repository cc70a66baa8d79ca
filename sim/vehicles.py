"""Vehicle classes and their legal speed caps.

The five classes of the Ordos reserve fleet (founding article: 出租车、客车、公交车、普通货物和
危险货物运输车辆). Speed caps follow Chinese law, see ``../shared/data/ordos/facts.md`` §3:

* 《道路交通安全法实施条例》第78条: on expressways small passenger cars (taxis) at most
  120 km/h, every other motor vehicle (coaches, buses, trucks) at most 100 km/h;
* 《危险货物道路运输安全管理办法》(2019) 第46条: dangerous-goods vehicles at most 80 km/h on
  expressways and 60 km/h on other roads;
* posted limits (the edge's own speed) prevail where they are lower.

This module owns only the classes and the caps; everything operational (availability,
mobilisation, call-out) lives in :mod:`sim.fleet`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.errors import ValidationError

#: The vehicle classes, in the order used for arrays and tables.
VEHICLE_CLASSES: tuple[str, ...] = ("taxi", "coach", "bus", "freight", "hazmat")

#: OSM ``highway`` values counted as expressway (高速公路) for the legal caps.
EXPRESSWAY_HIGHWAYS: frozenset[str] = frozenset({"motorway", "motorway_link"})


@dataclass(frozen=True)
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

    expressway_kmh: float
    other_kmh: float = math.inf
    factor: float = 1.0

    def __post_init__(self) -> None:
        for name in ("expressway_kmh", "other_kmh", "factor"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0 and not math.isnan(value)):
                raise ValidationError(f"SpeedProfile: `{name}` must be > 0, got {value!r}")

    def cap_kmh(self, expressway: bool) -> float:
        """Return the cap in km/h on an expressway (``True``) or another road."""
        return self.expressway_kmh if expressway else self.other_kmh


#: Legal caps per class (facts.md §3). City buses and coaches are "other motor vehicles".
DEFAULT_SPEED_PROFILES: dict[str, SpeedProfile] = {
    "taxi": SpeedProfile(expressway_kmh=120.0),
    "coach": SpeedProfile(expressway_kmh=100.0),
    "bus": SpeedProfile(expressway_kmh=100.0),
    "freight": SpeedProfile(expressway_kmh=100.0),
    "hazmat": SpeedProfile(expressway_kmh=80.0, other_kmh=60.0),
}


def check_vehicle_class(name: str, *, parameter: str = "vehicle") -> str:
    """Return ``name`` if it is a known vehicle class, else raise a clear error.

    Parameters
    ----------
    name
        The class name to check.
    parameter
        The parameter or key path to name in the error message.

    Raises
    ------
    ValidationError
        If ``name`` is not one of :data:`VEHICLE_CLASSES`.
    """
    if name not in VEHICLE_CLASSES:
        import difflib

        close = difflib.get_close_matches(str(name), VEHICLE_CLASSES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValidationError(
            f"`{parameter}`: unknown vehicle class {name!r}{hint}; "
            f"known classes: {', '.join(VEHICLE_CLASSES)}"
        )
    return name
