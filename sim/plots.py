"""Figures: network map, arrival curve, completion-time CDF, time breakdown, sweep map.

Every function returns a :class:`matplotlib.figure.Figure` drawn on an Agg canvas; nothing
touches ``matplotlib.pyplot`` or its global state, so figures can be made in a notebook, a
worker process or a test without side effects. Save them with :func:`save_png`. Drawing is
deterministic: the same inputs give the same pixels.

Maps are drawn in longitude/latitude with the aspect ratio of the mid latitude (roughly
true shape over a region the size of Ordos).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.closures import closure_edges, opened
from sim.demand import Basis
from sim.limits import MAX_LABEL_CHARS
from sim.network import RoadNetwork
from sim.plan import IncidentPlan
from sim.planning import checkpoint_node, prepare, resolve_depots
from sim.records import STAGES, ReplicationResult
from sim.scenario import Scenario
from sim.tables import arrival_horizon, assembled_counts
from sim.vehicles import class_colours

#: Colour of every stage in the time breakdown.
STAGE_COLOURS: dict[str, str] = {
    "alert": "#999999",
    "callout": "#CC79A7",
    "mobilisation": "#E69F00",
    "travel": "#0072B2",
    "checkpoint_wait": "#D55E00",
    "staging_wait": "#009E73",
}
_HIGHWAY_WIDTH = {"motorway": 1.6, "trunk": 1.1, "primary": 0.8}
_DPI = 110


def _label(name: str) -> str:
    """A name as shown in a figure: one line, cut to :data:`sim.limits.MAX_LABEL_CHARS`."""
    text = " ".join(str(name).split())
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str | os.PathLike[str], *, dpi: int = _DPI) -> None:
    """Write ``fig`` as a PNG file.

    Parameters
    ----------
    fig
        A figure from this module.
    path
        Output file.
    dpi
        Resolution.

    Notes
    -----
    The figure's layout (constrained) is computed once at ``dpi``, then the figure is saved
    without its layout engine: ``savefig`` would otherwise draw the whole figure twice (once
    without rendering, only to run the layout). The PNG has the same bytes either way; the
    figure gets its layout engine and resolution back afterwards.
    """
    with warnings.catch_warnings():
        # Names in scripts the default font lacks (e.g. Chinese) render as boxes, not errors.
        warnings.filterwarnings(
            "ignore", message=r"Glyph .* missing from font", category=UserWarning
        )
        warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support")
        engine, before = fig.get_layout_engine(), fig.dpi
        try:
            if engine is not None:
                fig.set_dpi(dpi)
                engine.execute(fig)
                fig.set_layout_engine(None)
            fig.savefig(path, dpi=dpi, format="png", metadata={"Software": None})
        finally:
            if engine is not None:
                fig.set_layout_engine(engine)
                fig.set_dpi(before)


# ---------------------------------------------------------------------------------------------
# Map helpers
# ---------------------------------------------------------------------------------------------


def _map_axes(ax: Any, network: RoadNetwork) -> None:
    south, west, north, east = network.bbox
    mid = math.radians((south + north) / 2)
    ax.set_aspect(1.0 / max(0.05, math.cos(mid)))
    pad_lat, pad_lon = 0.03 * (north - south) + 1e-3, 0.03 * (east - west) + 1e-3
    ax.set_xlim(west - pad_lon, east + pad_lon)
    ax.set_ylim(south - pad_lat, north + pad_lat)
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.tick_params(labelsize=8)


#: Road colours of the zones (banners/districts), in order of first appearance.
_ZONE_PALETTE = (
    "#4E79A7", "#F28E2B", "#59A14F", "#B07AA1", "#76B7B2",
    "#EDC948", "#9C755F", "#E15759", "#FF9DA7", "#BAB0AC",
)  # fmt: skip


def _zone_colours(network: RoadNetwork) -> dict[str, str]:
    zones = sorted(z for z in set(network.zone.tolist()) if z and z != "outside")
    return {z: _ZONE_PALETTE[i % len(_ZONE_PALETTE)] for i, z in enumerate(zones)}


def _edge_xy(network: RoadNetwork, u: int, v: int, data: Mapping[str, Any]) -> np.ndarray:
    """An edge's polyline (longitude, latitude): its geometry, else the straight segment."""
    geom = data.get("geometry")
    if geom is not None and hasattr(geom, "coords"):
        return np.asarray(geom.coords, dtype=float)[:, :2]
    a, b = network.index_of(u), network.index_of(v)
    return np.array([[network.lon[a], network.lat[a]], [network.lon[b], network.lat[b]]])


#: Closed roads: dotted dark red, as on the report's map (:mod:`sim.reportmap`).
CLOSED_ROAD_COLOUR = "#B00000"
CLOSED_ROAD_LABEL = "closed road"


