"""Shared fleet (issue 13): several incidents in one replication, drawing on one fleet.

Acceptance tests: no vehicle serves two incidents at once (checked on ``vehicles.csv`` over
every replication); the allocation policies hand contested vehicles out as the README says,
with times computed by hand; a released vehicle's next trip starts where it was released;
``fleet_sharing: independent`` is today's model; results are byte-identical on every
executor; the contention cost is exactly 0 when the incidents share nothing.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import math
from pathlib import Path

import pytest

from sim.dists import Dist
from sim.errors import ValidationError
from sim.experiment import run
from sim.outputs import incidents_csv, json_text, vehicles_csv
from sim.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]

#: A fleet whose times are all fixed: 10 taxis at Kangbashi ("near") and 10 at Dongsheng
#: ("far"), one operator with one dispatcher; calls take 2 min, mobilisation 5, registration
#: 1 on enough lanes, the alert 5, trip factor 1, every driver available and accepting.
FIXED = """
name: {name}
fleet_sharing: shared
dispatch: {{alert: 5, over_request: 1.0, policy: {policy}}}
weather: {{trip_time_spread: 0, trip_time_median: 1}}
staging: {{lanes: 50, service: 1}}
rules: {{scope: {{central: region, banner: region, region: region}}}}
vehicle_classes:
  taxi: {{availability: 1, reach_day: 1, reach_night: 1, accept: 1, call: 2,
          mobilisation_day: 5, mobilisation_night: 5}}
fleet:
  base: none
  operators: [{{name: Taxi co, vehicle_class: taxi, dispatchers: 1}}]
  depots:
    - {{name: near, location: Kangbashi, vehicles: {{taxi: 10}}, operators: {{taxi: Taxi co}}}}
    - {{name: far, location: Dongsheng, vehicles: {{taxi: 10}}, operators: {{taxi: Taxi co}}}}
