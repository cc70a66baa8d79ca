"""Vehicle classes as data: the five defaults come from a data file, and a scenario file alone
defines a sixth class (depots, demand, figures) that runs through run, sweep and compare."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import textwrap
from pathlib import Path

import pytest
from matplotlib.colors import to_hex

from sim.cli import main
from sim.errors import ValidationError
from sim.planning import scenario_network
from sim.plots import network_map
from sim.scenario import load_scenario, load_scenario_with_network, validate_file
from sim.vehicles import DEFAULT_CLASSES, PALETTE, class_colours, load_classes

ROOT = Path(__file__).resolve().parents[1]
MINIBUS = ROOT / "scenarios" / "minibus-shuttle.yaml"
DEFAULTS = ("taxi", "coach", "bus", "freight", "hazmat")


def _cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# The defaults are data
# ---------------------------------------------------------------------------------------------


def test_the_five_defaults_come_from_the_data_file_in_order() -> None:
    assert tuple(DEFAULT_CLASSES) == DEFAULTS
    text = (ROOT / "sim" / "data" / "vehicle_classes.yaml").read_text(encoding="utf-8")
    assert load_classes(text) == dict(DEFAULT_CLASSES)
    for c in DEFAULT_CLASSES.values():
        assert c.colour is not None and c.description
    # The legal caps (facts.md §3): taxis 120 on expressways, hazmat 80 and 60 elsewhere.
    assert DEFAULT_CLASSES["taxi"].speed.expressway_kmh == 120.0
    assert (DEFAULT_CLASSES["hazmat"].speed.expressway_kmh,) == (80.0,)
    assert DEFAULT_CLASSES["hazmat"].speed.other_kmh == 60.0


def test_a_class_file_must_give_every_parameter_or_like() -> None:
    text = "vehicle_classes: {van: {capacity: 8, capacity_unit: persons}}"
    with pytest.raises(
        ValidationError, match=r"'van' is a new vehicle class.*missing: availability"
    ):
        load_classes(text)


def test_colours_of_classes_without_one_come_from_the_palette_in_order() -> None:
    van = dataclasses.replace(DEFAULT_CLASSES["coach"], colour=None, description="")
    colours = class_colours({**DEFAULT_CLASSES, "van": van, "tank": van})
    assert [colours[k] for k in DEFAULTS] == [DEFAULT_CLASSES[k].colour for k in DEFAULTS]
    assert (colours["van"], colours["tank"]) == PALETTE[:2]
    assert len(set(colours.values())) == 7


# ---------------------------------------------------------------------------------------------
# A sixth class from a scenario file alone
# ---------------------------------------------------------------------------------------------


def test_the_file_defines_the_class_its_depots_and_demand() -> None:
    scenario = load_scenario(MINIBUS)
    assert tuple(scenario.fleet.classes) == (*DEFAULTS, "minibus")
    minibus, bus = scenario.fleet.classes["minibus"], scenario.fleet.classes["bus"]
    assert (minibus.capacity, minibus.availability, minibus.colour) == (15, 0.8, "#56B4E9")
    for key in ("reach_day", "reach_night", "accept", "call"):  # like: bus
        assert getattr(minibus, key) == getattr(bus, key)
    assert minibus.mobilisation_day.value == 15.0 and minibus.description.startswith("15-seat")
    assert scenario.fleet.count_by_class()["minibus"] == 90
    assert scenario.incidents[0].demand == {"minibus": 20, "bus": 10}  # 300 people each
    network = scenario_network(scenario, load_scenario_with_network(MINIBUS)[1])
    assert network.classes == (*DEFAULTS, "minibus")


def test_run_writes_figures_summary_and_tables_with_the_new_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code, _, err = _cli(capsys, "run", MINIBUS, "--reps", 8, "--out", out, "--vehicle-log", "-q")
    assert code == 0, err
    for name in ("map.png", "breakdown.png"):
        assert (out / name).stat().st_size > 10_000
    assert len(list(out.glob("arrival-*.png"))) == len(list(out.glob("cdf-*.png"))) == 2

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    first, second = summary["incidents"]
    assert first["demand"] == {"minibus": 20, "bus": 10}
    assert set(first["by_class"]) == {"minibus", "bus"} and "minibus" in second["by_class"]
    assert first["by_class"]["minibus"]["completion_min"]["p50"] > 0

    reader = csv.DictReader(io.StringIO((out / "incidents.csv").read_text(encoding="utf-8")))
    columns = reader.fieldnames or []
    per_class = [c for c in columns if c.startswith("completion_") and c != "completion_min"]
    assert per_class == [f"completion_{k}_min" for k in (*DEFAULTS, "minibus")]
    rows = list(reader)
    assert len(rows) == 2 * 8 and all(r["completion_minibus_min"] != "" for r in rows)
    assert all(r["completion_coach_min"] == "" for r in rows)  # not requested: empty

    vehicles = list(csv.DictReader(io.StringIO((out / "vehicles.csv").read_text("utf-8"))))
    minibuses = [v for v in vehicles if v["vehicle_class"] == "minibus"]
    assert minibuses and {v["depot_name"] for v in minibuses} <= {
        "Kangbashi minibus depot minibus",
        "Dongsheng minibus depot minibus",
        "Altan Xire minibus depot minibus",
    }


def test_the_map_draws_the_new_class_in_its_colour() -> None:
    scenario, network = load_scenario_with_network(MINIBUS)
    network = scenario_network(scenario, network)
    fig = network_map(network, scenario)
    legend = fig.axes[0].get_legend()
    colours = {
        text.get_text(): to_hex(handle.get_markerfacecolor())
        for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True)
    }
    assert colours["minibus"] == "#56b4e9"
    assert colours["taxi"] == DEFAULT_CLASSES["taxi"].colour.lower()


def test_sweep_over_the_seats_with_the_new_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    code, _, err = _cli(
        capsys, "sweep", MINIBUS, "--sites", "seats", "--reps", 4, "--out", out, "-q"
    )
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["demand"] == {"minibus": 20, "bus": 10}
    assert len(summary["rows"]) == 9
    assert (out / "sites-map.png").is_file() and (out / "sites.csv").is_file()
    simulated = [r for r in summary["rows"] if r["note"] is None]
    assert simulated and all(r["bottleneck_class"] in ("minibus", "bus") for r in simulated)


def test_compare_the_file_with_itself_is_exactly_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(capsys, "compare", MINIBUS, MINIBUS, "--reps", 6, "--json", "-q")
    assert code == 0, err
    data = json.loads(out)
    assert [r["name"] for r in data["incidents"]] == [
        "Kangbashi community shuttle",
        "Shulinzhao minibuses and taxis",
    ]
    for r in data["incidents"]:
        assert r["delta_p_met"] == 0.0 and r["delta_p_met_ci95"] == [0.0, 0.0]
        assert r["delta_p90"] == 0.0 and r["delta_p90_ci95"] == [0.0, 0.0]


# ---------------------------------------------------------------------------------------------
# Problems of a class definition name the key and the classes of the file
# ---------------------------------------------------------------------------------------------


def test_a_new_class_without_like_lists_what_is_missing(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        vehicle_classes:
          van: {capacity: 8, capacity_unit: persons, speed: {expressway_kmh: 110}}
        fleet:
          depots: [{location: dongsheng, vehicles: {van: 5}}]
        incidents: [{location: kangbashi, demand: {van: 2}}]
        """,
    )
    (problem,) = validate_file(path)
    assert (problem.path, problem.line) == ("vehicle_classes.van", 2)
    assert "give `like: CLASS`" in problem.message
    assert "missing: availability, reach_day, reach_night, accept, call" in problem.message


