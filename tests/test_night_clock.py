"""Night by the clock (issue 14): reach goes by the clock time of each call, mobilisation by
the clock time of each acceptance; the night's boundaries are a scenario key."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.experiment import run
from sim.outputs import vehicles_csv
from sim.scenario import load_scenario

#: 10 taxis at Kangbashi, one operator with one dispatcher; fixed times.
FIXED = """
name: clock
start: "{start}"
{night}
dispatch: {{alert: {alert}, over_request: 1.0}}
weather: {{trip_time_spread: 0, trip_time_median: 1}}
staging: {{lanes: 50, service: 1}}
vehicle_classes:
  taxi: {{availability: 1, reach_day: {reach_day}, reach_night: {reach_night}, accept: 1,
          call: {call}, mobilisation_day: 5, mobilisation_night: 50}}
fleet:
  base: none
  operators: [{{name: Taxi co, vehicle_class: taxi, dispatchers: 1}}]
  depots:
    - {{name: near, location: Kangbashi, vehicles: {{taxi: 10}}, operators: {{taxi: Taxi co}}}}
incidents:
  - {{name: A, location: Kangbashi, demand: {{taxi: {demand}}}}}
replications: 2
"""


def _rows(ordos, tmp_path: Path, **kw) -> list[dict[str, str]]:
    values = {"night": "", "alert": 30, "reach_day": 1, "reach_night": 1, "call": 2}
    values |= {"demand": 4} | kw
    path = tmp_path / "clock.yaml"
    path.write_text(FIXED.format(**values), encoding="utf-8")
    result = run(load_scenario(path), network=ordos, log_vehicles=True)
    return [r for r in csv.DictReader(io.StringIO(vehicles_csv(result))) if r["replication"] == "0"]


def test_an_alarm_at_21_50_with_a_30_min_alert_uses_night_reach(ordos, tmp_path):
    """Day reach 1, night reach 0. Alarmed at 21:50, the calls go out from 22:20: nobody
    answers (every call unreachable). The same alarm at 21:00 calls at 21:30: all answer."""
    night = _rows(ordos, tmp_path, start="21:50", reach_night=0, demand=2)
    assert len(night) == 10 and {r["outcome"] for r in night} == {"unreachable"}
    assert min(float(r["called_min"]) for r in night) == pytest.approx(30.0)
    day = _rows(ordos, tmp_path, start="21:00", reach_night=0, demand=2)
    assert len(day) == 2 and {r["outcome"] for r in day} == {"assembled"}


def test_reach_goes_by_each_calls_clock_and_mobilisation_by_the_acceptance(ordos, tmp_path):
    """Alarm 21:20, alert 30: calls of 4 min start at 21:50, 21:54, 21:58, 22:02 (one
    dispatcher), accepted at 21:54, 21:58, 22:02, 22:06: the first two mobilise in the day's
    5 min, the last two in the night's 50 (the third call started by day, so it was answered
    with the day's reach, and was accepted at 22:02, by night)."""
    rows = _rows(ordos, tmp_path, start="21:20", call=4)
    rows.sort(key=lambda r: float(r["accepted_min"]))
    assert [float(r["called_min"]) for r in rows] == pytest.approx([30, 34, 38, 42])
    assert [float(r["accepted_min"]) for r in rows] == pytest.approx([34, 38, 42, 46])
    assert [float(r["mobilisation"]) for r in rows] == pytest.approx([5, 5, 50, 50])


def test_the_night_boundaries_are_a_scenario_key(ordos, tmp_path):
    """With the night from 23:00, the 21:50 alarm's calls at 22:20 are by day."""
    rows = _rows(ordos, tmp_path, start="21:50", reach_night=0, demand=2,
                 night='night: {start: "23:00", end: "05:00"}')  # fmt: skip
    assert len(rows) == 2 and {r["outcome"] for r in rows} == {"assembled"}
    with pytest.raises(ScenarioError, match=r"clock\.yaml.*night\.start"):
        _rows(ordos, tmp_path, start="21:50", night='night: {start: "25:00"}')