incidents:
{incidents}
replications: {reps}
"""


def _scenario(tmp_path: Path, text: str, name: str = "s"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path)


def _rows(result) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(vehicles_csv(result))))


def _minutes(network, src: str, dst: str, vehicle_class: str = "taxi") -> float:
    tree = network.tree_to(network.places.locate(dst), vehicle_class)
    return float(tree.time_s[network.places.locate(src)] / 60.0)


# ---------------------------------------------------------------------------------------------
# Allocation by policy, by hand
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "a_extra", "b_extra", "winner"),
    [
        ("first_come", "", "", "A"),  # same instant: scenario order
        ("priority", "priority: 2", "priority: 1", "B"),
        ("deadline", "deadline_min: 90", "deadline_min: 45", "B"),
    ],
)
def test_the_first_by_policy_gets_the_ten_best_the_second_the_next_ten(
    ordos, tmp_path, policy, a_extra, b_extra, winner
):
    """Two incidents at Kangbashi, alarmed together, each want 10 taxis; the 10 at Kangbashi
    are the best for both. The one first by policy ranks and calls first: its 10 calls go
    one after the other through the single dispatcher (2 min each), so its k-th taxi accepts
    at 5 + 2k, rolls 5 min later, has no road to drive and registers 1 min later. The other
    incident's calls to the same 10 taxis wait behind them (lower key, or placed later); when
    the dispatcher takes them the taxis are held: lost, no call time, and it calls the next
    10 (Dongsheng) at 25, 27, ...: its k-th taxi accepts at 25 + 2k and registers after 5
    min of mobilisation, the Kangbashi-Dongsheng drive and 1 min of registration."""
    incidents = "\n".join(
        f"  - {{name: {n}, location: Kangbashi, demand: {{taxi: 10}}{', ' + x if x else ''}}}"
        for n, x in (("A", a_extra), ("B", b_extra))
    )
    sc = _scenario(tmp_path, FIXED.format(name="two", policy=policy, incidents=incidents, reps=2))
    result = run(sc, network=ordos, log_vehicles=True)
    drive = _minutes(ordos, "Dongsheng", "Kangbashi")
    loser = "B" if winner == "A" else "A"
    rows = _rows(result)
    for rep in ("0", "1"):
        got = {n: [r for r in rows if r["incident"] == n and r["replication"] == rep] for n in "AB"}
        win = sorted(got[winner], key=lambda r: float(r["accepted_min"]))
        lose = sorted(got[loser], key=lambda r: float(r["accepted_min"]))
        assert [r["depot_name"] for r in win] == ["near taxi"] * 10
        assert [r["depot_name"] for r in lose] == ["far taxi"] * 10
        assert {r["outcome"] for r in win + lose} == {"assembled"}
        for k, r in enumerate(win, start=1):
            assert float(r["accepted_min"]) == pytest.approx(5 + 2 * k, abs=1e-4)
            assert float(r["registered_min"]) == pytest.approx(5 + 2 * k + 5 + 0 + 1, abs=1e-4)
        for k, r in enumerate(lose, start=1):
            assert float(r["accepted_min"]) == pytest.approx(25 + 2 * k, abs=1e-4)
            assert float(r["registered_min"]) == pytest.approx(25 + 2 * k + 5 + drive + 1, abs=1e-4)
    by_name = {i["name"]: i for i in result.summary["incidents"]}
    assert by_name[winner]["completion_min"]["p50"] == pytest.approx(31.0, abs=1e-3)
    assert by_name[loser]["completion_min"]["p50"] == pytest.approx(25 + 20 + 5 + drive + 1, 1e-4)
    # Alone, the loser would have had the Kangbashi taxis: it lost all 10 of them.
    assert by_name[loser]["contention"]["lost_vehicles"] == 10
    assert by_name[winner]["contention"]["lost_vehicles"] == 0
    assert by_name[winner]["contention"]["cost_min"]["mean"] == 0.0


def test_a_released_vehicle_starts_its_next_trip_where_it_was_released(ordos, tmp_path):
    """Ten Kangbashi taxis serve A at Dongsheng for 30 min; B at Shulinzhao is alarmed 200
    min after A, when they are free again at Dongsheng, and the Dongsheng depot's taxis are
    gone (there are none): B's taxis drive Dongsheng -> Shulinzhao, not Kangbashi ->
    Shulinzhao."""
    text = FIXED.format(
        name="release",
        policy="first_come",
        incidents="  - {name: A, location: Dongsheng, demand: {taxi: 10}, task_min: 30}\n"
        "  - {name: B, location: Shulinzhao, demand: {taxi: 10}, at_min: 200}",
        reps=3,
    ).replace(
        "    - {name: far, location: Dongsheng, vehicles: {taxi: 10}, ",
        "    - {name: far, location: Dongsheng, vehicles: {taxi: 0}, ",
    )
    sc = _scenario(tmp_path, text)
    result = run(sc, network=ordos, log_vehicles=True)
    rows = _rows(result)
    first = _minutes(ordos, "Kangbashi", "Dongsheng")
    second = _minutes(ordos, "Dongsheng", "Shulinzhao")
    from_home = _minutes(ordos, "Kangbashi", "Shulinzhao")
    assert abs(second - from_home) > 1.0  # the test can tell the two routes apart
    a = [r for r in rows if r["incident"] == "A"]
    b = [r for r in rows if r["incident"] == "B"]
    assert len(a) == len(b) == 30 and {r["outcome"] for r in a + b} == {"assembled"}
    assert {r["vehicle"] for r in a} == {r["vehicle"] for r in b}  # the same ten taxis
    for r in a:
        assert float(r["travel"]) == pytest.approx(first, abs=1e-4)
    for r in b:
        assert float(r["travel"]) == pytest.approx(second, abs=1e-4)
        # Called 200 + 5 after A's report, well after A released it (registered + 30).
        assert float(r["called_min"]) + 200 > max(float(x["registered_min"]) for x in a) + 30


# ---------------------------------------------------------------------------------------------
# One vehicle, one incident at a time
# ---------------------------------------------------------------------------------------------


CONTESTED = """
name: contested
fleet_sharing: shared
dispatch: {{policy: {policy}}}
rules: {{scope: {{central: region, banner: region, region: region}}}}
fleet:
  base: none
  depots:
    - {{name: pool, location: Kangbashi, vehicles: {{taxi: 40, coach: 6}}}}
    - {{name: east, location: Dongsheng, vehicles: {{taxi: 25}}}}
