"""Call-out modes per operator (issue 14): ``phone`` (dispatchers) and ``platform`` (pushes).

Acceptance tests: a platform operator with fixed response times gives hand-computed push and
acceptance times; with k pushes per batch the i-th batch leaves at ``alert + i × interval``;
the first responses up to the target are taken and later ones turned away. Also: the keys are
validated with their path, and a scenario that names phone everywhere is today's model.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from sim.errors import ScenarioError, ValidationError
from sim.experiment import run
from sim.outputs import vehicles_csv
from sim.scenario import load_scenario

#: 10 taxis at Kangbashi ("near") and 10 at Dongsheng ("far") under one operator; every time
#: fixed: alert 5, mobilisation 5, registration 1 on enough lanes, trip factor 1; every
#: driver available, reachable and accepting.
FIXED = """
name: platform
dispatch: {{alert: 5, over_request: 1.0}}
weather: {{trip_time_spread: 0, trip_time_median: 1}}
staging: {{lanes: 50, service: 1}}
rules: {{scope: {{central: region, banner: region, region: region}}}}
vehicle_classes:
  taxi: {{availability: 1, reach_day: 1, reach_night: 1, accept: {accept}, call: 2,
          mobilisation_day: 5, mobilisation_night: 5}}
fleet:
  base: none
  operators:
    - name: Taxi co
      vehicle_class: taxi
      dispatchers: 1
      callout: {callout}
  depots:
    - {{name: near, location: Kangbashi, vehicles: {{taxi: 10}}, operators: {{taxi: Taxi co}}}}
    - {{name: far, location: Dongsheng, vehicles: {{taxi: 10}}, operators: {{taxi: Taxi co}}}}
incidents:
  - {{name: A, location: Kangbashi, demand: {{taxi: {demand}}}}}
