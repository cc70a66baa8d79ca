"""Sweeps: one scenario's demand placed at every candidate site, to map where the targets hold.

A sweep takes the demand of one incident of a scenario (by default the first; with
``per_tier``, each site that of the scenario's incident of the site's tier, :func:`templates`)
and places it in turn at every candidate site:

* ``"seats"``: the banner/district seats (graph nodes of kind ``seat``);
* ``"nodes"``: every node of the network not in zone ``outside``;
* ``"grid:KM"``: a regular latitude/longitude grid of ``KM`` kilometres spacing over the
  network's bounding box, each point snapped to its nearest node, duplicates removed, nodes
  in zone ``outside`` excluded. A point farther from its node than the scenario's
  ``locations.max_snap_km`` does not silently become that node: it is skipped, and the
  count is reported (:attr:`SiteChoice.skipped_far`, ``fleetsim sweep`` on stderr, the
  sweep's ``summary.json``). A grid site keeps the distance of its nearest grid point
  (``snap_km``; 0 for seats and nodes).

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
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.contention import contention_summary
from sim.demand import Basis, explicit
from sim.errors import FleetsimError, ValidationError
from sim.executors import make_executor
from sim.experiment import check_reps_seed, check_shared_engine, run_plans
from sim.folders import check_replaceable, disk_error
from sim.network import RoadNetwork
from sim.plan import IncidentPlan
from sim.planning import (
    checkpoint_node,
    incident_tier,
    prepare,
    prepare_incident,
    resolve_depots,
    scenario_network,
)
from sim.results import SNAP_NOTE_KM, summarize, verdict
from sim.scenario import Incident, Scenario
from sim.shared import prepare_shared
from sim.sharedrun import run_shared
from sim.sites import Site, SiteChoice, candidate_sites, choose_sites
from sim.texttables import new_table, render, right

#: Columns of a sweep row, in table / CSV order (``p_met_ci95`` is a ``[low, high]`` pair).
SITE_FIELDS: tuple[str, ...] = (
    "site",
    "node",
    "place",
    "label",
    "lat",
    "lon",
    "snap_km",
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
        The swept demand per class (a plain ``all`` spelled ``all_accepted``).
    sites : str
        The site specification (``seats``, ``nodes``, ``grid:KM`` or ``custom``).
    seed, replications : int
        Root seed and replications per site.
    rows : list of dict
        One row per site (:data:`SITE_FIELDS`), failing sites first (``p_met`` ascending,
        then site name).
    network : RoadNetwork
        The network swept (for maps).
    skipped_far : int
        Grid points skipped for lying farther than the scenario's ``locations.max_snap_km``
        from any road node (:class:`SiteChoice`).
    resumed : int
        Sites whose row was taken from the ``cache_dir`` of :func:`sweep` (not simulated).
    cache_notes : list of str
        One note per entry of ``cache_dir`` that was invalid (edited, truncated, of another
        computation) and therefore recomputed.
    tiers : dict
        A sweep per tier (``per_tier``): tier to the incident whose demand its sites took
        (``incident`` and ``demand`` are then those of the default, the first incident);
        empty otherwise.
    """

    scenario: str
    incident: str
    demand: dict[str, int | str]
    sites: str
    seed: int
    replications: int
    rows: list[dict[str, Any]]
    network: RoadNetwork = field(repr=False)
    skipped_far: int = 0
    resumed: int = field(default=0, compare=False)
    cache_notes: list[str] = field(default_factory=list, compare=False)
    tiers: dict[str, str] = field(default_factory=dict)

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
            "skipped_far_grid_points": self.skipped_far,
            **({"demand_per_tier": dict(self.tiers)} if self.tiers else {}),
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