incidents:
  - {{name: one, location: Kangbashi, demand: {{taxi: 25, coach: 3}}, task_min: {task}}}
  - {{name: two, location: Dongsheng, demand: {{taxi: 25}}, at_min: 20, task_min: {task},
      priority: 1}}
  - {{name: three, location: Kangbashi, demand: {{taxi: 30, coach: 4}}, at_min: 45, priority: 2}}
replications: 12
"""


@pytest.mark.parametrize("policy", ["first_come", "deadline", "priority"])
def test_no_vehicle_is_assembled_at_two_incidents_unless_released_in_between(
    ordos, tmp_path, policy
):
    """Over every replication of ``vehicles.csv``: a vehicle that registered for one incident
    is called by another only after its release (registration + the fixed task of 15 min);
    and while a call holds it (called to answered), no other incident calls it."""
    sc = _scenario(tmp_path, CONTESTED.format(policy=policy, task=15))
    result = run(sc, network=ordos, log_vehicles=True)
    at = {i.name: i.at_min for i in sc.incidents}
    task = {"one": 15.0, "two": 15.0, "three": math.inf}
    trips: dict[tuple[str, str], list[tuple[float, float, str]]] = {}
    for r in _rows(result):
        start = float(r["called_min"]) + at[r["incident"]]
        if r["outcome"] == "assembled":
            end = float(r["registered_min"]) + at[r["incident"]] + task[r["incident"]]
        else:  # released when the call is answered (or held at the horizon)
            answered = float(r["called_min"]) + float(r["callout"] or "nan")
            end = start if math.isnan(answered) else answered
        trips.setdefault((r["replication"], r["vehicle"]), []).append((start, end, r["incident"]))
    reused = 0
    for legs in trips.values():
        legs.sort()
        for (_s0, e0, i0), (s1, _e1, i1) in itertools.pairwise(legs):
            assert i0 != i1
            assert s1 >= e0 - 1e-9, (legs, "called while held")
        reused += len({i for _, _, i in legs}) > 1
    assert reused > 0  # vehicles do serve several incidents: the check is not vacuous


def test_without_task_durations_no_vehicle_serves_two_incidents(ordos, tmp_path):
    text = CONTESTED.format(policy="first_come", task=15).replace(", task_min: 15", "")
    sc = _scenario(tmp_path, text)
    result = run(sc, network=ordos, log_vehicles=True)
    assembled: dict[tuple[str, str], set[str]] = {}
    for r in _rows(result):
        if r["outcome"] == "assembled":
            assembled.setdefault((r["replication"], r["vehicle"]), set()).add(r["incident"])
    assert assembled and all(len(s) == 1 for s in assembled.values())
    # Three incidents want 80 taxis from 65: some incident comes short in every replication.
    inc = {i["name"]: i for i in result.summary["incidents"]}
    assert inc["three"]["contention"]["lost_vehicles"] > 0


# ---------------------------------------------------------------------------------------------
# Independent mode, executors, disjoint incidents
# ---------------------------------------------------------------------------------------------


def test_independent_reproduces_todays_numbers(ordos, tmp_path):
    """The shared-fleet keys change nothing in independent mode (the default)."""
    base = Path(__file__).resolve().parents[1] / "scenarios" / "otog-front-supplies.yaml"
    text = base.read_text(encoding="utf-8")
    marked = text.replace("replications: 200", "replications: 30\nfleet_sharing: independent")
    marked = marked.replace(
        "    demand: {taxi: 10, coach: 1}",
        "    demand: {taxi: 10, coach: 1}\n    at_min: 40\n    task_min: 60\n    priority: 1",
    )
    plain = text.replace("replications: 200", "replications: 30")
    a = run(_scenario(tmp_path, marked, "marked"), network=ordos)
    b = run(_scenario(tmp_path, plain, "plain"), network=ordos)
    assert a.contention is None
    assert incidents_csv(a) == incidents_csv(b)
    sa, sb = a.summary, b.summary
    sa.pop("scenario"), sb.pop("scenario")
    assert json_text(sa) == json_text(sb)
    assert "contention" not in json_text(sa)


def test_contention_cost_is_exactly_zero_for_disjoint_incidents(ordos, tmp_path):
    """Taxis from one depot and operator, freight from another, different staging points,
    no checkpoints: sharing the fleet changes nothing, to the last bit."""
    text = """
