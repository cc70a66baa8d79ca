"""Export a road network for QGIS or for reloading: GraphML or GeoPackage.

Writing is the reverse of :mod:`sim.netload` (which reloads a GraphML file with identical
travel times); this module only reads a :class:`sim.network.RoadNetwork`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx

from sim.errors import NetworkError, ValidationError
from sim.network import RoadNetwork

__all__ = ["export", "save_graphml"]


def export(network: RoadNetwork, path: str | os.PathLike[str]) -> Path:
    """Write the cleaned network with its class travel times, for QGIS or reloading.

    Parameters
    ----------
    network
        The network to write.
    path
        ``*.graphml`` (OSMnx GraphML; :func:`sim.netload.load_network` reloads it with
        identical travel times) or ``*.gpkg`` (GeoPackage with ``nodes`` and ``edges``
        layers, directed).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    NetworkError
        For another suffix or when the file cannot be written.
    """
    import osmnx as ox

    if not isinstance(network, RoadNetwork):
        raise ValidationError(f"`network` must be a RoadNetwork, got {type(network).__name__}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".graphml", ".gpkg"}:
        raise NetworkError(
            f"cannot export to {str(path)!r}: the file name must end .graphml or .gpkg"
        )
    graph = network.graph.copy()  # an unfrozen copy; drop None-valued attributes
    if suffix == ".graphml":
        return save_graphml(graph, path, source=network.source)
    return _save(
        graph, path, network.source, lambda g, p: ox.save_graph_geopackage(g, p, directed=True)
    )


def save_graphml(graph: nx.MultiDiGraph, path: str | os.PathLike[str], *, source: str) -> Path:
    """Write a cleaned graph as OSMnx GraphML, which :func:`sim.netload.load_network` reloads.

    ``graph`` itself loses its ``None``-valued attributes and gains the graph attribute
    ``fleetsim_source``; OSMnx writes a string copy of it (with lxml: incrementally).

    Parameters
    ----------
    graph
        The graph (OSMnx conventions; not frozen).
    path
        The ``.graphml`` file.
    source
        Where the graph came from.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    NetworkError
        When the file cannot be written.
    """
    import osmnx as ox

    return _save(graph, Path(path), source, ox.save_graphml)


def _save(
    graph: nx.MultiDiGraph, path: Path, source: str, write: Callable[[nx.MultiDiGraph, Path], Any]
) -> Path:
    """Drop ``graph``'s ``None``-valued attributes, record ``source``, and ``write`` it."""
    _drop_none(graph)
    graph.graph["fleetsim_source"] = source
    try:
        write(graph, path)
    except (OSError, RuntimeError) as exc:  # pyogrio's DataSourceError is a RuntimeError
        raise NetworkError(f"cannot write {path}: {exc}") from exc
    return path


def _drop_none(graph: nx.MultiDiGraph) -> None:
    for _, data in graph.nodes(data=True):
        for key in [k for k, v in data.items() if v is None]:
            del data[key]
    for _, _, data in graph.edges(data=True):
        for key in [k for k, v in data.items() if v is None]:
            del data[key]
