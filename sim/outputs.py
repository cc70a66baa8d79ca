"""Result files, written into one folder atomically.

:func:`write_outputs` writes everything into a temporary sibling folder and renames it into
place at the end, so ``--out DIR`` is either absent or complete, never half-written (also when
the run is interrupted with Ctrl-C or fails while rendering a figure).

The folder of a run (:func:`run_files`):

* ``summary.json``: the JSON contract (:attr:`sim.experiment.RunResult.summary`);
* ``incidents.csv``: one row per incident per replication (:func:`sim.tables.incident_fields`);
* ``arrivals.csv``: per incident and minute, the vehicles assembled (10/50/90 % over the
  replications, :data:`sim.tables.ARRIVAL_FIELDS`), from the replications' registration times;
* ``vehicles.csv``: one row per called vehicle per replication (opt-in, ``--vehicle-log``);
* ``scenario.resolved.yaml``: the scenario as run, a scenario file with every default filled
  in, the seed and the replications (``fleetsim run`` on it reproduces ``summary.json``), and
  under ``provenance`` the versions of fleetsim, Python and the libraries and what each
  incident resolved to;
* figures (PNG): ``map.png``, ``breakdown.png``, and per incident ``arrival-<name>.png`` and
  ``cdf-<name>.png``;
* ``report.html``: one self-contained page for a browser (:mod:`sim.report`), built from the
  files above, as ``fleetsim report DIR`` rebuilds it.

The rows of ``incidents.csv``, ``arrivals.csv`` and ``vehicles.csv`` come from
:mod:`sim.tables`, which also builds the DataFrames of
:meth:`sim.experiment.RunResult.to_dataframe`.

The folder of a sweep (:func:`sweep_files`): ``summary.json`` (settings and rows),
``sites.csv``, ``sites.geojson`` (points in WGS84 that QGIS opens), ``scenario.resolved.yaml``,
``sites-map.png`` and ``report.html``. The folder of a comparison (:func:`compare_files`):
``summary.json``, ``comparison.csv``, ``report.html`` and the two runs as run folders ``a/``
and ``b/``.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim import __version__, folders
from sim.errors import ValidationError
from sim.experiment import RunResult
from sim.limits import MAX_SLUG_CHARS
from sim.network import RoadNetwork
from sim.plan import IncidentPlan
from sim.records import VEHICLE_FIELDS, VehicleRow
from sim.resolved import scenario_to_file
from sim.scenario import Scenario
from sim.signals import raise_held, stop_signals_deferred
from sim.sweeps import SweepResult, flat_rows
from sim.tables import (
    ARRIVAL_FIELDS,
    VEHICLE_LOG_FIELDS,
    arrival_rows,
    columns,
    incident_rows,
    vehicle_rows,
)

if TYPE_CHECKING:  # sim.comparison imports scipy.stats (~1 s): not for a run's files
    from sim.comparison import Comparison

#: A file's content: text, bytes, or a function that writes the file at the path it is given.
Content = str | bytes | Callable[[Path], None]

#: Libraries whose versions go into ``scenario.resolved.yaml``.
LIBRARIES: tuple[str, ...] = ("simpy", "osmnx", "networkx", "numpy", "scipy", "matplotlib")


#: Marker file in every folder fleetsim writes; only such a folder (or an empty one) may be
#: replaced by a later run, so ``--out`` never deletes anything else.
MARKER = ".fleetsim-output"


def check_out_dir(out_dir: str | os.PathLike) -> Path:
    """Validate an output folder before any work is done; return it resolved.

    Raises
    ------
    ValidationError
        If ``out_dir`` is not a path, is the working folder or one of its parents, exists and
        is not a folder, or is a non-empty folder that fleetsim did not write (it would be
        replaced).
    OutputError
        If the folder cannot be written (no permission, a read-only disk): checked by making
        and removing a temporary folder next to it.
    """
    if not isinstance(out_dir, str | os.PathLike):
        raise ValidationError(
            f"`out` must be a folder path (str or os.PathLike), got {type(out_dir).__name__}"
        )
    what = f"--out {os.fspath(out_dir)!r}"
    out = folders.check_replaceable(out_dir, MARKER, what)
    folders.check_writable(out, what)
    return out


def write_outputs(out_dir: str | os.PathLike, files: Mapping[str, Content]) -> Path:
    """Write ``files`` into ``out_dir`` atomically.

    Everything is written into a temporary sibling folder first, which is renamed to
    ``out_dir`` only once every file is complete; on any error or interruption the temporary
    folder is removed and ``out_dir`` is left as it was (absent, or its previous content). A
    folder is only replaced if it is empty or was written by fleetsim (:func:`check_out_dir`).
    Temporary siblings left by a fleetsim process that was killed are removed first
    (:func:`sim.folders.clean_stale_siblings`).

    Parameters
    ----------
    out_dir
        The output folder.
    files
        File names (relative, no folders) and their content: text, bytes, or a function
        called with the file's path inside the temporary folder (e.g. to render a figure).

    Returns
    -------
    pathlib.Path
        The output folder.

    Raises
    ------
    OutputError
        On a disk error (no space, no permission, a read-only disk, a file size limit); the
        output folder is left as it was.
    """
    out = check_out_dir(out_dir)
    what = f"--out {os.fspath(out_dir)!r}"
    folders.clean_stale_siblings(out, MARKER)
    # Signals are held while the temporary folder is made: a Ctrl-C or SIGTERM landing
    # between its creation and the `try` below would leave it behind.
    with stop_signals_deferred() as caught:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=folders.temp_prefix(out), dir=out.parent))
        except OSError as exc:
            raise folders.disk_error(exc, what) from None
    try:
        raise_held(caught)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary folder
        (tmp / MARKER).write_text(
            "This folder was written by fleetsim; a later run with the same --out replaces it.\n",
            encoding="utf-8",
        )
        for name, content in files.items():
            if Path(name).name != name:
                raise ValidationError(f"output file name {name!r} must not contain folders")
            _write_file(tmp / name, content)
        _move_into_place(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise folders.disk_error(exc, what) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_file(target: Path, content: Content) -> None:
    if isinstance(content, bytes):
        target.write_bytes(content)
    elif isinstance(content, str):
        target.write_text(content, encoding="utf-8")
    else:
        content(target)


def _move_into_place(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``, replacing ``out`` (put back if the second rename fails)."""
    if not out.exists():
        tmp.rename(out)
        return
    old = folders.old_sibling(out)
    out.rename(old)
    try:
        tmp.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The resolved scenario
