"""The analyst API (``import sim``): light import, DataFrames that match the CSV files, results
folders read back, and ``sim.sweep`` / ``sim.compare`` whatever the import order."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.experiment import RunResult
from sim.fleet import default_fleet
from sim.sweeps import SITE_FIELDS
from sim.tables import VEHICLE_LOG_FIELDS, incident_fields

REPS = 4
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def result() -> RunResult:
    return sim.run("ordos-123", reps=REPS, log_vehicles=True)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, result):
    out = tmp_path_factory.mktemp("api") / "run"
    sim.run("ordos-123", reps=REPS, log_vehicles=True, out=out, figures=False)
    return out


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "sweep"
    frame = sim.sweep("ordos-123", sites="seats", reps=3, out=out, figures=False)
    return out, frame


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return done.stdout


# ---------------------------------------------------------------------------------------------
# The package namespace
# ---------------------------------------------------------------------------------------------


def test_import_sim_is_light():
    out = _python(
        """
        import sys
        import sim
        heavy = ["numpy", "pandas", "simpy", "osmnx", "scipy", "sim.experiment", "sim.api"]
        print(sorted(m for m in heavy if m in sys.modules))
        """
    )
    assert out.strip() == "[]"


def test_every_public_name_resolves():
    for name in sim.__all__:
        assert getattr(sim, name) is not None, name
    assert set(sim.__all__) <= set(dir(sim))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sim.nope  # noqa: B018


def test_sweep_and_compare_are_functions_whatever_the_import_order():
    out = _python(
        """
        from sim.comparison import comparison_table   # the modules first: no shadowing
        import sim
        import sim.sweeps as sw
        print(sw.SweepResult.__name__, len(sim.sweep("ordos-123", reps=1)))
        print(len(sim.compare("ordos-123", "ordos-123", reps=1).to_dataframe()))
        """
    )
    assert out.split() == ["SweepResult", "9", "3"]


def test_sweep_signature_is_the_api_function():
    import inspect

    params = inspect.signature(sim.sweep).parameters
    assert list(params)[:2] == ["scenario", "sites"] and "reps" in params
    assert "reps" in inspect.signature(sim.compare).parameters


def test_scenario_arguments(tmp_path):
    assert sim.run("ordos-123", reps=1).scenario.name == "ordos-123"
    assert sim.run(sim.load_scenario(SCENARIOS / "winter-storm.yaml"), reps=1).replications == 1
    with pytest.raises(sim.ValidationError, match="no such file and not a built-in"):
        sim.run(tmp_path / "missing.yaml")
    with pytest.raises(sim.ValidationError, match="must be a Scenario"):
        sim.run(42)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Run tables
# ---------------------------------------------------------------------------------------------


def test_incidents_table(result):
    df = result.to_dataframe("incidents")
    assert tuple(df.columns) == incident_fields(result.scenario.fleet.classes)
    assert len(df) == 3 * REPS
    assert df["met"].dtype == bool and df["called"].dtype == "int64"
    assert list(df["replication"][:REPS]) == list(range(REPS))
    first = result.results[0][0]
    assert df["completion_min"].iloc[0] == first.completion_min
    # A class the incident does not request is missing, not zero.
    assert df.loc[df["incident"] == "Kangbashi (central)", "completion_hazmat_min"].isna().all()
    assert (df["called"] == df[["assembled", "declined", "unreachable", "unavailable",
                                "en_route", "in_call"]].sum(axis=1)).all()  # fmt: skip
    assert result.to_dataframe().equals(df)  # incidents by default


def test_vehicles_table(result):
    df = result.to_dataframe("vehicles")
    assert tuple(df.columns) == VEHICLE_LOG_FIELDS
    assert len(df) == sum(len(r.vehicles) for reps in result.results for r in reps)
    assert df["vehicle"].dtype == "int64"
    assert set(df["outcome"]) <= {"assembled", "declined", "unreachable", "unavailable"}


def test_vehicles_table_needs_a_vehicle_log():
    with pytest.raises(sim.ValidationError, match="log_vehicles=True"):
        sim.run("ordos-123", reps=1).to_dataframe("vehicles")


def test_unknown_table_lists_the_kinds(result):
    with pytest.raises(sim.ValidationError, match=r"one of \('incidents', 'vehicles'\)"):
        result.to_dataframe("vehicle")


# ---------------------------------------------------------------------------------------------
# Results folders
# ---------------------------------------------------------------------------------------------


def test_a_run_folder_reads_back_as_the_tables(run_folder, result):
    saved = sim.read_results(run_folder)
    assert saved.kind == "run" and saved.sites is None and saved.figures == ()
    assert saved.summary == json.loads(json.dumps(result.summary))
    assert saved.scenario["seed"] == result.seed and saved.scenario["replications"] == REPS
    assert saved.scenario["name"] == "ordos-123"
    assert saved.scenario["provenance"]["fleetsim_version"] == sim.__version__
    for kind, table in (("incidents", saved.incidents), ("vehicles", saved.vehicles)):
        # The same rows and types as in memory, up to the CSV's 4 decimals.
        pd.testing.assert_frame_equal(table, result.to_dataframe(kind), atol=1e-4, rtol=0)
    assert "ordos-123" in repr(saved) and "incidents (12 rows)" in repr(saved)


def test_a_run_folder_with_figures(tmp_path):
    sim.run("ordos-123", reps=2, out=tmp_path / "run")
    saved = sim.read_results(tmp_path / "run")
    assert saved.vehicles is None  # the figures need a vehicle log, the CSV is opt-in
    assert {p.name for p in saved.figures} >= {"map.png", "breakdown.png"}


def test_a_sweep_folder_reads_back_as_the_frame(sweep_folder):
    out, frame = sweep_folder
    saved = sim.read_results(out)
    assert saved.kind == "sweep" and saved.incidents is None
    assert saved.summary["sites"] == "seats" and len(saved.summary["rows"]) == 9
    assert saved.scenario["provenance"]["sweep"]["sites"] == "seats"
    # sites.csv keeps 4 decimals (lat/lon to ~10 m).
    pd.testing.assert_frame_equal(
        saved.sites.drop(columns="geometry"), frame.drop(columns="geometry"), atol=1e-4, rtol=0
    )
    assert saved.sites.crs == frame.crs
    assert saved.sites.geometry.x.tolist() == pytest.approx(frame.geometry.x.tolist(), abs=1e-4)


def test_sweep_frame(sweep_folder):
    _, frame = sweep_folder
    flat = [c for f in SITE_FIELDS for c in ([f"{f}_low", f"{f}_high"] if "ci95" in f else [f])]
    assert list(frame.columns) == [*flat, "geometry"]
    assert frame.crs.to_epsg() == 4326
    assert frame.geometry.x.tolist() == pytest.approx(frame["lon"].tolist())
    assert list(frame["p_met"]) == sorted(frame["p_met"])  # failing sites first


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_read_results_rejects_what_is_not_a_results_folder(tmp_path, make):
    path = tmp_path / "out"
    if make == "empty":
        path.mkdir()
    with pytest.raises(sim.ValidationError, match="not a results folder"):
        sim.read_results(path)


# ---------------------------------------------------------------------------------------------
# Comparisons and fleets
# ---------------------------------------------------------------------------------------------


def test_comparison_frame():
    c = sim.compare("ordos-123", SCENARIOS / "winter-storm.yaml", reps=3)
    df = c.to_dataframe()
    assert list(df["incident"]) == [r["name"] for r in c.incidents]
    assert set(df["a"]) == {"ordos-123"} and set(df["b"]) == {"winter-storm"}
    assert {"delta_p_met_ci95_low", "delta_p_met_ci95_high", "delta_p90_ci95_low"} <= set(df)
    row = c.incidents[0]
    assert df["delta_p_met_ci95_low"].iloc[0] == row["delta_p_met_ci95"][0]
    assert df["p90_b"].dtype == "float64"


def test_fleet_with_totals_is_the_rule_of_scenario_files(tmp_path):
    (tmp_path / "more.yaml").write_text(
        f"extends: {SCENARIOS / 'ordos-123.yaml'}\nname: more\nfleet: {{totals: {{coach: 264}}}}\n",
        encoding="utf-8",
    )
    from_file = sim.load_scenario(tmp_path / "more.yaml").fleet
    fleet = default_fleet().with_totals(coach=264)
    assert fleet.depots == from_file.depots
    counts = fleet.count_by_class()
    assert counts["coach"] == 264
    assert {k: v for k, v in counts.items() if k != "coach"} == {
        k: v for k, v in default_fleet().count_by_class().items() if k != "coach"
    }


@pytest.mark.parametrize(
    ("totals", "message"),
    [({"boat": 3}, "boat"), ({"coach": -1}, ">= 0"), ({"coach": 2.5}, "integer")],
)
def test_fleet_with_totals_rejects(totals, message):
    with pytest.raises(sim.ValidationError, match=message):
        default_fleet().with_totals(**totals)


def test_a_class_without_depots_cannot_get_a_total():
    fleet = default_fleet().with_totals(hazmat=0)
    assert fleet.count_by_class()["hazmat"] == 0
    with pytest.raises(sim.ValidationError, match="no hazmat depot"):
        fleet.with_totals(hazmat=5)
    assert math.isclose(fleet.total, 2010 - 50)