replications: 2
"""


def _load(tmp_path: Path, text: str, name: str = "s"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path)


def _rows(ordos, tmp_path: Path, **kw) -> list[dict[str, str]]:
    values = {"accept": 1, "demand": 5} | kw
    result = run(_load(tmp_path, FIXED.format(**values)), network=ordos, log_vehicles=True)
    return list(csv.DictReader(io.StringIO(vehicles_csv(result))))


PLATFORM = "{mode: platform, batch_size: 3, batch_interval_min: 2, response: 1.5, confirm: 0.5}"


def test_platform_push_and_acceptance_times_by_hand(ordos, tmp_path):
    """Target 5, batches of 3 every 2 min from the alert at 5, response 1.5, confirm 0.5.
    Batch 0 (the three best: Kangbashi) is pushed at 5, responds at 6.5, is accepted at 7.0.
    Batch 1 is pushed at 7 and responds at 8.5: two are taken (accepted 9.0), the third is
    turned away (the target is full). At 9 the target is met: no batch 2. Every taken taxi
    rolls 5 min later, has no road to drive and registers 1 min after that."""
    rows = _rows(ordos, tmp_path, callout=PLATFORM)
    for rep in ("0", "1"):
        got = sorted(
            (r for r in rows if r["replication"] == rep), key=lambda r: float(r["accepted_min"])
        )
        assert len(got) == 5 and {r["outcome"] for r in got} == {"assembled"}
        assert {r["depot_name"] for r in got} == {"near taxi"}
        called = [float(r["called_min"]) for r in got]
        accepted = [float(r["accepted_min"]) for r in got]
        assert called == pytest.approx([5, 5, 5, 7, 7], abs=1e-9)
        assert accepted == pytest.approx([7, 7, 7, 9, 9], abs=1e-9)
        for r in got:
            assert float(r["registered_min"]) == pytest.approx(float(r["accepted_min"]) + 6, 1e-9)


@pytest.mark.parametrize(("k", "interval"), [(1, 0.25), (2, 1.0), (4, 3.0)])
def test_the_i_th_batch_leaves_at_alert_plus_i_intervals(ordos, tmp_path, k, interval):
    """No driver accepts (accept 0), so the platform pushes every one of the 20 taxis, k at a
    time: the i-th batch (rank order, from 0) leaves at 5 + i × interval."""
    callout = f"{{mode: platform, batch_size: {k}, batch_interval_min: {interval}, response: 1}}"
    rows = _rows(ordos, tmp_path, callout=callout, accept=0)
    for rep in ("0", "1"):
        got = sorted(
            (r for r in rows if r["replication"] == rep), key=lambda r: float(r["called_min"])
        )
        assert len(got) == 20 and {r["outcome"] for r in got} == {"declined"}
        called = [float(r["called_min"]) for r in got]
        assert called == pytest.approx([5 + (i // k) * interval for i in range(20)], abs=1e-9)
        # Rank order: the Kangbashi taxis (nearest) go in the first batches.
        assert [r["depot_name"] for r in got[:10]] == ["near taxi"] * 10


def test_first_responses_up_to_the_target_are_taken_later_ones_not(ordos, tmp_path):
    """All 20 taxis pushed at once (batch 20): target 5, responses 1.5 for all, so all 20
    respond at 6.5; five (the first five in rank order, all responding at once) are taken;
    the other fifteen are turned away and do not count as called."""
    callout = "{mode: platform, batch_size: 20, response: 1.5, confirm: 0.5}"
    rows = _rows(ordos, tmp_path, callout=callout)
    for rep in ("0", "1"):
        got = [r for r in rows if r["replication"] == rep]
        assert len(got) == 5 and {r["outcome"] for r in got} == {"assembled"}
        assert [float(r["accepted_min"]) for r in got] == pytest.approx([7.0] * 5, abs=1e-9)
    # With random responses, the taken ones are the five earliest responders, accepted at
    # 5 + their response + 0.5.
    from sim.model import simulate
    from sim.plan import draw, replication_seed
    from sim.planning import prepare

    callout = (
        "{mode: platform, batch_size: 20, response: {uniform: {low: 1, high: 9}}, confirm: 0.5}"
    )
    sc = _load(tmp_path, FIXED.format(accept=1, demand=5, callout=callout))
    (plan,) = prepare(ordos, sc)
    for rep in range(3):
        d = draw(plan, replication_seed(sc.seed, plan.stream, rep))
        response = plan.callout(0).response.from_uniform(d.response)
        res = simulate(plan, d, log_vehicles=True)
        taken = sorted(r.vehicle for r in res.vehicles)
        assert taken == sorted(np.argsort(response, kind="stable")[:5].tolist())
        assert res.counts["called"] == 5 and res.counts["assembled"] == 5
        for r in res.vehicles:
            assert r.accepted_min == pytest.approx(5 + response[r.vehicle] + 0.5, abs=1e-9)


def test_phone_mode_named_explicitly_is_the_default(ordos, tmp_path):
    """``mode: phone`` changes nothing: calls through the one dispatcher at 5, 7, 9, ..."""
    rows = _rows(ordos, tmp_path, callout="{mode: phone}")
    got = sorted(
        (r for r in rows if r["replication"] == "0"), key=lambda r: float(r["accepted_min"])
    )
    assert [float(r["accepted_min"]) for r in got] == pytest.approx([7, 9, 11, 13, 15])


@pytest.mark.parametrize(
    ("callout", "where"),
    [
        ("{mode: fax}", "fleet.operators[0].callout.mode"),
        ("{mode: platform, batch_size: 0}", "fleet.operators[0].callout.batch_size"),
        ("{mode: platform, batch_interval_min: -1}", "batch_interval_min"),
        ("{mode: platform, respons: 2}", "respons"),
    ],
)
def test_bad_callout_keys_name_file_path_and_value(tmp_path, callout, where):
    text = FIXED.format(accept=1, demand=5, callout=callout)
    with pytest.raises((ScenarioError, ValidationError)) as err:
        _load(tmp_path, text)
    assert "s.yaml" in str(err.value) and where in str(err.value)


def test_fleet_callout_by_name_must_name_an_operator(tmp_path):
    text = FIXED.format(accept=1, demand=5, callout="{mode: phone}").replace(
        "  base: none\n", "  base: none\n  callout: {Taxi cp: {mode: platform}}\n"
    )
    with pytest.raises((ScenarioError, ValidationError)) as err:
        _load(tmp_path, text)
    assert "fleet.callout" in str(err.value) and "Taxi co" in str(err.value)


def test_the_resolved_file_and_key_paths_keep_the_callout(ordos, tmp_path):
    """``scenario.resolved.yaml`` writes a platform operator's call-out (and a phone one not
    at all), so re-running it is the same scenario; a key path into ``fleet.callout`` of an
    operator varies its platform."""
    from sim.keypaths import ScenarioData, parse
    from sim.resolved import scenario_to_file
    from sim.scenario import scenario_from_data

    sc = _load(tmp_path, FIXED.format(accept=1, demand=5, callout=PLATFORM))
    again = scenario_from_data(scenario_to_file(sc), file="r.yaml", name="r")
    assert again.fleet.operators == sc.fleet.operators
    assert again.fleet.operators[0].callout.mode == "platform"
    phone = _load(tmp_path, FIXED.format(accept=1, demand=5, callout="{mode: phone}"), "p")
    assert "callout" not in scenario_to_file(phone)["fleet"]["operators"][0]
    # fleet.callout by name changes only the keys it gives: the operator stays a platform.
    varied = ScenarioData.of(sc).with_values({parse('fleet.callout."Taxi co".batch_size'): 7})
    c = varied.fleet.operators[0].callout
    assert (c.mode, c.batch_size, c.batch_interval_min) == ("platform", 7, 2.0)
    lognormal = PLATFORM.replace("response: 1.5", "response: {lognormal: {median: 3, sigma: 1}}")
    sc = _load(tmp_path, FIXED.format(accept=1, demand=5, callout=lognormal), "l")
    path = parse('fleet.callout."Taxi co".response.lognormal.median')
    c = ScenarioData.of(sc).with_values({path: 4.0}).fleet.operators[0].callout
    assert c.mode == "platform" and c.response.kind == "lognormal"
    assert (c.response.value, c.response.sigma) == pytest.approx((4.0, 1.0))


def test_batches_go_by_rank_across_the_platforms_of_a_class(ordos, tmp_path):
    """Two platform operators, the near taxis' and the far taxis', batches of 5 every 2 min,
    nobody accepting: the far operator's drivers (ranks 10-19 of the class) are pushed in
    batches 2 and 3, at 5 + 4 and 5 + 6, not at the alert with the near ones."""
    callout = "{mode: platform, batch_size: 5, batch_interval_min: 2, response: 1}"
    text = FIXED.format(accept=0, demand=5, callout=callout)
    text = text.replace(
        "  depots:\n",
        f"    - {{name: Far co, vehicle_class: taxi, dispatchers: 1, callout: {callout}}}\n"
        "  depots:\n",
    ).replace("operators: {taxi: Taxi co}}\n  ", "operators: {taxi: Far co}}\n  ")
    text = text.replace(
        "{name: far, location: Dongsheng, vehicles: {taxi: 10}, operators: {taxi: Taxi co}}",
        "{name: far, location: Dongsheng, vehicles: {taxi: 10}, operators: {taxi: Far co}}",
    )
    result = run(_load(tmp_path, text, "two"), network=ordos, log_vehicles=True)
    rows = [r for r in csv.DictReader(io.StringIO(vehicles_csv(result)))]
    for rep in ("0", "1"):
        got = [r for r in rows if r["replication"] == rep]
        assert len(got) == 20
        near = sorted(float(r["called_min"]) for r in got if r["depot_name"] == "near taxi")
        far = sorted(float(r["called_min"]) for r in got if r["depot_name"] == "far taxi")
        assert near == pytest.approx([5] * 5 + [7] * 5)
        assert far == pytest.approx([9] * 5 + [11] * 5)