# ---------------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    """Versions of Python and of the libraries the results depend on."""
    out = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[lib] = "not installed"
    return out


def resolved_scenario_yaml(
    scenario: Scenario, *, seed: int, replications: int, extra: Mapping[str, Any] | None = None
) -> str:
    """The scenario as run, as a scenario file that reruns to the same results.

    The file is :func:`sim.resolved.scenario_to_file` of ``scenario`` (every default filled
    in, every rule applied) with the seed and replications actually used, so that ``fleetsim
    run scenario.resolved.yaml`` reproduces ``summary.json``. Where it came from goes under
    ``provenance``, which loading ignores.

    Parameters
    ----------
    scenario
        The :class:`~sim.scenario.Scenario` that was run.
    seed, replications
        The values actually used (they replace the scenario's own).
    extra
        More provenance (e.g. what each incident resolved to, a sweep's settings): plain data.

    Returns
    -------
    str
        YAML text: a comment, the scenario, and ``provenance`` with ``fleetsim_version``,
        ``versions`` (Python and libraries), ``scenario_file`` (when loaded from one) and
        ``extra``.
    """
    import yaml

    ran = dataclasses.replace(scenario, seed=seed, replications=replications)
    data = scenario_to_file(ran)
    provenance: dict[str, Any] = {"fleetsim_version": __version__, "versions": versions()}
    if scenario.source is not None:
        provenance["scenario_file"] = scenario.source
    provenance.update(extra or {})
    data["provenance"] = provenance
    head = (
        "# fleetsim: the scenario as run, every default filled in and every rule applied\n"
        "# (durations in minutes, speeds in km/h; .inf = no cap). A scenario file:\n"
        "# `fleetsim run` on it reproduces the results next to it. `provenance` is not read.\n"
    )
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _cell(x: Any) -> Any:
    """A CSV cell: NaN and None empty, infinity ``inf``, floats rounded to 4 decimals."""
    if x is None:
        return ""
    if isinstance(x, bool | np.bool_):
        return int(x)
    if isinstance(x, float | np.floating):
        x = float(x)
        if math.isnan(x):
            return ""
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return repr(round(x, 4))
    return x


