"""The analyst API: what ``import sim`` offers notebooks and scripts.

::

    import sim

    scenario = sim.load_scenario("scenarios/ordos-123.yaml")
    result = sim.run(scenario, reps=200, log_vehicles=True)
    result.summary                       # the JSON contract of `fleetsim run --json`
    result.to_dataframe("incidents")     # one row per incident per replication
    result.to_dataframe("vehicles")      # one row per called vehicle per replication

    sites = sim.sweep(scenario, sites="grid:30", reps=100)    # one row per site
    diff = sim.compare("scenarios/checkpoints-2022.yaml",
                       "scenarios/checkpoints-2022-green.yaml", reps=200)
    diff.to_dataframe()                  # paired differences B − A with 95 % intervals
    sens = sim.sensitivity(scenario, reps=50)   # which assumptions decide each verdict
    sens.to_json()["incidents"][0]["ranking"][:3]

    saved = sim.read_results("results/ordos-123")   # what `fleetsim run/sweep --out` wrote
    saved.summary, saved.incidents, saved.vehicles, saved.sites, saved.scenario
    sim.write_report("results/ordos-123")           # (re)write its report.html

Every function takes a :class:`~sim.scenario.Scenario`, a scenario file, or the name of a
built-in scenario (``ordos-123``), and ``reps`` / ``seed`` / ``workers`` as the command line's
``--reps`` / ``--seed`` / ``--workers``. Results are identical for any number of workers.
With ``out=DIR``, :func:`run`, :func:`sweep` and :func:`compare` also write the results
folder that ``fleetsim run/sweep/compare --out DIR`` writes (atomically, with the same files,
``report.html`` among them).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sim.comparison import Comparison
from sim.errors import ValidationError
from sim.executors import check_workers
from sim.experiment import RunResult, check_reps_seed
from sim.netload import cached_network
from sim.network import RoadNetwork
from sim.outputs import check_out_dir
from sim.saved import Results, read_results, sites_frame
from sim.scenario import Scenario, load_scenario
from sim.sweeps import Site

#: What a scenario argument may be: a scenario, a scenario file, or a built-in name.
ScenarioLike = Scenario | str | os.PathLike[str]


def _scenario(scenario: ScenarioLike) -> Scenario:
    """A :class:`Scenario` from a scenario, a scenario file, or a built-in scenario name."""
    from sim.builtin import BUILTIN_SCENARIOS

    if isinstance(scenario, Scenario):
        return scenario
    if not isinstance(scenario, str | os.PathLike):
        raise ValidationError(
            "`scenario` must be a Scenario, a scenario file or a built-in scenario name "
            f"({', '.join(BUILTIN_SCENARIOS)}), got {type(scenario).__name__}"
        )
    path = Path(scenario)
    if path.is_file():
        return load_scenario(path)
    if isinstance(scenario, str) and scenario in BUILTIN_SCENARIOS:
        return BUILTIN_SCENARIOS[scenario]()
    raise ValidationError(
        f"`scenario` {os.fspath(scenario)!r}: no such file and not a built-in scenario "
        f"({', '.join(BUILTIN_SCENARIOS)})"
    )


def _base_network(scenario: Scenario) -> RoadNetwork:
    """The scenario's network without closures, loaded once per process."""
    return cached_network(scenario.network)


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"`{name}` must be True or False, got {value!r}")
    return value


def _check_common(
    scenario: Scenario,
    reps: int | None,
    seed: int | None,
    workers: int,
    out: str | os.PathLike[str] | None,
) -> None:
    """Validate the arguments every study takes, before any work is done."""
    check_reps_seed(scenario, reps, seed)
    check_workers(workers)
    if out is not None:
        check_out_dir(out)