def _draw_closures(ax: Any, network: RoadNetwork, scenario: Scenario) -> int:
    """Draw every closure's closed edges over the roads (one collection per closure, labelled
    ``closed road: NAME``); returns how many closures were drawn.

    ``network`` is the network *without* the closures (:func:`sim.closures.opened`).
    """
    edges = list(network.graph.edges(data=True))
    for closure in scenario.closures:
        segs = [_edge_xy(network, *edges[j]) for j in closure_edges(network, closure).tolist()]
        ax.add_collection(
            LineCollection(
                segs,
                colors=CLOSED_ROAD_COLOUR,
                linewidths=3.0,
                linestyles=":",
                capstyle="round",
                label=f"{CLOSED_ROAD_LABEL}: {_label(closure.label)}",
                zorder=2,
            )
        )
    return len(scenario.closures)


def _draw_roads(
    ax: Any, network: RoadNetwork, *, colour: str = "#9a9a9a", by_zone: bool = False
) -> None:
    """Draw every road once (wider for expressways); optionally coloured by zone."""
    zone = network.zone
    zone_colour = _zone_colours(network) if by_zone else {}
    segments: dict[tuple[float, str], list[np.ndarray]] = {}
    seen: set[tuple[int, int]] = set()
    for u, v, data in network.graph.edges(data=True):
        key = (min(u, v), max(u, v))
        if key in seen:
            continue
        seen.add(key)
        a, b = network.index_of(u), network.index_of(v)
        xy = _edge_xy(network, u, v, data)
        width = _HIGHWAY_WIDTH.get(str(data.get("highway")), 0.6)
        c = colour
        if by_zone and zone[a] == zone[b]:
            c = zone_colour.get(str(zone[a]), colour)
        segments.setdefault((width, c), []).append(xy)
    for (width, c), segs in sorted(segments.items()):
        ax.add_collection(LineCollection(segs, colors=c, linewidths=width * 1.4, zorder=1))


def _zone_labels(ax: Any, network: RoadNetwork, *, fontsize: float = 8.5) -> None:
    from matplotlib import patheffects

    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    from matplotlib.colors import to_rgb

    for z, light in _zone_colours(network).items():
        c = tuple(0.7 * x for x in to_rgb(light))
        mask = network.zone == z
        ax.text(
            float(np.median(network.lon[mask])),
            float(np.median(network.lat[mask])) - 0.06,
            z,
            fontsize=fontsize,
            color=c,
            weight="bold",
            style="italic",
            ha="center",
            va="top",
            zorder=5,
            path_effects=halo,
        )


def _central_area(ax: Any, network: RoadNetwork) -> bool:
    """Shade the central urban area (:meth:`RoadNetwork.central_area`)."""
    rings = network.central_area()
    for ring in rings:
        ax.fill(
            ring[:, 0], ring[:, 1], facecolor="#F4A6A6", edgecolor="#D06060",
            alpha=0.5, lw=0.8, zorder=0,
        )  # fmt: skip
    return bool(rings)


def _tier_text(plan: IncidentPlan) -> str:
    return f"{plan.tier} tier, deadline {plan.deadline_min:.0f} min"


def _incident_point(network: RoadNetwork, location: str, node: int) -> tuple[float, float]:
    parts = location.split(",")
    if len(parts) == 2:
        try:
            return float(parts[1]), float(parts[0])
        except ValueError:
            pass
    return float(network.lon[node]), float(network.lat[node])


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def _depots_by_node(scenario: Scenario, depot_nodes: np.ndarray) -> dict[int, dict[str, int]]:
    by_node: dict[int, dict[str, int]] = {}
    for d, n in zip(scenario.fleet.depots, depot_nodes.tolist(), strict=True):
        if d.count > 0:
            by_node.setdefault(int(n), {}).setdefault(d.vehicle_class, 0)
            by_node[int(n)][d.vehicle_class] += d.count
    return by_node


def _draw_depots(
    ax: Any,
    network: RoadNetwork,
    by_node: dict[int, dict[str, int]],
    ring: float,
    scale: float,
    colours: Mapping[str, str],
) -> None:
    """Discs of area ∝ vehicles; several classes at one node are fanned out on a ring.

    ``colours`` maps every class to its colour, in the fleet's class order.
    """
    for node, classes in sorted(by_node.items()):
        present = [k for k in colours if k in classes]
        lat, lon = float(network.lat[node]), float(network.lon[node])
        for i, k in enumerate(present):
            dx = dy = 0.0
            if len(present) > 1:
                angle = 2 * math.pi * i / len(present) + math.pi / 2
                dx = ring * math.cos(angle) / math.cos(math.radians(lat))
                dy = ring * math.sin(angle)
            ax.scatter(
                lon + dx,
                lat + dy,
                s=20 + scale * classes[k],
                color=colours[k],
                alpha=0.8,
                edgecolors="black",
                linewidths=0.4,
                zorder=4,
            )


def _label_offsets(
    network: RoadNetwork, points: list[tuple[float, float]], avoid: np.ndarray
) -> list[tuple[int, int]]:
    """Per point, the label offset (points) among NE/NW/SE/SW farthest from ``avoid``."""
    south, west, north, east = network.bbox
    dx, dy = 0.12 * (east - west), 0.05 * (north - south)
    options = ((1, 1), (-1, 1), (1, -1), (-1, -1))
    taken: list[tuple[float, float]] = []
    out = []
    for x, y in points:
        others = np.array(list(avoid.tolist()) + taken).reshape(-1, 2)

        def clearance(
            o: tuple[int, int], x: float = x, y: float = y, others: np.ndarray = others
        ) -> float:
            cx, cy = x + o[0] * dx, y + o[1] * dy
            if not (west <= cx <= east and south <= cy <= north):
                return -1.0
            if others.size == 0:
                return 1.0
            return float(np.min(np.hypot((others[:, 0] - cx) / dx, (others[:, 1] - cy) / dy)))

        best = max(options, key=clearance)  # first option wins ties: deterministic
        taken.append((x + best[0] * dx, y + best[1] * dy))
        out.append((10 * best[0], 10 * best[1]))
    return out