def resolved_incidents(network: RoadNetwork, plans: Sequence[IncidentPlan]) -> list[dict[str, Any]]:
    """What each incident resolved to: staging node, tier, deadline, vehicles requested.

    Parameters
    ----------
    network
        The network the plans were prepared on.
    plans
        The prepared incidents (:class:`sim.model.IncidentPlan`).
    """
    out = []
    for p in plans:
        out.append(
            {
                "name": p.name,
                "staging_node": int(network.node_ids[p.node]),
                "staging_lat": round(float(network.lat[p.node]), 6),
                "staging_lon": round(float(network.lon[p.node]), 6),
                "staging_zone": str(network.zone[p.node]),
                "tier": p.tier,
                "deadline_min": p.deadline_min,
                "success_fraction": p.success_fraction,
                "requested": {c.vehicle_class: c.requested for c in p.classes},
                "demand_basis": {c.vehicle_class: c.basis.value for c in p.classes},
                "candidates": {c.vehicle_class: int(c.candidates.size) for c in p.classes},
                "checkpoints_on_routes": [c.name for c in p.checkpoints],
                "warmup_min": round(p.warmup_min, 1) if p.has_background else 0.0,
            }
        )
    return out


def _csv(fields: tuple[str, ...] | list[str], rows: Any) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(fields)
    for row in rows:
        w.writerow([_cell(v) for v in row])
    return buf.getvalue()


def incidents_csv(result: RunResult) -> str:
    """``incidents.csv``: one row per incident per replication (:func:`incident_rows`).

    Parameters
    ----------
    result
        A :class:`sim.experiment.RunResult`.
    """
    return _csv(columns(result, "incidents"), incident_rows(result))


def vehicles_csv(result: RunResult) -> str:
    """``vehicles.csv``: one row per called vehicle per replication (:func:`vehicle_rows`).

    Parameters
    ----------
    result
        A :class:`sim.experiment.RunResult` run with ``log_vehicles=True``.
    """
    return _csv(VEHICLE_LOG_FIELDS, vehicle_rows(result))


class VehicleLog:
    """``vehicles.csv`` streamed to a temporary file while a run goes on.

    Pass :meth:`write` as the ``vehicle_sink`` of :func:`sim.experiment.run`: the rows of each
    replication are written as they come in and dropped from memory, so a long run with
    ``--vehicle-log`` holds one chunk of rows at a time. The file has exactly the bytes of
    :func:`vehicles_csv` of the same run. Use as a context manager: the temporary file is
    removed on leaving (after :func:`write_outputs` has copied it into the results folder).

    Parameters
    ----------
    depot_names
        The fleet's depot names, in depot order (for the ``depot_name`` column).
    directory
        Where to keep the temporary file (default: the system's temporary folder).
    """

    def __init__(
        self, depot_names: Sequence[str], directory: str | os.PathLike[str] | None = None
    ) -> None:
        self._depots = list(depot_names)
        fd, name = tempfile.mkstemp(prefix="fleetsim-vehicles-", suffix=".csv", dir=directory)
        self.path = Path(name)
        self._file = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(VEHICLE_LOG_FIELDS)
        self._col = VEHICLE_FIELDS.index("depot")

    def write(self, plan: IncidentPlan, replication: int, rows: Sequence[VehicleRow]) -> None:
        """Append one replication's rows (a ``vehicle_sink``)."""
        self._writer.writerows(
            [_cell(v) for v in (plan.name, replication, *row, self._depots[int(row[self._col])])]
            for row in rows
        )

    def content(self) -> Callable[[Path], None]:
        """The file as a :data:`Content` for :func:`write_outputs` (copied when written)."""

        def copy(path: Path) -> None:
            self._file.flush()
            shutil.copyfile(self.path, path)

        return copy

    def __enter__(self) -> VehicleLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


