"""Synthetic road-like graphs and scaled fleets, for the scaling curves.

* :func:`road_graph`: a perturbed square grid (about 1 km blocks around Ordos' latitude) with a
  hierarchy of road classes — a motorway every 40th row and column, a primary road every 10th,
  a secondary every 5th, residential streets elsewhere — where 15 % of the residential blocks
  are missing and some residential streets are one-way. Built deterministically from a seed.
* :func:`write_pbf`: such a graph written as an OpenStreetMap PBF extract (one way per road).
* :func:`scaled_fleet`: the default fleet with every depot's count (and every operator's
  dispatchers) scaled to a total fleet size, by largest remainders.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import networkx as nx
import numpy as np

from sim.fleet import Fleet, default_fleet

LAT0, LON0 = 39.0, 108.0
BLOCK_DEG = 0.009  # ~1 km north-south


def road_class(i: int) -> str:
    if i % 40 == 0:
        return "motorway"
    if i % 10 == 0:
        return "primary"
    if i % 5 == 0:
        return "secondary"
    return "residential"


def _rank(highway: str) -> int:
    return ("motorway", "primary", "secondary", "residential").index(highway)


def road_graph(
    n_nodes: int,
    seed: int = 7,
    *,
    lat0: float = LAT0,
    lon0: float = LON0,
    block_deg: float = BLOCK_DEG,
    lon_block_deg: float | None = None,
) -> nx.MultiDiGraph:
    """A road-like graph of about ``n_nodes`` nodes (a ``side x side`` perturbed grid).

    Parameters
    ----------
    n_nodes
        Approximate number of nodes (``side = round(sqrt(n_nodes))``).
    seed
        Seed of the jitter, the missing blocks and the one-way streets.
    lat0, lon0
        South-west corner, degrees.
    block_deg, lon_block_deg
        Block size north-south and east-west, degrees (default: square blocks of ~1 km).
    """
    side = round(math.sqrt(n_nodes))
    rng = np.random.default_rng(seed)
    jitter = rng.uniform(-0.25, 0.25, size=(side * side, 2)) * BLOCK_DEG
    lon_block = block_deg / math.cos(math.radians(lat0)) if lon_block_deg is None else lon_block_deg
    graph = nx.MultiDiGraph(crs="epsg:4326")
    for i in range(side):
        for j in range(side):
            k = i * side + j
            graph.add_node(
                k,
                y=lat0 + (i + jitter[k, 0]) * block_deg,
                x=lon0 + (j + jitter[k, 1]) * lon_block,
            )
    drop = rng.random((side, side, 2))
    oneway = rng.random((side, side, 2))
    edges = []
    for i in range(side):
        for j in range(side):
            k = i * side + j
            # east along row i, north along column j
            for d, (other, cls) in enumerate(
                (
                    (k + 1 if j + 1 < side else None, road_class(i)),
                    (k + side if i + 1 < side else None, road_class(j)),
                )
            ):
                if other is None:
                    continue
                if cls == "residential" and drop[i, j, d] < 0.15:
                    continue
                attrs = {"highway": cls}
                if cls == "motorway":
                    attrs["maxspeed"] = "120"
                edges.append((k, other, attrs))
                if not (cls == "residential" and oneway[i, j, d] < 0.1):
                    edges.append((other, k, dict(attrs)))
    graph.add_edges_from(edges)
    return graph


def write_pbf(graph: nx.MultiDiGraph, path: Path) -> Path:
    """Write a :func:`road_graph` as an OpenStreetMap PBF extract (with pyosmium).

    Node ``k`` becomes OSM node ``k + 1``; every road between two nodes becomes one way with
    its ``highway`` (and ``maxspeed``), tagged ``oneway=yes`` when the graph has one direction.
    """
    import osmium

    with osmium.SimpleWriter(str(path), overwrite=True) as writer:
        for k, data in graph.nodes(data=True):
            location = (round(data["x"], 7), round(data["y"], 7))
            writer.add_node(osmium.osm.mutable.Node(id=k + 1, location=location))
        seen: set[tuple[int, int]] = set()
        way = 0
        for u, v, data in graph.edges(data=True):
            if (u, v) in seen or (v, u) in seen:
                continue
            seen.add((u, v))
            tags = {k: str(x) for k, x in data.items() if k in ("highway", "maxspeed")}
            if not graph.has_edge(v, u):
                tags["oneway"] = "yes"
            way += 1
            writer.add_way(osmium.osm.mutable.Way(id=way, nodes=[u + 1, v + 1], tags=tags))
    return path


def scaled_fleet(total: int, base: Fleet | None = None) -> Fleet:
    """The default fleet scaled to ``total`` vehicles, depot by depot (largest remainders).

    Every operator's dispatchers are scaled by the same factor (at least 1), so the call-out
    keeps pace with the larger fleet.

    Parameters
    ----------
    total
        Vehicles in the scaled fleet.
    base
        The fleet to scale (default: :func:`sim.fleet.default_fleet`).
    """
    base = base or default_fleet()
    factor = total / base.total
    exact = np.array([d.count * factor for d in base.depots])
    counts = np.floor(exact).astype(int)
    short = total - int(counts.sum())
    order = sorted(range(len(exact)), key=lambda k: (-(exact[k] - counts[k]), k))
    for k in order[:short]:
        counts[k] += 1
    depots = tuple(replace(d, count=int(c)) for d, c in zip(base.depots, counts, strict=True))
    operators = tuple(
        replace(o, dispatchers=max(1, round(o.dispatchers * factor))) for o in base.operators
    )
    return replace(base, operators=operators, depots=depots)


__all__ = ["road_graph", "scaled_fleet", "write_pbf"]
