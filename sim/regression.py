"""Regression guard on response times: baselines of the canonical scenarios and a check.

A baseline (``regression/baselines/<scenario>.json``) stores, for every incident of one
canonical scenario (a file in ``scenarios/``), P(target holds), the p50/p90/p95 completion
time and every class's p90 completion time, together with the seed, the replication count,
the fleetsim version and a tolerance per metric. :func:`check` runs the scenario again with
the same seed and replications and compares.

Two modes, because there are two reasons for numbers to move:

``exact`` (default)
    Same scenario, same seed: the run is deterministic, so any change of the model, the
    network or the defaults shows up. A metric fails when it is *worse* than the baseline by
    more than its tolerance (P(holds) lower, a completion time longer). The tolerances are
    small: they only absorb float noise and deliberate refactors that keep the draws.
``statistical`` (``--statistical``)
    For a refactor that changes how random numbers are used (other draws, same model): the
    new run is a fresh sample, and so was the baseline. The baseline therefore also stores its
    per-replication completion times, and each metric is tested as a two-sample question: a
    seeded bootstrap of both samples gives an interval for (new − baseline); the metric is
    WORSE only when the whole interval lies on the worse side of zero. The intervals are
    Bonferroni-adjusted so that an unchanged model passes a whole scenario with at least 95 %
    probability (each of its *m* metrics at level 1 − 0.05/*m*). This tests "same
    distribution", not "same numbers"; a real slowdown still moves the interval off zero.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.stats import bootstrap

from sim.errors import ValidationError
from sim.results import quantile
from sim.texttables import new_table, render, right

#: Tolerances per metric kind: P(holds) may drop by ``p_met`` (absolute); a completion time
#: may grow by ``rel`` × baseline + ``abs_min`` minutes.
DEFAULT_TOLERANCE: dict[str, float] = {"p_met": 0.005, "rel": 0.005, "abs_min": 0.05}
BOOTSTRAP_SAMPLES = 2000
FAMILY_ALPHA = 0.05
BOOTSTRAP_SEED = 20220630
FORMAT = 1


@dataclass(frozen=True)
class MetricCheck:
    """One line of the check: a metric, its baseline and new value, and the verdict."""

    scenario: str
    incident: str
    metric: str
    baseline: float | None
    now: float | None
    tolerance: str
    status: str  # "ok", "better" or "WORSE"

    @property
    def delta(self) -> float | None:
        """``now - baseline`` (``None`` where one side is infinite)."""
        if self.baseline is None or self.now is None:
            return None
        return self.now - self.baseline


def _num(x: float) -> float | None:
    return None if not math.isfinite(x) else round(float(x), 4)


def _quantile(values: np.ndarray, q: float) -> float:
    return float(quantile(values, q))


def _metrics_of(result: Any) -> dict[str, dict[str, Any]]:
    """Per incident: metric → (value, per-replication completion times it is computed from)."""
    out: dict[str, dict[str, Any]] = {}
    for plan, reps in zip(result.plans, result.results, strict=True):
        deadline = plan.deadline_min
        comp = np.array([r.completion_min for r in reps])
        m: dict[str, Any] = {"p_met": (float(np.mean(comp <= deadline)), comp)}
        for name, q in (("p50_min", 0.5), ("p90_min", 0.9), ("p95_min", 0.95)):
            m[name] = (_quantile(comp, q), comp)
        for cp in plan.classes:
            cls = np.array([r.class_completion_min[cp.vehicle_class] for r in reps])
            m[f"{cp.vehicle_class}.p90_min"] = (_quantile(cls, 0.9), cls)
        out[plan.name] = m
    return out


def _quantile_of(metric: str) -> float:
    return {"p50_min": 0.5, "p90_min": 0.9, "p95_min": 0.95}.get(metric.split(".")[-1], 0.9)


def make_baseline(scenario_path: Path, result: Any, tolerance: dict[str, float]) -> dict:
    """The baseline document of one scenario run (see the module docstring)."""
    from sim import __version__

    metrics = _metrics_of(result)
    incidents = {
        name: {metric: _num(value) for metric, (value, _) in m.items()}
        for name, m in metrics.items()
    }
    # Per-replication completion times (null = never), for the statistical mode.
    samples = {
        name: {
            "deadline_min": plan.deadline_min,
            **{
                _sample_key(metric): [_num(x) for x in arr.tolist()]
                for metric, (_, arr) in m.items()
                if metric in ("p50_min",) or metric.endswith(".p90_min")
            },
        }
        for (name, m), plan in zip(metrics.items(), result.plans, strict=True)
    }
    return {
        "format": FORMAT,
        "scenario": scenario_path.as_posix(),
        "scenario_name": result.scenario.name,
        "seed": result.seed,
        "replications": result.replications,
        "fleetsim_version": __version__,
        "tolerance": dict(tolerance),
        "incidents": incidents,
        "samples": samples,
    }


def _sample_key(metric: str) -> str:
    """The samples a metric is computed from: ``completion`` or ``<class>.completion``."""
    return f"{metric.split('.')[0]}.completion" if "." in metric else "completion"


def _statistic(metric: str, deadline: float) -> Callable[[np.ndarray], np.ndarray]:
    """Vectorised metric over bootstrap resamples (rows)."""
    if metric == "p_met":
        return lambda x: np.mean(x <= deadline, axis=-1)
    q = _quantile_of(metric)
    # "Never" counts as 1e6 minutes here so that differences stay finite.
    return lambda x: np.minimum(quantile(x, q, axis=-1), 1e6)


def _difference_interval(
    new: np.ndarray, old: np.ndarray, stat: Callable[[np.ndarray], np.ndarray], alpha: float
) -> tuple[float, float]:
    """Two-sample bootstrap interval of ``stat(new) - stat(old)`` (seeded, deterministic).

    :func:`scipy.stats.bootstrap` resamples each sample on its own (``paired=False``) and
    returns the percentile interval at level ``1 - alpha``.
    """

    def delta(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return stat(x) - stat(y)

    res = bootstrap(
        (new, old),
        delta,
        vectorized=True,
        n_resamples=BOOTSTRAP_SAMPLES,
        confidence_level=1 - alpha,
        method="percentile",
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def compare_to_baseline(
    baseline: dict, result: Any, *, statistical: bool = False
) -> list[MetricCheck]:
    """Compare a new run of a scenario with its baseline; one line per metric."""
    tol = {**DEFAULT_TOLERANCE, **baseline.get("tolerance", {})}
    now = _metrics_of(result)
    lines: list[MetricCheck] = []
    scen = baseline["scenario"]
    n_metrics = sum(len(m) for m in baseline["incidents"].values())
    alpha = FAMILY_ALPHA / max(1, n_metrics)  # Bonferroni over the scenario's metrics
    for incident, metrics in baseline["incidents"].items():
        current = now.get(incident)
        for metric, base in metrics.items():
            if current is None or metric not in current:
                lines.append(MetricCheck(scen, incident, metric, base, None, "-", "WORSE"))
                continue
            value, samples = current[metric]
            value = math.inf if _num(value) is None else _num(value)  # as stored
            b = math.inf if base is None else float(base)
            if metric == "p_met":
                if statistical:
                    lo, hi = _two_sample(baseline, incident, metric, samples, alpha)
                    status = "WORSE" if hi < 0 else ("better" if lo > 0 else "ok")
                    tol_text = f"Δ[{lo:+.3f},{hi:+.3f}]"
                else:
                    worse = value < b - tol["p_met"]
                    status = "WORSE" if worse else ("better" if value > b else "ok")
                    tol_text = f"-{tol['p_met']:g}"
            else:
                if statistical:
                    lo, hi = _two_sample(baseline, incident, metric, samples, alpha)
                    status = "WORSE" if lo > 0 else ("better" if hi < 0 else "ok")
                    tol_text = f"Δ[{lo:+.1f},{hi:+.1f}]"
                else:
                    limit = b + tol["rel"] * (b if math.isfinite(b) else 0) + tol["abs_min"]
                    worse = value > limit and not (math.isinf(b) and math.isinf(value))
                    status = "WORSE" if worse else ("better" if value < b else "ok")
                    tol_text = f"+{tol['rel'] * 100:g}%+{tol['abs_min']:g}"
            lines.append(MetricCheck(scen, incident, metric, base, _num(value), tol_text, status))
    return lines


def _two_sample(
    baseline: dict, incident: str, metric: str, new: np.ndarray, alpha: float
) -> tuple[float, float]:
    stored = baseline.get("samples", {}).get(incident)
    if stored is None or _sample_key(metric) not in stored:
        raise ValidationError(
            f"baseline {baseline['scenario']}: no samples for {incident}/{metric}; the "
            "statistical check needs baselines written by this version (`check --update`)"
        )
    old = np.array([math.inf if x is None else x for x in stored[_sample_key(metric)]])
    stat = _statistic(metric, float(stored["deadline_min"]))
    return _difference_interval(new, old, stat, alpha)


def _overlaid(scenario: Path, overlay: Path | None, tmp: Path) -> Path:
    """The scenario with ``overlay`` (a scenario-file fragment) deep-merged over it."""
    if overlay is None:
        return scenario
    data = yaml.safe_load(overlay.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValidationError(f"{overlay}: an overlay is a mapping of scenario keys")
    base_name = yaml.safe_load(scenario.read_text(encoding="utf-8")).get("name", scenario.stem)
    # The overlay's own `extends` (a `fleetsim plan` plan.yaml names the scenario it was made
    # for) gives way: the overlay is merged over the scenario checked.
    data = {k: v for k, v in data.items() if k != "extends"}
    data = {"extends": str(scenario.resolve()), "name": base_name, **data}
    out = tmp / scenario.name
    out.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return out


def baseline_path(baselines: Path, scenario: Path) -> Path:
    """Where the baseline of ``scenario`` lives."""
    return baselines / f"{scenario.stem}.json"


def check(
    scenarios: Sequence[Path],
    baselines: Path,
    *,
    update: bool = False,
    statistical: bool = False,
    overlay: Path | None = None,
    workers: int = 1,
    replications: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[MetricCheck]:
    """Run every scenario with its baseline's seed and replications, and compare.

    Parameters
    ----------
    scenarios
        Scenario files.
    baselines
        The folder of baseline files.
    update
        Rewrite the baselines from this run instead of comparing.
    statistical
        Use the statistical criterion (module docstring) instead of the exact one.
    overlay
        A scenario-file fragment merged over every scenario (for what-ifs and mutation tests).
    workers
        Local processes per run.
    replications
        With ``update``: replications per incident for the new baselines (default: the
        scenario's own). A check always reuses the baseline's count and seed.
    progress
        Called with each scenario's name before it runs.

    Returns
    -------
    list of MetricCheck
        One line per metric (empty with ``update``).

    Raises
    ------
    ValidationError
        If a baseline is missing (run with ``update``) or a scenario does not load.
    """
    from sim.experiment import run
    from sim.scenario import load_scenario_with_network

    lines: list[MetricCheck] = []
    with tempfile.TemporaryDirectory(prefix="fleetsim-check-") as tmp:
        for path in scenarios:
            target = baseline_path(baselines, path)
            base = None
            if not update:
                if not target.is_file():
                    raise ValidationError(
                        f"no baseline for {path} (expected {target}); create it with "
                        "`fleetsim check --update`"
                    )
                base = json.loads(target.read_text(encoding="utf-8"))
            if progress:
                progress(path.name)
            scenario, network = load_scenario_with_network(_overlaid(path, overlay, Path(tmp)))
            result = run(
                scenario,
                network=network,
                workers=workers,
                replications=replications if base is None else base["replications"],
                seed=None if base is None else base["seed"],
            )
            if update:
                tol = DEFAULT_TOLERANCE
                if target.is_file():
                    tol = json.loads(target.read_text(encoding="utf-8")).get("tolerance", tol)
                doc = make_baseline(path, result, tol)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", "utf-8")
                continue
            lines.extend(compare_to_baseline(base, result, statistical=statistical))
    return lines


def format_report(lines: Iterable[MetricCheck], *, ascii_only: bool = False) -> str:
    """The check table: one line per metric with baseline, now, delta and tolerance.

    Parameters
    ----------
    lines
        The metric checks (:func:`check`).
    ascii_only
        ASCII characters only (:func:`sim.texttables.render`).
    """

    def f(x: float | None, spec: str) -> str:
        return "never" if x is None else format(x, spec)

    rows = list(lines)
    table = new_table(
        "scenario",
        "incident",
        "metric",
        right("baseline"),
        right("now"),
        right("delta"),
        "tolerance",
        "status",
    )
    for r in rows:
        spec = ".3f" if r.metric == "p_met" else ".2f"
        table.add_row(
            Path(r.scenario).stem,
            r.incident,
            r.metric,
            f(r.baseline, spec),
            f(r.now, spec),
            f(r.delta, "+" + spec),
            r.tolerance,
            r.status,
        )
    worse = [r for r in rows if r.status == "WORSE"]
    total = f"{len(rows)} metrics, {len(worse)} worse than tolerance" + (
        ": " + ", ".join(f"{Path(r.scenario).stem}/{r.incident}/{r.metric}" for r in worse)
        if worse
        else ""
    )
    return render(table, total, ascii_only=ascii_only)
