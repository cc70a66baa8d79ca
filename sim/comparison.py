"""Compare two scenario variants with common random numbers.

Both variants are run with the same seed and replication count. An incident's random streams
are keyed by its name and replication (:func:`sim.experiment.replication_seed`) and every
vehicle's draws by its identity (depot, class, index within the depot;
:func:`sim.plan.vehicle_keys`), so the same incident in A and B sees the same draws for the
same vehicle, also when B adds or removes vehicles: the differences B − A are paired,
replication by replication, and much sharper than the difference of two independent
estimates. Incidents are matched by name; unmatched ones are
listed.

Per matched incident:

* **ΔP(holds)**: the mean of the per-replication differences of the indicator "target held"
  (B − A), with a 95 % interval from the paired normal approximation
  ``mean ± z · sd / sqrt(n)`` (clipped to [−1, 1]); exactly 0 with zero width when the
  indicators agree in every replication.
* **Δp90**: p90 completion of B minus p90 of A, with a 95 % paired-bootstrap percentile
  interval (:func:`scipy.stats.bootstrap` with ``paired=True``: the same resampled
  replications for A and B, a NumPy generator seeded from the seed and the incident name);
  exactly 0 with zero width when the completion times agree in every replication. ``None``
  where a p90 is "never" (the target was missed for good in more than 10 % of the
  replications).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.experiment import RunResult, check_reps_seed, incident_key, run
from sim.netload import load_network
from sim.network import RoadNetwork
from sim.plan import IncidentPlan
from sim.results import quantile
from sim.scenario import Scenario
from sim.texttables import new_table, render, right

#: Bootstrap resamples for the Δp90 interval.
BOOTSTRAP = 2000


@dataclass
class Comparison:
    """The outcome of :func:`compare`.

    Attributes
    ----------
    a, b : RunResult
        The two runs (same seed and replications).
    incidents : list of dict
        One entry per matched incident, in A's order (see :func:`paired_difference`).
    only_in_a, only_in_b : list of str
        Incident names found in one variant only.
    """

    a: RunResult
    b: RunResult
    incidents: list[dict[str, Any]]
    only_in_a: list[str]
    only_in_b: list[str]

    @property
    def paired(self) -> dict[str, Any]:
        """What the comparison paired: incidents by name, replications by index, vehicles by
        identity (counts of vehicles common to both fleets and found in one only)."""
        ka = set(self.a.scenario.fleet.vehicle_keys().tolist())
        kb = set(self.b.scenario.fleet.vehicle_keys().tolist())
        return {
            "incidents": "by name",
            "replications": f"0..{self.a.replications - 1} with seed {self.a.seed}",
            "vehicles": "by identity (depot, class, index within the depot)",
            "vehicles_in_both": len(ka & kb),
            "vehicles_only_in_a": len(ka - kb),
            "vehicles_only_in_b": len(kb - ka),
        }

    def to_json(self) -> dict[str, Any]:
        """Return the JSON-ready comparison."""
        from sim import __version__

        return {
            "a": self.a.scenario.name,
            "b": self.b.scenario.name,
            "seed": self.a.seed,
            "replications": self.a.replications,
            "fleetsim_version": __version__,
            "paired": self.paired,
            "incidents": self.incidents,
            "only_in_a": self.only_in_a,
            "only_in_b": self.only_in_b,
        }

    def to_dataframe(self) -> Any:
        """Return the paired differences as a ``pandas.DataFrame``, one row per incident.

        Columns: ``a`` and ``b`` (the scenario names), ``incident``, the tiers and deadlines
        of both, ``p_met_a``, ``p_met_b``, ``delta_p_met`` with ``delta_p_met_ci95_low`` /
        ``_high``, ``p90_a``, ``p90_b`` (minutes), ``delta_p90`` with ``delta_p90_ci95_low`` /
        ``_high`` (``NaN`` where a p90 is "never").
        """
        import pandas as pd

        rows = []
        for r in self.incidents:
            row: dict[str, Any] = {"a": self.a.scenario.name, "b": self.b.scenario.name}
            for key, value in r.items():
                if key.endswith("_ci95"):
                    row[f"{key}_low"], row[f"{key}_high"] = value
                else:
                    row["incident" if key == "name" else key] = value
            rows.append(row)
        df = pd.DataFrame(rows)
        numeric = [c for c in df.columns if c.startswith(("p_met", "delta", "p90", "deadline"))]
        df[numeric] = df[numeric].astype("float64")
        return df


def _r(x: float | None, nd: int = 4) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), nd) + 0.0  # + 0.0 turns -0.0 into 0.0


def _p90(values: np.ndarray, axis: int | None = None) -> np.ndarray:
    """p90 as in :func:`sim.results.completion_stats`; ``inf`` when it falls on "never"."""
    return quantile(values, 0.9, axis=axis)


def paired_difference(
    name: str,
    met_a: np.ndarray,
    met_b: np.ndarray,
    completion_a: np.ndarray,
    completion_b: np.ndarray,
    *,
    seed: int,
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP,
) -> dict[str, Any]:
    """Paired differences B − A of P(holds) and of p90 completion for one incident.

    Parameters
    ----------
    name
        Incident name (keys the bootstrap RNG together with ``seed``).
    met_a, met_b
        Per-replication indicators "target held" (same replications, same order).
    completion_a, completion_b
        Per-replication completion minutes (``inf`` = never).
    seed
        Root seed of the bootstrap RNG.
    confidence
        Two-sided level of both intervals.
    resamples
        Bootstrap resamples.

    Returns
    -------
    dict
        ``p_met_a, p_met_b, delta_p_met, delta_p_met_ci95, p90_a, p90_b, delta_p90,
        delta_p90_ci95`` (minutes; ``None`` where undefined).
    """
    ia = np.asarray(met_a, dtype=np.float64)
    ib = np.asarray(met_b, dtype=np.float64)
    ca = np.asarray(completion_a, dtype=np.float64)
    cb = np.asarray(completion_b, dtype=np.float64)
    from scipy.stats import norm  # scipy.stats takes ~1 s to import: only when comparing

    n = ia.size
    z = float(norm.ppf(0.5 + confidence / 2))
    d = ib - ia
    mean = float(d.mean())
    if np.all(d == 0):
        p_ci = [0.0, 0.0]
    elif n < 2:
        p_ci = [-1.0, 1.0]
    else:
        half = z * float(d.std(ddof=1)) / math.sqrt(n)
        p_ci = [max(-1.0, mean - half), min(1.0, mean + half)]

    pa, pb = float(_p90(ca)), float(_p90(cb))
    if np.array_equal(ca, cb):
        dp90: float | None = 0.0
        dp90_ci: list[float | None] = [0.0, 0.0]
    elif not (math.isfinite(pa) and math.isfinite(pb)):
        dp90, dp90_ci = None, [None, None]
    else:
        dp90 = pb - pa
        dp90_ci = _p90_interval(
            ca, cb, seed=seed, name=name, confidence=confidence, resamples=resamples
        )
    return {
        "p_met_a": _r(float(ia.mean())),
        "p_met_b": _r(float(ib.mean())),
        "delta_p_met": _r(mean),
        "delta_p_met_ci95": [_r(p_ci[0]), _r(p_ci[1])],
        "p90_a": _r(pa),
        "p90_b": _r(pb),
        "delta_p90": _r(dp90),
        "delta_p90_ci95": [_r(x) for x in dp90_ci],
    }


def _p90_interval(
    ca: np.ndarray, cb: np.ndarray, *, seed: int, name: str, confidence: float, resamples: int
) -> list[float | None]:
    """Paired-bootstrap percentile interval of p90(B) − p90(A) (:func:`scipy.stats.bootstrap`).

    ``[None, None]`` when it is undefined: fewer than two replications, or a resample where
    both p90 are "never" (the difference has no value there).
    """
    if ca.size < 2:
        return [None, None]
    from scipy.stats import bootstrap  # scipy.stats takes ~1 s to import: only when comparing

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(incident_key(name),)))

    def delta(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return _p90(b, axis=axis) - _p90(a, axis=axis)

    # A resample may put p90 on "never": the difference is then ±inf, or nan where both are
    # "never"; scipy warns about those values, which are handled below instead.
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = bootstrap(
            (ca, cb),
            delta,
            paired=True,
            vectorized=True,
            n_resamples=resamples,
            confidence_level=confidence,
            method="percentile",
            rng=rng,
        )
    if np.isnan(res.bootstrap_distribution).any():
        return [None, None]
    return [float(res.confidence_interval.low), float(res.confidence_interval.high)]


def compare(
    a: Scenario,
    b: Scenario,
    *,
    network: RoadNetwork | None = None,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    scheduler: Any = None,
    before: Callable[[Sequence[IncidentPlan], int], None] | None = None,
) -> Comparison:
    """Run two scenario variants with common random numbers and pair their results.

    Parameters
    ----------
    a, b
        The variants; B − A is reported.
    network
        A loaded network (without closures) used for both, each with its own speed profiles
        and closures; by default each scenario's own network (loaded once when both name
        the same).
    replications, seed
        Override A's replication count and seed; B uses the same values.
    workers
        Local processes (1 = serial); results are identical for any value.
    progress
        Called with the number of replications just finished.
    scheduler
        A Dask scheduler address or ``distributed.Client``: run on that cluster instead of
        local processes (:func:`sim.experiment.run_plans`); results are identical.
    before
        Called once, before anything is simulated, with A's plans and twice the replication
        count (B's work is about the same): the command line estimates the run time there.

    Returns
    -------
    Comparison
        Per matched incident the paired differences, and the unmatched incidents.
    """
    reps, s = check_reps_seed(a, replications, seed)
    if network is None:
        network = load_network(a.network)
        base_b = network if b.network == a.network else load_network(b.network)
    else:
        base_b = network
    names_b = {i.name for i in b.incidents}
    names_a = {i.name for i in a.incidents}
    opts: dict[str, Any] = {"workers": workers, "progress": progress, "scheduler": scheduler}
    twice = None if before is None else (lambda plans, n: before(plans, 2 * n))
    ra = run(a, network=network, replications=reps, seed=s, before=twice, **opts)
    rb = run(b, network=base_b, replications=reps, seed=s, **opts)
    by_b = {p.name: (p, r) for p, r in zip(rb.plans, rb.results, strict=True)}
    rows = []
    for plan_a, res_a in zip(ra.plans, ra.results, strict=True):
        if plan_a.name not in by_b:
            continue
        plan_b, res_b = by_b[plan_a.name]
        ca = np.array([r.completion_min for r in res_a])
        cb = np.array([r.completion_min for r in res_b])
        row: dict[str, Any] = {
            "name": plan_a.name,
            "tier_a": plan_a.tier,
            "tier_b": plan_b.tier,
            "deadline_a": plan_a.deadline_min,
            "deadline_b": plan_b.deadline_min,
        }
        row.update(
            paired_difference(
                plan_a.name, ca <= plan_a.deadline_min, cb <= plan_b.deadline_min, ca, cb, seed=s
            )
        )
        rows.append(row)
    return Comparison(
        a=ra,
        b=rb,
        incidents=rows,
        only_in_a=[i.name for i in a.incidents if i.name not in names_b],
        only_in_b=[i.name for i in b.incidents if i.name not in names_a],
    )


def _num(x: float | None, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def _paired_line(p: dict[str, Any]) -> str:
    line = f"paired: incidents by name, vehicles by identity ({p['vehicles_in_both']:,} in both"
    extra = [
        f"{p[k]:,} only in {side}"
        for k, side in (("vehicles_only_in_a", "A"), ("vehicles_only_in_b", "B"))
        if p[k]
    ]
    return line + "".join(f", {e}" for e in extra) + ")"


def comparison_table(c: Comparison, *, ascii_only: bool = False) -> str:
    """Render a comparison as a text table (one row per matched incident).

    Parameters
    ----------
    c
        The comparison.
    ascii_only
        ASCII characters only (:func:`sim.texttables.render`).
    """
    table = new_table(
        "incident",
        right("P(A)"),
        right("P(B)"),
        right("ΔP(holds)"),
        right("95% CI"),
        right("p90 A"),
        right("p90 B"),
        right("Δp90"),
        right("95% CI"),
    )
    notes = [_paired_line(c.paired)]
    for r in c.incidents:
        lo, hi = r["delta_p_met_ci95"]
        table.add_row(
            r["name"],
            f"{r['p_met_a']:.3f}",
            f"{r['p_met_b']:.3f}",
            f"{r['delta_p_met']:+.3f}",
            f"[{lo:+.3f},{hi:+.3f}]",
            _num(r["p90_a"], ".1f"),
            _num(r["p90_b"], ".1f"),
            _num(r["delta_p90"], "+.1f"),
            "[{},{}]".format(*(_num(x, "+.1f") for x in r["delta_p90_ci95"])),
        )
        if r["tier_a"] != r["tier_b"] or r["deadline_a"] != r["deadline_b"]:
            notes.append(
                f"note: {r['name']}: tier/deadline differ: A {r['tier_a']} "
                f"{r['deadline_a']:g} min, B {r['tier_b']} {r['deadline_b']:g} min"
            )
    for label, names in (("only in A", c.only_in_a), ("only in B", c.only_in_b)):
        if names:
            notes.append(f"{label}: {', '.join(names)}")
    if not c.incidents:
        notes.append("(no incident name is common to A and B)")
    return render(
        f"B − A: {c.b.scenario.name} − {c.a.scenario.name} · seed {c.a.seed} · "
        f"{c.a.replications} replications, common random numbers",
        table,
        *notes,
        "(ΔP: paired normal interval; Δp90: paired bootstrap, minutes; n/a: p90 never)",
        ascii_only=ascii_only,
    )


__all__ = ["BOOTSTRAP", "Comparison", "compare", "comparison_table", "paired_difference"]