def _draw_incidents(
    ax: Any,
    network: RoadNetwork,
    scenario: Scenario,
    plans: Sequence[IncidentPlan],
    full: bool,
    avoid: np.ndarray | None = None,
) -> None:
    inc_by_name = {i.name: i for i in scenario.incidents}
    points = []
    for plan in plans:
        inc = inc_by_name.get(plan.name)
        sx, sy = float(network.lon[plan.node]), float(network.lat[plan.node])
        points.append(_incident_point(network, inc.location, plan.node) if inc else (sx, sy))
    if full:
        offsets = _label_offsets(network, points, np.empty((0, 2)) if avoid is None else avoid)
    else:
        offsets = [(8, 8)] * len(points)
    for k, (plan, (ix, iy), off) in enumerate(zip(plans, points, offsets, strict=True)):
        sx, sy = float(network.lon[plan.node]), float(network.lat[plan.node])
        ax.plot([ix, sx], [iy, sy], color="black", lw=0.8, zorder=5)
        ax.scatter(sx, sy, marker="s", s=70, color="white", edgecolors="black", lw=1.2, zorder=6)
        ax.scatter(ix, iy, marker="*", s=260, color="#CC0000", edgecolors="black", lw=0.6, zorder=7)
        text = f"{k + 1}. {_label(plan.name)}\n{_tier_text(plan)}" if full else f"{k + 1}"
        ax.annotate(
            text,
            (ix, iy),
            xytext=off,
            textcoords="offset points",
            ha="left" if off[0] > 0 else "right",
            va="bottom" if off[1] > 0 else "top",
            fontsize=8.5,
            zorder=8,
            annotation_clip=True,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#888888", "alpha": 0.85},
        )


_CHECKPOINT_MARKERS = {"checkpoint": "^", "toll": "D"}


def _draw_checkpoints(ax: Any, network: RoadNetwork, scenario: Scenario) -> dict[str, int]:
    """Checkpoints (triangles) and toll plazas (diamonds); returns the count per kind."""
    kinds: dict[str, list[int]] = {}
    for c in scenario.checkpoints:
        kinds.setdefault(c.kind, []).append(checkpoint_node(network, c))
    for kind, nodes in kinds.items():
        ax.scatter(
            network.lon[nodes],
            network.lat[nodes],
            marker=_CHECKPOINT_MARKERS.get(kind, "^"),
            s=28,
            color="white",
            edgecolors="black",
            linewidths=0.8,
            zorder=4.5,
        )
    return {k: len(v) for k, v in kinds.items()}


