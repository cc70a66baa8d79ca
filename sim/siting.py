"""Siting: where a scenario's checkpoints and toll plazas stand on the road network.

A :class:`CheckpointSite` is one queue on the road, placed by location or by graph node id.
:func:`checkpoint_sites` turns the ``checkpoints`` and ``tolls`` sections of a scenario file
into sites, in a fixed order: the ``count`` sites placed by the ``spread`` rule
(:func:`spread_sites`, evenly by road length, walking the graph's edges), then the explicit
``sites``, then the toll plazas at the network's ``fleetsim:toll`` nodes (:func:`toll_sites`).
The rules are deterministic: the same file on the same network gives the same sites.

Problems are returned as ``(key path, message)`` pairs, like
:func:`sim.schema.schema_messages`, so that the scenario loader reports them with every other
problem of the file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.dists import Dist
from sim.limits import MAX_STEADY_WARMUP_MIN
from sim.network import RoadNetwork
from sim.plan import HORIZON_MIN, CheckpointSpec
from sim.schema import DEFAULT_CHECKPOINT_SERVICE, TOLL_STATIONS, CheckpointsSpec, TollsSpec

#: A problem of the file: its key path and the message.
Problem = tuple[tuple[str | int, ...], str]

__all__ = [
    "WARMUP_RELAXATIONS",
    "CheckpointSite",
    "checkpoint_sites",
    "ordinary_vehicles",
    "overload",
    "queue_load",
    "relaxation_min",
    "spread_sites",
    "toll_sites",
]


@dataclass(frozen=True)
class CheckpointSite:
    """A checkpoint or toll plaza placed by location (resolved to a node when prepared).

    ``node_id``, when given, is the graph node id and takes precedence over ``location``
    (placement rules use it, so that a site never lands on a coincident node of another road).
    """

    name: str
    location: str
    lanes: int = 1
    service: Dist = field(default_factory=lambda: DEFAULT_CHECKPOINT_SERVICE)
    background_per_min: float = 0.0
    background_service: Dist | None = None
    green: str = "none"
    green_lanes: int = 1
    kind: str = "checkpoint"
    node_id: int | None = None

    def spec(self, node: int) -> CheckpointSpec:
        """The model's checkpoint at node index ``node``."""
        shared = (f.name for f in dataclasses.fields(CheckpointSpec) if f.name != "node")
        return CheckpointSpec(node=node, **{name: getattr(self, name) for name in shared})


#: The warm-up of ordinary traffic lasts this many relaxation times of the slowest queue the
#: fleet shares (:func:`sim.planning.steady_state_warmup`).
WARMUP_RELAXATIONS = 8.0


def queue_load(lanes: int, background_per_min: float, service: Dist) -> float:
    """The load ``ρ = λ E[S] / c`` of ordinary traffic on a checkpoint's ``c`` lanes."""
    return background_per_min * service.mean / lanes


def relaxation_min(lanes: int, background_per_min: float, service: Dist) -> float:
    """Minutes an empty queue of ordinary traffic takes to relax towards its steady state.

    In the heavy-traffic (reflected Brownian motion) approximation of the work in a queue
    with Poisson arrivals at rate λ, ``c`` lanes, service S and load ρ < 1,
    ``τ = 2 λ E[S²] / (c² (1 − ρ)²)`` (exact to first order for M/M/1).
    """
    rho = queue_load(lanes, background_per_min, service)
    return 2.0 * background_per_min * service.second_moment / (lanes**2 * (1.0 - rho) ** 2)


