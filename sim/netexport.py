"""Export a road network for QGIS or for reloading: GraphML or GeoPackage.

Writing is the reverse of :mod:`sim.netload` (which reloads a GraphML file with identical
travel times); this module only reads a :class:`sim.network.RoadNetwork`.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator
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
    ``fleetsim_source``. The file is byte for byte what ``osmnx.save_graphml`` writes (every
    value as its ``str``, through networkx's lxml writer), written as text without the
    string copy of the graph and the element tree that costs minutes on a regional network;
    a graph that writer would treat differently (a graph ``id``, attribute defaults, text
    that is not XML) is written by OSMnx itself.

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
    return _save(graph, Path(path), source, _write_graphml)


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


# -- GraphML as OSMnx writes it ---------------------------------------------------------------

_NS_GRAPHML = "http://graphml.graphdrawing.org/xmlns"
_HEADER = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    f'<graphml xmlns="{_NS_GRAPHML}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    f'xsi:schemaLocation="{_NS_GRAPHML} {_NS_GRAPHML}/1.0/graphml.xsd">'
)
# Characters XML 1.0 does not allow (lxml refuses them): such a graph goes to OSMnx.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)
_CHUNK = 4096  # elements per write


def _write_graphml(graph: nx.MultiDiGraph, path: Path) -> None:
    """Write ``graph`` exactly as ``osmnx.save_graphml`` (networkx's lxml writer) would."""
    if {"id", "node_default", "edge_default"} & set(graph.graph) or not graph.is_multigraph():
        import osmnx as ox

        ox.save_graphml(graph, path)
        return
    keys: dict[tuple[str, str], str] = {}  # (scope, name) -> key id, in order of first use

    def key_ids(scope: str, items: Iterable[dict[str, Any]]) -> None:
        for data in items:
            for k in data:
                name = str(k)
                if (scope, name) not in keys:
                    keys[(scope, name)] = f"d{len(keys)}"

    key_ids("graph", [graph.graph])
    key_ids("node", (d for _, d in graph.nodes(data=True)))
    key_ids("edge", (d for _, _, d in graph.edges(data=True)))
    head = [_HEADER]
    for (scope, name), kid in reversed(keys.items()):  # networkx inserts each key first
        head.append(
            f'<key id="{kid}" for="{scope}" attr.name="{name.translate(_ATTR_ESCAPES)}" '
            'attr.type="string"/>\n'
        )
    head.append('<graph edgedefault="directed">')
    head += [
        f'<data key="{keys[("graph", str(k))]}">{str(v).translate(_TEXT_ESCAPES)}</data>\n'
        for k, v in graph.graph.items()
    ]
    node_key = {name: kid for (scope, name), kid in keys.items() if scope == "node"}
    edge_key = {name: kid for (scope, name), kid in keys.items() if scope == "edge"}
    nodes = (
        _element(f'<node id="{_attr(n)}"', "node", d, node_key) for n, d in graph.nodes(data=True)
    )
    edges = (
        _element(
            f'<edge source="{_attr(u)}" target="{_attr(v)}" id="{_attr(k)}"', "edge", d, edge_key
        )
        for u, v, k, d in graph.edges(keys=True, data=True)
    )
    chunks = _chunks(itertools.chain(["".join(head)], nodes, edges, ["</graph></graphml>"]))
    with open(path, "w", encoding="utf-8", newline="") as f:
        for text in chunks:
            if _NOT_XML.search(text):
                break
            f.write(text)
        else:
            return
    import osmnx as ox  # text that is not XML: OSMnx (lxml) raises as it always did

    ox.save_graphml(graph, path)


def _attr(value: object) -> str:
    return str(value).translate(_ATTR_ESCAPES)


def _element(start: str, tag: str, data: dict[str, Any], key: dict[str, str]) -> str:
    if not data:
        return f"{start}/>\n"
    rows = "".join(
        f'  <data key="{key[str(k)]}">{str(v).translate(_TEXT_ESCAPES)}</data>\n'
        for k, v in data.items()
    )
    return f"{start}>\n{rows}</{tag}>\n"


def _chunks(parts: Iterable[str]) -> Iterator[str]:
    """Join ``parts`` a few thousand at a time."""
    batch: list[str] = []
    for part in parts:
        batch.append(part)
        if len(batch) >= _CHUNK:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)