def run(
    scenario: ScenarioLike,
    *,
    reps: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    log_vehicles: bool = False,
    out: str | os.PathLike[str] | None = None,
    figures: bool = True,
) -> RunResult:
    """Simulate every incident of a scenario: ``fleetsim run``.

    Parameters
    ----------
    scenario
        A :class:`~sim.scenario.Scenario`, a scenario file, or a built-in scenario name.
    reps, seed
        Replications per incident and root seed (default: the scenario's).
    workers
        Local processes (1 = serial); results are identical for any value.
    log_vehicles
        Keep one row per called vehicle per replication, for ``to_dataframe("vehicles")``
        (and ``vehicles.csv`` with ``out``).
    out
        Also write the results folder of ``fleetsim run --out`` there (summary.json,
        incidents.csv, arrivals.csv, scenario.resolved.yaml, report.html, figures;
        vehicles.csv with ``log_vehicles``).
    figures
        With ``out``: write the PNG figures too.

    Returns
    -------
    RunResult
        ``.summary`` (the JSON contract), ``.to_dataframe("incidents" | "vehicles")``,
        ``.plans`` and ``.results`` (one :class:`~sim.model.ReplicationResult` per
        incident per replication).

    Raises
    ------
    ValidationError
        For a bad scenario argument, replication count, seed, worker count, flag or output
        folder, before anything is simulated (:class:`~sim.errors.ScenarioError` for a
        scenario file with problems).
    OutputError
        When ``out`` cannot be written (a full or read-only disk, no permission).

    Examples
    --------
    >>> import sim
    >>> result = sim.run("ordos-123", reps=5)
    >>> [i["tier"] for i in result.summary["incidents"]]
    ['central', 'banner', 'region']
    """
    from sim.experiment import run as run_scenario

    sc = _scenario(scenario)
    _check_bool("log_vehicles", log_vehicles)
    _check_bool("figures", figures)
    _check_common(sc, reps, seed, workers, out)
    base = _base_network(sc)
    result = run_scenario(
        sc,
        network=base,
        replications=reps,
        seed=seed,
        workers=workers,
        log_vehicles=log_vehicles,
    )
    if out is not None:
        from sim.outputs import run_files, write_outputs

        write_outputs(out, run_files(result, vehicle_log=log_vehicles, figures=figures))
    return result


def sweep(
    scenario: ScenarioLike,
    sites: str | list[Site] = "seats",
    *,
    incident: str | None = None,
    reps: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    out: str | os.PathLike[str] | None = None,
    figures: bool = True,
) -> Any:
    """Place one incident's demand at every candidate site: ``fleetsim sweep``.

    Parameters
    ----------
    scenario
        A :class:`~sim.scenario.Scenario`, a scenario file, or a built-in scenario name.
    sites
        ``"seats"`` (the banner/district seats), ``"nodes"`` (every node inside the region),
        ``"grid:KM"`` (a grid of KM spacing snapped to nodes), or a list of
        :class:`~sim.sweeps.Site`.
    incident
        The incident whose demand is swept (default: the scenario's first).
    reps, seed
        Replications per site and root seed (default: the scenario's).
    workers
        Local processes (1 = serial); results are identical for any value.
    out
        Also write the results folder of ``fleetsim sweep --out`` there (summary.json,
        sites.csv, sites.geojson, scenario.resolved.yaml, report.html, sites-map.png).
    figures
        With ``out``: write ``sites-map.png`` too.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        One row per site, failing sites first, with the columns of ``sites.csv``: ``site,
        node, place, lat, lon, zone, tier, deadline_min, p_met, p_met_ci95_low,
        p_met_ci95_high, p50_min, p90_min, bottleneck_class, verdict, note``. A
        GeoDataFrame of points (WGS84) when geopandas is installed (it comes with OSMnx).

    Raises
    ------
    ValidationError
        For a bad site specification or list of sites, an unknown incident, bad replications,
        seed, worker count, flag or output folder.
    OutputError
        When ``out`` cannot be written (a full or read-only disk, no permission).
    """
    from sim.sweeps import sweep as sweep_scenario

    sc = _scenario(scenario)
    _check_bool("figures", figures)
    if incident is not None and not isinstance(incident, str):
        raise ValidationError(f"`incident` must be an incident name or None, got {incident!r}")
    _check_common(sc, reps, seed, workers, out)
    result = sweep_scenario(
        sc,
        sites,
        network=_base_network(sc),
        incident=incident,
        replications=reps,
        seed=seed,
        workers=workers,
    )
    if out is not None:
        from sim.outputs import sweep_files, write_outputs

        write_outputs(out, sweep_files(result, sc, figures=figures))
    return sites_frame(result.to_dataframe())