def check_sites(network: RoadNetwork, sites: object) -> list[Site]:
    """Validate a list of sites given by the caller (instead of a site specification).

    Parameters
    ----------
    network
        The road network the sites' node indices refer to.
    sites
        A non-empty list (or tuple) of :class:`Site` with unique names.

    Returns
    -------
    list of Site
        The sites, in the order given.

    Raises
    ------
    ValidationError
        For anything else, naming the bad item.
    """
    usage = "'seats', 'nodes', 'grid:KM' or a list of Site"
    if not isinstance(sites, list | tuple):
        raise ValidationError(f"`sites` must be {usage}, got {sites!r}")
    if not sites:
        raise ValidationError(f"`sites` is an empty list; give {usage}")
    seen: set[str] = set()
    for i, site in enumerate(sites):
        if not isinstance(site, Site):
            raise ValidationError(f"`sites[{i}]` must be a Site(name, node), got {site!r}")
        if not isinstance(site.name, str) or not site.name.strip():
            raise ValidationError(f"`sites[{i}].name` must be a non-empty text, got {site.name!r}")
        node = site.node
        if isinstance(node, bool) or not isinstance(node, int | np.integer):
            raise ValidationError(f"`sites[{i}].node` must be a node index, got {node!r}")
        if not 0 <= node < network.n_nodes:
            raise ValidationError(
                f"`sites[{i}].node` {node} is not a node index of network {network.source!r} "
                f"(0 to {network.n_nodes - 1})"
            )
        km = site.snap_km
        if isinstance(km, bool) or not isinstance(km, int | float) or not 0 <= km < math.inf:
            raise ValidationError(f"`sites[{i}].snap_km` must be a distance >= 0, got {km!r}")
        if site.name in seen:
            raise ValidationError(f"`sites`: site names must be unique; {site.name!r} repeats")
        seen.add(site.name)
    return [Site(s.name, int(s.node), float(s.snap_km)) for s in sites]


# ---------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Templates:
    """Whose demand a sweep places at each site (:func:`templates`).

    Attributes
    ----------
    default
        The incident named, or the scenario's first: its demand goes to every site, or, per
        tier, to the sites of a tier the scenario has no incident of.
    tiers
        Per tier, the scenario's first incident of that tier (per tier only; else empty).
    per_tier
        Whether each site takes the demand of its tier's incident.
    """

    default: Incident
    tiers: Mapping[str, Incident] = field(default_factory=dict)
    per_tier: bool = False

    def for_tier(self, tier: str | None) -> Incident:
        """The incident whose demand a site of ``tier`` takes."""
        if not self.per_tier or tier is None:
            return self.default
        return self.tiers.get(tier, self.default)

    def at(self, scenario: Scenario, network: RoadNetwork, node: int) -> Incident:
        """The incident whose demand the site at ``node`` takes (its tier's, per tier)."""
        if not self.per_tier:
            return self.default
        try:
            tier = scenario.rules.classify(network, node).tier
        except FleetsimError:  # outside the region: the site gets a note, not a result
            return self.default
        return self.for_tier(tier)

    def place(
        self, scenario: Scenario, network: RoadNetwork, site: Site
    ) -> tuple[Incident, Incident]:
        """The incident a sweep places at ``site``, and its template (:meth:`at`).

        The incident is named after the site, with the template's demand and scope; its tier
        and deadline follow from the site's location.
        """
        t = self.at(scenario, network, site.node)
        inc = Incident(site.name, network.places.lat_lon(site.node), t.demand, scope=t.scope)
        return inc, t

    def notes(self, tiers: Iterable[str | None]) -> list[str]:
        """One line per tier among ``tiers`` without an incident of its own (per tier only)."""
        if not self.per_tier:
            return []
        return [
            f"the scenario has no {tier} incident: its {tier} sites take the demand of "
            f"{self.default.name!r} (the first incident)"
            for tier in dict.fromkeys(t for t in tiers if t is not None)
            if tier not in self.tiers
        ]


