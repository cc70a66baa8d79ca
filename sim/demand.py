"""What a demand means: a count, every vehicle in scope, or every vehicle that accepted.

A demand of one class is a count (``taxi: 100``) or one of two explicit words:

* ``all_in_scope``: every vehicle of the class in the incident's depot scope that can reach
  the staging point is called, and the target needs ``success_fraction`` of *all of them*
  registered by the deadline; a vehicle that is unavailable, unreachable or declines counts
  against the target.
* ``all_accepted``: every such vehicle is called, and the target needs ``success_fraction`` of
  *those that accepted the call*; declines shrink what is needed (and a replication in which
  none accepts fails).

The plain word ``all`` (any case) is read as ``all_accepted``, the meaning it always had, with
a warning (:func:`plain_all_warning`) saying so and how to spell it explicitly.
:class:`Basis` names the three meanings; :func:`sim.records.Trace.result` applies them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class Basis(enum.StrEnum):
    """What the success criterion of one class counts against."""

    #: A count was requested: the target needs ``success_fraction`` of that count.
    COUNT = "count"
    #: ``all_in_scope``: the target needs ``success_fraction`` of every vehicle in scope.
    ALL_IN_SCOPE = "all_in_scope"
    #: ``all_accepted`` (and plain ``all``): ``success_fraction`` of the vehicles that accepted.
    ALL_ACCEPTED = "all_accepted"


#: The plain word, read as :attr:`Basis.ALL_ACCEPTED` with a warning.
PLAIN_ALL = "all"

#: Every word a demand may be (besides a count), as written in normal form (lower case).
WORDS: tuple[str, ...] = (Basis.ALL_IN_SCOPE.value, Basis.ALL_ACCEPTED.value, PLAIN_ALL)

#: How the verdict table and the report show a class requested with each word.
LABELS: dict[str, str] = {
    Basis.ALL_IN_SCOPE.value: "all in scope",
    Basis.ALL_ACCEPTED.value: "all accepted",
}


def normal_word(value: Any) -> str | None:
    """The demand word ``value`` spells (``ALL``, `` All_Accepted `` …), or ``None``."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in WORDS:
            return word
    return None


def is_every(demand: int | str) -> bool:
    """Whether a (normalised) demand asks for every vehicle in scope (any of the words)."""
    return isinstance(demand, str)


def basis_of(demand: int | str) -> Basis:
    """The :class:`Basis` of a normalised demand value (a count, or one of :data:`WORDS`)."""
    if not is_every(demand):
        return Basis.COUNT
    return Basis.ALL_IN_SCOPE if demand == Basis.ALL_IN_SCOPE.value else Basis.ALL_ACCEPTED


def explicit(demand: int | str) -> int | str:
    """The demand spelled explicitly: plain ``all`` becomes ``all_accepted``."""
    return Basis.ALL_ACCEPTED.value if demand == PLAIN_ALL else demand


def plain_all_warning(where: str, vehicle_class: str) -> str:
    """The warning for a plain ``all`` demand: the meaning it got and the explicit spellings.

    Parameters
    ----------
    where
        Where the demand is written, e.g. ``incidents[1].demand.hazmat``.
    vehicle_class
        The class requested.
    """
    return (
        f"{where}: demand 'all' is read as 'all_accepted': the target needs every {vehicle_class} "
        "vehicle in scope that ACCEPTS the call, so declines do not count against it; write "
        f"'{vehicle_class}: all_accepted' to keep this meaning without this warning, or "
        f"'{vehicle_class}: all_in_scope' to need every {vehicle_class} vehicle in scope"
    )


def describe(demand: Mapping[str, Any], basis: Mapping[str, str] | None = None) -> str:
    """A demand as a planner reads it: ``hazmat 15 (all accepted), freight 20``.

    Parameters
    ----------
    demand
        Class → vehicles requested (for the words: every vehicle in scope).
    basis
        Class → :class:`Basis` value (``demand_basis`` of the JSON contract); a class missing
        from it is a count.
    """
    parts = []
    for k, n in demand.items():
        label = LABELS.get((basis or {}).get(k, Basis.COUNT.value))
        parts.append(f"{k} {n}" + (f" ({label})" if label else ""))
    return ", ".join(parts)
