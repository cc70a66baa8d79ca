"""Export a road network for QGIS or for reloading: GraphML or GeoPackage.

Writing is the reverse of :mod:`sim.netload` (which reloads a GraphML file with identical
travel times); this module only reads a :class:`sim.network.RoadNetwork`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.errors import NetworkError, ValidationError
from sim.network import RoadNetwork

__all__ = ["export"]


def export(
    network: RoadNetwork,
    path: str | os.PathLike[str],
    *,
    node_attrs: Mapping[int, Mapping[str, Any]] | None = None,
    source: str | None = None,
    travel_times: bool = True,
) -> Path:
    """Write the cleaned network with its class travel times, for QGIS or reloading.

    Parameters
    ----------
    network
        The network to write.
    path
        ``*.graphml`` (OSMnx GraphML; :func:`sim.netload.load_network` reloads it with
        identical travel times) or ``*.gpkg`` (GeoPackage with ``nodes`` and ``edges``
        layers, directed).
    node_attrs
        Node attributes to set (or replace) before writing, by node index: what
        :mod:`sim.netimport` uses to write zones and places (``zone``, ``central``, ``name``,
        ``place``, ``kind``, ...), which the loader reads back.
    source
        The file's ``fleetsim_source`` graph attribute (default: the network's source).
    travel_times
        Write each edge's ``travel_time_<class>`` (for QGIS); the loader recomputes them, so
        an import leaves them out (a smaller file, written and read faster).

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
    for i, attrs in (node_attrs or {}).items():
        graph.nodes[int(network.node_ids[i])].update(attrs)
    for _, data in graph.nodes(data=True):
        for key in [k for k, v in data.items() if v is None]:
            del data[key]
    for _, _, data in graph.edges(data=True):
        for key in [
            k
            for k, v in data.items()
            if v is None or (not travel_times and k.startswith("travel_time_"))
        ]:
            del data[key]
    graph.graph["fleetsim_source"] = network.source if source is None else source
    try:
        if suffix == ".graphml":
            ox.save_graphml(graph, path)
        else:
            ox.save_graph_geopackage(graph, path, directed=True)
    except (OSError, RuntimeError) as exc:  # pyogrio's DataSourceError is a RuntimeError
        raise NetworkError(f"cannot write {path}: {exc}") from exc
    return path