def network_map(
    network: RoadNetwork,
    scenario: Scenario,
    plans: Sequence[IncidentPlan] | None = None,
    *,
    depot_nodes: np.ndarray | None = None,
) -> Figure:
    """Map the network with the reserve depots, the incidents and their staging points.

    Roads are coloured by banner/district (wider for expressways), the central urban area is
    shaded, closed roads are dotted dark red (as on the report's map), checkpoints are
    triangles and toll plazas diamonds, depots are discs of area
    proportional to their vehicles, coloured by class (several classes at one place are
    fanned out around it), incidents are stars and their staging points (the node the
    vehicles assemble at) squares. When the central urban area is small on the map, an inset
    enlarges it.

    Parameters
    ----------
    network
        The road network, with or without the scenario's closures (roads are drawn from the
        open network, :func:`sim.closures.opened`, and the closed ones over them).
    scenario
        The scenario (fleet, incidents, checkpoints, closures).
    plans
        Prepared incidents (their staging nodes); by default the incidents are prepared here.
    depot_nodes
        Node index of every depot, if already resolved.
    """
    fleet = scenario.fleet
    if depot_nodes is None:
        depot_nodes = resolve_depots(network, fleet)
    if plans is None:
        plans = prepare(network, scenario)
    by_node = _depots_by_node(scenario, depot_nodes)
    colours = class_colours(fleet.classes)
    biggest = max((c for v in by_node.values() for c in v.values()), default=1)
    scale = 500.0 / biggest
    south, west, north, east = network.bbox
    coslat = math.cos(math.radians((south + north) / 2))
    extent = max(north - south, (east - west) * coslat)

    fig = _figure(11, 8)
    ax = fig.add_subplot()
    _map_axes(ax, network)
    has_central = _central_area(ax, network)
    _draw_roads(ax, opened(network), by_zone=True)
    n_closed = _draw_closures(ax, opened(network), scenario)
    _draw_depots(ax, network, by_node, 0.012 * extent, scale, colours)
    _zone_labels(ax, network)
    cp_kinds = _draw_checkpoints(ax, network, scenario)
    depot_xy = np.array([[network.lon[n], network.lat[n]] for n in sorted(by_node)])
    zone_xy = np.array(
        [
            [np.median(network.lon[network.zone == z]), np.median(network.lat[network.zone == z])]
            for z in _zone_colours(network)
        ]
    ).reshape(-1, 2)
    _draw_incidents(ax, network, scenario, plans, full=True, avoid=np.vstack([depot_xy, zone_xy]))

    central = network.central.astype(bool)
    if central.any():
        lat_c, lon_c = network.lat[central], network.lon[central]
        half = max(float(np.ptp(lat_c)), float(np.ptp(lon_c)) * coslat) / 2 * 1.4 + 0.04
        if half < 0.2 * extent:
            cy, cx = float(lat_c.mean()), float(lon_c.mean())
            inset = ax.inset_axes((0.015, 0.60, 0.38, 0.38))
            inset.set_xlim(cx - half / coslat, cx + half / coslat)
            inset.set_ylim(cy - half, cy + half)
            inset.set_aspect(1.0 / coslat)
            inset.set_xticks([])
            inset.set_yticks([])
            _central_area(inset, network)
            _draw_roads(inset, opened(network), by_zone=True)
            _draw_closures(inset, opened(network), scenario)
            _draw_depots(inset, network, by_node, 0.1 * half, scale * 0.5, colours)
            _draw_checkpoints(inset, network, scenario)
            _draw_incidents(inset, network, scenario, plans, full=False)
            inset.set_title("central urban area, enlarged", fontsize=8, pad=2)
            ax.indicate_inset_zoom(inset, edgecolor="#555555")

    handles = [
        Line2D([], [], ls="", marker="o", ms=8, mfc=colours[k], mec="black", label=k)
        for k in colours
        if any(k in c for c in by_node.values())
    ]
    handles += [
        Line2D([], [], ls="", marker="*", ms=13, mfc="#CC0000", mec="black", label="incident"),
        Line2D([], [], ls="", marker="s", ms=8, mfc="white", mec="black", label="staging point"),
        Line2D([], [], color="#9a9a9a", lw=2.2, label="road, coloured by banner/district"),
    ]
    if n_closed:
        handles.append(
            Line2D([], [], color=CLOSED_ROAD_COLOUR, lw=3.0, ls=":", label=CLOSED_ROAD_LABEL)
        )
    for kind, count in cp_kinds.items():
        marker = _CHECKPOINT_MARKERS.get(kind, "^")
        handles.append(
            Line2D([], [], ls="", marker=marker, ms=7, mfc="white", mec="black",
                   label=f"{kind} ({count})")
        )  # fmt: skip
    if has_central:
        handles.append(
            Line2D([], [], ls="", marker="s", ms=12, mfc="#F4A6A6", mec="#D06060",
                   label="central urban area")
        )  # fmt: skip
    ax.legend(
        handles=handles, loc="lower right", fontsize=8, framealpha=0.9, title="depots by class"
    )
    ax.set_title(
        f"{_label(scenario.name)}: reserve depots ({fleet.total:,} vehicles; disc area ∝ vehicles, "
        f"largest {biggest}) and incidents",
        fontsize=11,
    )
    return fig


def arrival_curve(
    plan: IncidentPlan, reps: Sequence[ReplicationResult], *, scenario_name: str
) -> Figure:
    """Assembled vehicles against minutes since the report, with the deadline.

    The median over replications of the number of vehicles of the requested classes
    registered at the staging point, a 10–90 % band, the deadline and the requested count.

    Parameters
    ----------
    plan
        The incident plan.
    reps
        Its replications (their registration times; no vehicle log is needed).
    scenario_name
        For the title.
    """
    requested = sum(c.requested for c in plan.classes)
    completion = np.array([r.completion_min for r in reps])
    end = arrival_horizon(plan.deadline_min, completion)
    grid = np.linspace(0.0, end, 400)
    counts = assembled_counts(reps, grid)
    lo, med, hi = np.quantile(counts, [0.1, 0.5, 0.9], axis=0)
    fig = _figure(8.5, 5)
    ax = fig.add_subplot()
    ax.fill_between(
        grid, lo, hi, color="#0072B2", alpha=0.25, lw=0, label="10–90 % of replications"
    )
    ax.plot(grid, med, color="#0072B2", lw=2, label="median")
    label = f"requested: {requested}"
    for basis, needs in (
        (Basis.ALL_ACCEPTED, "the target needs those that accept"),
        (Basis.ALL_IN_SCOPE, "the target needs them all"),
    ):
        everything = [c for c in plan.classes if c.basis is basis]
        if everything:
            names = ", ".join(f"{c.requested} {c.vehicle_class}" for c in everything)
            label += f"\n(incl. '{basis.value}': {names} in scope;\n{needs})"
    ax.axhline(requested, color="black", ls="--", lw=1, label=label)
    need = sum(math.ceil(plan.success_fraction * c.requested - 1e-9) for c in plan.classes)
    # `all_accepted` needs a fraction of those that accepted: not one number, so no line.
    if need != requested and all(c.basis is not Basis.ALL_ACCEPTED for c in plan.classes):
        ax.axhline(need, color="black", ls=":", lw=1, label=f"needed: {need}")
    ax.axvline(
        plan.deadline_min, color="#CC0000", lw=1.5, label=f"deadline: {plan.deadline_min:.0f} min"
    )
    p = float(np.mean(completion <= plan.deadline_min))
    ax.text(
        0.02,
        0.97,
        f"P(target holds) = {p:.2f} over {len(reps)} replications",
        transform=ax.transAxes,
        va="top",
        fontsize=9,
    )
    ax.set_xlim(0, end)
    ax.set_ylim(0, max(float(hi.max()), requested) * 1.08 + 1)
    ax.set_xlabel("minutes since the incident report")
    ax.set_ylabel("vehicles assembled at the staging point")
    demand = ", ".join(f"{c.requested} {c.vehicle_class}" for c in plan.classes)
    ax.set_title(
        f"{_label(scenario_name)} · {_label(plan.name)}\narrivals of {demand} · {_tier_text(plan)}",
        fontsize=11,
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8.5)
    return fig