name: disjoint
fleet_sharing: shared
rules: {scope: {central: region, banner: region, region: region}}
fleet:
  base: none
  depots:
    - {name: cabs, location: Kangbashi, vehicles: {taxi: 60}}
    - {name: trucks, location: Dongsheng, vehicles: {freight: 30}}
incidents:
  - {name: cab call, location: Kangbashi, demand: {taxi: 30}}
  - {name: truck call, location: Altan Xire, demand: {freight: 20}, at_min: 3}
replications: 25
"""
    result = run(_scenario(tmp_path, text), network=ordos)
    for inc, reps, con in zip(
        result.summary["incidents"], result.results, result.contention, strict=True
    ):
        c = inc["contention"]
        assert c["lost_vehicles"] == 0 and c["starved"] == 0
        finite = sum(math.isfinite(r.completion_min) for r in reps)
        assert finite > 0
        assert c["cost_min"] == {"mean": 0.0, "ci95": [0.0, 0.0], "n": finite}
        assert not c["verdict_changed"]
        assert [r.completion_min for r in reps] == [x.alone_min for x in con]


def test_shared_runs_are_byte_identical_serial_processes_dask(ordos, tmp_path):
    from distributed import LocalCluster

    sc = _scenario(tmp_path, CONTESTED.format(policy="priority", task=15))
    outputs = []
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",  # any free port: 8787 may be taken by another cluster
    ) as cluster:
        for kwargs in ({"workers": 1}, {"workers": 2}, {"scheduler": cluster.scheduler_address}):
            result = run(sc, network=ordos, log_vehicles=True, **kwargs)
            outputs.append((json_text(result.summary), incidents_csv(result), vehicles_csv(result)))
    assert outputs[0] == outputs[1] == outputs[2]
    assert json.loads(outputs[0][0])["fleet_sharing"] == "shared"


def test_the_heap_engine_refuses_shared_mode_by_name(ordos, tmp_path):
    sc = _scenario(tmp_path, CONTESTED.format(policy="first_come", task=15))
    with pytest.raises(ValidationError, match=r"SimPy model only.*one incident at a time"):
        run(sc, network=ordos, engine="fast", replications=1)


def test_combined_demand_above_the_fleet_is_run_but_reported(ordos, tmp_path):
    """The issue's case: two incidents that together want all 50 hazmat trucks."""
    text = """
name: two-hazmat
fleet_sharing: shared
incidents:
  - {name: Qipanjing, location: Qipanjing, demand: {hazmat: 25, freight: 10}, scope: region}
  - {name: Xuejiawan, location: Xuejiawan, demand: {hazmat: 25}, scope: region}
replications: 3
"""
    summary = run(_scenario(tmp_path, text), network=ordos).summary
    assert summary["fleet_notes"] == [
        "hazmat: 50 requested in total, 50 in the fleet in scope, expect starvation"
    ]


# ---------------------------------------------------------------------------------------------
# Waves
# ---------------------------------------------------------------------------------------------