def sites_csv(sweep: SweepResult) -> str:
    """``sites.csv``: one row per swept site (the interval as two columns).

    Parameters
    ----------
    sweep
        A :class:`sim.sweeps.SweepResult`.
    """
    rows = flat_rows(sweep.rows)
    fields = list(rows[0]) if rows else []
    return _csv(fields, ([r[k] for k in fields] for r in rows))


def sites_geojson(sweep: SweepResult) -> str:
    """``sites.geojson``: a FeatureCollection of Point features (WGS84, RFC 7946).

    Each feature carries the row's properties (the interval as two properties).

    Parameters
    ----------
    sweep
        A :class:`sim.sweeps.SweepResult`.
    """
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
            "properties": r,
        }
        for r in flat_rows(sweep.rows)
    ]
    data = {"type": "FeatureCollection", "name": "sites", "features": features}
    return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def json_text(data: Any) -> str:
    """Indented JSON text (UTF-8, no NaN) ending with a newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def slug(name: str) -> str:
    """A file-name-safe version of ``name`` (lower case, ``-`` between words).

    At most :data:`sim.limits.MAX_SLUG_CHARS` characters: a longer result is cut and ends
    with 8 hex digits of a hash of the whole name, so two long names that share their
    beginning still get different file names.
    """
    s = re.sub(r"[^0-9a-z]+", "-", name.lower()).strip("-")
    if len(s) > MAX_SLUG_CHARS:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        s = f"{s[: MAX_SLUG_CHARS - 9].rstrip('-')}-{digest}"
    return s or "incident"


# ---------------------------------------------------------------------------------------------
# Folders
# ---------------------------------------------------------------------------------------------


def _figure(make: Callable[[], Any]) -> Callable[[Path], None]:
    def render(path: Path) -> None:
        from sim.plots import save_png

        save_png(make(), path)

    return render


def _report(path: Path) -> None:
    """Write ``report.html`` from the files already written beside it."""
    from sim.report import write_report  # Plotly is imported only when a report is written

    write_report(path.parent, path)


def _folder(files: Mapping[str, Content]) -> Callable[[Path], None]:
    """A sub-folder's content: a function that creates it and writes ``files`` into it."""

    def write(path: Path) -> None:
        path.mkdir()
        for name, content in files.items():
            _write_file(path / name, content)

    return write


def _has_registration_times(result: RunResult) -> bool:
    return all(rep.registered_min is not None for reps in result.results for rep in reps)