def completion_cdf(
    plan: IncidentPlan, reps: Sequence[ReplicationResult], *, scenario_name: str
) -> Figure:
    """Empirical CDF of the assembly completion time, with the deadline.

    Replications in which the target is never met (too few vehicles accepted) stay at the
    top as a gap below 1.

    Parameters
    ----------
    plan
        The incident plan.
    reps
        Its replications.
    scenario_name
        For the title.
    """
    c = np.sort(np.array([r.completion_min for r in reps]))
    n = c.size
    finite = c[np.isfinite(c)]
    fig = _figure(8.5, 5)
    ax = fig.add_subplot()
    end = max(plan.deadline_min * 1.25, float(finite.max()) * 1.05 if finite.size else 0)
    if finite.size:
        x = np.concatenate([[0.0], finite, [end]])
        y = np.concatenate([[0.0], np.arange(1, finite.size + 1) / n, [finite.size / n]])
        ax.step(x, y, where="post", color="#0072B2", lw=2, label="completion time")
    p = float(np.mean(c <= plan.deadline_min))
    ax.axvline(
        plan.deadline_min, color="#CC0000", lw=1.5, label=f"deadline: {plan.deadline_min:.0f} min"
    )
    ax.axhline(p, color="#CC0000", ls=":", lw=1, label=f"P(target holds) = {p:.2f}")
    if finite.size < n:
        ax.text(
            0.02,
            0.97,
            f"never met in {n - finite.size} of {n} replications",
            transform=ax.transAxes,
            va="top",
            fontsize=9,
        )
    ax.set_xlim(0, end)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("assembly completion time (minutes since report; last requested vehicle)")
    ax.set_ylabel("fraction of replications completed")
    ax.set_title(
        f"{_label(scenario_name)} · {_label(plan.name)}\ncompletion-time CDF over {n} "
        f"replications · {_tier_text(plan)}",
        fontsize=11,
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8.5)
    return fig


