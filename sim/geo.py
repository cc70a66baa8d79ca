"""Geometry on the sphere: great-circle distance, distance to a segment, bounding boxes.

Plain numpy on WGS84 degrees; nothing here knows about road networks. Used by
:mod:`sim.netload` (lengths of edges without one), :mod:`sim.places` (nearest node, bounding
box) and :mod:`sim.closures` (snapping places to a road, closure radii).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["EARTH_RADIUS_M", "bbox", "haversine_m", "segment_distance_km", "unit_vectors"]

#: Mean Earth radius (m), the sphere every distance here is measured on.
EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Return the great-circle distance in metres between points (numpy broadcasting).

    Parameters
    ----------
    lat1, lon1, lat2, lon2
        Coordinates in degrees: numbers or arrays.

    Returns
    -------
    float or numpy.ndarray
        The distances, m.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def segment_distance_km(
    lat0: float, lon0: float, lat1: Any, lon1: Any, lat2: Any, lon2: Any
) -> np.ndarray:
    """Return the distance (km) from a point to straight segments, in a local plane.

    Parameters
    ----------
    lat0, lon0
        The point, degrees.
    lat1, lon1, lat2, lon2
        The segments' ends, degrees (arrays of equal shape).

    Returns
    -------
    numpy.ndarray
        Distances in km, measured in the equirectangular plane centred on the point.
    """
    k = EARTH_RADIUS_M / 1000.0 * math.pi / 180.0
    c = math.cos(math.radians(float(lat0)))
    ax, ay = (np.asarray(lon1) - lon0) * k * c, (np.asarray(lat1) - lat0) * k
    bx, by = (np.asarray(lon2) - lon0) * k * c, (np.asarray(lat2) - lat0) * k
    dx, dy = bx - ax, by - ay
    dd = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(dd > 0, np.clip(-(ax * dx + ay * dy) / dd, 0.0, 1.0), 0.0)
    return np.hypot(ax + t * dx, ay + t * dy)


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Return points on the unit sphere, one row each: chord order equals great-circle order.

    Parameters
    ----------
    lat, lon
        Coordinates in degrees.
    """
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))


def bbox(lat: np.ndarray, lon: np.ndarray) -> tuple[float, float, float, float]:
    """Return ``(south, west, north, east)`` of the points, in degrees.

    Parameters
    ----------
    lat, lon
        Coordinates in degrees (non-empty).
    """
    return (float(lat.min()), float(lon.min()), float(lat.max()), float(lon.max()))