def run_files(
    result: RunResult,
    *,
    vehicle_log: bool | VehicleLog = False,
    figures: bool = True,
    report: bool = True,
) -> dict[str, Content]:
    """The files of a run's output folder (figures and the report are rendered when written).

    Parameters
    ----------
    result
        The run; for figures, ``arrivals.csv`` or ``vehicle_log`` run with
        ``log_vehicles=True``. Its network (closures applied) gives the staging points and
        the map.
    vehicle_log
        Include ``vehicles.csv``: ``True`` from the rows the run kept (``log_vehicles=True``),
        or the :class:`VehicleLog` the run streamed them to.
    figures
        Include the PNG figures.
    report
        Include ``report.html`` (:mod:`sim.report`, built from the other files).
    """
    scenario = result.scenario
    net = result.network
    files: dict[str, Content] = {
        "summary.json": json_text(result.summary),
        "incidents.csv": incidents_csv(result),
    }
    if _has_registration_times(result):
        files["arrivals.csv"] = _csv(ARRIVAL_FIELDS, arrival_rows(result))
    if isinstance(vehicle_log, VehicleLog):
        files["vehicles.csv"] = vehicle_log.content()
    elif vehicle_log:
        files["vehicles.csv"] = vehicles_csv(result)
    files["scenario.resolved.yaml"] = resolved_scenario_yaml(
        scenario,
        seed=result.seed,
        replications=result.replications,
        extra={"resolved_incidents": resolved_incidents(net, result.plans)},
    )
    if figures:
        from sim import plots

        files["map.png"] = _figure(lambda: plots.network_map(net, scenario, result.plans))
        files["breakdown.png"] = _figure(lambda: plots.time_breakdown(result.summary))
        if result.contention is not None:
            files["contention.png"] = _figure(lambda: plots.contention_chart(result.summary))
        used: set[str] = set()
        for plan, reps in zip(result.plans, result.results, strict=True):
            base = slug(plan.name)
            name, k = base, 2
            while name in used:
                name, k = f"{base}-{k}", k + 1
            used.add(name)

            def arrival(plan: Any = plan, reps: Any = reps) -> Any:
                return plots.arrival_curve(plan, reps, scenario_name=scenario.name)

            def cdf(plan: Any = plan, reps: Any = reps) -> Any:
                return plots.completion_cdf(plan, reps, scenario_name=scenario.name)

            files[f"arrival-{name}.png"] = _figure(arrival)
            files[f"cdf-{name}.png"] = _figure(cdf)
    if report:
        files["report.html"] = _report  # last: it reads the files above
    return files


def sweep_files(
    sweep: SweepResult, scenario: Scenario, *, figures: bool = True
) -> dict[str, Content]:
    """The files of a sweep's output folder.

    Parameters
    ----------
    sweep
        A :class:`sim.sweeps.SweepResult`.
    scenario
        The scenario swept (for ``scenario.resolved.yaml``).
    figures
        Include ``sites-map.png``.
    """
    files: dict[str, Content] = {
        "summary.json": json_text(sweep.to_json()),
        "sites.csv": sites_csv(sweep),
        "sites.geojson": sites_geojson(sweep),
        "scenario.resolved.yaml": resolved_scenario_yaml(
            scenario,
            seed=sweep.seed,
            replications=sweep.replications,
            extra={"sweep": {"incident": sweep.incident, "sites": sweep.sites}},
        ),
    }
    if figures:
        from sim import plots

        files["sites-map.png"] = _figure(lambda: plots.sweep_map(sweep))
    files["report.html"] = _report  # last: it reads the files above
    return files


def compare_files(comparison: Comparison) -> dict[str, Content]:
    """The files of a comparison's output folder.

    ``summary.json`` (:meth:`sim.comparison.Comparison.to_json`, what ``fleetsim compare
    --json`` prints), ``comparison.csv`` (one row per matched incident), ``report.html``,
    and the two runs as run folders ``a/`` and ``b/`` (:func:`run_files` without figures
    or report), so that each reads back with :func:`sim.read_results`.

    Parameters
    ----------
    comparison
        A :class:`sim.comparison.Comparison`.
    """
    df = comparison.to_dataframe()
    return {
        "summary.json": json_text(comparison.to_json()),
        "comparison.csv": _csv(list(df.columns), df.itertuples(index=False)),
        "a": _folder(run_files(comparison.a, figures=False, report=False)),
        "b": _folder(run_files(comparison.b, figures=False, report=False)),
        "report.html": _report,  # last: it reads the files above
    }


__all__ = [
    "LIBRARIES",
    "compare_files",
    "incidents_csv",
    "json_text",
    "resolved_incidents",
    "resolved_scenario_yaml",
    "run_files",
    "sites_csv",
    "sites_geojson",
    "slug",
    "sweep_files",
    "vehicles_csv",
    "versions",
    "write_outputs",
]