def test_a_wave_generates_incidents_at_intervals_over_its_places(ordos, tmp_path):
    text = """
name: waves
fleet_sharing: shared
waves:
  name: shuttle
  count: 5
  interval_min: 45
  at_min: 10
  locations: [Dongsheng, Kangbashi]
  demand: {taxi: 8}
  task_min: 30
replications: 2
"""
    sc = _scenario(tmp_path, text)
    assert [(i.name, i.location, i.at_min) for i in sc.incidents] == [
        ("shuttle 1, Dongsheng", "Dongsheng", 10.0),
        ("shuttle 2, Kangbashi", "Kangbashi", 55.0),
        ("shuttle 3, Dongsheng", "Dongsheng", 100.0),
        ("shuttle 4, Kangbashi", "Kangbashi", 145.0),
        ("shuttle 5, Dongsheng", "Dongsheng", 190.0),
    ]
    assert {i.task_min.value for i in sc.incidents} == {30.0}
    seats = _scenario(tmp_path, text.replace("locations: [Dongsheng, Kangbashi]", "sites: seats"))
    net_seats = [ordos.places.label(i) for i in ordos.seats.tolist() if ordos.zone[i] != "outside"]
    assert [i.name.split(", ", 1)[1] for i in seats.incidents] == net_seats[:5]
    summary = run(sc, network=ordos).summary
    assert [i["at_min"] for i in summary["incidents"]] == [10.0, 55.0, 100.0, 145.0, 190.0]


def test_wave_problems_are_reported_once_under_the_wave(tmp_path):
    from sim.scenario import validate_file

    path = tmp_path / "bad.yaml"
    path.write_text(
        "fleet_sharing: shared\n"
        "waves: {count: 3, interval_min: 10, locations: [Dongsheng], demand: {taxi: 5000}}\n",
        encoding="utf-8",
    )
    (problem,) = validate_file(path)
    assert problem.path == "waves[0].demand.taxi" and "5000" in problem.message
    path.write_text(
        "waves: {count: 2, interval_min: 10, sites: 'grid:abc', demand: {taxi: 5}}\n",
        encoding="utf-8",
    )
    (problem,) = validate_file(path)
    assert problem.path == "waves[0].sites" and "grid spacing" in problem.message
    path.write_text("name: nothing\n", encoding="utf-8")
    (problem,) = validate_file(path)
    assert (problem.path, problem.message) == (
        "incidents",
        "must have at least 1 item (an incident), or give `waves`",
    )


def test_a_shared_run_writes_the_contention_figure(ordos, tmp_path):
    from sim.outputs import run_files, write_outputs

    sc = _scenario(tmp_path, CONTESTED.format(policy="deadline", task=15))
    result = run(sc, network=ordos, replications=3)
    files = run_files(result, figures=True, report=False)
    assert "contention.png" in files
    out = write_outputs(tmp_path / "out", {"contention.png": files["contention.png"]})
    assert (out / "contention.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    independent = run(
        dataclasses.replace(sc, fleet_sharing="independent"), network=ordos, replications=2
    )
    assert "contention.png" not in run_files(independent, figures=True, report=False)


def test_a_shared_sweep_moves_one_incident_while_the_others_stay(ordos, tmp_path):
    """A site's row is the swept incident's result in the shared run with it moved there."""
    from sim.sites import Site
    from sim.sweeps import sweep

    sc = _scenario(tmp_path, CONTESTED.format(policy="first_come", task=15))
    sc = dataclasses.replace(sc, replications=4)
    node = ordos.places.locate("Altan Xire")
    result = sweep(sc, [Site("Altan Xire", node)], network=ordos, incident="three")
    (row,) = result.rows
    moved = dataclasses.replace(
        sc,
        incidents=tuple(
            dataclasses.replace(i, location=ordos.places.lat_lon(node)) if i.name == "three" else i
            for i in sc.incidents
        ),
    )
    inc = {i["name"]: i for i in run(moved, network=ordos).summary["incidents"]}["three"]
    assert (row["p_met"], row["p50_min"], row["p90_min"]) == (
        inc["p_met"],
        inc["completion_min"]["p50"],
        inc["completion_min"]["p90"],
    )
    assert row["note"].startswith("shared fleet: P(holds) alone")
    assert f"{inc['contention']['lost_vehicles']:.1f} vehicles lost" in row["note"]
    with pytest.raises(ValidationError, match="SimPy model only"):
        sweep(sc, [Site("Altan Xire", node)], network=ordos, incident="three", engine="fast")


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9
    return a == b


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_the_shared_model_with_one_incident_is_the_reference_model(path, ordos):
    """No third semantics: the shared model (sim.sharedmodel) with one incident active gives,
    vehicle by vehicle (1e-9), what the reference SimPy model (sim.model) gives for that
    incident on the same draws. Background traffic at a checkpoint is one stream per plaza in a
    shared replication (keyed by the scenario seed, not by an incident), so plans with
    background traffic are compared on the calls only (same counts)."""
    _compare_alone_with_reference(load_scenario(path), ordos)


