"""Sweeps: one scenario's demand placed at every candidate site, to map where the targets hold.

A sweep takes the demand of one incident of a scenario (by default the first) and places it
in turn at every candidate site:

* ``"seats"``: the banner/district seats (graph nodes of kind ``seat``);
* ``"nodes"``: every node of the network not in zone ``outside``;
* ``"grid:KM"``: a regular latitude/longitude grid of ``KM`` kilometres spacing over the
  network's bounding box, each point snapped to its nearest node, duplicates removed, nodes
  in zone ``outside`` excluded.

Each site becomes an :class:`~sim.scenario.Incident` named after the site whose random streams
are keyed by the *swept incident's* name (:attr:`sim.plan.IncidentPlan.stream`), so a sweep
row is exactly ``fleetsim run`` of that incident moved to the site: the same name, the same
demand and scope, ``location`` set to the site's ``lat,lon`` (README, "Reproducing a sweep
row"). A site's result does not depend on which other sites are swept, a seat gets the same
result in a ``seats``, a ``nodes`` and a ``grid`` sweep, and all sites see the same draws for
the same vehicle (common random numbers across sites, which sharpens comparisons of sites).
The tier and deadline are derived from each site's location
by the scenario's rule set; the template incident's explicit ``tier`` and ``deadline_min``
(which describe *its* location) are not carried over, its ``scope`` override (a response
policy) is.

Sites where the demand cannot be met at all by the vehicles in scope (a count above the
vehicles that can reach the site, or ``all`` of a class with none in scope) get a row with
``p_met = 0``, a zero-width interval and a ``note``; they are not simulated.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import FleetsimError, ValidationError
from sim.experiment import check_reps_seed, run_plans
from sim.network import RoadNetwork
from sim.planning import checkpoint_node, prepare_incident, resolve_depots, scenario_network
from sim.results import summarize
from sim.scenario import Incident, Scenario
from sim.texttables import new_table, render, right

#: Columns of a sweep row, in table / CSV order (``p_met_ci95`` is a ``[low, high]`` pair).
SITE_FIELDS: tuple[str, ...] = (
    "site",
    "node",
    "place",
    "lat",
    "lon",
    "zone",
    "tier",
    "deadline_min",
    "p_met",
    "p_met_ci95",
    "p50_min",
    "p90_min",
    "bottleneck_class",
    "verdict",
    "note",
)

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
    """

    name: str
    node: int


@dataclass
class SweepResult:
    """The outcome of :func:`sweep`.

    Attributes
    ----------
    scenario : str
        Scenario name.
    incident : str
        Name of the template incident whose demand was swept.
    demand : dict
        The swept demand per class.
    sites : str
        The site specification (``seats``, ``nodes``, ``grid:KM`` or ``custom``).
    seed, replications : int
        Root seed and replications per site.
    rows : list of dict
        One row per site (:data:`SITE_FIELDS`), failing sites first (``p_met`` ascending,
        then site name).
    network : RoadNetwork
        The network swept (for maps).
    resumed : int
        Sites whose row was taken from the ``cache_dir`` of :func:`sweep` (not simulated).
    """

    scenario: str
    incident: str
    demand: dict[str, int | str]
    sites: str
    seed: int
    replications: int
    rows: list[dict[str, Any]]
    network: RoadNetwork = field(repr=False)
    resumed: int = field(default=0, compare=False)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict: the sweep's settings and its rows."""
        from sim import __version__

        return {
            "scenario": self.scenario,
            "incident": self.incident,
            "demand": dict(self.demand),
            "sites": self.sites,
            "seed": self.seed,
            "replications": self.replications,
            "network": self.network.source,
            "fleetsim_version": __version__,
            "rows": self.rows,
        }

    def to_dataframe(self) -> Any:
        """Return the rows as a ``pandas.DataFrame`` (pandas is installed with OSMnx).

        The interval becomes two columns, ``p_met_ci95_low`` and ``p_met_ci95_high``.
        """
        import pandas as pd

        return pd.DataFrame(flat_rows(self.rows))