def templates(
    scenario: Scenario,
    incident: str | None = None,
    *,
    network: RoadNetwork | None = None,
    per_tier: bool = False,
) -> Templates:
    """Whose demand a sweep of ``scenario`` places at its sites.

    Parameters
    ----------
    scenario
        The scenario.
    incident
        The name of the incident whose demand every site takes; default: the first incident,
        or, with ``per_tier``, each site's tier's incident.
    network
        The scenario's network (:func:`sim.planning.scenario_network`); needed per tier, for
        the tiers of the incidents (default: loaded).
    per_tier
        Each site takes the demand of the scenario's first incident of the site's tier (an
        incident's tier as a run assigns it, :func:`sim.planning.incident_tier`); a site of
        a tier without an incident takes the first incident's (:meth:`Templates.notes`
        names those tiers).

    Raises
    ------
    ValidationError
        For an unknown incident name, or a name with ``per_tier``.
    """
    if incident is not None and per_tier:
        raise ValidationError(
            f"--incident {incident!r} places one incident everywhere; it excludes the demand "
            "per tier"
        )
    if incident is None:
        default = scenario.incidents[0]
    else:
        found = [inc for inc in scenario.incidents if inc.name == incident]
        if not found:
            names = ", ".join(repr(i.name) for i in scenario.incidents)
            raise ValidationError(
                f"--incident {incident!r}: not in scenario {scenario.name!r}; incidents: {names}"
            )
        default = found[0]
    if not per_tier:
        return Templates(default)
    network = scenario_network(scenario, network)
    tiers: dict[str, Incident] = {}
    for inc in scenario.incidents:
        tiers.setdefault(incident_tier(network, scenario, inc).tier, inc)
    return Templates(default, tiers, per_tier=True)


def _base_row(network: RoadNetwork, site: Site) -> dict[str, Any]:
    n = site.node
    return {
        "site": site.name,
        "node": int(network.node_ids[n]),
        "place": network.node(n).get("place") or None,
        "label": network.roads.label(n),
        "lat": round(float(network.lat[n]), 6),
        "lon": round(float(network.lon[n]), 6),
        "snap_km": round(float(site.snap_km), 3),
        "zone": str(network.zone[n]),
    }


