"""The cheapest set of lever units that makes the targets hold, chosen by simulation, verified.

:func:`plan_levers` answers "what should we change, at what cost" for a scenario and a levers
file (:mod:`sim.levers`):

1. **Target.** P(holds) >= ``target`` (default 0.95) for every incident of the scenario, or,
   with ``sites``, at a ``share`` (default 1: every site) of the sites of each tier of a site
   set (``seats``, ``nodes``, ``grid:KM``): a tier of n sites is met when ``ceil(share × n)``
   of them hold (:func:`share_needed`). Each site takes the demand of the scenario's incident
   of its tier (the first incident's for a tier the scenario has none of, with a note), or of
   ``incident`` at every site, exactly as ``fleetsim sweep`` places it
   (:func:`sim.sweeps.templates`).
2. **Training** on the *training seed* (the scenario's seed + :data:`TRAIN_SEED_OFFSET`) with
   ``train_reps`` replications: every candidate plan is simulated with the same seed, so plans
   see the same draws for the same vehicles (common random numbers) and differences between
   plans are the plans' own. The measure minimised is the *shortfall* (:class:`Goal`): per
   tier, the sum of ``max(0, target - P(holds))`` over the sites its share needs, the ones
   closest to the target (with a share of 1, every site): the hardest sites beyond the share
   do not count.
3. **Greedy search.** From the scenario as it is, repeatedly buy the step of one option (one
   operator's dispatchers, one place's vehicles, ...) with the largest fall in shortfall per
   unit of cost, until the target holds at every site on training, the budget is spent, or no
   step helps (steps are then doubled, once per lever range, to cross a plateau). The
   candidates of a step are simulated in parallel, one plan per worker, in the order of their
   last measured gain per cost, until the best beats every last gain not yet re-measured
   (lazy greedy); plans are cached, so no plan is simulated twice at a site.
   Options that do not help even at their full range are screened out first (one
   evaluation each); at a plateau, or when every other option is used up, they are tried
   again (a complement of what was bought). When even doubled steps do not help and a site
   the shortfall counts never holds (P 0: no signal for a single step; :meth:`Goal.stuck`),
   pairs of options that may help only together (:func:`complements`: vehicles of two
   classes at one place, e.g. freight trucks and a hazmat vehicle for a demand of both
   within a banner) are tried: each pair once with both options at their full range (or at
   the largest of 1/8, 1/4 and 1/2 of it within the budget), then the pairs that help at
   the smaller fractions too; the best by fall in shortfall per cost is bought in one step
   and the greedy goes on. Otherwise the search stops (``no_gain``).
4. **Local search.** Remove each chosen option whole if the target still holds; then cut each
   one to the fewest units that keep it (a search by sections, one count per worker); then
   try to replace each chosen option by one step of a cheaper option that helps at all (a
   swap).
5. **Verification** on the held-out seed, the scenario's own, with ``reps`` replications
   (default the scenario's): P(holds) and its 95 % Wilson interval at every site, before and
   after. The plan *meets the target* only if every tier has its share of sites holding on
   the held-out seeds (:meth:`Evaluation.meets`, the count the training goal asks for); the
   sites that fail in a tier short of its share are named, and each tier's count is given.
   When a plan met the target on training but fails on held-out
   seeds, the search is run again from it with a margin (:data:`RETRIES` times at most: a
   training target halfway to 1, then also twice the training replications), and every
   search is reported (:attr:`PlanResult.attempts`).

Sites that already meet the target as they are, and sites *out of reach of every lever*
(:func:`out_of_reach`: their demand cannot be met in time by free-flow travel, or they never
hold with every lever at its maximum), are not simulated in the search: a site's result does
not depend on the other sites (:mod:`sim.sweeps`). The sites met are checked again at the end
of a search, and a site a change made fail joins it when its tier falls short of its share
(the search then goes on). Out-of-reach sites count as sites that do not hold: they stay in
their tier's n, and when the share needs more sites than a tier has within reach, the search
makes all of those hold (:func:`goal_for`). They are verified like the others and named,
with the reason, in the verdict.
6. **Coverage baseline.** The plan a maximal-covering model would buy with the same money
   (:func:`sim.coverage.coverage_plan`: travel time only, no call-out, no queues, solved with
   :func:`scipy.optimize.milp`), verified on the same held-out seeds.

Plans are scenario overlays (:meth:`sim.levers.Levers.overlay`); the verified numbers are
those of ``fleetsim run`` (or ``fleetsim sweep``) of a file that ``extends`` the scenario
with the overlay (``plan.yaml``), with the same seed and replications.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.coverage import coverage_plan
from sim.demand import Basis
from sim.errors import ScenarioError, ValidationError
from sim.executors import check_workers, make_executor
from sim.experiment import ENGINES, check_reps_seed, run
from sim.levers import Levers, Plan
from sim.netload import cached_network
from sim.network import RoadNetwork
from sim.planning import prepare_incident, scenario_network
from sim.results import wilson_interval
from sim.scenario import Incident, Scenario
from sim.sites import SiteChoice, choose_sites
from sim.sweeps import SweepResult, sweep, templates

#: The training seed is the scenario's seed plus this (the held-out seed is the scenario's).
TRAIN_SEED_OFFSET = 1
DEFAULT_TARGET = 0.95
#: Replications per site of every training evaluation (``train_reps``).
DEFAULT_TRAIN_REPS = 40
#: Re-plans with a higher training target after a plan failed on the held-out seeds.
RETRIES = 2
#: A fall in shortfall smaller than this is no gain (float noise).
_EPS = 1e-9


@dataclass(frozen=True)
class Evaluation:
    """P(holds) at every site (or incident) of one plan, from one seed.

    Attributes
    ----------
    names, tiers
        Sites (or incidents) in a fixed order, and their tiers.
    successes
        Replications in which the target held, per site.
    n
        Replications per site.
    """

    names: tuple[str, ...]
    tiers: tuple[str, ...]
    successes: tuple[int, ...]
    n: int

    @property
    def p(self) -> np.ndarray:
        """P(holds) per site."""
        return np.asarray(self.successes, dtype=float) / self.n

    def shortfall(self, target: float) -> float:
        """Sum over sites of ``max(0, target - P(holds))``."""
        return float(np.maximum(0.0, target - self.p).sum())

    def holding(self, target: float) -> np.ndarray:
        """Whether P(holds) >= target, per site."""
        return self.p >= target - _EPS

    def failing(self, target: float) -> list[str]:
        """The sites where P(holds) < target."""
        return [s for s, ok in zip(self.names, self.holding(target), strict=True) if not ok]

    def short_tiers(self, target: float, share: float = 1.0) -> list[str]:
        """The tiers where fewer than ``share_needed(n, share)`` of the n sites hold."""
        return [t for t, row in self.by_tier(target, share).items() if not row["met"]]

    def meets(self, target: float, share: float = 1.0) -> bool:
        """Whether every tier has its share of sites holding (:func:`share_needed`)."""
        return not self.short_tiers(target, share)

    def rows(self, target: float) -> list[dict[str, Any]]:
        """Per site: name, tier, P(holds), its 95 % Wilson interval and whether it meets."""
        out = []
        for name, tier, k in zip(self.names, self.tiers, self.successes, strict=True):
            lo, hi = wilson_interval(k, self.n)
            out.append(
                {
                    "site": name,
                    "tier": tier,
                    "p_met": round(k / self.n, 4),
                    "p_met_ci95": [round(lo, 4), round(hi, 4)],
                    "meets": k / self.n >= target - _EPS,
                }
            )
        return out

    def by_tier(self, target: float, share: float = 1.0) -> dict[str, dict[str, Any]]:
        """Per tier: sites, the worst P(holds), the mean, the sites meeting the target, how
        many must (:func:`share_needed`) and whether they do."""
        out: dict[str, dict[str, Any]] = {}
        p = self.p
        holds = self.holding(target)
        for tier in dict.fromkeys(self.tiers):
            idx = [i for i, t in enumerate(self.tiers) if t == tier]
            worst = min(idx, key=lambda i: (p[i], self.names[i]))
            lo, hi = wilson_interval(self.successes[worst], self.n)
            out[tier] = {
                "sites": len(idx),
                "worst_site": self.names[worst],
                "worst_p_met": round(float(p[worst]), 4),
                "worst_p_met_ci95": [round(lo, 4), round(hi, 4)],
                "mean_p_met": round(float(p[idx].mean()), 4),
                "sites_meeting": int(holds[idx].sum()),
                "needed": share_needed(len(idx), share),
            }
            out[tier]["met"] = out[tier]["sites_meeting"] >= out[tier]["needed"]
        return out


def share_needed(n: int, share: float = 1.0) -> int:
    """How many of a tier's ``n`` sites must hold at a ``share`` of them: ceil(share × n).

    The product is rounded to 9 decimals first, so that a share written in decimals takes
    the ceiling of the exact product (0.6 × 5 is 3, not the float 3.0000000000000004).
    """
    return math.ceil(round(share * n, 9))


@dataclass(frozen=True)
class Goal:
    """What a search must reach: P(holds) >= ``target`` at a share of each tier's sites.

    Built by :func:`goal_for`. The *shortfall* of an evaluation is, per tier, the sum of
    ``max(0, target - P(holds))`` over the ``required[tier]`` evaluated sites closest to the
    target (every evaluated site of a tier not in ``required``), out-of-reach sites
    (``far``) left out. It is 0 exactly when the tier's share is met (as far as it can be);
    the hardest sites beyond the share do not count, so the greedy stops caring for them once
    the share is met. With a share of 1 it is the sum over every site within reach.

    Attributes
    ----------
    target
        P(holds) a site must reach.
    required
        Per tier, how many of the evaluated sites within reach must hold.
    far
        Sites (names) out of reach of every lever: never counted as holding.
    """

    target: float
    required: Mapping[str, int] = field(default_factory=dict)
    far: frozenset[str] = frozenset()

    def _kept(self, ev: Evaluation) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        gap = np.maximum(0.0, self.target - ev.p)
        keep = np.array([name not in self.far for name in ev.names], dtype=bool)
        missing: dict[str, int] = {}
        for tier in dict.fromkeys(ev.tiers):
            if tier not in self.required:
                continue
            idx = [i for i, t in enumerate(ev.tiers) if t == tier and keep[i]]
            k = self.required[tier]
            keep[sorted(idx, key=lambda i: (gap[i], i))[k:]] = False
            missing[tier] = max(0, k - len(idx))
        return gap, keep, missing

    def shortfall(self, ev: Evaluation) -> float:
        """The training measure the search brings to 0 (see the class)."""
        gap, keep, missing = self._kept(ev)
        return float(gap[keep].sum()) + self.target * sum(missing.values())

    def lacking(self, ev: Evaluation) -> list[int]:
        """The sites (positions in ``ev``) the shortfall counts that are below the target."""
        gap, keep, _ = self._kept(ev)
        return [int(i) for i in np.flatnonzero(keep & (gap > _EPS))]

    def stuck(self, ev: Evaluation) -> bool:
        """Whether a site the shortfall counts never holds in ``ev`` (P(holds) 0).

        Such a site gives a single step no signal: only there does :func:`greedy` try pairs.
        """
        return any(ev.p[i] <= _EPS for i in self.lacking(ev))

    def short(self, ev: Evaluation) -> list[str]:
        """The tiers whose share is not met in ``ev`` (a positive shortfall)."""
        gap, keep, missing = self._kept(ev)
        tiers = np.asarray(ev.tiers, dtype=object)
        return [
            t
            for t in dict.fromkeys(ev.tiers)
            if missing.get(t, 0) or gap[keep & (tiers == t)].sum() > _EPS
        ]


def goal_for(
    target: float,
    share: float,
    whole: Evaluation,
    use: Sequence[int],
    far: Mapping[int, str],
) -> Goal:
    """The goal of a search that evaluates the sites ``use`` of the whole site set.

    A tier of n sites needs ``share_needed(n, share)`` sites holding. Out-of-reach sites count
    as sites that do not hold (they stay in n); when the share needs more sites than the tier
    has within reach, the search asks for all of those. Sites not in ``use`` (not simulated
    in the search) count as holding when they hold in ``whole``.

    Parameters
    ----------
    target, share
        P(holds) per site; the share of each tier's sites (0 < share <= 1).
    whole
        One plan's evaluation at every site (in site order).
    use
        The sites (indices) the search evaluates.
    far
        The sites (indices) out of reach of every lever.
    """
    inside = set(use)
    holds = whole.holding(target)
    required: dict[str, int] = {}
    for tier in dict.fromkeys(whole.tiers):
        idx = [i for i, t in enumerate(whole.tiers) if t == tier]
        within = [i for i in idx if i not in far]
        held = sum(1 for i in within if i not in inside and holds[i])
        required[tier] = max(0, min(share_needed(len(idx), share), len(within)) - held)
    return Goal(target, required, frozenset(whole.names[i] for i in far))


def evaluate(
    scenario: Scenario,
    sites: SiteChoice | None,
    incident: str | None,
    reps: int,
    seed: int,
    engine: str = "auto",
    workers: int = 1,
) -> tuple[Evaluation, SweepResult | None]:
    """Simulate one (planned) scenario: every incident, or ``incident`` at every site.

    Parameters
    ----------
    scenario
        The scenario (a plan applied).
    sites
        The site set (:func:`sim.sites.choose_sites`), or ``None`` for the scenario's own
        incidents.
    incident
        The incident whose demand every site takes; ``None``: each site that of the
        scenario's incident of its tier (:func:`sim.sweeps.templates`).
    reps, seed
        Replications and root seed.
    engine, workers
        As for :func:`sim.experiment.run`.

    Returns
    -------
    tuple
        The evaluation, and the sweep (``None`` without sites).
    """
    network = cached_network(scenario.network)
    # A plan search is many small evaluations (one site, 40 replications): large as a whole,
    # so ``auto`` takes the batch engine where it runs a plan (its kernels load once a process).
    if sites is None:
        result = run(
            scenario,
            network=network,
            replications=reps,
            seed=seed,
            engine=engine,
            workers=workers,
            large=True,
        )
        incs = result.summary["incidents"]
        return (
            Evaluation(
                tuple(i["name"] for i in incs),
                tuple(i["tier"] for i in incs),
                tuple(round(i["p_met"] * reps) for i in incs),
                reps,
            ),
            None,
        )
    swept = sweep(
        scenario,
        sites,
        network=network,
        incident=incident,
        replications=reps,
        seed=seed,
        engine=engine,
        workers=workers,
        large=True,
        per_tier=incident is None,
    )
    by_name = {r["site"]: r for r in swept.rows}
    rows = [by_name[s.name] for s in sites.sites]
    return (
        Evaluation(
            tuple(r["site"] for r in rows),
            tuple(str(r["tier"]) for r in rows),
            tuple(round(r["p_met"] * reps) for r in rows),
            reps,
        ),
        swept,
    )


def _evaluate_task(
    scenario: Scenario,
    sites: SiteChoice | None,
    incident: str | None,
    reps: int,
    seed: int,
    engine: str,
) -> Evaluation:
    return evaluate(scenario, sites, incident, reps, seed, engine)[0]


# ---------------------------------------------------------------------------------------------
# The search
# ---------------------------------------------------------------------------------------------

PlanKey = tuple[tuple[int, int], ...]


def _key(plan: Plan) -> PlanKey:
    return tuple(sorted((i, n) for i, n in plan.items() if n > 0))


@dataclass
class Trainer:
    """Evaluates plans on the training seed, each site of each plan once, in parallel batches.

    Only the *active* sites are simulated (by default every site): with ``sites``, a site's
    result does not depend on which other sites are simulated (:mod:`sim.sweeps`), so the
    search leaves out the sites that already meet the target and those out of reach of every
    lever, and a plan's result at a site is cached (by plan and site) for later.

    Attributes
    ----------
    incidents
        Without ``sites``: the scenario's incidents.
    separable
        Whether sites may be simulated apart (fleets not shared).
    active
        The sites (indices) simulated and measured; ``None``: every site.
    evaluations
        Plans simulated (each: the active sites not yet known, ``reps`` replications).
    site_runs
        Sites simulated over all evaluations (``site_runs × reps`` replications).
    """

    levers: Levers
    sites: SiteChoice | None
    incident: str | None
    reps: int
    seed: int
    engine: str = "auto"
    workers: int = 1
    scheduler: Any = None
    progress: Callable[[int], None] | None = None
    evaluations: int = 0
    site_runs: int = 0
    incidents: int = 0
    separable: bool = False
    active: tuple[int, ...] | None = None
    invalid: set[PlanKey] = field(default_factory=set)
    #: Options that did not help even at their full range (screened out by :func:`greedy`).
    useless: set[int] = field(default_factory=set)
    cache: dict[PlanKey, dict[int, int]] = field(default_factory=dict)
    names: dict[int, tuple[str, str]] = field(default_factory=dict)

    def _n(self) -> int:
        return len(self.sites.sites) if self.sites is not None else self.incidents

    def subsets(self) -> bool:
        """Whether sites can be simulated apart (a site set, fleets not shared)."""
        return self.sites is not None and self.separable

    def sites_in_use(self) -> tuple[int, ...]:
        """The active sites (every site without a site set)."""
        if self.active is None or not self.subsets():
            return tuple(range(self._n()))
        return self.active

    def many(self, plans: Sequence[Plan]) -> list[Evaluation | None]:
        """The evaluation of every plan at the active sites (``None``: not a valid scenario)."""
        use = self.sites_in_use()
        todo: dict[PlanKey, tuple[Scenario, list[int]]] = {}
        for plan in plans:
            key = _key(plan)
            if key in self.invalid or key in todo:
                continue
            known = self.cache.get(key, {})
            need = [s for s in use if s not in known]
            if not need:
                continue
            if not self.subsets():
                need = list(range(self._n()))
            try:
                todo[key] = (self.levers.scenario(dict(key)), need)
            except ScenarioError:
                self.invalid.add(key)
        if todo:
            tasks = []
            for scenario, need in todo.values():
                choice = self.sites
                if self.sites is not None and self.subsets():
                    choice = dataclasses.replace(
                        self.sites, sites=[self.sites.sites[s] for s in need]
                    )
                tasks.append((scenario, choice, self.incident, self.reps, self.seed, self.engine))
            with make_executor(min(self.workers, len(tasks)), self.scheduler) as ex:
                for (key, (_, need)), ev in zip(
                    todo.items(), ex.map(_evaluate_task, tasks), strict=True
                ):
                    got = self.cache.setdefault(key, {})
                    for s, name, tier, k in zip(
                        need, ev.names, ev.tiers, ev.successes, strict=True
                    ):
                        got[s] = k
                        self.names[s] = (name, tier)
                    self.evaluations += 1
                    self.site_runs += len(need)
                    if self.progress is not None:
                        self.progress(1)
        out: list[Evaluation | None] = []
        for plan in plans:
            key = _key(plan)
            if key in self.invalid:
                out.append(None)
                continue
            got = self.cache[key]
            out.append(
                Evaluation(
                    tuple(self.names[s][0] for s in use),
                    tuple(self.names[s][1] for s in use),
                    tuple(got[s] for s in use),
                    self.reps,
                )
            )
        return out

    def one(self, plan: Plan) -> Evaluation | None:
        """The evaluation of one plan."""
        return self.many([plan])[0]


@dataclass(frozen=True)
class Step:
    """One move of the search: the plan after it, its cost and training evaluation."""

    action: str
    plan: dict[int, int]
    cost: float
    shortfall: float
    evaluation: Evaluation
    gain: float = 0.0


def _room(levers: Levers, plan: Plan, i: int) -> int:
    o = levers.options[i]
    used = sum(n for j, n in plan.items() if levers.options[j].lever == o.lever)
    return max(0, min(o.max_units - plan.get(i, 0), o.group_max - used))


def _with(plan: Plan, i: int, n: int) -> dict[int, int]:
    out = dict(plan)
    out[i] = out.get(i, 0) + n
    if out[i] <= 0:
        del out[i]
    return out


#: A purchase of a pair of options: ``(i, j), (units of i, units of j)``.
_PairTrial = tuple[tuple[int, int], tuple[int, int]]
#: The smaller purchases of a pair of options that helped at full room (:func:`_best_pair`):
#: each option at these fractions of its room, in whole steps.
_PAIR_FRACTIONS = (0.125, 0.25, 0.5)


def complements(levers: Levers, options: Sequence[int]) -> list[tuple[int, int]]:
    """Pairs of options that may help only together: vehicles of two classes at one place.

    A site whose demand asks for two classes at once (freight trucks *and* a hazmat vehicle
    within the banner) gains nothing from either alone; the two options that add them at
    the same place are the pairs the greedy search tries when it is stuck (:func:`greedy`).

    Parameters
    ----------
    levers
        The levers.
    options
        The option positions to pair (each pair once, in this order).

    Returns
    -------
    list of tuple of int
        The pairs ``(i, j)``, ``i`` before ``j`` in ``options``.
    """
    out = []
    for a, i in enumerate(options):
        oi = levers.options[i]
        for j in options[a + 1 :]:
            oj = levers.options[j]
            if (
                oi.kind == oj.kind == "vehicles"
                and oi.target[1] == oj.target[1]
                and oi.target[0] != oj.target[0]
            ):
                out.append((i, j))
    return out


def _pair_units(levers: Levers, i: int, room: int, fraction: float) -> int:
    """Units of option ``i`` at ``fraction`` of its ``room``: whole steps, one at least."""
    step = max(1, levers.options[i].step)
    return min(room, max(step, math.ceil(fraction * room / step) * step))


def _score(gain: float, cost: float, buys: Sequence[tuple[int, int]]) -> tuple[float, ...]:
    """How a step ranks: fall in shortfall per unit of cost, then the larger fall, the lower
    cost, the earlier options and fewer units (so that ties go the same way every run)."""
    return (gain / max(cost, 1e-9), gain, -cost, *(-x for buy in buys for x in buy))


def _step(
    levers: Levers,
    goal: Goal,
    plan: dict[int, int],
    buys: Sequence[tuple[int, int]],
    ev: Evaluation,
    gain: float,
) -> Step:
    """The step that bought ``buys`` (``(option, units)``, one or two) and gave ``plan``."""
    action = " and ".join(f"+{k} {levers.options[i].name}" for i, k in buys)
    return Step(action, plan, levers.cost(plan), goal.shortfall(ev), ev, gain)


def _best_single(
    trainer: Trainer,
    goal: Goal,
    last: Step,
    cands: Sequence[tuple[int, int]],
    bound: dict[int, float],
) -> Step | None:
    """The step of one option with the largest fall in shortfall per unit of cost (lazily).

    The candidates are simulated in the order of their last measured gain per cost, a batch
    (one plan per worker) at a time, until the best so far beats every last gain not yet
    re-measured.

    Parameters
    ----------
    trainer
        Evaluates plans.
    goal
        The goal whose shortfall the step lowers.
    last
        The step grown from (its plan and shortfall).
    cands
        The steps to try: ``(option, units)``.
    bound
        Per option, the last gain per unit of cost measured (unknown: tried first); updated.

    Returns
    -------
    Step or None
        The best step; ``None`` when none lowers the shortfall.
    """
    levers = trainer.levers
    order = sorted(cands, key=lambda c: (-bound.get(c[0], math.inf), c[0]))
    best: tuple[tuple[float, ...], Step] | None = None
    done = 0
    while done < len(order):
        batch = order[done : done + max(2, trainer.workers)]
        done += len(batch)
        plans = [_with(last.plan, i, k) for i, k in batch]
        for (i, k), plan, e in zip(batch, plans, trainer.many(plans), strict=True):
            if e is None:
                bound[i] = 0.0
                continue
            gain = last.shortfall - goal.shortfall(e)
            cost = k * levers.options[i].unit_cost
            bound[i] = max(gain, 0.0) / max(cost, 1e-9)
            if gain <= _EPS:
                continue
            score = _score(gain, cost, [(i, k)])
            if best is None or score > best[0]:
                best = (score, _step(levers, goal, plan, [(i, k)], e, gain))
        if best is not None and done < len(order):
            if best[0][0] >= bound.get(order[done][0], math.inf):
                break
    return None if best is None else best[1]


def _best_pair(
    trainer: Trainer,
    goal: Goal,
    last: Step,
    options: Sequence[int],
    budget: float | None,
) -> Step | None:
    """The best step of two complementary options at once, by fall in shortfall per cost.

    Each pair of ``options`` that :func:`complements` gives is tried once with both options
    at their full room, or, when that is over the budget, at the largest of the fractions
    :data:`_PAIR_FRACTIONS` of it within the budget (one plan per pair, simulated in
    parallel). The pairs that help are then tried at the smaller fractions as well, so that
    a cheaper purchase of the same pair can win by gain per cost.

    Parameters
    ----------
    trainer, goal, last
        As for :func:`_best_single` (the budget counts from ``last``'s cost).
    options
        The options that may be bought (room left, within the budget).
    budget
        The most the plan may cost (``None``: no limit).

    Returns
    -------
    Step or None
        The best pair's step (action ``+K A and +M B``); ``None`` when no pair lowers the
        shortfall within the budget.
    """
    levers = trainer.levers
    # Per pair, the purchases within the budget, smallest first: (units of i, of j) to cost.
    sizes: dict[tuple[int, int], dict[tuple[int, int], float]] = {}
    for i, j in complements(levers, options):
        room_i, room_j = _room(levers, last.plan, i), _room(levers, last.plan, j)
        fits: dict[tuple[int, int], float] = {}
        for fraction in (*_PAIR_FRACTIONS, 1.0):
            k = _pair_units(levers, i, room_i, fraction)
            m = _pair_units(levers, j, room_j, fraction)
            cost = k * levers.options[i].unit_cost + m * levers.options[j].unit_cost
            if budget is None or last.cost + cost <= budget + _EPS:
                fits[(k, m)] = cost
        if fits:
            sizes[(i, j)] = fits

    def helpful(trials: list[_PairTrial]) -> list[tuple[tuple[float, ...], tuple[int, int], Step]]:
        """The trials that lower the shortfall: their score, pair and step."""
        plans = [_with(_with(last.plan, i, k), j, m) for (i, j), (k, m) in trials]
        out = []
        for ((i, j), (k, m)), plan, e in zip(trials, plans, trainer.many(plans), strict=True):
            gain = 0.0 if e is None else last.shortfall - goal.shortfall(e)
            if e is None or gain <= _EPS:
                continue
            buys = [(i, k), (j, m)]
            step = _step(levers, goal, plan, buys, e, gain)
            out.append((_score(gain, sizes[(i, j)][(k, m)], buys), (i, j), step))
        return out

    largest = helpful([(pair, list(fits)[-1]) for pair, fits in sizes.items()])
    smaller = helpful([(pair, km) for _, pair, _ in largest for km in list(sizes[pair])[:-1]])
    if not largest:
        return None
    return max([*largest, *smaller], key=lambda r: r[0])[2]


def greedy(
    trainer: Trainer,
    target: Goal | float,
    budget: float | None,
    start: Plan | None = None,
    *,
    pairs: bool = True,
) -> tuple[list[Step], str]:
    """Buy, step by step, the option with the largest fall in shortfall per unit of cost.

    Options that do not help even at their full range are screened out first and tried again
    at a plateau. At a plateau the steps are doubled (once per lever range); when even that
    does not help and the search is *stuck* (a site the shortfall counts never holds,
    :meth:`Goal.stuck`), pairs of complementary options are tried (:func:`_best_pair`).

    Parameters
    ----------
    trainer
        Evaluates plans (at its active sites).
    target, budget
        The goal (:func:`goal_for`; a number: P(holds) to reach at every active site); the
        most the plan may cost.
    start
        The plan to grow (default: the scenario as it is).
    pairs
        Whether to try pairs of complementary options when stuck; ``False``: one option at a
        time only (the same steps and evaluations as long as the search is not stuck).

    Returns
    -------
    tuple
        The steps (the first is ``start``), and why the search stopped: ``met``, ``budget``,
        ``exhausted`` (no option left) or ``no_gain`` (no step helps, nor, when stuck, a pair).
    """
    levers = trainer.levers
    goal = target if isinstance(target, Goal) else Goal(target)
    plan: dict[int, int] = dict(start or {})
    ev = trainer.one(plan)
    if ev is None:
        raise ValidationError("the scenario itself cannot be evaluated")
    first = "as it is" if not plan else "the plan so far"
    steps = [Step(first, plan, levers.cost(plan), goal.shortfall(ev), ev)]
    size = {i: o.step for i, o in enumerate(levers.options)}
    screened: dict[int, int] = {}
    bound: dict[int, float] = {}  # the last gain per unit of cost measured, per option
    if steps[-1].shortfall > _EPS:
        # Screening: an option that does not help even at its full range is left out.
        full = [_with(plan, i, _room(levers, plan, i)) for i in size]
        for i, e in zip(list(size), trainer.many(full), strict=True):
            if e is None or steps[-1].shortfall - goal.shortfall(e) <= _EPS:
                screened[i] = size.pop(i)
                trainer.useless.add(i)
    while steps[-1].shortfall > _EPS:
        last = steps[-1]
        cands: list[tuple[int, int]] = []
        blocked = capped = False
        for i in size:
            o = levers.options[i]
            k = min(size[i], _room(levers, last.plan, i))
            if k <= 0:
                continue
            if budget is not None and last.cost + k * o.unit_cost > budget + _EPS:
                capped = True
                k = int((budget - last.cost + _EPS) // o.unit_cost) if o.unit_cost > 0 else k
                if o.kind == "over_request":
                    k = 0
                if k <= 0:
                    blocked = True
                    continue
            cands.append((i, k))
        step = _best_single(trainer, goal, last, cands, bound) if cands else None
        if step is None and screened:
            # A plateau, or every other option used up: an option screened out alone may
            # help now, after what was bought (a complement), or with another one.
            size.update(screened)
            screened.clear()
            continue
        if step is None and not cands:
            return steps, "budget" if blocked else "exhausted"
        if step is None:
            grown = False
            for i, _k in cands:
                room = _room(levers, last.plan, i)
                if size[i] < room:
                    size[i] = min(room, size[i] * 2)
                    grown = True
            if grown:
                continue
            if pairs and goal.stuck(last.evaluation):
                step = _best_pair(trainer, goal, last, [i for i, _ in cands], budget)
            if step is None:
                return steps, "budget" if capped else "no_gain"
        steps.append(step)
    return steps, "met"


def refine(
    trainer: Trainer, plan: Mapping[int, int], target: Goal | float
) -> tuple[dict[int, int], Evaluation, list[str]]:
    """Local search on a plan: remove, trim, swap, keeping its training shortfall.

    A plan that meets the target on training keeps meeting it; one that does not (budget,
    levers used up) gets no worse.

    Returns
    -------
    tuple
        The refined plan, its training evaluation, and one line per change made.
    """
    levers = trainer.levers
    aim = target if isinstance(target, Goal) else Goal(target)
    plan = dict(plan)
    ev = trainer.one(plan)
    assert ev is not None
    notes: list[str] = []

    goal = max(aim.shortfall(ev), 0.0) + _EPS  # met: 0; else: no worse than the plan

    def meets(e: Evaluation | None) -> bool:
        return e is not None and aim.shortfall(e) <= goal

    # 1. Remove whole options, the most expensive first (every removal from the plan as it
    # is evaluated at once, in parallel).
    trainer.many([{j: n for j, n in plan.items() if j != i} for i in plan])
    for i in sorted(plan, key=lambda j: -levers.options[j].unit_cost * plan[j]):
        trial = {j: n for j, n in plan.items() if j != i}
        e = trainer.one(trial)
        if meets(e):
            notes.append(f"removed {plan[i]} x {levers.options[i].name}")
            plan, ev = trial, e
    # 2. Trim each option to the fewest units that keep the target: a search by sections,
    # one count per worker at a time (bisection with one worker).
    for i in sorted(plan):
        lo, hi = 0, plan[i]  # hi keeps the target; find the least such count
        while hi - lo > 1:
            w = min(max(1, trainer.workers), hi - lo - 1)
            mids = sorted({lo + (hi - lo) * (m + 1) // (w + 1) for m in range(w)} - {lo, hi})
            evs = trainer.many([{**plan, i: m} for m in mids])
            ok = [(m, e) for m, e in zip(mids, evs, strict=True) if meets(e)]
            if ok:
                hi, ev = ok[0]
            lo = max([lo, *(m for m in mids if m < hi)])
        if hi < plan[i]:
            notes.append(f"{levers.options[i].name}: {plan[i]} -> {hi} units")
            plan[i] = hi
            ev = trainer.one(plan)
    # 3. Swap a chosen option for one step of a cheaper one.
    for i in sorted(plan, key=lambda j: -levers.options[j].unit_cost * plan[j]):
        if i not in plan:
            continue
        cost_i = levers.options[i].unit_cost * plan[i]
        rest = {j: n for j, n in plan.items() if j != i}
        trials = []
        for j, o in enumerate(levers.options):
            if j == i or j in trainer.useless:
                continue
            k = min(o.step, _room(levers, rest, j))
            if k > 0 and k * o.unit_cost < cost_i - _EPS:
                trials.append(_with(rest, j, k))
        if not trials:
            continue
        evs = trainer.many(trials)
        ok = [(levers.cost(t), t, e) for t, e in zip(trials, evs, strict=True) if meets(e)]
        if ok:
            cost, trial, e = min(ok, key=lambda x: x[0])
            notes.append(
                f"swapped {plan[i]} x {levers.options[i].name} for a cheaper option "
                f"(cost {levers.cost(plan):g} -> {cost:g})"
            )
            plan, ev = trial, e
    ev = trainer.one(plan)
    assert ev is not None
    return plan, ev, notes


def max_plan(levers: Levers) -> dict[int, int]:
    """Every option at its full range (in file order, within each lever's own limit)."""
    plan: dict[int, int] = {}
    for i in range(len(levers.options)):
        plan = _with(plan, i, _room(levers, plan, i))
    return plan


def _travel_reason(network: RoadNetwork, scenario: Scenario, incident: Incident) -> str | None:
    """Why ``incident`` cannot be met in time in ``scenario`` by travel alone (``None``: it can).

    A class requested by count is out of reach when fewer of its vehicles in scope than the
    target needs are within the deadline of the site at free-flow driving times.
    """
    try:
        p = prepare_incident(network, scenario, incident)
    except (ValidationError, ScenarioError) as exc:
        return str(exc).replace(f"incident {incident.name!r}: ", "")
    legs = np.array([float(x.sum()) for x in p.depot_legs_min])
    for c in p.classes:
        if c.basis is not Basis.COUNT:
            continue
        need = math.ceil(p.success_fraction * c.requested - 1e-9)
        close = int((legs[p.vehicle_depot[c.candidates]] <= p.deadline_min).sum())
        if close < need:
            return (
                f"{p.tier} tier, {p.deadline_min:g} min: needs {need} {c.vehicle_class}, but only "
                f"{close} of the {c.candidates.size} in scope are within {p.deadline_min:g} min "
                "of free-flow driving (before alert, call-out, mobilisation and queues), even "
                "with every lever at its maximum"
            )
    return None


def out_of_reach(
    trainer: Trainer,
    network: RoadNetwork,
    scenario: Scenario,
    first: Evaluation,
    target: float,
) -> dict[int, str]:
    """The sites (or incidents) no plan can bring to the target, each with the reason.

    A site failing as it is is out of reach when, with every lever at its maximum
    (:func:`max_plan`), its demand cannot be met in time by travel alone
    (:func:`_travel_reason`), or it never held in the training replications. The second test
    needs levers that only add (no ``move_vehicles``: moving vehicles to one place takes them
    from another). The search leaves these sites out; the verification does not.

    Returns
    -------
    dict
        Site (or incident) index to the reason, in words.
    """
    levers = trainer.levers
    failing = tuple(s for s, p in enumerate(first.p) if p < target - _EPS)
    if not failing:
        return {}
    top = max_plan(levers)
    try:
        full = levers.scenario(top)
    except ScenarioError:
        return {}
    net = scenario_network(full, network)
    if trainer.sites is None:
        incidents = list(full.incidents)
    else:
        tmpl = templates(full, trainer.incident, network=net, per_tier=trainer.incident is None)
        incidents = [tmpl.place(full, net, s)[0] for s in trainer.sites.sites]
    out: dict[int, str] = {}
    for s in failing:
        why = _travel_reason(net, full, incidents[s])
        if why is not None:
            out[s] = why
    monotone = all(o.kind != "move_vehicles" for o in levers.options)
    rest = tuple(s for s in failing if s not in out)
    if monotone and rest and trainer.subsets():
        trainer.active = rest
        ev = trainer.one(top)
        if ev is not None:
            for s, k in zip(rest, ev.successes, strict=True):
                if k == 0:
                    out[s] = (
                        f"held in none of {trainer.reps} training replications even with every "
                        f"lever at its maximum (cost {levers.cost(top):g})"
                    )
        trainer.active = None
    return out


def frontier(steps: Sequence[Step]) -> list[Step]:
    """The best plan found at each cost: steps whose shortfall is below every cheaper one's."""
    out: list[Step] = []
    for s in sorted(steps, key=lambda s: (s.cost, s.shortfall)):
        if not out or s.shortfall < out[-1].shortfall - _EPS:
            out.append(s)
    return out


# ---------------------------------------------------------------------------------------------
# The whole plan
# ---------------------------------------------------------------------------------------------


def _listed(sites: Sequence[tuple[str, float]]) -> str:
    """``name P, name P``: sites with their P(holds)."""
    return ", ".join(f"{name} {p:.3f}" for name, p in sites)


@dataclass
class PlanResult:
    """The outcome of :func:`plan_levers` (JSON: :meth:`to_json`)."""

    scenario: Scenario
    levers: Levers
    sites: str | None
    incident: str | None
    target: float
    budget: float | None
    train_seed: int
    train_reps: int
    seed: int
    reps: int
    steps: list[Step]
    stop: str
    plan: dict[int, int]
    train: Evaluation
    refinements: list[str]
    before: Evaluation
    after: Evaluation
    coverage: dict[int, int]
    coverage_info: dict[str, Any]
    coverage_after: Evaluation
    evaluations: int
    seconds: float = 0.0
    #: The plan's changes, each with its marginal gain on training: how much the shortfall
    #: grows and the worst-site P(holds) falls when the change alone is left out.
    gains: list[dict[str, Any]] = field(default_factory=list)
    sweeps: dict[str, SweepResult] = field(default_factory=dict, repr=False)
    #: Sites (or incidents) no plan can bring to the target, with the reason (:func:`out_of_reach`).
    out_of_reach: dict[str, str] = field(default_factory=dict)
    #: One entry per search: its training target, plan, and the sites failing on held-out seeds.
    attempts: list[dict[str, Any]] = field(default_factory=list)
    #: Sites simulated in training (``site_runs × train_reps`` replications).
    site_runs: int = 0
    #: The share of each tier's sites that must hold (with ``sites``; :func:`share_needed`).
    share: float = 1.0
    #: With ``sites``: per tier, the incident whose demand its sites took.
    demand: dict[str, str] = field(default_factory=dict)
    #: Notes on the demand: the tiers without an incident of their own, and whose they took.
    notes: list[str] = field(default_factory=list)
    #: The training goal the final measures use (:func:`goal_for`).
    goal: Goal | None = None

    @property
    def cost(self) -> float:
        """The plan's cost."""
        return self.levers.cost(self.plan)

    @property
    def meets(self) -> bool:
        """Whether the plan holds at its share of every tier's sites on the held-out seeds."""
        return self.after.meets(self.target, self.share)

    def _aim(self) -> Goal:
        return self.goal if self.goal is not None else Goal(self.target)

    def tier_line(self, ev: Evaluation) -> str:
        """Per tier: how many sites hold in ``ev`` and how many must."""
        return "; ".join(
            f"{t} {row['sites_meeting']} of {row['sites']} hold (needs {row['needed']})"
            for t, row in ev.by_tier(self.target, self.share).items()
        )

    def overlay(self) -> dict[str, Any]:
        """The plan as a scenario-file fragment."""
        return self.levers.overlay(self.plan)

    def verdict(self) -> str:
        """One sentence: met or not, on which seeds, the failing sites and why."""
        after = self.after
        short = after.short_tiers(self.target, self.share)
        failing = [
            (name, float(p))
            for name, tier, p, ok in zip(
                after.names, after.tiers, after.p, after.holding(self.target), strict=True
            )
            if tier in short and not ok
        ]
        fails = [name for name, _ in failing]
        what = "site" if self.sites else "incident"
        where = (
            f"at every {what}"
            if self.share == 1
            else f"at a share {self.share:g} of the {what}s of each tier"
        )
        per_tier = "" if self.share == 1 else f" ({self.tier_line(after)})"
        if not short:
            return (
                f"the plan meets the target (P(holds) >= {self.target:g} {where}) on the "
                f"held-out seeds{per_tier}, at cost {self.cost:g}"
            )
        reachable = [s for s in fails if s not in self.out_of_reach]
        far = [s for s in fails if s in self.out_of_reach]
        aim = self._aim()
        trained = aim.shortfall(self.train) <= _EPS
        if not reachable:
            rest = (
                f"it holds at every other {what} on the held-out seeds"
                if self.share == 1
                else f"the tiers short of their share ({', '.join(short)}) have too few "
                f"{what}s within reach"
            )
            why = (
                f"{len(far)} {what}{'s are' if len(far) > 1 else ' is'} out of reach of every "
                f"lever; {rest}"
            )
        elif trained:
            n = len(self.attempts)
            why = "it met the target on the training seeds but not on the held-out seeds" + (
                f" (after {n} searches with rising training margins)" if n > 1 else ""
            )
        else:
            why = {
                "budget": f"target unreachable within the budget {self.budget or 0:g}",
                "exhausted": "target unreachable with these levers (all used up)",
                "no_gain": "target unreachable with these levers (no step of one option "
                "helps any more, nor a pair of vehicle options at one place where a "
                f"{what} never holds)",
            }.get(self.stop, "target not reached")
            below = [(self.train.names[i], self.train.p[i]) for i in aim.lacking(self.train)]
            if below:
                stay = "stays" if len(below) == 1 else "stay"
                why += f"; on the training seeds {_listed(below)} {stay} below {self.target:g}"
        worst = float(after.p.min())
        text = (
            f"the plan does NOT meet the target: {why}; best P(holds) reached (held-out, worst "
            f"{what}) {worst:.3f} at cost {self.cost:g}; failing (held-out P(holds)): "
            f"{_listed(failing)}{per_tier}"
        )
        if far:
            text += "; out of reach: " + "; ".join(f"{s} ({self.out_of_reach[s]})" for s in far)
        return text

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of ``fleetsim plan --json``."""
        from sim import __version__

        lv = self.levers
        marginal = []
        for s in self.steps:
            if s.action in ("as it is", "the plan so far"):
                continue
            marginal.append(
                {
                    "step": s.action,
                    "cost": s.cost,
                    "shortfall": round(s.shortfall, 4),
                    "gain": round(s.gain, 4),
                    "worst_p_met": round(float(s.evaluation.p.min()), 4),
                }
            )
        return {
            "scenario": self.scenario.name,
            "fleetsim_version": __version__,
            "levers_file": lv.file,
            "sites": self.sites,
            "incident": self.incident,
            "demand_per_tier": dict(self.demand),
            "notes": list(self.notes),
            "target": self.target,
            "share": self.share,
            "budget": self.budget,
            "training": {
                "seed": self.train_seed,
                "replications": self.train_reps,
                "sites": list(self.train.names),
            },
            "held_out": {"seed": self.seed, "replications": self.reps},
            "meets_target": self.meets,
            "verdict": self.verdict(),
            "stop": self.stop,
            "cost": self.cost,
            "changes": self._changes(),
            "overlay": self.overlay(),
            "search": marginal,
            "refinements": list(self.refinements),
            "frontier": [
                {
                    "cost": s.cost,
                    "plan": lv.changes(s.plan),
                    "shortfall": round(s.shortfall, 4),
                    "worst_p_met": round(float(s.evaluation.p.min()), 4),
                    "mean_p_met": round(float(s.evaluation.p.mean()), 4),
                }
                for s in frontier([*self.steps, self._final_step()])
            ],
            "before": {
                "rows": self.before.rows(self.target),
                "tiers": self.before.by_tier(self.target, self.share),
            },
            "after": {
                "rows": self.after.rows(self.target),
                "tiers": self.after.by_tier(self.target, self.share),
            },
            "coverage_baseline": {
                **self.coverage_info,
                "cost": lv.cost(self.coverage),
                "changes": lv.changes(self.coverage),
                "meets_target": self.coverage_after.meets(self.target, self.share),
                "rows": self.coverage_after.rows(self.target),
                "tiers": self.coverage_after.by_tier(self.target, self.share),
            },
            "out_of_reach": dict(self.out_of_reach),
            "attempts": [dict(a) for a in self.attempts],
            "evaluations": self.evaluations,
            "site_runs": self.site_runs,
            "seconds": round(self.seconds, 2),
        }

    def _final_step(self) -> Step:
        return Step("final", self.plan, self.cost, self._aim().shortfall(self.train), self.train)

    def _changes(self) -> list[dict[str, Any]]:
        return [dict(g) for g in self.gains] or self.levers.changes(self.plan)


def plan_levers(
    scenario: Scenario,
    levers: Levers,
    *,
    sites: str | None = None,
    incident: str | None = None,
    target: float = DEFAULT_TARGET,
    budget: float | None = None,
    reps: int | None = None,
    train_reps: int = DEFAULT_TRAIN_REPS,
    workers: int = 1,
    scheduler: Any = None,
    engine: str = "auto",
    progress: Callable[[int], None] | None = None,
    share: float = 1.0,
) -> PlanResult:
    """Choose the cheapest lever units that make the targets hold; verify on held-out seeds.

    Parameters
    ----------
    scenario
        The scenario (its seed is the held-out seed).
    levers
        The levers, checked against the scenario (:func:`sim.levers.check_levers`).
    sites
        ``None`` (the scenario's incidents), ``seats``, ``nodes`` or ``grid:KM``.
    incident
        With ``sites``: the incident whose demand is placed at every site (default: at each
        site that of the scenario's incident of the site's tier, or the first incident's for
        a tier the scenario has none of; :func:`sim.sweeps.templates`).
    target
        P(holds) to reach at every site, in (0, 1].
    share
        With ``sites``: the share of each tier's sites that must reach ``target``
        (0 < share <= 1): a tier of n sites is met when ``ceil(share × n)`` of them hold
        (:func:`share_needed`); out-of-reach sites count as sites that do not hold.
    budget
        The most the plan may cost (default: no limit).
    reps
        Held-out replications per site (default: the scenario's).
    train_reps
        Training replications per site and plan.
    workers, scheduler, engine
        As for :func:`sim.experiment.run`; results are identical for any choice.
    progress
        Called with 1 after every training evaluation.

    Returns
    -------
    PlanResult

    Raises
    ------
    ValidationError
        For a bad target, share, budget, replication count, engine, site set or incident.
    """
    import time

    start = time.perf_counter()
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target <= 1:
        raise ValidationError(f"`target` must be a probability in (0, 1], got {target!r}")
    if budget is not None and (
        isinstance(budget, bool)
        or not isinstance(budget, int | float)
        or not budget >= 0
        or not math.isfinite(budget)
    ):
        raise ValidationError(f"`budget` must be a number >= 0, got {budget!r}")
    if engine not in ENGINES:
        raise ValidationError(f"`engine` must be one of {ENGINES}, got {engine!r}")
    check_workers(workers)
    if (
        isinstance(share, bool)
        or not isinstance(share, int | float)
        or not 0 < share <= 1  # also refuses NaN
    ):
        raise ValidationError(f"`share` must be a share of the sites in (0, 1], got {share!r}")
    if share != 1 and sites is None:
        raise ValidationError(
            f"`share` {share:g} needs `sites` (a share of the sites of each tier); without "
            "sites every incident of the scenario must hold"
        )
    reps, seed = check_reps_seed(scenario, reps, None)
    train_reps, _ = check_reps_seed(scenario, train_reps, None)
    train_seed = seed + TRAIN_SEED_OFFSET
    network = cached_network(scenario.network)
    choice = None
    tmpl = templates(
        scenario,
        incident,
        network=scenario_network(scenario, network),
        per_tier=sites is not None and incident is None,
    )
    if sites is not None:
        choice = choose_sites(
            scenario_network(scenario, network), sites, max_snap_km=scenario.max_snap_km
        )
    trainer = Trainer(
        levers,
        choice,
        incident,
        train_reps,
        train_seed,
        engine,
        workers,
        scheduler,
        progress,
        incidents=len(scenario.incidents),
        separable=scenario.fleet_sharing != "shared",
    )
    goal = float(target)
    trainer.active = None
    first = trainer.one({})
    if first is None:
        raise ValidationError("the scenario itself cannot be evaluated")
    names = first.names
    reach = out_of_reach(trainer, network, scenario, first, goal)
    held: dict[str, SweepResult] = {}
    before, sw = evaluate(scenario, choice, incident, reps, seed, engine, workers)
    demand: dict[str, str] = {}
    if sw is not None:
        held["before"] = sw
        tiers = [r["tier"] for r in sw.rows]
        demand = {t: tmpl.for_tier(t).name for t in dict.fromkeys(tiers) if t is not None}
    share = float(share)
    everywhere = range(len(names))
    plan: dict[int, int] = {}
    runs: list[list[Step]] = []
    attempts: list[dict[str, Any]] = []
    notes: list[str] = []
    active: set[int] = set()
    stop = "met"
    after = before
    base = trainer
    last: dict[int, int] | None = None
    for attempt in range(1 + RETRIES):
        # A margin against the training seed's luck: search 2 trains to a higher target,
        # search 3 also with twice the training replications.
        if attempt >= 1:
            goal = min(1.0, goal + (1.0 - goal) / 2)
        if attempt >= 2:
            trainer = dataclasses.replace(
                trainer, reps=trainer.reps * 2, cache={}, invalid=set(), names={}
            )
        for _ in range(1 + RETRIES):  # lazily: sites met so far may fail after a change
            trainer.active = None
            whole = trainer.one(plan)
            assert whole is not None
            aim = goal_for(goal, share, whole, everywhere, reach)
            short = aim.short(whole)
            if not short:
                if not runs:
                    runs.append([Step("as it is", {}, 0.0, aim.shortfall(whole), whole)])
                break
            # The sites within reach that fail, in the tiers short of their share.
            active |= {
                s
                for s, ok in enumerate(whole.holding(goal))
                if not ok and s not in reach and whole.tiers[s] in short
            }
            trainer.active = tuple(sorted(active))
            aim = goal_for(goal, share, whole, trainer.sites_in_use(), reach)
            steps, stop = greedy(trainer, aim, budget, plan)
            runs.append(steps)
            plan, _, changed = refine(trainer, steps[-1].plan, aim)
            notes.extend(changed)
            if stop != "met":
                break
        if plan != last:  # the same plan again: its verification stands
            after, sw = evaluate(
                levers.scenario(plan), choice, incident, reps, seed, engine, workers
            )
            if sw is not None:
                held["after"] = sw
        last = dict(plan)
        # Failing on held-out seeds: the sites within reach that fail in the tiers short of
        # their share (as far as the sites within reach can meet it).
        short = goal_for(float(target), share, after, everywhere, reach).short(after)
        fails = [
            names[s]
            for s, ok in enumerate(after.holding(float(target)))
            if not ok and s not in reach and after.tiers[s] in short
        ]
        attempts.append(
            {
                "attempt": attempt + 1,
                "training_target": round(goal, 4),
                "training_replications": trainer.reps,
                "cost": levers.cost(plan),
                "changes": [c["change"] for c in levers.changes(plan)],
                "stop": stop,
                "held_out_failing": fails,
            }
        )
        if not fails or stop != "met":
            break
    base.evaluations, base.site_runs = trainer.evaluations, trainer.site_runs
    trainer = base
    # Every measure below is at the sites trained on (out-of-reach sites left out); with a
    # share, the sites not trained on count as the plan leaves them.
    aim = Goal(float(target), far=frozenset(names[s] for s in reach))
    if share != 1:
        trainer.active = None
        whole = trainer.one(plan)
        assert whole is not None
    trainer.active = (
        tuple(sorted(active)) or tuple(s for s in range(len(names)) if s not in reach) or None
    )
    if share != 1:
        aim = goal_for(float(target), share, whole, trainer.sites_in_use(), reach)
    train = trainer.one(plan)
    assert train is not None
    seen: list[Step] = []
    for steps in runs:
        evs = trainer.many([s.plan for s in steps])
        for s, e in zip(steps, evs, strict=True):
            if e is not None:
                seen.append(Step(s.action, s.plan, s.cost, aim.shortfall(e), e, s.gain))
    # Marginal gain of each change in the final plan (training): without it, how much worse.
    gains = []
    less = [{j: n for j, n in plan.items() if j != i} for i in sorted(plan)]
    for i, e in zip(sorted(plan), trainer.many(less), strict=True):
        gains.append(
            {
                **levers.changes({i: plan[i]})[0],
                "gain_shortfall": None
                if e is None
                else round(aim.shortfall(e) - aim.shortfall(train), 4),
                "gain_worst_p": None if e is None else round(float(train.p.min() - e.p.min()), 4),
            }
        )
    cov, info = coverage_plan(
        levers,
        scenario,
        network,
        choice,
        incident,
        levers.cost(plan) if budget is None else min(budget, max(levers.cost(plan), 0.0)),
    )
    if cov == plan:
        cov_after = after
    elif not cov:
        cov_after = before
    else:
        cov_after, _ = evaluate(levers.scenario(cov), choice, incident, reps, seed, engine, workers)
    result = PlanResult(
        scenario,
        levers,
        sites,
        incident,
        float(target),
        budget,
        train_seed,
        train_reps,
        seed,
        reps,
        seen,
        stop,
        plan,
        train,
        notes,
        before,
        after,
        cov,
        info,
        cov_after,
        trainer.evaluations,
        gains=gains,
        sweeps=held,
        out_of_reach={names[s]: why for s, why in reach.items()},
        attempts=attempts,
        site_runs=trainer.site_runs,
        share=share,
        demand=demand,
        notes=tmpl.notes(demand) if sites is not None else [],
        goal=aim,
    )
    result.seconds = time.perf_counter() - start
    return result