#: Platform call-outs for every operator: batches of 40 every minute, lognormal responses
#: (median 3 min) and random confirmations, to compare both SimPy models on them.
_PLATFORM = {
    "mode": "platform",
    "batch_size": 40,
    "batch_interval_min": 1.0,
    "response": {"lognormal": {"median": 3.0, "sigma": 0.8}},
    "confirm": {"uniform": {"low": 0.2, "high": 1.0}},
}


@pytest.mark.parametrize("name", ["ordos-123", "mixed-callout"])
def test_the_shared_model_with_one_incident_is_the_reference_model_with_platforms(
    name, ordos, tmp_path
):
    """As above, with platform call-outs: every operator (``ordos-123``), or the Central taxi
    pool only, so that a class is called by phone and pushed by a platform at once."""
    from sim.scenario import callout_spec
    from sim.schema import CalloutFileSpec

    scenario = load_scenario(REPO / "scenarios" / "ordos-123.yaml")
    spec = callout_spec(CalloutFileSpec.model_validate(_PLATFORM))
    ops = tuple(
        dataclasses.replace(o, callout=spec)
        if name == "ordos-123" or o.name == "Central taxi pool"
        else o
        for o in scenario.fleet.operators
    )
    scenario = dataclasses.replace(
        scenario, fleet=dataclasses.replace(scenario.fleet, operators=ops)
    )
    plans = _compare_alone_with_reference(scenario, ordos)
    assert all(p.has_platform for p in plans)


def test_the_shared_model_with_one_incident_is_the_reference_model_with_traffic(ordos):
    """As above, with a traffic shock (a random level, central and elsewhere extras, an
    08:00 start so that legs start in and after the morning peak)."""
    from sim.plan import TrafficShock

    scenario = load_scenario(REPO / "scenarios" / "ordos-123.yaml")
    traffic = TrafficShock(
        level=Dist("uniform", 1.0, spread=0.5), central=(0.6, 0.2), elsewhere=(0.1, 0.05)
    )
    scenario = dataclasses.replace(
        scenario,
        start_hour=8.0,
        shocks=dataclasses.replace(scenario.shocks, traffic=traffic),
    )
    plans = _compare_alone_with_reference(scenario, ordos)
    assert all(p.depot_central_min for p in plans)


def _compare_alone_with_reference(scenario, ordos) -> list:
    from sim.model import simulate
    from sim.plan import replication_seed
    from sim.planning import prepare, scenario_network
    from sim.shared import prepare_shared
    from sim.sharedmodel import shared_draws, simulate_shared

    network = scenario_network(scenario, ordos)
    plans = prepare(network, scenario)
    splan = prepare_shared(network, scenario, plans)
    exact = 0
    for rep in range(2):
        roots = [replication_seed(scenario.seed, p.stream, rep) for p in plans]
        draws = shared_draws(splan, scenario.seed, rep, roots)
        for i, plan in enumerate(plans):
            alone = simulate_shared(splan, draws, active=[i], log_vehicles=True).results[i]
            ref = simulate(plan, draws.incidents[i], log_vehicles=True)
            assert alone.counts == ref.counts and alone.class_counts == ref.class_counts
            if plan.has_background:
                continue
            assert _same(alone.completion_min, ref.completion_min), (plan.name, rep)
            rows, ref_rows = sorted(alone.vehicles), sorted(ref.vehicles)
            assert len(rows) == len(ref_rows)
            for a, b in zip(rows, ref_rows, strict=True):
                assert all(_same(x, y) for x, y in zip(a, b, strict=True)), (plan.name, a, b)
            exact += 1
    if not any(p.has_background for p in plans):
        assert exact == 2 * len(plans)
    return plans