def overload(
    lanes: int, background_per_min: float, service: Dist, green: str = "none"
) -> str | None:
    """Why ordinary traffic at a checkpoint cannot be simulated to a steady state, or ``None``.

    At a load ``ρ >= 1`` (:func:`queue_load`) the queue of ordinary traffic grows without end;
    close below 1 its warm-up (:data:`WARMUP_RELAXATIONS` relaxation times,
    :func:`relaxation_min`) passes :data:`sim.limits.MAX_STEADY_WARMUP_MIN` and the run
    would spend hours simulating it. A dedicated green channel's lanes are the fleet's own, so
    there ordinary traffic is not looked at (as in :func:`sim.planning.steady_state_warmup`).

    Parameters
    ----------
    lanes
        Lanes open to ordinary traffic.
    background_per_min
        Ordinary vehicles per minute.
    service
        Service time of an ordinary vehicle, minutes.
    green
        The checkpoint's green channel.
    """
    if background_per_min <= 0 or green == "dedicated":
        return None
    rho = queue_load(lanes, background_per_min, service)
    what = (
        f"ordinary traffic alone loads its {lanes} lane{'s' if lanes != 1 else ''} at "
        f"{rho:.3g} ({background_per_min:g} vehicles/min x {service.mean:.3g} min mean service)"
    )
    if rho >= 1.0:
        return (
            f"{what}: at 1 or more its queue grows without end and the run cannot finish; add "
            "lanes or lower background_per_min or the service time"
        )
    warmup = WARMUP_RELAXATIONS * relaxation_min(lanes, background_per_min, service)
    if warmup > MAX_STEADY_WARMUP_MIN:
        return (
            f"{what}: its queue would need {warmup:,.0f} minutes of warm-up to reach a steady "
            f"state, more than the limit of {MAX_STEADY_WARMUP_MIN:,g}; add lanes or lower "
            "background_per_min or the service time"
        )
    return None


def ordinary_vehicles(sites: Sequence[CheckpointSite], warmup_min: float) -> float:
    """About how many ordinary vehicles one replication simulates at most.

    Every site's ``background_per_min`` over the warm-up (``warmup_min``, or longer for a
    loaded queue: :data:`WARMUP_RELAXATIONS` relaxation times) and the
    :data:`sim.plan.HORIZON_MIN` after the alarm, as if every site lay on a route.
    """
    warmup = float(warmup_min)
    for s in sites:
        service = s.background_service or s.service
        if s.background_per_min > 0 and queue_load(s.lanes, s.background_per_min, service) < 1:
            tau = relaxation_min(s.lanes, s.background_per_min, service)
            warmup = max(warmup, WARMUP_RELAXATIONS * tau)
    return sum(s.background_per_min for s in sites) * (warmup + HORIZON_MIN)


def spread_sites(
    network: RoadNetwork, spec: CheckpointsSpec
) -> tuple[list[CheckpointSite], list[Problem]]:
    """Place ``spec.count`` checkpoints evenly by road length (see :class:`CheckpointsSpec`).

    The qualifying road segments (both ends plain road nodes inside the region, and outside
    the central area unless ``include_central``) are laid end to end in edge order; site
    ``k`` goes to the free segment end nearest to ``(k + 0.5) / count`` of the total length.

    Parameters
    ----------
    network
        The road network (without closures).
    spec
        The ``checkpoints`` section of a scenario file.

    Returns
    -------
    sites, problems
        The sites (named ``checkpoint 01`` ...), or none and a problem when fewer road nodes
        qualify than ``count``.
    """
    ok = np.zeros(network.n_nodes, dtype=bool)
    for i in range(network.n_nodes):
        ok[i] = (
            network.node(i).get("kind") in (None, "road")
            and str(network.zone[i]) != "outside"
            and (spec.include_central or not bool(network.central[i]))
        )
    seen: dict[tuple[int, int], int] = {}
    segments: list[tuple[int, int, float]] = []
    for u, v, data in network.graph.edges(data=True):
        a, b = network.index_of(u), network.index_of(v)
        key = (min(a, b), max(a, b))
        if a == b or not (ok[a] and ok[b]):
            continue
        length = float(data.get("length") or 0.0)
        if key in seen:
            j = seen[key]
            segments[j] = (*segments[j][:2], min(segments[j][2], length))
        else:
            seen[key] = len(segments)
            segments.append((a, b, length))
    nodes = sorted({n for a, b, _ in segments for n in (a, b)})
    if spec.count > len(nodes):
        message = (
            f"{spec.count} checkpoints, but only {len(nodes)} road nodes qualify for placement "
            "(not named places, not outside the region"
            + ("" if spec.include_central else ", not central")
            + ")"
        )
        return [], [(("checkpoints", "count"), message)]
    positions, cand = [], []
    s = 0.0
    for a, b, length in segments:
        positions += [s, s + length]
        cand += [a, b]
        s += length
    pos, cand_arr = np.array(positions), np.array(cand, dtype=np.int64)
    taken: set[int] = set()
    sites = []
    width = len(str(spec.count))
    for k in range(spec.count):
        target = (k + 0.5) * s / spec.count
        for j in np.argsort(np.abs(pos - target), kind="stable").tolist():
            node = int(cand_arr[j])
            if node not in taken:
                taken.add(node)
                break
        lat, lon = float(network.lat[node]), float(network.lon[node])
        sites.append(
            CheckpointSite(
                name=f"checkpoint {k + 1:0{width}d}",
                location=f"{lat:.6f},{lon:.6f}",
                lanes=spec.lanes,
                service=spec.service,
                background_per_min=spec.background_per_min,
                background_service=spec.background_service,
                green=spec.green,
                green_lanes=spec.green_lanes,
                node_id=int(network.node_ids[node]),
            )
        )
    return sites, []