def compare(
    a: ScenarioLike,
    b: ScenarioLike,
    *,
    reps: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    out: str | os.PathLike[str] | None = None,
) -> Comparison:
    """Run two scenario variants with common random numbers: ``fleetsim compare``.

    Parameters
    ----------
    a, b
        The baseline and the variant (scenarios, scenario files or built-in names); B − A is
        reported per incident, incidents matched by name.
    reps, seed
        Replications per incident and root seed, the same for both (default: A's).
    workers
        Local processes (1 = serial); results are identical for any value.
    out
        Also write the results folder of ``fleetsim compare --out`` there (summary.json,
        comparison.csv, report.html, and the two runs as run folders ``a/`` and ``b/``).

    Returns
    -------
    Comparison
        ``.to_dataframe()``: per incident ΔP(holds) with a paired 95 % interval and Δp90
        (minutes) with a paired-bootstrap 95 % interval; ``.a`` and ``.b`` are the two
        :class:`~sim.experiment.RunResult` (replication ``r`` of A and of B share their
        random draws).

    Raises
    ------
    ValidationError
        For a bad scenario argument, replication count, seed or worker count.
    """
    from sim.comparison import compare as compare_scenarios

    sa, sb = _scenario(a), _scenario(b)
    _check_common(sa, reps, seed, workers, None)
    network = _base_network(sa) if sa.network == sb.network else None
    result = compare_scenarios(
        sa,
        sb,
        network=network,
        replications=reps,
        seed=seed,
        workers=workers,
    )
    if out is not None:
        from sim.outputs import compare_files, write_outputs

        write_outputs(out, compare_files(result))
    return result


def sensitivity(
    scenario: ScenarioLike,
    ranges: str | os.PathLike[str] | None = None,
    *,
    method: str = "morris",
    trajectories: int | None = None,
    reps: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    out: str | os.PathLike[str] | None = None,
    figures: bool = True,
) -> Any:
    """Which assumptions decide each incident's verdict: ``fleetsim sensitivity``.

    Parameters
    ----------
    scenario
        A :class:`~sim.scenario.Scenario`, a scenario file, or a built-in scenario name.
    ranges
        A ranges file (``ranges: {KEY.PATH: {low: A, high: B}}``); ``None``: the shipped
        ranges of every assumption (:data:`sim.sensitivities.DEFAULT_RANGES`).
    method
        ``morris`` (elementary effects: μ*, σ) or ``sobol`` (S1, ST).
    trajectories
        Morris trajectories (default 10) or Sobol base samples (a power of 2, default 64).
    reps, seed
        Replications per incident per run and the seed every run uses (default: the
        scenario's).
    workers
        Local processes (1 = serial); results are identical for any value.
    out
        Also write the results folder of ``fleetsim sensitivity --out`` there.
    figures
        With ``out``: write ``sensitivity.png`` too.

    Returns
    -------
    SensitivityResult
        ``.to_json()`` (the JSON contract: per incident, parameters ranked), ``.x`` (the
        design), ``.y`` (P(holds) and p90 per run and incident).

    Raises
    ------
    ValidationError
        For a bad argument, before anything is simulated.
    ScenarioError
        For a ranges file with problems, or a range the scenario cannot take.
    """
    import dataclasses

    from sim.sensitivities import load_ranges, sensitivity_files
    from sim.sensitivities import sensitivity as analyse

    sc = _scenario(scenario)
    _check_bool("figures", figures)
    _check_common(sc, reps, seed, workers, out)
    r, s = check_reps_seed(sc, reps, seed)
    result = analyse(
        dataclasses.replace(sc, seed=s),
        None if ranges is None else load_ranges(ranges),
        method=method,
        n=trajectories,
        replications=r,
        workers=workers,
    )
    if out is not None:
        from sim.outputs import write_outputs

        write_outputs(out, sensitivity_files(result, figures=figures))
    return result


__all__ = [
    "Results",
    "ScenarioLike",
    "compare",
    "load_scenario",
    "read_results",
    "run",
    "sensitivity",
    "sweep",
]
