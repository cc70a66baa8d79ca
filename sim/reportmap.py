"""The report's interactive map: a scenario's network as Plotly traces in longitude/latitude.

:func:`network_layers` draws what the HTML report (:mod:`sim.report`) shows under the
incidents or sites: the central urban area, every road once (coloured by banner/district,
wider for expressways), the banner/district names, closed roads, named places in English and
Chinese where the network has both (``name`` / ``name:en`` / ``name:zh``), depots (marker
area ∝ vehicles, coloured by class) and checkpoints and toll plazas. :func:`map_layout` gives
the axes the mid latitude's aspect ratio, so the map keeps its shape without any tiles.

Coordinates are sent as float32 (about a metre), roads as polylines joined by gaps, and a
large network's minor roads are thinned within a budget of points (:mod:`sim.reportroads`,
which the page states), so that the 4.8 MB of Plotly's JavaScript dominate the page, not
the map.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from sim.closures import closure_edges
from sim.errors import FleetsimError
from sim.network import RoadNetwork
from sim.planning import checkpoint_node, resolve_depots
from sim.reportroads import edge_xy, road_layer
from sim.scenario import Scenario
from sim.vehicles import class_colours

_CJK = re.compile(r"[\u3400-\u9fff]")
_ROAD_WIDTH = {"motorway": 2.6, "trunk": 1.9, "primary": 1.3}
_ZONE_PALETTE = (
    "#4E79A7", "#F28E2B", "#59A14F", "#B07AA1", "#76B7B2",
    "#EDC948", "#9C755F", "#E15759", "#FF9DA7", "#BAB0AC",
)  # fmt: skip
_SYMBOL_OF_KIND = {"checkpoint": "triangle-up", "toll": "diamond"}
_ROAD_NUMBER = 8  # the longest ref read as a road number (G65, S215, G1817)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _text(x: Any) -> str:
    """Text of a node or edge attribute: empty for None and NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return str(x)


