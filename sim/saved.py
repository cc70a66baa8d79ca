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


def _read_csv(path: Path) -> Any:
    import pandas as pd

    # Only empty cells are missing (a site may be called "NA"); "inf" is never met.
    return typed_frame(pd.read_csv(path, keep_default_na=False, na_values=[""]))


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
        When ``out_dir`` is not a results folder (no ``summary.json``).
    """
    import yaml

    path = Path(out_dir)
    if not (path / "summary.json").is_file():
        what = "does not exist" if not path.exists() else "has no summary.json"
        raise ValidationError(
            f"`out_dir` {str(path)!r} {what}: not a results folder of "
            "`fleetsim run/sweep/compare --out`"
        )
    summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    resolved = path / "scenario.resolved.yaml"
    scenario = yaml.safe_load(resolved.read_text(encoding="utf-8")) if resolved.is_file() else {}
    tables = {
        name: _read_csv(path / f"{name}.csv") if (path / f"{name}.csv").is_file() else None
        for name in TABLE_FILES
    }
    if tables["sites"] is not None:
        tables["sites"] = sites_frame(tables["sites"])
    runs = {
        side: read_results(path / side) if (path / side / "summary.json").is_file() else None
        for side in ("a", "b")
    }
    return Results(
        path=path,
        summary=summary,
        scenario=scenario or {},
        figures=tuple(sorted(path.glob("*.png"))),
        **tables,
        **runs,
    )


__all__ = ["TABLE_FILES", "Results", "read_results", "sites_frame"]