def flat_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with ``p_met_ci95`` split into ``p_met_ci95_low`` / ``p_met_ci95_high``."""
    out = []
    for row in rows:
        flat: dict[str, Any] = {}
        for key in SITE_FIELDS:
            if key == "p_met_ci95":
                lo, hi = row[key]
                flat["p_met_ci95_low"], flat["p_met_ci95_high"] = lo, hi
            else:
                flat[key] = row.get(key)
        out.append(flat)
    return out


# ---------------------------------------------------------------------------------------------
# Candidate sites
# ---------------------------------------------------------------------------------------------


def _named(network: RoadNetwork, indices: Sequence[int]) -> list[Site]:
    names = [network.places.label(i) for i in indices]
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    return [
        Site(n if seen[n] == 1 else network.places.label(i, with_id=True), int(i))
        for n, i in zip(names, indices, strict=True)
    ]


def candidate_sites(network: RoadNetwork, sites: str) -> list[Site]:
    """Return the candidate sites of a sweep.

    Parameters
    ----------
    network
        The road network.
    sites
        ``"seats"``, ``"nodes"`` or ``"grid:KM"`` (KM > 0, the grid spacing in km).

    Returns
    -------
    list of Site
        In network order (seats, nodes) or grid order (south to north, west to east).

    Raises
    ------
    ValidationError
        For an unknown specification, a bad grid spacing, or no site at all.
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
        return _named(network, idx)
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
        snapped = [
            network.places.nearest_node(south + i * dlat, west + j * dlon)
            for i in range(n_lat)
            for j in range(n_lon)
        ]
        idx = [i for i in dict.fromkeys(snapped) if inside[i]]
    else:
        raise ValidationError(f"--sites {sites!r}: unknown; use 'seats', 'nodes' or 'grid:KM'")
    if not idx:
        raise ValidationError(f"--sites {sites!r}: no site lies inside the region")
    return _named(network, idx)


# ---------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------


def _template(scenario: Scenario, incident: str | None) -> Incident:
    if incident is None:
        return scenario.incidents[0]
    for inc in scenario.incidents:
        if inc.name == incident:
            return inc
    names = ", ".join(repr(i.name) for i in scenario.incidents)
    raise ValidationError(
        f"--incident {incident!r}: not in scenario {scenario.name!r}; incidents: {names}"
    )


def _base_row(network: RoadNetwork, site: Site) -> dict[str, Any]:
    n = site.node
    return {
        "site": site.name,
        "node": int(network.node_ids[n]),
        "place": network.node(n).get("place") or None,
        "lat": round(float(network.lat[n]), 6),
        "lon": round(float(network.lon[n]), 6),
        "zone": str(network.zone[n]),
    }