def toll_sites(network: RoadNetwork, spec: TollsSpec) -> tuple[list[CheckpointSite], list[Problem]]:
    """The toll plazas of ``spec.stations`` at the network's ``fleetsim:toll`` nodes.

    Parameters
    ----------
    network
        The road network.
    spec
        The ``tolls`` section of a scenario file (its ``enabled`` flag is not looked at).

    Returns
    -------
    sites, problems
        One site per station found (kind ``toll``), and a problem per station the network
        does not tag.
    """
    nodes = [network.node(i) for i in range(network.n_nodes)]
    by_toll = {str(d.get("toll")): i for i, d in enumerate(nodes) if d.get("toll")}
    sites: list[CheckpointSite] = []
    problems: list[Problem] = []
    for j, station in enumerate(spec.stations):
        node = by_toll.get(station)
        if node is None:
            known = ", ".join(sorted(by_toll)) or "none"
            problems.append(
                (
                    ("tolls", "stations", j),
                    f"network {network.source!r} has no toll station {station!r} (a node "
                    f"tagged fleetsim:toll={station}); its toll stations: {known}",
                )
            )
            continue
        name = network.node(node).get("name")
        sites.append(
            CheckpointSite(
                name=f"{name or station} ({TOLL_STATIONS[station]})",
                location=name or network.places.lat_lon(node),
                lanes=spec.lanes,
                service=spec.service,
                background_per_min=spec.background_per_min,
                background_service=spec.background_service,
                green=spec.green,
                green_lanes=spec.green_lanes,
                kind="toll",
                node_id=int(network.node_ids[node]),
            )
        )
    return sites, problems


def checkpoint_sites(
    checkpoints: CheckpointsSpec, tolls: TollsSpec, network: RoadNetwork | None
) -> tuple[list[CheckpointSite], list[Problem]]:
    """Every checkpoint and toll plaza of a scenario file, in order.

    Parameters
    ----------
    checkpoints, tolls
        The ``checkpoints`` and ``tolls`` sections of a scenario file.
    network
        The road network; without it (it failed to load) only the explicit sites are built.

    Returns
    -------
    sites, problems
        The spread sites, the explicit sites (unset keys take the section's values), then the
        toll plazas; and the problems found (too many spread sites, a duplicate name, a
        station the network does not tag, ordinary traffic that cannot settle: :func:`overload`).
    """
    cp = checkpoints
    sites: list[CheckpointSite] = []
    problems: list[Problem] = []
    sections = [(cp, ("checkpoints",))] if cp.count else []
    if tolls.enabled and tolls.stations:
        sections.append((tolls, ("tolls",)))
    for section, path in sections:
        service = section.background_service or section.service
        why = overload(section.lanes, section.background_per_min, service, section.green)
        if why:
            problems.append(((*path, "background_per_min"), why))
    if cp.count and network is not None:
        spread, found = spread_sites(network, cp)
        sites += spread
        problems += found
    for j, s in enumerate(cp.sites):
        sites.append(
            CheckpointSite(
                name=s.name or s.location,
                location=s.location,
                lanes=s.lanes or cp.lanes,
                service=s.service or cp.service,
                background_per_min=(
                    cp.background_per_min if s.background_per_min is None else s.background_per_min
                ),
                background_service=s.background_service or cp.background_service,
                green=s.green or cp.green,
                green_lanes=s.green_lanes or cp.green_lanes,
                kind=s.kind,
                node_id=s.node,
            )
        )
        if sites[-1].name in [x.name for x in sites[:-1]]:
            problems.append(
                (("checkpoints", "sites", j, "name"), f"duplicate name {sites[-1].name!r}")
            )
        site = sites[-1]
        service = site.background_service or site.service
        why = overload(site.lanes, site.background_per_min, service, site.green)
        if why:
            problems.append((("checkpoints", "sites", j, "background_per_min"), why))
    if tolls.enabled and network is not None:
        plazas, found = toll_sites(network, tolls)
        sites += plazas
        problems += found
    return sites, problems