def time_breakdown(summary: Mapping[str, Any]) -> Figure:
    """Stacked bars of where the critical vehicle's time went, one bar per incident.

    The critical vehicle is the one whose registration completed the target; the bar is the
    mean of its stage minutes over the replications where the target was met at all. The
    deadline of each incident is marked.

    Parameters
    ----------
    summary
        The run's summary (:attr:`sim.experiment.RunResult.summary`).
    """
    incs = list(summary["incidents"])
    fig = _figure(9.5, 1.6 + 0.75 * max(1, len(incs)))
    ax = fig.add_subplot()
    y = np.arange(len(incs))[::-1]
    left = np.zeros(len(incs))
    for s in STAGES:
        vals = np.array([inc["breakdown_min"][s] or 0.0 for inc in incs])
        ax.barh(y, vals, left=left, color=STAGE_COLOURS[s], label=s.replace("_", " "), height=0.6)
        left += vals
    for yi, inc in zip(y, incs, strict=True):
        d = inc["deadline_min"]
        ax.plot([d, d], [yi - 0.4, yi + 0.4], color="#CC0000", lw=2)
        if all(inc["breakdown_min"][s] is None for s in STAGES):
            ax.text(1, yi, "target never met", va="center", fontsize=8)
    ax.plot([], [], color="#CC0000", lw=2, label="deadline")
    labels = [
        f"{_label(inc['name'])}\n{inc['tier']} tier, P(holds) = {inc['p_met']:.2f}" for inc in incs
    ]
    ax.set_yticks(y, labels, fontsize=8.5)
    ax.set_xlabel("mean minutes of the critical vehicle (the one that completed the target)")
    ax.set_xlim(0, max(float(left.max()), max(inc["deadline_min"] for inc in incs)) * 1.08)
    # A figure legend placed "outside": the constrained layout makes room for it below the
    # axes, whatever the number of incidents (a legend anchored to the axes was clipped off a
    # one-incident figure).
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=7, fontsize=8, frameon=False)
    ax.set_title(f"{_label(summary['scenario'])}: where the time went", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    return fig


def sweep_map(result: Any) -> Figure:
    """Map the sites of a sweep coloured by P(target holds), one panel per tier.

    Parameters
    ----------
    result
        A :class:`sim.sweeps.SweepResult`.
    """
    from matplotlib import patheffects

    from sim.targets import TIERS, banner_seats

    network = result.network
    rows = result.rows
    tiers = [t for t in TIERS if any(r["tier"] == t for r in rows)] or ["(none)"]
    n = len(tiers)
    south, west, north, east = network.bbox
    ratio = (north - south) / max(1e-6, (east - west) * math.cos(math.radians(south + north) / 2))
    panel = 5.2
    fig = _figure(panel * n + 1.2, min(12.0, panel * ratio + 0.9))
    axes = fig.subplots(1, n, squeeze=False)[0]
    norm = Normalize(0.0, 1.0)
    cmap = "RdYlGn"
    few = len(rows) <= 30
    seats = banner_seats(network)
    sc = None
    for ax, tier in zip(axes, tiers, strict=True):
        _map_axes(ax, network)
        _central_area(ax, network)
        _draw_roads(ax, network, colour="#b5b5b5")
        mine = [r for r in rows if r["tier"] == tier]
        others = [r for r in rows if r["tier"] != tier]
        if others:
            ax.scatter(
                [r["lon"] for r in others],
                [r["lat"] for r in others],
                s=6,
                color="#d0d0d0",
                lw=0,
                zorder=2,
            )
        served = [r for r in mine if r["note"] is None]
        unserved = [r for r in mine if r["note"] is not None]
        size = 70 if few else 22
        sc = ax.scatter(
            [r["lon"] for r in served],
            [r["lat"] for r in served],
            c=[r["p_met"] for r in served],
            cmap=cmap,
            norm=norm,
            s=size,
            edgecolors="black",
            linewidths=0.4,
            zorder=4,
        )
        if unserved:
            ax.scatter(
                [r["lon"] for r in unserved],
                [r["lat"] for r in unserved],
                marker="x",
                s=size * 0.7,
                color="#7f0000",
                lw=1.2,
                zorder=4,
            )
        if few:
            for r in sorted(mine, key=lambda r: (-r["lat"], r["site"])):
                # Alternate sides so that neighbouring sites stay legible.
                left = sum(q["lat"] > r["lat"] and abs(q["lon"] - r["lon"]) < 0.3 for q in mine)
                ax.annotate(
                    f"{r['site']} {r['p_met']:.2f}",
                    (r["lon"], r["lat"]),
                    xytext=(-5, -4) if left % 2 else (5, 4),
                    ha="right" if left % 2 else "left",
                    va="top" if left % 2 else "bottom",
                    textcoords="offset points",
                    fontsize=7.5,
                    zorder=5,
                )
        else:
            for i in seats.tolist():
                ax.annotate(
                    network.places.label(i),
                    (float(network.lon[i]), float(network.lat[i])),
                    xytext=(4, 3),
                    textcoords="offset points",
                    fontsize=7,
                    color="#222222",
                    zorder=5,
                    path_effects=[patheffects.withStroke(linewidth=2, foreground="white")],
                )
        hold = sum(r["p_met"] >= 0.95 for r in mine)
        deadline = next((r["deadline_min"] for r in mine if r["deadline_min"] is not None), None)
        dl = f", {deadline:.0f} min" if deadline is not None else ""
        title = f"{tier}{dl}: {hold} of {len(mine)} sites hold"
        if tier in result.tiers:  # a sweep per tier: whose demand
            whose = _label(result.tiers[tier])
            title = f"{tier}{dl}, demand of “{whose}”:\n{hold} of {len(mine)} sites hold"
        ax.set_title(title, fontsize=10)
    if sc is not None:
        cb = fig.colorbar(sc, ax=list(axes), shrink=0.85, pad=0.01)
        cb.set_label("P(target holds)")
    demand = ", ".join(f"{v} {k}" for k, v in result.demand.items())
    whose = f"demand of “{_label(result.incident)}” ({demand})"
    if result.tiers:
        whose = "the demand of each tier's incident"
    fig.suptitle(
        f"{_label(result.scenario)}: {whose} at "
        f"{len(rows)} sites "
        f"({result.sites}), {result.replications} replications each"
        + ("; × = demand cannot be met in scope" if any(r["note"] for r in rows) else ""),
        fontsize=10.5,
    )
    return fig


__all__ = [
    "STAGE_COLOURS",
    "arrival_curve",
    "completion_cdf",
    "network_map",
    "save_png",
    "sensitivity_figure",
    "sweep_map",
    "time_breakdown",
]


def contention_chart(summary: Mapping[str, Any]) -> Figure:
    """What sharing the fleet did to each incident of a shared run, in alarm order.

    Top: P(holds) shared (bars, with the Wilson 95 % interval) and alone on the same draws
    (diamonds). Bottom: the contention cost, completion shared − alone (mean and 95 %
    interval, where both complete), with the mean vehicles lost to other incidents written
    above each incident.

    Parameters
    ----------
    summary
        The summary of a shared-fleet run (:attr:`sim.experiment.RunResult.summary`).
    """
    incs = sorted(summary["incidents"], key=lambda i: i.get("at_min", 0.0))
    fig = _figure(max(7.0, 1.2 + 1.1 * len(incs)), 6.4)
    top, bottom = fig.subplots(2, 1, sharex=True)
    x = np.arange(len(incs))
    p = np.array([i["p_met"] for i in incs])
    lo = np.array([i["p_met_ci95"][0] for i in incs])
    hi = np.array([i["p_met_ci95"][1] for i in incs])
    alone = np.array([i["contention"]["p_met_alone"] for i in incs], dtype=float)
    top.bar(x, p, width=0.6, color="#4C78A8", label="shared fleet")
    top.errorbar(x, p, yerr=[p - lo, hi - p], fmt="none", ecolor="#333333", capsize=3, lw=1)
    top.scatter(x, alone, marker="D", color="#F58518", zorder=3, label="alone (same draws)")
    top.axhline(0.95, color="#CC0000", lw=1, ls="--", label="holds at 0.95")
    top.set_ylim(0, 1.05)
    top.set_ylabel("P(target holds)")
    handles, names = top.get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    top.grid(axis="y", alpha=0.3)
    cost = np.array(
        [np.nan if (m := i["contention"]["cost_min"]["mean"]) is None else m for i in incs]
    )
    c_lo = np.array([i["contention"]["cost_min"]["ci95"][0] or np.nan for i in incs], dtype=float)
    c_hi = np.array([i["contention"]["cost_min"]["ci95"][1] or np.nan for i in incs], dtype=float)
    bottom.axhline(0, color="#888888", lw=1)
    bottom.errorbar(
        x, cost, yerr=[cost - c_lo, c_hi - cost], fmt="o", color="#54A24B", capsize=4, lw=1.5
    )
    top_y = np.nanmax(np.concatenate([c_hi, [1.0]]))
    for xi, inc in zip(x, incs, strict=True):
        c = inc["contention"]
        text = f"lost {c['lost_vehicles']:.1f}"
        if c["starved"]:
            text += f"\nstarved {c['starved']}"
        bottom.text(xi, top_y * 1.05, text, ha="center", va="bottom", fontsize=7.5)
    bottom.set_ylim(top=top_y * 1.35 if top_y > 0 else 1.0)
    bottom.set_ylabel("contention cost, min\n(shared − alone, 95 % CI)")
    bottom.set_xticks(
        x,
        [
            f"{_label(i['name']).replace(', ', chr(10))}\n+{i.get('at_min', 0.0):.0f} min"
            for i in incs
        ],
        fontsize=8,
    )
    bottom.grid(axis="y", alpha=0.3)
    top.set_title(
        f"{_label(summary['scenario'])}: one fleet, policy {summary.get('dispatch_policy')}",
        fontsize=11,
    )
    return fig


def sensitivity_figure(summary: Mapping[str, Any], top: int = 8) -> Figure:
    """What decides each incident's P(holds): one panel per incident.

    Morris: μ* against σ of every parameter (P(holds)), the ``top`` most influential named;
    far right = a strong effect, high = an effect that depends on the other parameters
    (interactions or a threshold). Sobol: bars of S1 and ST of the ``top`` parameters.

    Parameters
    ----------
    summary
        The JSON of :meth:`sim.sensitivities.SensitivityResult.to_json`.
    top
        Parameters named (Morris) or drawn (Sobol) per incident.
    """
    incs = list(summary["incidents"])
    morris = summary["method"] == "morris"
    n = max(1, len(incs))
    key_height = 0.12 * top if morris else 0.0  # inches for the names under a Morris panel
    fig = _figure(5.6 * n, 4.6 + key_height)
    if morris:
        grid = fig.add_gridspec(2, n, height_ratios=[4.6, key_height])
        axes = [fig.add_subplot(grid[0, j]) for j in range(n)]
        keys = [fig.add_subplot(grid[1, j]) for j in range(n)]
    else:
        axes = list(fig.subplots(1, n, squeeze=False)[0])
        keys = [None] * n
    for ax, key_ax, inc in zip(axes, keys, incs, strict=False):
        rows = inc["ranking"]
        title = f"{_label(inc['name'])}\n{inc['tier']} tier, {inc['deadline_min']:.0f} min"
        if morris:
            # P(holds) unless it hardly moves anywhere (a tier that fails or holds in every
            # run): then the p90, which still says what decides how far it is from holding.
            out = "p_met"
            if max((r["p_met"]["mu_star"] or 0.0 for r in rows), default=0.0) < 0.05:
                out = "p90_min"
            mu = np.array([r[out]["mu_star"] or 0.0 for r in rows])
            sd = np.array([r[out]["sigma"] or 0.0 for r in rows])
            order = np.argsort(-mu, kind="stable")
            ax.scatter(mu, sd, s=18, color="#0072B2", alpha=0.8)
            # Rank numbers at the points and the names in a key under the panel: long key
            # paths written at the points overlap one another and run out of the panel.
            named = [i for i in order[:top] if mu[i] > 0 or sd[i] > 0]
            shown = "{:.3f}" if out == "p_met" else "{:.0f} min"
            for rank, i in enumerate(named, 1):
                ax.annotate(
                    str(rank),
                    (mu[i], sd[i]),
                    fontsize=7,
                    fontweight="bold",
                    xytext=(3, 2),
                    textcoords="offset points",
                )
            conf = [rows[i][out].get("mu_star_conf") or 0.0 for i in range(len(rows))]
            key = [
                f"{rank}  {_label(rows[i]['parameter'])}  "
                f"(μ* {shown.format(mu[i])} ± {shown.format(conf[i])})"
                for rank, i in enumerate(named, 1)
            ]
            key_ax.axis("off")
            key_ax.text(
                0.0,
                1.0,
                "\n".join(key) or "no parameter moves it",
                transform=key_ax.transAxes,
                va="top",
                ha="left",
                fontsize=6.5,
                family="monospace",
            )
            lim = max(float(mu.max(initial=0)), float(sd.max(initial=0)), 1e-3) * 1.1
            ax.plot([0, lim], [0, lim], color="#999999", lw=0.8, ls="--")
            ax.set_xlim(0, lim)
            ax.set_ylim(0, lim)
            what = "P(holds)" if out == "p_met" else "p90, minutes"
            ax.set_xlabel(f"μ* (effect on {what} across the range)")
            ax.set_ylabel("σ (interactions / thresholds)")
        else:
            # P(holds) unless no parameter explains any of it (P the same in every run):
            # then the p90, as in the Morris panels.
            out = "p_met"
            if max((r["p_met"]["ST"] or 0.0 for r in rows), default=0.0) < 0.05:
                out = "p90_min"
            shown_rows = rows[:top][::-1]
            y = np.arange(len(shown_rows))
            for name, offset, colour, label in (
                ("ST", 0.2, "#0072B2", "ST (total)"),
                ("S1", -0.2, "#E69F00", "S1 (alone)"),
            ):
                values = [r[out][name] or 0.0 for r in shown_rows]
                conf = [r[out][f"{name}_conf"] or 0.0 for r in shown_rows]
                ax.barh(y + offset, values, height=0.4, color=colour, label=label)
                ax.errorbar(
                    values, y + offset, xerr=conf, fmt="none", ecolor="#333333", lw=0.8, capsize=2
                )
            ax.set_yticks(y, [_label(r["parameter"]) for r in shown_rows], fontsize=7)
            what = "P(holds)" if out == "p_met" else "the p90"
            ax.set_xlabel(f"share of the variance of {what} (95 % interval)")
            ax.legend(fontsize=7, frameon=False)
        ax.set_title(title, fontsize=9.5)
        ax.grid(alpha=0.3)
    fig.suptitle(
        f"{_label(summary['scenario'])}: what decides each incident ({summary['method']})",
        fontsize=11,
    )
    return fig


def frontier_figure(summary: Mapping[str, Any]) -> Figure:
    """The cost–P(holds) frontier of ``fleetsim plan`` (its ``summary.json``).

    The best plan found at each cost on the training seeds (worst and mean P(holds) over the
    sites searched), the target, and the held-out P(holds) (worst site, with its 95 %
    interval) of the scenario as it is, the plan and the coverage baseline. Sites out of reach
    of every lever (``out_of_reach``) are left out of both, and counted in the title.
    """
    fig = _figure(7.5, 4.2)
    ax = fig.add_subplot()
    front = summary["frontier"]
    cost = [f["cost"] for f in front]
    ax.step(
        cost,
        [f["worst_p_met"] for f in front],
        where="post",
        color="#1f77b4",
        label="best plan at each cost: worst site (training)",
    )
    ax.step(
        cost,
        [f["mean_p_met"] for f in front],
        where="post",
        color="#1f77b4",
        alpha=0.4,
        linestyle="--",
        label="same plans: mean over sites (training)",
    )
    ax.axhline(summary["target"], color="#888888", linewidth=0.8, linestyle=":")
    ax.text(0, summary["target"], f" target {summary['target']:g}", va="bottom", fontsize=8)

    far = set(summary.get("out_of_reach", {}))

    def held(rows: Any, x: float, colour: str, label: str, marker: str) -> None:
        worst = min([r for r in rows if r["site"] not in far] or rows, key=lambda r: r["p_met"])
        lo, hi = worst["p_met_ci95"]
        ax.errorbar(
            [x],
            [worst["p_met"]],
            yerr=[[worst["p_met"] - lo], [hi - worst["p_met"]]],
            fmt=marker,
            color=colour,
            capsize=3,
            label=label,
        )

    held(summary["before"]["rows"], 0.0, "#d62728", "as it is (held-out, worst site)", "s")
    held(summary["after"]["rows"], summary["cost"], "#2ca02c", "plan (held-out, worst site)", "o")
    cb = summary["coverage_baseline"]
    held(cb["rows"], cb["cost"], "#9467bd", "coverage-model plan (held-out)", "D")
    ax.set_xlabel("cost (levers file units)")
    ax.set_ylabel("P(holds)")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7, loc="lower right")
    where = f" at the {summary['sites']}" if summary.get("sites") else ""
    title = f"{_label(summary['scenario'])}{where}: cost against P(holds)"
    if far:
        title += f"\n({len(far)} out of reach of every lever, not shown)"
    ax.set_title(title, fontsize=11 if not far else 10)
    return fig
