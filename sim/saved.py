"""Results folders read back: what ``fleetsim run/sweep/compare --out`` wrote, as tables.

:func:`read_results` loads any results folder into a :class:`Results`; the analyst API
(:func:`sim.read_results`) and the HTML report (:mod:`sim.report`) both read folders through
it, so a report can always be rebuilt from the folder alone (``fleetsim report DIR``).

The folders are written by :mod:`sim.outputs`:

* a run: ``summary.json``, ``incidents.csv``, ``arrivals.csv``, ``vehicles.csv`` (opt-in),
  ``scenario.resolved.yaml``;
* a sweep: ``summary.json`` (settings and rows), ``sites.csv``, ``sites.geojson``,
  ``scenario.resolved.yaml``;
* a comparison: ``summary.json`` (the paired differences), ``comparison.csv``, and the two
  runs as complete run folders ``a/`` and ``b/``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import ValidationError
from sim.sweeps import SITE_FIELDS
from sim.tables import typed_frame

#: The CSV tables a results folder may hold (``<name>.csv``), read into attributes of that name.
TABLE_FILES: tuple[str, ...] = ("incidents", "vehicles", "arrivals", "sites", "comparison")


@dataclass(frozen=True, repr=False)
class Results:
    """A results folder of ``fleetsim run``, ``sweep`` or ``compare --out``, loaded.

    Attributes
    ----------
    path : pathlib.Path
        The folder.
    summary : dict
        ``summary.json``: the JSON contract of a run, a sweep's settings and rows, or a
        comparison's paired differences.
    scenario : dict
        ``scenario.resolved.yaml``: the scenario as run, in the file language (every default
        filled in, the seed and the replications; ``load_scenario`` reads the file back),
        with the versions under ``provenance`` (empty if the file is absent, as in a
        comparison's folder: see ``a`` and ``b``).
    incidents, vehicles : pandas.DataFrame or None
        ``incidents.csv`` and ``vehicles.csv`` of a run (``None`` when absent), with the
        columns and types of :meth:`sim.experiment.RunResult.to_dataframe`.
    arrivals : pandas.DataFrame or None
        ``arrivals.csv`` of a run: per incident and minute, the vehicles assembled
        (:data:`sim.tables.ARRIVAL_FIELDS`).
    sites : pandas.DataFrame or None
        ``sites.csv`` of a sweep, with the columns and types of :func:`sim.sweep` (a
        GeoDataFrame when geopandas is installed).
    comparison : pandas.DataFrame or None
        ``comparison.csv`` of a comparison: the columns of
        :meth:`sim.comparison.Comparison.to_dataframe`.
    a, b : Results or None
        A comparison's two runs (its sub-folders ``a/`` and ``b/``).
    figures : tuple of pathlib.Path
        The PNG figures in the folder.
    """

    path: Path
    summary: dict[str, Any]
    scenario: dict[str, Any]
    incidents: Any = None
    vehicles: Any = None
    sites: Any = None
    figures: tuple[Path, ...] = ()
    arrivals: Any = None
    comparison: Any = None
    a: Results | None = None
    b: Results | None = None

    @property
    def kind(self) -> str:
        """``compare`` for a comparison's folder, ``sweep`` for a sweep's, else ``run``."""
        if self.a is not None and self.b is not None:
            return "compare"
        return "sweep" if self.sites is not None else "run"

    @property
    def name(self) -> str:
        """The scenario's name (``B vs A`` for a comparison)."""
        if self.kind == "compare":
            return f"{self.summary.get('b')} vs {self.summary.get('a')}"
        return str(self.summary.get("scenario") or self.scenario.get("name") or "")

    def __repr__(self) -> str:
        tables = ", ".join(
            f"{name} ({len(df)} rows)"
            for name in TABLE_FILES
            if (df := getattr(self, name)) is not None
        )
        return (
            f"Results({str(self.path)!r}: {self.kind} of {self.name!r}, "
            f"{tables or 'no tables'}, {len(self.figures)} figures)"
        )


def sites_frame(df: Any) -> Any:
    """Typed sweep rows; a GeoDataFrame of WGS84 points when geopandas is installed.

    Parameters
    ----------
    df
        A ``pandas.DataFrame`` with the columns of ``sites.csv``.
    """
    df = typed_frame(df)
    try:
        import geopandas as gpd
    except ImportError:  # pragma: no cover - geopandas comes with osmnx
        return df
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326)


#: Columns a results table must have (whatever the vehicle classes), by table.
_REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "incidents": ("incident", "replication", "tier", "deadline_min", "completion_min", "met"),
    "vehicles": ("incident", "replication", "vehicle", "vehicle_class", "outcome"),
    "sites": tuple(  # label and snap_km came later: folders written before lack them
        c
        for f in SITE_FIELDS
        if f not in {"label", "snap_km"}
        for c in ((f"{f}_low", f"{f}_high") if f == "p_met_ci95" else (f,))
    ),
    "arrivals": ("incident", "minute"),
    "comparison": ("incident",),
}

