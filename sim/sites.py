"""Candidate sites: where a sweep places an incident, or a wave of incidents happens.

``seats`` (the banner and district seats inside the region), ``nodes`` (every road node
inside the region) or ``grid:KM`` (a regular grid snapped to the nearest road node, points
farther than ``max_snap_km`` from any node skipped). Used by :mod:`sim.sweeps` and by the
``waves`` of a shared-fleet scenario (:mod:`sim.scenario`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sim.errors import ValidationError
from sim.geo import haversine_m
from sim.locations import DEFAULT_MAX_SNAP_KM
from sim.network import RoadNetwork

_KM_PER_DEG_LAT = 111.32


@dataclass(frozen=True)
class Site:
    """A candidate site of a sweep.

    Parameters
    ----------
    name
        Unique site name; it names the site's incident (the swept incident's name keys the
        random streams).
    node
        Node index in the network.
    snap_km
        Distance from the grid point the site stands for to its node, km (0: the site is
        the node itself, a seat or a node).
    """

    name: str
    node: int
    snap_km: float = 0.0


@dataclass(frozen=True)
class SiteChoice:
    """The candidate sites of a specification, and the grid points left out.

    Attributes
    ----------
    spec
        The specification (``seats``, ``nodes``, ``grid:KM``).
    sites
        The sites (:func:`candidate_sites`).
    points
        Grid points laid (0 for ``seats`` and ``nodes``).
    skipped_far
        Grid points farther than ``max_snap_km`` from their nearest node, skipped.
    max_snap_km
        The threshold applied (the scenario's ``locations.max_snap_km``).
    """

    spec: str
    sites: list[Site]
    points: int = 0
    skipped_far: int = 0
    max_snap_km: float = DEFAULT_MAX_SNAP_KM

    def skip_note(self) -> str | None:
        """The line saying how many grid points were skipped (``None``: none was)."""
        if not self.skipped_far:
            return None
        return (
            f"{self.skipped_far} of {self.points} grid points lie more than "
            f"{self.max_snap_km:g} km from any road node and were skipped; raise "
            "locations.max_snap_km to keep them"
        )


def _named(
    network: RoadNetwork, indices: Sequence[int], snap_km: Mapping[int, float] | None = None
) -> list[Site]:
    names = [network.places.label(i) for i in indices]
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    km = snap_km or {}
    return [
        Site(
            n if seen[n] == 1 else network.places.label(i, with_id=True),
            int(i),
            round(float(km.get(i, 0.0)), 3),
        )
        for n, i in zip(names, indices, strict=True)
    ]


def candidate_sites(
    network: RoadNetwork, sites: str, *, max_snap_km: float = DEFAULT_MAX_SNAP_KM
) -> list[Site]:
    """Return the candidate sites of a sweep (:func:`choose_sites` without the counts).

    Parameters
    ----------
    network
        The road network.
    sites
        ``"seats"``, ``"nodes"`` or ``"grid:KM"`` (KM > 0, the grid spacing in km).
    max_snap_km
        Grid points farther than this from their nearest node are skipped.

    Returns
    -------
    list of Site
        In network order (seats, nodes) or grid order (south to north, west to east).

    Raises
    ------
    ValidationError
        For an unknown specification, a bad grid spacing, or no site at all.
    """
    return choose_sites(network, sites, max_snap_km=max_snap_km).sites


def choose_sites(
    network: RoadNetwork, sites: str, *, max_snap_km: float = DEFAULT_MAX_SNAP_KM
) -> SiteChoice:
    """Return the candidate sites of a sweep and how many grid points were skipped.

    Parameters
    ----------
    network
        The road network.
    sites
        ``"seats"``, ``"nodes"`` or ``"grid:KM"`` (KM > 0, the grid spacing in km).
    max_snap_km
        The scenario's ``locations.max_snap_km``: a grid point farther than this from its
        nearest node is skipped (counted in :attr:`SiteChoice.skipped_far`), never moved.

    Returns
    -------
    SiteChoice
        The sites in network order (seats, nodes) or grid order (south to north, west to
        east); a grid site's ``snap_km`` is the distance of its nearest grid point.

    Raises
    ------
    ValidationError
        For an unknown specification, a bad grid spacing, or no site at all (the message
        says how many grid points lay too far from the roads).
    """
    if not isinstance(sites, str):
        raise ValidationError(f"`sites` must be 'seats', 'nodes' or 'grid:KM', got {sites!r}")
    spec = sites.strip().lower()
    inside = network.zone != "outside"
    if spec == "seats":
        idx = [i for i in network.seats.tolist() if inside[i]]
        if not idx:
            raise ValidationError(
                f"--sites seats: network {network.source!r} has no seat nodes "
                "(fleetsim:kind=seat); use 'nodes' or 'grid:KM'"
            )
        return SiteChoice(sites, _named(network, idx), max_snap_km=max_snap_km)
    points = skipped = 0
    snap_km: dict[int, float] = {}
    if spec == "nodes":
        idx = np.flatnonzero(inside).tolist()
    elif spec.startswith("grid:"):
        text = spec[5:]
        try:
            km = float(text)
        except ValueError:
            km = math.nan
        if not (math.isfinite(km) and km > 0):
            raise ValidationError(
                f"--sites {sites!r}: the grid spacing must be a number of km > 0, e.g. 'grid:10'"
            )
        south, west, north, east = network.bbox
        dlat = km / _KM_PER_DEG_LAT
        dlon = km / (_KM_PER_DEG_LAT * max(0.01, math.cos(math.radians((south + north) / 2))))
        n_lat = math.floor((north - south) / dlat + 1e-9) + 1
        n_lon = math.floor((east - west) / dlon + 1e-9) + 1
        if n_lat * n_lon > 1_000_000:
            raise ValidationError(
                f"--sites {sites!r}: {n_lat * n_lon:,} grid points; use a coarser spacing"
            )
        lat = np.repeat(south + np.arange(n_lat) * dlat, n_lon)
        lon = np.tile(west + np.arange(n_lon) * dlon, n_lat)
        snapped = np.array(
            [network.places.nearest_node(a, b) for a, b in zip(lat, lon, strict=True)],
            dtype=np.int64,
        )
        km = haversine_m(lat, lon, network.lat[snapped], network.lon[snapped]) / 1000.0
        points, near = int(lat.size), km <= max_snap_km
        skipped = int(points - np.count_nonzero(near))
        for n, d in zip(snapped[near].tolist(), km[near].tolist(), strict=True):
            snap_km[n] = min(d, snap_km.get(n, math.inf))
        idx = [i for i in snap_km if inside[i]]
    else:
        raise ValidationError(f"--sites {sites!r}: unknown; use 'seats', 'nodes' or 'grid:KM'")
    if not idx:
        far = (
            f" ({skipped} of {points} grid points lie more than {max_snap_km:g} km from any "
            "road node; raise locations.max_snap_km or use 'seats' or 'nodes')"
            if skipped
            else ""
        )
        raise ValidationError(f"--sites {sites!r}: no site lies inside the region{far}")
    return SiteChoice(sites, _named(network, idx, snap_km), points, skipped, max_snap_km)