def test_unknown_classes_list_the_classes_of_the_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        vehicle_classes:
          minibus: {like: coachh}
          tanker: {like: hazmat, capacity: 30}
        fleet:
          totals: {tankr: 3}
          depots: [{location: dongsheng, vehicles: {minibus: 5, tanker: 4}}]
        incidents:
          - location: kangbashi
            demand: {minibuss: 2, tanker: 1}
        """,
    )
    messages = {p.path: p.message for p in validate_file(path)}
    classes = "classes: taxi, coach, bus, freight, hazmat, minibus, tanker"
    totals = messages["fleet.totals.tankr"]
    assert "unknown vehicle class 'tankr' (did you mean 'tanker'?)" in totals and classes in totals
    demand = messages["incidents[0].demand.minibuss"]
    assert "did you mean 'minibus'" in demand and classes in demand
    like = messages["vehicle_classes.minibus.like"]
    assert "unknown vehicle class 'coachh' (did you mean 'coach'" in like


def test_a_class_name_must_name_a_column(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        vehicle_classes:
          mini bus: {like: coach}
        incidents: [{location: kangbashi, demand: {taxi: 1}}]
        """,
    )
    (problem,) = validate_file(path)
    assert problem.path == "vehicle_classes['mini bus']"
    assert "a vehicle class name is a letter followed by" in problem.message


def test_totals_of_a_new_class_spread_over_its_own_depots(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        vehicle_classes:
          tanker: {like: hazmat, capacity: 30}
        fleet:
          totals: {tanker: 12, hazmat: 60}
          depots:
            - {location: dongsheng, vehicles: {tanker: 10}}
            - {location: xuejiawan, vehicles: {tanker: 5}}
        incidents: [{location: kangbashi, demand: {tanker: 3}}]
        """,
    )
    scenario = load_scenario(path)
    counts = scenario.fleet.count_by_class()
    assert (counts["tanker"], counts["hazmat"]) == (12, 60)
    depots = {d.name: d.count for d in scenario.fleet.depots if d.vehicle_class == "tanker"}
    assert depots == {"dongsheng tanker": 8, "xuejiawan tanker": 4}
    tanker = scenario.fleet.classes["tanker"]
    assert tanker.colour is None and tanker.speed == DEFAULT_CLASSES["hazmat"].speed
    assert class_colours(scenario.fleet.classes)["tanker"] == PALETTE[0]