#: Keys of ``summary.json`` in every results folder (a comparison names ``a`` and ``b``
#: instead of ``scenario``).
_SUMMARY_KEYS = ("seed", "replications")


def _damaged(path: Path, problem: str) -> ValidationError:
    return ValidationError(
        f"{str(path)!r}: {problem}; the results folder is damaged (rerun with --out to write "
        "it again)"
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _damaged(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ValidationError(f"{str(path)!r}: cannot be read ({exc.strerror or exc})") from None


def _read_csv(path: Path, kind: str) -> Any:
    """A results table read back with its column types; one clear error if it is damaged."""
    import pandas as pd

    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            if size:
                f.seek(-1, os.SEEK_END)
            last = f.read(1)
    except OSError as exc:
        raise ValidationError(f"{str(path)!r}: cannot be read ({exc.strerror or exc})") from None
    if not size:
        raise _damaged(path, "empty")
    if last != b"\n":
        raise _damaged(path, "truncated (its last line is incomplete)")
    try:
        # Only empty cells are missing (a site may be called "NA"); "inf" is never met.
        df = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise _damaged(path, f"not a table fleetsim wrote ({str(exc).strip()})") from None
    missing = [c for c in _REQUIRED_COLUMNS[kind] if c not in df.columns]
    if missing:
        raise _damaged(path, f"no column {', '.join(repr(c) for c in missing)}")
    try:
        return typed_frame(df)
    except (ValueError, TypeError) as exc:
        raise _damaged(path, f"a value of the wrong type or missing ({exc})") from None


def _read_summary(path: Path) -> dict[str, Any]:
    try:
        summary = json.loads(_read_text(path))
    except ValueError as exc:
        what = "empty" if not path.stat().st_size else f"not valid JSON ({exc})"
        raise _damaged(path, what) from None
    if not isinstance(summary, dict):
        raise _damaged(path, f"a JSON {type(summary).__name__}, not an object")
    missing = [k for k in _SUMMARY_KEYS if k not in summary]
    if "scenario" not in summary and not ("a" in summary and "b" in summary):
        missing.append("scenario")
    if "incidents" not in summary and "rows" not in summary:
        missing.append("incidents (a run) or rows (a sweep)")
    if missing:
        raise _damaged(path, f"no {', '.join(missing)}")
    return summary


def _read_resolved(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(_read_text(path))
    except yaml.YAMLError as exc:
        raise _damaged(path, f"not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or "name" not in data:
        raise _damaged(path, "not the resolved scenario fleetsim writes")
    return data


def read_results(out_dir: str | os.PathLike[str]) -> Results:
    """Load a results folder written by ``fleetsim run/sweep/compare --out``.

    Parameters
    ----------
    out_dir
        The folder.

    Returns
    -------
    Results
        ``.summary``, ``.scenario`` (the resolved YAML as a dict), the tables present
        (``.incidents``, ``.arrivals`` and ``.vehicles`` of a run, ``.sites`` of a sweep,
        ``.comparison`` and the runs ``.a`` and ``.b`` of a comparison) and ``.figures``.

    Raises
    ------
    ValidationError
        When ``out_dir`` is not a results folder (no ``summary.json``), or one clear error
        naming the file and what is wrong when a file of it is damaged (empty, truncated,
        not valid JSON/CSV/YAML, a missing column or table, a value of the wrong type).
    """
    if not isinstance(out_dir, str | os.PathLike):
        raise ValidationError(f"`out_dir` must be a folder path, got {type(out_dir).__name__}")
    path = Path(out_dir)
    if not (path / "summary.json").is_file():
        what = "does not exist" if not path.exists() else "has no summary.json"
        raise ValidationError(
            f"`out_dir` {str(path)!r} {what}: not a results folder of "
            "`fleetsim run/sweep/compare --out`"
        )
    summary = _read_summary(path / "summary.json")
    scenario = _read_resolved(path / "scenario.resolved.yaml")
    tables = {
        name: _read_csv(path / f"{name}.csv", name) if (path / f"{name}.csv").is_file() else None
        for name in TABLE_FILES
    }
    runs = {
        side: read_results(path / side) if (path / side / "summary.json").is_file() else None
        for side in ("a", "b")
    }
    if runs["a"] is None or runs["b"] is None:  # a run or a sweep: its main table is there
        needed = "sites" if "rows" in summary else "incidents"
        if tables[needed] is None:
            raise _damaged(path / f"{needed}.csv", "missing")
    if tables["sites"] is not None:
        tables["sites"] = sites_frame(tables["sites"])
    return Results(
        path=path,
        summary=summary,
        scenario=scenario or {},
        figures=tuple(sorted(path.glob("*.png"))),
        **tables,
        **runs,
    )


__all__ = ["TABLE_FILES", "Results", "read_results", "sites_frame"]
