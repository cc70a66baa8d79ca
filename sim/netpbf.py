"""Reading OpenStreetMap ``.osm.pbf`` extracts with pyosmium, streaming.

OpenStreetMap extracts are distributed as PBF (a country is 1-2 GB). fleetsim reads them with
pyosmium (the Python bindings of libosmium, the reference C++ OSM library) instead of a
parser of its own: :func:`extract_roads` streams the file once and writes the ways with a
``highway`` tag, with every node they use (their tags kept), to an OSM XML file, which then
takes exactly the OSMnx path of an ``.osm`` extract (:mod:`sim.netload`). So a ``.osm.pbf``
and an ``.osm.bz2`` of the same data give the same network, and memory stays bounded by the
road network, never by the whole extract: buildings, land use, rivers, relations and the
untagged nodes of everything but roads never leave libosmium.

Ways without a ``highway`` tag are not roads (:func:`sim.netload.road_class`); OSMnx would
turn them into edges that the road filter then removes, so their edges are counted here by
OSMnx's rule (one edge per consecutive node pair, both directions unless one-way) and
reported as :attr:`~sim.network.RoadNetwork.info` ``non_road_edges``, as for an OSM XML file.

With a ``clip`` (``fleetsim network import --clip``), node locations are cached while the file
streams (libosmium's ``flex_mem`` index: about 16 bytes a node of the extract) and only the
ways with a node inside the clip area are kept; cutting the ways at its border is left to
the loader, on the graph.

pyosmium is imported only when a PBF file is read: other runs never pay for it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from itertools import groupby
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import NetworkError

__all__ = ["PBF_SUFFIXES", "Clip", "extract_roads", "is_pbf"]

#: File name endings read as PBF.
PBF_SUFFIXES = (".osm.pbf", ".pbf")

#: A clip area: ``keep(lon, lat)`` is a boolean mask of the points inside it (arrays in degrees).
Clip = Callable[[np.ndarray, np.ndarray], np.ndarray]

# OSMnx's one-way rule (osmnx.graph._add_paths): these `oneway` values, or a roundabout.
_ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})


def is_pbf(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a PBF file (``*.osm.pbf`` or ``*.pbf``, any case)."""
    return Path(path).name.lower().endswith(PBF_SUFFIXES)


def extract_roads(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, clip: Clip | None = None
) -> int:
    """Write the roads of a PBF file to an OSM XML file, streaming.

    Parameters
    ----------
    src
        The ``.osm.pbf`` file.
    dst
        The OSM XML file to write (overwritten).
    clip
        Keep only the ways with at least one node inside this area (``keep(lon, lat)``);
        ``None`` keeps every way.

    Returns
    -------
    int
        The edges OSMnx would have made of the ways left out for lacking a ``highway`` tag
        (inside ``clip`` when given): the ``non_road_edges`` of an OSM XML file of the same data.

    Raises
    ------
    NetworkError
        If the file cannot be read as PBF.
    """
    import osmium

    dropped = 0
    problem: Exception | None = None
    writer = None
    try:
        header = osmium.io.Reader(str(src), osmium.osm.NOTHING)
        try:
            header.header()  # is it an OSM file at all? (before the writer makes its folder)
        finally:
            header.close()
        # Ways stream through Python; libosmium then copies the nodes they use from a second
        # pass over the file, when the writer closes.
        writer = osmium.BackReferenceWriter(
            str(dst), ref_src=str(src), overwrite=True, remove_tags=False
        )
        for way in _ways(src, clip):
            if clip is not None and not _touches(way, clip):
                continue
            if "highway" in way.tags:
                writer.add(way)
            else:
                dropped += _osmnx_edges(way)
        writer.close()
    except (RuntimeError, osmium.InvalidLocationError) as exc:  # libosmium I/O, format errors
        problem = exc
        if writer is not None:  # the writer removes its temporary folder only on success
            with contextlib.suppress(Exception):
                writer.writer.close()
                writer.tmpdir.cleanup()
    if problem is not None:
        raise NetworkError(f"cannot read PBF file {src}: {problem}") from problem
    return dropped


def _ways(src: str | os.PathLike[str], clip: Clip | None) -> Any:
    """The ways of ``src``; with node locations when there is a clip to test them against."""
    import osmium

    if clip is None:
        return osmium.FileProcessor(str(src), osmium.osm.WAY)
    return (
        osmium.FileProcessor(str(src))
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
    )


def _touches(way: object, clip: Clip) -> bool:
    """Whether a way (with node locations) has a node inside ``clip``."""
    coords = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]  # type: ignore[attr-defined]
    if not coords:
        return False
    lon, lat = np.asarray(coords, dtype=float).T
    return bool(np.any(clip(lon, lat)))


def _osmnx_edges(way: object) -> int:
    """Edges OSMnx makes of a way: consecutive distinct node pairs, twice unless one-way."""
    refs = [key for key, _ in groupby(n.ref for n in way.nodes)]  # type: ignore[attr-defined]
    tags = way.tags  # type: ignore[attr-defined]
    one_way = tags.get("oneway") in _ONEWAY_VALUES or tags.get("junction") == "roundabout"
    return max(len(refs) - 1, 0) * (1 if one_way else 2)