def node_names(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """A node's English and Chinese names (either may be missing).

    ``name:en`` and ``name:zh`` where given; ``name`` fills the English name, or the Chinese
    one when it is written in Chinese (as in OpenStreetMap data of China).

    Parameters
    ----------
    data
        The node's attributes in the network's graph.

    Returns
    -------
    tuple
        ``(english, chinese)``, ``None`` for a name the node does not have.
    """
    name = _text(data.get("name")) or None
    zh = _text(data.get("name:zh")) or None
    en = _text(data.get("name:en")) or None
    if name and _CJK.search(name):
        zh = zh or name
    else:
        en = en or name
    return en, zh


def road_label(network: RoadNetwork, node_id: int) -> str:
    """The road a node lies on, from the first edge that names it.

    A short ref (a road number such as ``G65``) and the Chinese name where the edge has one
    (``G65 包茂高速公路``), else the name; a long ref (not a road number) only without a name.

    Parameters
    ----------
    network
        The road network.
    node_id
        A graph node id.
    """
    graph = network.graph
    for _, _, data in graph.edges(node_id, data=True):
        ref = _text(data.get("ref"))
        name = _text(data.get("name:zh")) or _text(data.get("name"))
        if ref and name.startswith(ref):
            name = name[len(ref) :].strip()
        if len(ref) > _ROAD_NUMBER and name:
            ref = ""
        label = " ".join(x for x in (ref, name) if x)
        if label:
            return label
    return ""


def _zone_colours(network: RoadNetwork) -> dict[str, str]:
    zones = sorted(z for z in set(network.zone.tolist()) if z and z != "outside")
    return {z: _ZONE_PALETTE[i % len(_ZONE_PALETTE)] for i, z in enumerate(zones)}


def _lines(segments: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes of polylines joined by NaN gaps (float32 keeps them small)."""
    parts = []
    for seg in segments:
        parts.append(seg)
        parts.append(np.array([[np.nan, np.nan]]))
    xy = np.vstack(parts) if parts else np.empty((0, 2))
    return xy[:, 0].astype(np.float32), xy[:, 1].astype(np.float32)


def _road_traces(network: RoadNetwork) -> tuple[list[Any], str | None]:
    """Every road once, coloured by banner/district and wider for expressways (minor roads
    thinned on a large network: :mod:`sim.reportroads`), and the note on what was left out."""
    import plotly.graph_objects as go

    graph = network.graph
    colours = _zone_colours(network)

    def group(u: Any, v: Any, data: Mapping[str, Any]) -> tuple[str, float]:
        zu, zv = graph.nodes[u].get("zone"), graph.nodes[v].get("zone")
        zone = str(zu) if zu == zv and str(zu) in colours else ""
        return zone, _ROAD_WIDTH.get(str(data.get("highway")), 0.9)

    layer = road_layer(network, group)
    traces = []
    for k, ((zone, width), segs) in enumerate(sorted(layer.lines.items(), key=lambda kv: kv[0])):
        lon, lat = _lines(segs)
        traces.append(
            go.Scatter(
                x=lon,
                y=lat,
                mode="lines",
                line={"color": colours.get(zone, "#9a9a9a"), "width": width},
                name="roads (colour: banner/district)",
                legendgroup="roads",
                showlegend=k == 0,
                hoverinfo="skip",
            )
        )
    return traces, layer.note()


def _zone_label_trace(network: RoadNetwork) -> Any | None:
    """The names of the banners/districts, in their road colour, at their nodes' median."""
    import plotly.graph_objects as go

    colours = _zone_colours(network)
    if not colours:
        return None
    lon = [float(np.median(network.lon[network.zone == z])) for z in colours]
    lat = [float(np.median(network.lat[network.zone == z])) for z in colours]
    return go.Scatter(
        x=lon,
        y=lat,
        mode="text",
        text=[f"<i><b>{_e(z)}</b></i>" for z in colours],
        textfont={"size": 12, "color": list(colours.values())},
        textposition="bottom center",
        name="banner/district names",
        hoverinfo="skip",
    )


def _central_trace(network: RoadNetwork) -> Any | None:
    """The central urban area: the hull of its nodes, widened by ~4 km, per cluster."""
    import plotly.graph_objects as go

    rings = network.central_area(quad_segs=4)
    if not rings:
        return None
    lon, lat = _lines(rings)
    return go.Scatter(
        x=lon,
        y=lat,
        mode="lines",
        fill="toself",
        fillcolor="rgba(244,166,166,0.45)",
        line={"color": "#D06060", "width": 1},
        name="central urban area",
        hoverinfo="skip",
    )


def _place_traces(network: RoadNetwork) -> list[Any]:
    """Named places (seats, towns, toll stations): a dot and the English and Chinese name."""
    import plotly.graph_objects as go

    graph = network.graph
    rows = []
    for index in sorted(set(network.places.names.values())):
        data = graph.nodes[int(network.node_ids[index])]
        en, zh = node_names(data)
        if not (en or zh):
            continue
        label = "<br>".join(dict.fromkeys(x for x in (en, zh) if x))
        zone = str(network.zone[index])
        hover = f"<b>{_e(label)}</b><br>{_e(data.get('kind') or 'place')} · zone {_e(zone)}"
        rows.append((float(network.lon[index]), float(network.lat[index]), label, hover))
    if not rows:
        return []
    lon, lat, text, hover = zip(*rows, strict=True)
    return [
        go.Scatter(
            x=list(lon),
            y=list(lat),
            mode="markers+text",
            text=list(text),
            textposition="top right",
            textfont={"size": 9, "color": "#222222"},
            marker={"size": 5, "color": "#222222"},
            name="named places (English · 中文)",
            hovertext=list(hover),
            hovertemplate="%{hovertext}<extra></extra>",
        )
    ]


def _depot_traces(network: RoadNetwork, scenario: Scenario) -> list[Any]:
    """Depots: one trace per class, marker area ∝ vehicles, classes at one node fanned out."""
    import plotly.graph_objects as go

    fleet = scenario.fleet
    nodes = resolve_depots(network, fleet)
    by_node: dict[int, list[Any]] = {}
    for depot, node in zip(fleet.depots, nodes.tolist(), strict=True):
        if depot.count > 0:
            by_node.setdefault(int(node), []).append(depot)
    biggest = max((d.count for ds in by_node.values() for d in ds), default=1)
    south, west, north, east = network.bbox
    ring = 0.008 * max(north - south, east - west)
    points: dict[str, list[tuple[float, float, float, str]]] = {}
    for node, depots in sorted(by_node.items()):
        classes = list(dict.fromkeys(d.vehicle_class for d in depots))
        lat, lon = float(network.lat[node]), float(network.lon[node])
        for d in depots:
            i = classes.index(d.vehicle_class)
            dx = dy = 0.0
            if len(classes) > 1:
                angle = 2 * math.pi * i / len(classes) + math.pi / 2
                dx = ring * math.cos(angle) / max(0.2, math.cos(math.radians(lat)))
                dy = ring * math.sin(angle)
            text = f"<b>{_e(d.name)}</b><br>{d.count} {_e(d.vehicle_class)} · {_e(d.location)}"
            points.setdefault(d.vehicle_class, []).append((lon + dx, lat + dy, d.count, text))
    colours = class_colours(fleet.classes)
    traces = []
    for k, cls in enumerate(c for c in colours if c in points):
        pts = points[cls]
        lon, lat, count, text = zip(*pts, strict=True)
        traces.append(
            go.Scatter(
                x=list(lon),
                y=list(lat),
                mode="markers",
                marker={
                    "size": [6 + 22 * math.sqrt(c / biggest) for c in count],
                    "color": colours.get(cls, "#777777"),
                    "opacity": 0.8,
                    "line": {"color": "black", "width": 0.6},
                },
                name=f"{cls} depots" + (" (area ∝ vehicles)" if k == 0 else ""),
                hovertext=list(text),
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    return traces


def _checkpoint_traces(network: RoadNetwork, scenario: Scenario) -> list[Any]:
    import plotly.graph_objects as go

    kinds: dict[str, list[tuple[float, float, str]]] = {}
    for c in scenario.checkpoints:
        n = checkpoint_node(network, c)
        green = f" · green channel: {_e(c.green)}" if c.green != "none" else ""
        text = f"<b>{_e(c.name)}</b><br>{_e(c.kind)} · {c.lanes} lane(s){green}"
        kinds.setdefault(c.kind, []).append((float(network.lon[n]), float(network.lat[n]), text))
    traces = []
    for kind, pts in kinds.items():
        lon, lat, text = zip(*pts, strict=True)
        traces.append(
            go.Scatter(
                x=list(lon),
                y=list(lat),
                mode="markers",
                marker={
                    "symbol": _SYMBOL_OF_KIND.get(kind, "triangle-up"),
                    "size": 9,
                    "color": "white",
                    "line": {"color": "black", "width": 1.2},
                },
                name=f"{kind} ({len(pts)})",
                hovertext=list(text),
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    return traces


def _closure_traces(network: RoadNetwork, scenario: Scenario) -> list[Any]:
    import plotly.graph_objects as go

    traces = []
    edges = list(network.graph.edges(data=True))
    for k, closure in enumerate(scenario.closures):
        try:
            closed = closure_edges(network, closure)
        except FleetsimError:  # pragma: no cover - the scenario loaded, so it applies
            continue
        segs = [edge_xy(network.graph, *edges[j]) for j in closed.tolist()]
        lon, lat = _lines(segs)
        what = closure.what
        traces.append(
            go.Scatter(
                x=lon,
                y=lat,
                mode="lines",
                line={"color": "#B00000", "width": 4, "dash": "dot"},
                name="closed road",
                legendgroup="closures",
                showlegend=k == 0,
                hovertemplate=f"<b>closed</b>: {_e(closure.label)}<br>{_e(what)}<extra></extra>",
            )
        )
    return traces


def _padded(bbox: tuple[float, float, float, float], pad: float) -> dict[str, list[float]]:
    south, west, north, east = bbox
    pad_lat, pad_lon = pad * (north - south) + 1e-3, pad * (east - west) + 1e-3
    return {
        "xaxis.range": [west - pad_lon, east + pad_lon * 2.5],  # room for labels on the right
        "yaxis.range": [south - pad_lat, north + pad_lat],
    }


def map_layout(
    fig: Any,
    bbox: tuple[float, float, float, float],
    *,
    network: RoadNetwork | None = None,
) -> None:
    """Give a map figure its axes (degrees, true shape at the mid latitude) and buttons.

    Parameters
    ----------
    fig
        A ``plotly.graph_objects.Figure`` with traces in longitude (x) / latitude (y).
    bbox
        ``(south, west, north, east)`` to show.
    network
        When given and it has a central urban area, buttons switch between the whole
        region and that area, enlarged.
    """
    south, _, north, _ = bbox
    coslat = max(0.05, math.cos(math.radians((south + north) / 2)))
    whole = _padded(bbox, 0.03)
    fig.update_layout(
        template="none",  # the page applies one small template to every figure
        hovermode="closest",
        dragmode="pan",
        margin={"l": 50, "r": 10, "t": 40, "b": 30},
        legend={"font": {"size": 11}, "groupclick": "togglegroup"},
        xaxis={
            "range": whole["xaxis.range"],
            "showgrid": False,
            "zeroline": False,
            "ticksuffix": "°E",
            "constrain": "domain",
        },
        yaxis={
            "range": whole["yaxis.range"],
            "showgrid": False,
            "zeroline": False,
            "ticksuffix": "°N",
            "scaleanchor": "x",
            "scaleratio": 1 / coslat,
        },
    )
    if network is None or not network.central.any():
        return
    central = network.central.astype(bool)
    lat, lon = network.lat[central], network.lon[central]
    area = (float(lat.min()), float(lon.min()), float(lat.max()), float(lon.max()))
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 0.0,
                "xanchor": "left",
                "y": 1.0,
                "yanchor": "bottom",
                "pad": {"b": 4},
                "showactive": False,
                "buttons": [
                    {"label": "whole region", "method": "relayout", "args": [whole]},
                    {
                        "label": "central urban area",
                        "method": "relayout",
                        "args": [_padded(area, 0.25)],
                    },
                ],
            }
        ],
    )


def network_layers(
    fig: Any, network: RoadNetwork, scenario: Scenario, *, hover: bool = True
) -> list[str]:
    """Add a scenario's network layers to a Plotly figure, bottom to top.

    The central urban area, the roads, the banner/district names, closed roads, named
    places, depots and checkpoints/toll plazas.

    Parameters
    ----------
    fig
        A ``plotly.graph_objects.Figure``.
    network
        The network *without* the scenario's closures (closed roads are drawn over it).
    scenario
        The scenario (fleet, checkpoints, closures).
    hover
        Whether places, depots, checkpoints and closures show what they are on hover (off
        under a sweep's sites, so that a click on the map always lands on a site).

    Returns
    -------
    list of str
        What the layers leave out, for the page to say (empty when every road is drawn).
    """
    first = len(fig.data)
    central = _central_trace(network)
    if central is not None:
        fig.add_trace(central)
    roads, note = _road_traces(network)
    fig.add_traces(roads)
    zones = _zone_label_trace(network)
    if zones is not None:
        fig.add_trace(zones)
    fig.add_traces(_closure_traces(network, scenario))
    fig.add_traces(_place_traces(network))
    fig.add_traces(_depot_traces(network, scenario))
    fig.add_traces(_checkpoint_traces(network, scenario))
    if not hover:
        for trace in fig.data[first:]:
            trace.hoverinfo = "skip"
            trace.hovertemplate = None
    return [note] if note else []


__all__ = ["map_layout", "network_layers", "node_names", "road_label"]
