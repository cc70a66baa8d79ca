"""Output folders: atomic writes, and every file parses with the expected content."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import replace

import numpy as np
import pytest
import yaml

from sim.builtin import ordos_123
from sim.cli import main
from sim.experiment import run
from sim.outputs import LIBRARIES, run_files, sweep_files, write_outputs
from sim.records import VEHICLE_FIELDS
from sim.scenario import load_scenario, validate_file
from sim.sweeps import sweep
from sim.tables import ARRIVAL_FIELDS, VEHICLE_LOG_FIELDS

REPS = 6

#: The columns of incidents.csv for a scenario with the five default classes (a contract).
DEFAULT_INCIDENT_COLUMNS = (
    "incident", "replication", "tier", "deadline_min", "completion_min", "met",
    "completion_taxi_min", "completion_coach_min", "completion_bus_min",
    "completion_freight_min", "completion_hazmat_min", "critical_class",
    "alert_min", "callout_min", "mobilisation_min", "travel_min", "checkpoint_wait_min",
    "staging_wait_min", "called", "assembled", "declined", "unreachable", "unavailable",
    "en_route", "in_call",
    "requested_taxi", "accepted_taxi", "arrived_taxi",
    "requested_coach", "accepted_coach", "arrived_coach",
    "requested_bus", "accepted_bus", "arrived_bus",
    "requested_freight", "accepted_freight", "arrived_freight",
    "requested_hazmat", "accepted_hazmat", "arrived_hazmat",
)  # fmt: skip


@pytest.fixture(scope="module")
def scenario():
    return ordos_123(replications=REPS)


@pytest.fixture(scope="module")
def result(ordos, scenario):
    return run(scenario, network=ordos, log_vehicles=True)


@pytest.fixture(scope="module")
def seats(ordos, scenario):
    return sweep(scenario, "seats", network=ordos, replications=3)


def _rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


# ---------------------------------------------------------------------------------------------
# Atomic folders
# ---------------------------------------------------------------------------------------------


def test_write_outputs_writes_text_bytes_and_rendered_files(tmp_path):
    out = write_outputs(
        tmp_path / "out",
        {"a.txt": "α\n", "b.bin": b"\x00\x01", "c.txt": lambda p: p.write_text("made")},
    )
    assert (out / "a.txt").read_text(encoding="utf-8") == "α\n"
    assert (out / "b.bin").read_bytes() == b"\x00\x01"
    assert (out / "c.txt").read_text() == "made"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_write_leaves_nothing(tmp_path, error):
    def fail(path):
        raise error

    with pytest.raises(error):
        write_outputs(tmp_path / "out", {"a.txt": "x", "fig.png": fail, "z.txt": "y"})
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_rewrite_keeps_the_previous_folder(tmp_path):
    out = write_outputs(tmp_path / "out", {"old.txt": "old"})

    def fail(path):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_outputs(out, {"new.txt": "new", "fig.png": fail})
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert sorted(p.name for p in out.iterdir()) == [".fleetsim-output", "old.txt"]
    write_outputs(out, {"new.txt": "new"})
    assert sorted(p.name for p in out.iterdir()) == [".fleetsim-output", "new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_file_names_may_not_contain_folders(tmp_path):
    from sim.errors import ValidationError

    with pytest.raises(ValidationError):
        write_outputs(tmp_path / "out", {"../evil.txt": "x"})
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# Run files
# ---------------------------------------------------------------------------------------------


def test_run_files_parse(tmp_path, result, scenario):
    out = write_outputs(tmp_path / "out", run_files(result, vehicle_log=True, figures=False))
    assert sorted(p.name for p in out.iterdir() if p.name != ".fleetsim-output") == [
        "arrivals.csv",
        "incidents.csv",
        "report.html",
        "scenario.resolved.yaml",
        "summary.json",
        "vehicles.csv",
    ]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary == json.loads(json.dumps(result.summary))

    fields, rows = _rows((out / "incidents.csv").read_text(encoding="utf-8"))
    assert tuple(fields) == DEFAULT_INCIDENT_COLUMNS  # the default classes: the contract
    assert len(rows) == len(scenario.incidents) * REPS
    pairs = [(p, r) for p, reps in zip(result.plans, result.results, strict=True) for r in reps]
    for row, (plan, rep) in zip(rows, pairs, strict=True):
        assert row["incident"] == plan.name
        completion = float(row["completion_min"])
        assert completion == pytest.approx(rep.completion_min, abs=1e-4) or (
            math.isinf(completion) and math.isinf(rep.completion_min)
        )
        assert row["met"] == str(int(rep.completion_min <= plan.deadline_min))
        requested = {c.vehicle_class for c in plan.classes}
        for k in ("taxi", "coach", "bus", "freight", "hazmat"):
            assert (row[f"completion_{k}_min"] != "") == (k in requested)
        assert int(row["called"]) == rep.counts["called"]

    fields, vrows = _rows((out / "vehicles.csv").read_text(encoding="utf-8"))
    assert tuple(fields) == VEHICLE_LOG_FIELDS
    assert set(VEHICLE_FIELDS) <= set(fields) and {"incident", "replication"} <= set(fields)
    assert len(vrows) == sum(len(r.vehicles) for reps in result.results for r in reps)
    assert {r["outcome"] for r in vrows} <= {"assembled", "declined", "unreachable", "unavailable"}
    assert all(r["depot_name"].endswith(r["vehicle_class"]) for r in vrows)

    # arrivals.csv: the median over replications of the vehicles registered by each minute,
    # the same count as one gets from vehicles.csv.
    fields, arows = _rows((out / "arrivals.csv").read_text(encoding="utf-8"))
    assert tuple(fields) == ARRIVAL_FIELDS
    for plan in result.plans:
        mine = [r for r in arows if r["incident"] == plan.name]
        minutes = [float(r["minute"]) for r in mine]
        assert minutes == list(range(len(mine))) and minutes[-1] >= 1.25 * plan.deadline_min
        p50 = [float(r["assembled_p50"]) for r in mine]
        assert p50 == sorted(p50)  # vehicles only ever arrive
        assert all(
            float(r["assembled_p10"]) <= float(r["assembled_p50"]) <= float(r["assembled_p90"])
            for r in mine
        )
        for m in (0, round(plan.deadline_min), len(mine) - 1):
            counts = [
                sum(
                    v["outcome"] == "assembled" and float(v["registered_min"]) <= m
                    for v in vrows
                    if v["incident"] == plan.name and int(v["replication"]) == r
                )
                for r in range(REPS)
            ]
            assert p50[m] == pytest.approx(float(np.median(counts)))


def test_resolved_scenario_has_every_default_and_the_versions(tmp_path, result, scenario):
    files = run_files(result, figures=False)
    s = yaml.safe_load(files["scenario.resolved.yaml"])
    assert s["seed"] == scenario.seed and s["replications"] == REPS
    assert s["provenance"]["fleetsim_version"]
    assert set(s["provenance"]["versions"]) == {"python", *LIBRARIES}
    assert s["name"] == "ordos-123"
    assert [i["name"] for i in s["incidents"]] == [i.name for i in scenario.incidents]
    assert s["fleet"]["base"] == "none"
    assert sum(n for d in s["fleet"]["depots"] for n in d["vehicles"].values()) == 2010
    assert s["vehicle_classes"]["hazmat"]["speed"]["other_kmh"] == 60
    assert s["vehicle_classes"]["taxi"]["speed"]["other_kmh"] == math.inf
    assert s["rules"]["deadlines_min"] == {"central": 60, "banner": 120, "region": 180}
    assert {"dispatch", "weather", "staging", "start", "warmup_min"} <= set(s)


def test_cli_run_out_has_every_file(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", "ordos-123", "--reps", "3", "--out", str(out), "--vehicle-log"])
    assert code == 0
    names = sorted(p.name for p in out.iterdir() if p.name != ".fleetsim-output")
    slugs = ["kangbashi-central", "otog-front-road-point-region", "xuejiawan-hazmat-banner"]
    assert names == sorted(
        [
            "arrivals.csv",
            "breakdown.png",
            "incidents.csv",
            "map.png",
            "report.html",
            "scenario.resolved.yaml",
            "summary.json",
            "vehicles.csv",
            *(f"arrival-{s}.png" for s in slugs),
            *(f"cdf-{s}.png" for s in slugs),
        ]
    )
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    printed = capsys.readouterr()
    assert "P(holds)" in printed.out and f"wrote {out}" in printed.err


def test_cli_run_no_figures_and_quiet(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--reps", "2", "--out", str(out), "--no-figures", "--json", "-q"]) == 0
    assert sorted(p.name for p in out.iterdir() if p.name != ".fleetsim-output") == [
        "arrivals.csv",
        "incidents.csv",
        "report.html",
        "scenario.resolved.yaml",
        "summary.json",
    ]
    printed = capsys.readouterr()
    assert printed.err == ""
    assert json.loads(printed.out)["replications"] == 2


def test_cli_run_interrupted_leaves_no_output(tmp_path, monkeypatch):
    import sim.plots

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.plots, "completion_cdf", boom)
    assert main(["run", "--reps", "2", "--out", str(tmp_path / "out"), "-q"]) == 130
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# Sweep files
# ---------------------------------------------------------------------------------------------


def test_sweep_files_parse(tmp_path, seats, scenario):
    out = write_outputs(tmp_path / "out", sweep_files(seats, scenario, figures=False))
    fields, rows = _rows((out / "sites.csv").read_text(encoding="utf-8"))
    assert {
        "site",
        "lat",
        "lon",
        "zone",
        "tier",
        "deadline_min",
        "p_met",
        "p_met_ci95_low",
        "p_met_ci95_high",
        "p90_min",
        "note",
    } <= set(fields)
    assert [r["site"] for r in rows] == [r["site"] for r in seats.rows]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows"] == json.loads(json.dumps(seats.rows))
    data = json.loads((out / "sites.geojson").read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 9
    f = data["features"][0]
    assert f["geometry"]["type"] == "Point"
    assert f["geometry"]["coordinates"] == [seats.rows[0]["lon"], seats.rows[0]["lat"]]
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text(encoding="utf-8"))
    assert resolved["provenance"]["sweep"] == {"incident": "Kangbashi (central)", "sites": "seats"}
    assert validate_file(out / "scenario.resolved.yaml") == []
    assert load_scenario(out / "scenario.resolved.yaml") == replace(scenario, replications=3)


def test_sites_geojson_opens_in_gis_readers(tmp_path, seats, scenario):
    pyogrio = pytest.importorskip("pyogrio")
    out = write_outputs(tmp_path / "out", sweep_files(seats, scenario, figures=False))
    df = pyogrio.read_dataframe(out / "sites.geojson")
    assert len(df) == 9
    assert df.crs is not None and df.crs.to_epsg() == 4326
    assert {"site", "tier", "p_met", "p_met_ci95_low", "p90_min"} <= set(df.columns)
    assert set(df.geometry.geom_type) == {"Point"}
    first = df.iloc[0]
    assert first.geometry.x == pytest.approx(seats.rows[0]["lon"])
    assert first.geometry.y == pytest.approx(seats.rows[0]["lat"])


def test_resolved_scenario_lists_what_each_incident_resolved_to(result, ordos):
    data = yaml.safe_load(run_files(result, figures=False)["scenario.resolved.yaml"])
    resolved = data["provenance"]["resolved_incidents"]
    assert [r["name"] for r in resolved] == [p.name for p in result.plans]
    assert [r["tier"] for r in resolved] == ["central", "banner", "region"]
    assert [r["deadline_min"] for r in resolved] == [60, 120, 180]
    assert resolved[0]["staging_node"] == int(ordos.node_ids[ordos.places.locate("kangbashi")])
    assert resolved[1]["requested"]["hazmat"] == resolved[1]["candidates"]["hazmat"] > 0


def test_out_never_replaces_a_folder_fleetsim_did_not_write(tmp_path, monkeypatch, capsys):
    from sim.cli import main

    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    args = ["run", "ordos-123", "--reps", "2", "--no-figures", "--quiet"]
    assert main([*args, "--out", str(mine)]) == 2
    assert "did not write" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "precious"
    for bad in (".", "..", str(tmp_path)):
        assert main([*args, "--out", bad]) == 2
        assert "working folder" in capsys.readouterr().err
    # A folder fleetsim wrote, or an empty one, is replaced.
    assert main([*args, "--out", "res"]) == 0
    assert (tmp_path / "res" / ".fleetsim-output").is_file()
    assert main([*args, "--out", "res"]) == 0
    (tmp_path / "empty").mkdir()
    assert main([*args, "--out", "empty"]) == 0