def sweep(
    scenario: Scenario,
    sites: str | Sequence[Site] = "seats",
    *,
    network: RoadNetwork | None = None,
    incident: str | None = None,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    engine: str = "auto",
    scheduler: Any = None,
    cache_dir: str | os.PathLike[str] | None = None,
    before: Callable[[Sequence[Any], int], None] | None = None,
) -> SweepResult:
    """Place one incident's demand at every candidate site and simulate each.

    Parameters
    ----------
    scenario
        The scenario (fleet, rules, conditions; the demand of ``incident``).
    sites
        ``"seats"``, ``"nodes"``, ``"grid:KM"``, or sites from :func:`candidate_sites`.
    network
        A loaded network; by default the scenario's.
    incident
        Name of the incident whose demand is swept (default: the scenario's first).
    replications, seed
        Override the scenario's replication count and seed.
    workers
        Local processes (1 = serial); results are identical for any value.
    progress
        Called with the number of replications just finished (sites that cannot be served,
        and sites taken from ``cache_dir``, count with all their replications at once),
        ``len(sites) × replications`` in all.
    engine
        ``auto``, ``simpy`` or ``fast`` (:func:`sim.experiment.run_plans`).
    scheduler
        A Dask scheduler address or ``distributed.Client``: run on that cluster instead of
        local processes; results are identical.
    cache_dir
        A folder (created when needed) holding one small JSON file per finished site, written
        as soon as the site is done. Sites already there are not simulated again, so a sweep
        interrupted with Ctrl-C continues where it stopped (``fleetsim sweep --resume``).
        Entries are keyed by a hash of the fleetsim version, the scenario, the site's plan
        (routes, fleet, demand, rules), the replications, the seed and the engine, so an
        entry is only ever reused for the identical computation. The caller removes it.
    before
        Called with the plans of the sites to simulate and the replication count before
        anything is simulated (the command line estimates the run time there).

    Returns
    -------
    SweepResult
        One row per site, failing sites first.

    Raises
    ------
    ValidationError
        For a bad site specification, an unknown incident, or bad replications / seed.
    """
    reps, s = check_reps_seed(scenario, replications, seed)
    template = _template(scenario, incident)
    network = scenario_network(scenario, network)
    spec = sites if isinstance(sites, str) else "custom"
    cands = candidate_sites(network, sites) if isinstance(sites, str) else list(sites)
    names = [c.name for c in cands]
    if len(set(names)) != len(names):
        raise ValidationError("sweep: site names must be unique")
    depots = resolve_depots(network, scenario.fleet)
    cps = [checkpoint_node(network, c) for c in scenario.checkpoints]
    plans = []
    rows: list[dict[str, Any]] = []
    simulated: list[dict[str, Any]] = []
    cache = _SiteCache(cache_dir, scenario, reps, s, engine) if cache_dir is not None else None
    resumed = 0
    for site in cands:
        row = _base_row(network, site)
        inc = Incident(
            site.name, network.places.lat_lon(site.node), template.demand, scope=template.scope
        )
        note = None
        try:
            plan = prepare_incident(
                network, scenario, inc, depot_nodes=depots, checkpoint_nodes=cps
            )
        except FleetsimError as exc:
            plan, note = None, str(exc).replace(f"incident {site.name!r}: ", "")
        if plan is not None:
            plan = dataclasses.replace(plan, stream_name=template.name)
            empty = [
                c.vehicle_class for c in plan.classes if c.all_in_scope and c.candidates.size == 0
            ]
            if empty:
                note = f"demand 'all' of {', '.join(empty)}: no such vehicle in scope"
        if note is not None:
            try:
                a = scenario.rules.classify(network, site.node)
                tier, deadline = a.tier, a.deadline_min
            except FleetsimError:
                tier, deadline = None, None
            row.update(
                tier=plan.tier if plan else tier,
                deadline_min=plan.deadline_min if plan else deadline,
                p_met=0.0,
                p_met_ci95=[0.0, 0.0],
                p50_min=None,
                p90_min=None,
                bottleneck_class=None,
                verdict="fails",
                note=note,
            )
            rows.append(row)
            if progress:
                progress(reps)
            continue
        rows.append(row)
        if cache is not None:
            done = cache.load(plan, row)
            if done is not None:
                row.update(done)
                resumed += 1
                if progress:
                    progress(reps)
                continue
        plans.append(plan)
        simulated.append(row)

    classes = tuple(scenario.fleet.classes)

    def finished(i: int, res: list[Any]) -> None:
        simulated[i].update(_simulated_fields(plans[i], res, classes))
        if cache is not None:
            cache.store(plans[i], simulated[i])

    if before is not None:
        before(plans, reps)
    run_plans(
        plans,
        seed=s,
        replications=reps,
        workers=workers,
        progress=progress,
        engine=engine,
        scheduler=scheduler,
        on_plan_done=finished,
    )
    rows = [{k: r[k] for k in SITE_FIELDS} for r in rows]
    rows.sort(key=lambda r: (r["p_met"], r["site"]))
    return SweepResult(
        scenario=scenario.name,
        incident=template.name,
        demand=dict(template.demand),
        sites=spec,
        seed=s,
        replications=reps,
        rows=rows,
        network=network,
        resumed=resumed,
    )


def _simulated_fields(plan: Any, reps: Sequence[Any], classes: Sequence[str]) -> dict[str, Any]:
    """The row fields of a simulated site, from its replications."""
    summ = summarize(plan, reps, classes)
    return {
        "tier": summ["tier"],
        "deadline_min": summ["deadline_min"],
        "p_met": summ["p_met"],
        "p_met_ci95": summ["p_met_ci95"],
        "p50_min": summ["completion_min"]["p50"],
        "p90_min": summ["completion_min"]["p90"],
        "bottleneck_class": summ["bottleneck_class"],
        "verdict": summ["verdict"],
        "note": None,
    }


# ---------------------------------------------------------------------------------------------
# Resumable sweeps: a cache of finished sites
# ---------------------------------------------------------------------------------------------


def sweep_cache_dir(out: str | os.PathLike[str]) -> Path:
    """The cache folder of finished sites for a sweep written to ``out``: ``<out>.partial``."""
    path = Path(out)
    return path.with_name(f"{path.name}.partial")