def sweep(
    scenario: Scenario,
    sites: str | SiteChoice | Sequence[Site] = "seats",
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
    large: bool | None = None,
    per_tier: bool = False,
) -> SweepResult:
    """Place one incident's demand at every candidate site and simulate each.

    Parameters
    ----------
    scenario
        The scenario (fleet, rules, conditions; the demand of ``incident``).
    sites
        ``"seats"``, ``"nodes"``, ``"grid:KM"`` (grid points farther than the scenario's
        ``locations.max_snap_km`` from their node are skipped and counted), a
        :class:`SiteChoice` from :func:`choose_sites`, or sites from :func:`candidate_sites`.
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
    large
        Whether the sweep counts as large for the batch engine
        (:func:`sim.experiment.run_plans`).
    per_tier
        Place at each site the demand of the scenario's incident of the site's tier, not
        one incident's (:func:`templates`; not with ``incident``). A site's random streams
        are keyed by the name of the incident whose demand it takes.

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
    network = scenario_network(scenario, network)
    tmpl = templates(scenario, incident, network=network, per_tier=per_tier)
    if isinstance(sites, str):
        sites = choose_sites(network, sites, max_snap_km=scenario.max_snap_km)
    if isinstance(sites, SiteChoice):
        spec, cands, skipped = sites.spec, sites.sites, sites.skipped_far
    else:
        spec, cands, skipped = "custom", check_sites(network, sites), 0
    if scenario.fleet_sharing == "shared":
        return _shared_sweep(
            scenario,
            tmpl,
            network,
            spec,
            cands,
            reps,
            s,
            workers=workers,
            progress=progress,
            engine=engine,
            scheduler=scheduler,
            cached=cache_dir is not None,
            before=before,
            skipped_far=skipped,
        )
    depots = resolve_depots(network, scenario.fleet)
    cps = [checkpoint_node(network, c) for c in scenario.checkpoints]
    plans = []
    rows: list[dict[str, Any]] = []
    simulated: list[dict[str, Any]] = []
    cache = _SiteCache(cache_dir, scenario, reps, s, engine) if cache_dir is not None else None
    resumed = 0
    prepared = _prepare_sites(
        network, scenario, tmpl, cands, depots, cps, workers=workers, scheduler=scheduler
    )
    used: dict[str, str] = {}  # per tier: the incident whose demand its sites took
    for site, (plan, note, tier, deadline) in zip(cands, prepared, strict=True):
        row = _base_row(network, site)
        if plan is not None:
            used.setdefault(plan.tier, plan.stream)
        if note is not None:
            row.update(
                tier=tier,
                deadline_min=deadline,
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
        large=large,
    )
    return _result(
        scenario,
        tmpl.default,
        network,
        spec,
        s,
        reps,
        rows,
        skipped_far=skipped,
        resumed=resumed,
        notes=cache.notes if cache is not None else [],
        tiers=used if tmpl.per_tier else {},
    )


#: A site's preparation: its plan (``None`` when it is not simulated), the note saying why
#: not, and the tier and deadline of a site with a note (``None`` when unknown).
_Prepared = tuple[IncidentPlan | None, str | None, str | None, float | None]


def _site_plan(
    network: RoadNetwork,
    scenario: Scenario,
    tmpl: Templates,
    site: Site,
    depots: np.ndarray,
    cps: Sequence[int],
) -> _Prepared:
    """Prepare the swept incident at one site (:data:`_Prepared`)."""
    inc, template = tmpl.place(scenario, network, site)
    note = None
    try:
        plan = prepare_incident(network, scenario, inc, depot_nodes=depots, checkpoint_nodes=cps)
    except FleetsimError as exc:
        plan, note = None, str(exc).replace(f"incident {site.name!r}: ", "")
    if plan is not None:
        plan = dataclasses.replace(plan, stream_name=template.name)
        empty = [
            f"{c.basis.value} {c.vehicle_class}"
            for c in plan.classes
            if c.basis is not Basis.COUNT and c.candidates.size == 0
        ]
        if empty:
            note = f"demand {', '.join(empty)}: no such vehicle in scope"
    if note is None:
        return plan, None, None, None
    if plan is not None:
        return None, note, plan.tier, plan.deadline_min
    try:
        a = scenario.rules.classify(network, site.node)
    except FleetsimError:
        return None, note, None, None
    return None, note, a.tier, a.deadline_min


#: The sweeps being prepared by forked workers, by token: (network, scenario, templates, depot
#: nodes, checkpoint nodes). Set just before the pool forks, removed when it is done.
_PREPARING: dict[int, tuple[Any, ...]] = {}


def _prepare_chunk(token: int, sites: Sequence[Site]) -> list[_Prepared]:
    """Prepare some sites of a sweep in a worker forked from the process sweeping."""
    network, scenario, tmpl, depots, cps = _PREPARING[token]
    return [_site_plan(network, scenario, tmpl, site, depots, cps) for site in sites]


def _prepare_sites(
    network: RoadNetwork,
    scenario: Scenario,
    tmpl: Templates,
    cands: Sequence[Site],
    depots: np.ndarray,
    cps: Sequence[int],
    *,
    workers: int,
    scheduler: Any,
) -> list[_Prepared]:
    """Prepare every site (:func:`_site_plan`), in site order.

    A site's preparation (its path trees, ranking and routes) costs more than its
    replications on a regional network, so local worker processes forked from this one
    prepare the sites, reading the network this process loaded (no copy per task); serially,
    on a Dask cluster or without ``fork``, this process does. The plans are the same.
    """
    if workers == 1 or scheduler not in (None, "") or len(cands) < 2:
        return [_site_plan(network, scenario, tmpl, s, depots, cps) for s in cands]
    with make_executor(workers) as executor:
        if not executor.inherits_state:
            return [_site_plan(network, scenario, tmpl, s, depots, cps) for s in cands]
        size = max(1, math.ceil(len(cands) / (executor.slots * 8)))
        tasks = [(id(network), cands[i : i + size]) for i in range(0, len(cands), size)]
        _PREPARING[id(network)] = (network, scenario, tmpl, depots, cps)
        try:
            with closing(executor.map(_prepare_chunk, tasks)) as results:
                return [p for chunk in results for p in chunk]
        finally:
            _PREPARING.pop(id(network), None)


def _result(
    scenario: Scenario,
    template: Incident,
    network: RoadNetwork,
    spec: str,
    seed: int,
    reps: int,
    rows: list[dict[str, Any]],
    *,
    skipped_far: int,
    resumed: int,
    notes: list[str],
    tiers: Mapping[str, str] | None = None,
) -> SweepResult:
    """The sweep's result: its rows cut to :data:`SITE_FIELDS`, failing sites first."""
    rows = [{k: r[k] for k in SITE_FIELDS} for r in rows]
    rows.sort(key=lambda r: (r["p_met"], r["site"]))
    return SweepResult(
        scenario=scenario.name,
        incident=template.name,
        demand={k: explicit(v) for k, v in template.demand.items()},
        sites=spec,
        seed=seed,
        replications=reps,
        rows=rows,
        network=network,
        skipped_far=skipped_far,
        resumed=resumed,
        cache_notes=notes,
        tiers=dict(tiers or {}),
    )


