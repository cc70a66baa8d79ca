"""fleetsim: emergency fleet assembly on real road graphs.

The analyst API (README, "Analysts: notebooks and the Python API"; :mod:`sim.api`)::

    import sim

    scenario = sim.load_scenario("scenarios/ordos-123.yaml")
    result = sim.run(scenario, reps=200, log_vehicles=True)
    result.summary                          # the JSON contract of `fleetsim run --json`
    result.to_dataframe("incidents")        # one row per incident per replication
    result.to_dataframe("vehicles")         # one row per called vehicle per replication
    sites = sim.sweep(scenario, sites="grid:30", reps=100)   # one row per site
    diff = sim.compare("scenarios/ordos-123.yaml", "scenarios/winter-storm.yaml", reps=200)
    saved = sim.read_results("results/ordos-123")            # a `--out` folder
    sim.write_report("results/ordos-123")                    # its report.html, rewritten

``import sim`` is light: each name imports its module on first use. The modules behind
``sim.sweep``, ``sim.compare`` and ``sim.sensitivity`` are :mod:`sim.sweeps`,
:mod:`sim.comparison` and :mod:`sim.sensitivities` (named apart so that importing them never
shadows the functions).
"""

from __future__ import annotations

import importlib
from typing import Any

from sim.errors import FleetsimError, NetworkError, ScenarioError, ValidationError

__version__ = "0.1.0"

#: Public name → the module that defines it, imported on first use.
_LAZY: dict[str, str] = {
    "load_scenario": "sim.scenario",
    "run": "sim.api",
    "sweep": "sim.api",
    "compare": "sim.api",
    "sensitivity": "sim.api",
    "read_results": "sim.saved",
    "Results": "sim.saved",
    "write_report": "sim.report",
    "RunResult": "sim.experiment",
    "Comparison": "sim.comparison",
    "Scenario": "sim.scenario",
    "Incident": "sim.scenario",
    "Fleet": "sim.fleet",
}

__all__ = [
    "Comparison",
    "Fleet",
    "FleetsimError",
    "Incident",
    "NetworkError",
    "Results",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "ValidationError",
    "__version__",
    "compare",
    "load_scenario",
    "read_results",
    "run",
    "sensitivity",
    "sweep",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