def _digest(h: Any, obj: Any) -> None:
    """Feed a canonical, type-tagged encoding of ``obj`` into the hash ``h``."""
    if isinstance(obj, np.ndarray):
        h.update(f"A{obj.dtype.str}{obj.shape}".encode())
        h.update(np.ascontiguousarray(obj).tobytes())
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(f"D{type(obj).__qualname__}(".encode())
        for f in dataclasses.fields(obj):
            if f.name.startswith("_"):
                continue
            h.update(f"{f.name}=".encode())
            _digest(h, getattr(obj, f.name))
        h.update(b")")
    elif isinstance(obj, Mapping):
        h.update(f"M{len(obj)}{{".encode())
        for k, v in obj.items():
            _digest(h, k)
            _digest(h, v)
        h.update(b"}")
    elif isinstance(obj, list | tuple):
        h.update(f"L{len(obj)}[".encode())
        for v in obj:
            _digest(h, v)
        h.update(b"]")
    elif obj is None or isinstance(obj, bool | int | float | str | np.generic):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
    else:  # e.g. a SeedSequence or an enum: its repr is its value
        h.update(f"{type(obj).__qualname__}:{obj!r};".encode())


class _SiteCache:
    """Finished sites of a sweep on disk: ``<key>.json`` holding the site's simulated fields."""

    def __init__(
        self, folder: str | os.PathLike[str], scenario: Scenario, reps: int, seed: int, engine: str
    ) -> None:
        from sim import __version__

        self.folder = Path(folder)
        h = hashlib.sha256()
        _digest(h, [__version__, reps, seed, engine])
        _digest(h, scenario)
        self._base = h.copy()

    def key(self, plan: Any, row: Mapping[str, Any]) -> str:
        h = self._base.copy()
        _digest(h, plan)
        _digest(h, {k: row[k] for k in ("site", "node", "place", "lat", "lon", "zone")})
        return h.hexdigest()[:40]

    def load(self, plan: Any, row: Mapping[str, Any]) -> dict[str, Any] | None:
        path = self.folder / f"{self.key(plan, row)}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("site") != row["site"]:
            return None
        fields = data.get("fields")
        return fields if isinstance(fields, dict) else None

    def store(self, plan: Any, row: Mapping[str, Any]) -> None:
        key = self.key(plan, row)
        fields = {k: row[k] for k in SITE_FIELDS if k not in _BASE_FIELDS}
        text = json.dumps({"site": row["site"], "key": key, "fields": fields}, allow_nan=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{key}.tmp-{os.getpid()}"
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, self.folder / f"{key}.json")


_BASE_FIELDS = ("site", "node", "place", "lat", "lon", "zone")


def _fmt(x: float | None, spec: str = ".0f") -> str:
    return "-" if x is None else format(x, spec)


def sweep_table(result: SweepResult, *, ascii_only: bool = False) -> str:
    """Render the sweep as a text table, failing sites first.

    Parameters
    ----------
    result
        The sweep.
    ascii_only
        ASCII characters only (:func:`sim.texttables.render`).
    """
    demand = ", ".join(f"{k} {v}" for k, v in result.demand.items())
    table = new_table(
        "site",
        right("lat"),
        right("lon"),
        "zone",
        "tier",
        right("deadline"),
        right("P(holds)"),
        right("95% CI"),
        right("p90"),
        "note",
    )
    for r in result.rows:
        lo, hi = r["p_met_ci95"]
        p90 = "never" if r["p90_min"] is None and r["note"] is None else _fmt(r["p90_min"])
        table.add_row(
            r["site"],
            f"{r['lat']:.5f}",
            f"{r['lon']:.5f}",
            r["zone"],
            r["tier"] or "-",
            f"{_fmt(r['deadline_min'])} min",
            f"{r['p_met']:.3f}",
            f"[{lo:.3f},{hi:.3f}]",
            p90,
            r["note"] or "",
        )
    held = sum(r["p_met"] >= 0.95 for r in result.rows)
    return render(
        f"scenario {result.scenario} · demand of {result.incident!r} ({demand}) · "
        f"{len(result.rows)} sites ({result.sites}) · seed {result.seed} · "
        f"{result.replications} replications per site",
        table,
        f"({held} of {len(result.rows)} sites hold at P >= 0.95; p90: completion minutes; "
        "failing sites first)",
        ascii_only=ascii_only,
    )


__all__ = [
    "SITE_FIELDS",
    "Site",
    "SweepResult",
    "candidate_sites",
    "flat_rows",
    "sweep",
    "sweep_cache_dir",
    "sweep_table",
]