def _shared_sweep(
    scenario: Scenario,
    tmpl: Templates,
    network: RoadNetwork,
    spec: str,
    cands: Sequence[Site],
    reps: int,
    seed: int,
    *,
    workers: int,
    progress: Callable[[int], None] | None,
    engine: str,
    scheduler: Any,
    cached: bool,
    before: Callable[[Sequence[Any], int], None] | None,
    skipped_far: int = 0,
) -> SweepResult:
    """A sweep with a background emergency: the swept incident moves over the sites while
    the scenario's other incidents stay where they are, all on one fleet.

    At each site the scenario is run in shared mode with the swept incident's location (and
    staging point) moved to the site; it keeps its name, alarm time and demand, so its random
    streams are those of the incident. A site's row is the swept incident's result there;
    its note gives the incident's P(holds) alone at the site (same draws), the vehicles it
    lost to the others and the mean contention cost. Per tier (:class:`Templates`), the
    incident moved to a site is its tier's.
    """
    check_shared_engine(engine)
    classes = tuple(scenario.fleet.classes)
    variants = []
    rows: list[dict[str, Any]] = []
    used: dict[str, str] = {}
    for site in cands:
        row = _base_row(network, site)
        template = tmpl.at(scenario, network, site.node)
        idx = next(j for j, inc in enumerate(scenario.incidents) if inc.name == template.name)
        moved = dataclasses.replace(
            template, location=network.places.lat_lon(site.node), staging_point=None
        )
        incidents = tuple(moved if j == idx else inc for j, inc in enumerate(scenario.incidents))
        variant = dataclasses.replace(scenario, incidents=incidents)
        try:
            plans = prepare(network, variant)
        except FleetsimError as exc:
            a = scenario.rules.classify(network, site.node)
            row.update(
                tier=a.tier,
                deadline_min=a.deadline_min,
                p_met=0.0,
                p_met_ci95=[0.0, 0.0],
                p50_min=None,
                p90_min=None,
                bottleneck_class=None,
                verdict="fails",
                note=str(exc).replace(f"incident {template.name!r}: ", ""),
            )
            rows.append(row)
            if progress:
                progress(reps)
            continue
        rows.append(row)
        used.setdefault(plans[idx].tier, template.name)
        variants.append((row, variant, plans, idx))
    if before is not None:
        before([plans[idx] for _, _, plans, idx in variants], reps)
    for row, variant, plans, idx in variants:
        splan = prepare_shared(network, variant, plans)
        results, contention = run_shared(
            splan, seed=seed, replications=reps, workers=workers, scheduler=scheduler
        )
        row.update(_simulated_fields(plans[idx], results[idx], classes))
        c = contention_summary(plans[idx], results[idx], contention[idx])
        cost = c["cost_min"]["mean"]
        row["note"] = (
            f"shared fleet: P(holds) alone {c['p_met_alone']:.3f}, "
            f"{c['lost_vehicles']:.1f} vehicles lost, cost "
            + ("n/a" if cost is None else f"{cost:+.1f} min")
            + (f", starved in {c['starved']}" if c["starved"] else "")
        )
        if progress:
            progress(reps)
    if tmpl.per_tier:
        notes = ["shared fleet: each site's tier's incident moved to it; the others staying"]
    else:
        name = tmpl.default.name
        others = ", ".join(i.name for i in scenario.incidents if i.name != name)
        notes = [f"shared fleet: {name!r} moved over the sites; staying: {others or 'none'}"]
    if cached:
        notes.append("a shared-fleet sweep does not cache finished sites (no --resume)")
    return _result(
        scenario,
        tmpl.default,
        network,
        spec,
        seed,
        reps,
        rows,
        skipped_far=skipped_far,
        resumed=0,
        notes=notes,
        tiers=used if tmpl.per_tier else {},
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


#: Marker file of a sweep cache folder: fleetsim deletes or reuses only a folder holding it.
CACHE_MARKER = ".fleetsim-sweep-cache"


def check_cache_dir(folder: str | os.PathLike[str]) -> Path:
    """Validate a sweep cache folder before a sweep uses it; return it resolved.

    Raises
    ------
    ValidationError
        If the folder exists and fleetsim did not write it (non-empty, no
        :data:`CACHE_MARKER`), is not a folder, or is the working folder or one of its parents.
    """
    return check_replaceable(
        folder,
        CACHE_MARKER,
        f"sweep cache {os.fspath(folder)!r}",
        hint="move it away or choose another --out",
    )


def discard_cache(folder: str | os.PathLike[str], *, ignore_errors: bool = False) -> None:
    """Delete a sweep cache folder, only if fleetsim wrote it (:func:`check_cache_dir`).

    Parameters
    ----------
    folder
        The cache folder (nothing happens when it does not exist).
    ignore_errors
        Leave the folder (or what could not be removed of it) quietly instead of raising.
    """
    try:
        path = check_cache_dir(folder)
    except ValidationError:
        if ignore_errors:
            return
        raise
    if path.exists():
        shutil.rmtree(path, ignore_errors=ignore_errors)


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
    """Finished sites of a sweep on disk: ``<key>.json`` holding the site's simulated fields.

    An entry is used only if it is exactly what :meth:`store` writes for this site and this
    computation: its key, its site, the simulated fields with their types and ranges, the
    plan's tier and deadline, and a digest binding the fields to the key (so an edited value is
    noticed). Any other entry is recomputed (and overwritten), with a note in :attr:`notes`.
    """

    def __init__(
        self, folder: str | os.PathLike[str], scenario: Scenario, reps: int, seed: int, engine: str
    ) -> None:
        from sim import __version__

        self.folder = Path(folder)
        self.reps = reps
        self.notes: list[str] = []
        h = hashlib.sha256()
        _digest(h, [__version__, reps, seed, engine])
        _digest(h, scenario)
        self._base = h.copy()

    def key(self, plan: Any, row: Mapping[str, Any]) -> str:
        h = self._base.copy()
        _digest(h, plan)
        _digest(h, {k: row[k] for k in _BASE_FIELDS})
        return h.hexdigest()[:40]

    def load(self, plan: Any, row: Mapping[str, Any]) -> dict[str, Any] | None:
        key = self.key(plan, row)
        path = self.folder / f"{key}.json"
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            problem = _entry_problem(data, key, row["site"], plan, self.reps)
        except (OSError, ValueError, TypeError, RecursionError) as exc:
            problem = f"cannot be read ({type(exc).__name__}: {exc})"
        if problem is not None:
            self.notes.append(
                f"sweep cache: entry {path.name} of site {row['site']!r} {problem}; recomputed"
            )
            return None
        return dict(data["fields"])

    def store(self, plan: Any, row: Mapping[str, Any]) -> None:
        key = self.key(plan, row)
        fields = {k: row[k] for k in _CACHED_FIELDS}
        entry = {"site": row["site"], "key": key, "fields": fields}
        entry["digest"] = _entry_digest(entry)
        text = json.dumps(entry, allow_nan=True)
        tmp = self.folder / f".{key}.tmp-{os.getpid()}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            marker = self.folder / CACHE_MARKER
            if not marker.is_file():
                marker.write_text(
                    "A sweep cache written by fleetsim (fleetsim sweep --out DIR --resume).\n",
                    encoding="utf-8",
                )
            tmp.write_text(text + "\n", encoding="utf-8")
            os.replace(tmp, self.folder / f"{key}.json")
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise disk_error(exc, f"sweep cache {str(self.folder)!r}") from exc


_BASE_FIELDS = ("site", "node", "place", "label", "lat", "lon", "snap_km", "zone")
_CACHED_FIELDS = tuple(k for k in SITE_FIELDS if k not in _BASE_FIELDS)


def _entry_digest(entry: Mapping[str, Any]) -> str:
    """The digest binding a cache entry's fields to its key and site."""
    text = json.dumps([entry["key"], entry["site"], entry["fields"]], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _number(x: object, low: float = 0.0, high: float = math.inf) -> bool:
    """Whether ``x`` is a finite number (not a bool) in ``[low, high]``."""
    return (
        isinstance(x, int | float)
        and not isinstance(x, bool)
        and math.isfinite(x)
        and low <= x <= high
    )


def _entry_problem(data: object, key: str, site: str, plan: Any, reps: int) -> str | None:
    """What is wrong with a cache entry for ``site`` under ``key`` (``None``: nothing)."""
    if not isinstance(data, dict) or set(data) != {"site", "key", "fields", "digest"}:
        return "is not a cache entry"
    if data["key"] != key or data["site"] != site:
        return "belongs to another site or computation"
    f = data["fields"]
    if not isinstance(f, dict) or set(f) != set(_CACHED_FIELDS):
        return f"does not hold the fields {', '.join(_CACHED_FIELDS)}"
    if data["digest"] != _entry_digest(data):
        return "was edited (its digest does not match its content)"
    p, ci = f["p_met"], f["p_met_ci95"]
    if not _number(p, 0.0, 1.0) or abs(p * reps - round(p * reps)) > 1e-4 * reps:
        return f"has a bad p_met {p!r}"
    if not (
        isinstance(ci, list)
        and len(ci) == 2
        and all(_number(c, 0.0, 1.0) for c in ci)
        and ci[0] <= p <= ci[1]
    ):
        return f"has a bad p_met_ci95 {ci!r}"
    if f["tier"] != plan.tier or f["deadline_min"] != round(float(plan.deadline_min), 4):
        return "has another tier or deadline than the site's plan"
    if f["verdict"] not in {verdict(p - 5e-5), verdict(p), verdict(p + 5e-5)}:  # p is rounded
        return f"has a verdict {f['verdict']!r} that does not match p_met {p}"
    for name in ("p50_min", "p90_min"):
        if f[name] is not None and not _number(f[name]):
            return f"has a bad {name} {f[name]!r}"
    if None not in (f["p50_min"], f["p90_min"]) and f["p50_min"] > f["p90_min"]:
        return "has p50_min above p90_min"
    classes = {c.vehicle_class for c in plan.classes}
    bottleneck = f["bottleneck_class"]
    if bottleneck is not None and (not isinstance(bottleneck, str) or bottleneck not in classes):
        return f"has a bad bottleneck_class {f['bottleneck_class']!r}"
    if f["note"] is not None:
        return "has a note (only sites that are not simulated have one)"
    return None


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
    snap_column = any((r.get("snap_km") or 0) > SNAP_NOTE_KM for r in result.rows)
    table = new_table(
        "site",
        right("lat"),
        right("lon"),
        *([right("snap km")] if snap_column else []),
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
        label = r.get("label") or r["site"]
        table.add_row(
            label if label == r["site"] else f"{label} ({r['site']})",
            f"{r['lat']:.5f}",
            f"{r['lon']:.5f}",
            *([f"{r.get('snap_km') or 0:.1f}"] if snap_column else []),
            r["zone"],
            r["tier"] or "-",
            f"{_fmt(r['deadline_min'])} min",
            f"{r['p_met']:.3f}",
            f"[{lo:.3f},{hi:.3f}]",
            p90,
            r["note"] or "",
        )
    held = sum(r["p_met"] >= 0.95 for r in result.rows)
    note = (
        f"({held} of {len(result.rows)} sites hold at P >= 0.95; p90: completion minutes; "
        "failing sites first)"
    )
    if result.skipped_far:
        note += f"\n({result.skipped_far} grid points farther than the scenario's "
        note += "locations.max_snap_km from any road node skipped)"
    return render(
        f"scenario {result.scenario} · demand of {result.incident!r} ({demand}) · "
        f"{len(result.rows)} sites ({result.sites}) · seed {result.seed} · "
        f"{result.replications} replications per site",
        table,
        note,
        ascii_only=ascii_only,
    )


__all__ = [
    "CACHE_MARKER",
    "SITE_FIELDS",
    "Site",
    "SiteChoice",
    "SweepResult",
    "Templates",
    "candidate_sites",
    "check_cache_dir",
    "check_sites",
    "choose_sites",
    "discard_cache",
    "flat_rows",
    "sweep",
    "sweep_cache_dir",
    "sweep_table",
    "templates",
]
