"""Global sensitivity of each incident's verdict to the scenario's assumptions (SALib).

``fleetsim sensitivity SCENARIO`` varies every number named in a *ranges file* over its range
at once and measures how much each one moves every incident's P(holds) and p90 completion:

1. **Ranges** (:func:`load_ranges`): a YAML file ``ranges: {KEY.PATH: {low: A, high: B}}``
   naming numbers of the scenario file language by key path (:mod:`sim.keypaths`); a *group*
   ``LABEL: {paths: [KEY.PATH, ...], low: A, high: B}`` gives several numbers one value (the
   settings of one platform that several operators use), validated
   like a scenario file: every problem at once, each with the file, line, key path and bad
   value (an unknown key gets a did-you-mean; ``low < high``; integers for an integer
   parameter). Without a file, the shipped ``sim/data/sensitivity-ranges.yaml`` gives a
   documented plausible range for every assumption of the README's parameter table.
2. **Against the scenario** (:func:`check_ranges`): every parameter at its low and at its
   high (the others as the scenario has them), then all low and all high, must give a valid
   scenario; a path the scenario cannot take is refused before anything is simulated.
3. **Design** (SALib): Morris trajectories (elementary effects, the default: about
   ``trajectories x (k + 1)`` scenario runs for ``k`` parameters) or Saltelli/Sobol samples
   (``samples x (k + 2)`` runs). An integer parameter stays an integer: Sobol samples it on
   ``[low - 0.5, high + 0.5]`` and rounds half up (each value equally likely); Morris rounds
   its grid levels and rescales its effects by the step the rounded values take
   (:meth:`Parameter.morris_step`).
4. **Runs**: every sample is the scenario with the sampled values written at their key paths
   and validated as a file is (:meth:`sim.keypaths.ScenarioData.with_values`); each runs with
   the scenario's seed, so samples see the same random draws for the same vehicles (common
   random numbers: a parameter the model never reads changes nothing, exactly). Samples are
   run by the executors of :mod:`sim.executors` (serial, local processes, Dask) and come back
   in order: the same seed gives byte-identical results on every executor.
5. **Analysis** (SALib): Morris μ* (mean absolute elementary effect), its bootstrap 95 %
   interval and σ; or Sobol first-order S1 and total ST indices with bootstrap 95 %
   intervals. Outputs per incident: P(holds) and p90 completion in minutes (a replication that
   never completes counts as the 24-hour horizon).

Parameters are ranked per incident by their effect on P(holds) (μ* or ST), ties by their
effect on p90 (:meth:`SensitivityResult.ranking`).
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from sim import __version__, yamlio
from sim.errors import ScenarioError, ValidationError
from sim.executors import check_workers, make_executor
from sim.experiment import ENGINES, run_replications
from sim.fields import did_you_mean, shown
from sim.keypaths import KeyPath, KeyPathError, ScenarioData, format_path, number_kind, parse
from sim.limits import MAX_DURATION_MIN
from sim.netload import cached_network
from sim.plan import IncidentPlan
from sim.planning import prepare, scenario_network
from sim.scenario import Problem, Scenario

#: The ranges file used when none is given (a plausible range for every assumption).
DEFAULT_RANGES = "sensitivity-ranges.yaml"
METHODS: tuple[str, ...] = ("morris", "sobol")
#: Default Morris trajectories and Sobol base samples.
DEFAULT_TRAJECTORIES, DEFAULT_SAMPLES = 10, 64
#: Morris grid levels.
MORRIS_LEVELS = 4
#: Completion of a replication that never completes, for p90 (the run's 24-hour horizon).
HORIZON_MIN = MAX_DURATION_MIN
#: Bootstrap resamples of the confidence intervals.
RESAMPLES = 1000
#: What a ranges file's problems are reported in.
RANGES_FILE = "the ranges file"
#: Output measures per incident (JSON keys).
OUTPUTS: tuple[str, ...] = ("p_met", "p90_min")


@dataclass(frozen=True)
class Parameter:
    """One varied number, or a group of numbers that take one value: key paths, range, kind.

    Attributes
    ----------
    path
        The parsed key path (a group's first).
    low, high
        The range (``low < high``).
    integer
        Whether values stay integers.
    line
        The line of the ranges file that named it (``None`` if built in Python).
    also
        A group's other key paths, which take the same value.
    label
        A group's name (``None``: the parameter is named by its key path).
    """

    path: KeyPath
    low: float
    high: float
    integer: bool = False
    line: int | None = None
    also: tuple[KeyPath, ...] = ()
    label: str | None = None

    @property
    def name(self) -> str:
        """A group's label, else the key path as written: ``fleet.dispatchers."Central taxi
        pool"``."""
        return self.label if self.label is not None else format_path(self.path)

    @property
    def paths(self) -> tuple[KeyPath, ...]:
        """Every key path the parameter writes."""
        return (self.path, *self.also)

    def written(self, value: float | int) -> dict[KeyPath, float | int]:
        """``value`` at each of the parameter's key paths."""
        return dict.fromkeys(self.paths, value)

    def value(self, x: float) -> float | int:
        """The parameter's value at design point ``x`` (integers rounded half up, clipped;
        reals to 10 significant digits, so that 0.95 is not written 0.9500000000000001)."""
        if not self.integer:
            return float(f"{x:.10g}")
        return int(min(self.high, max(self.low, math.floor(x + 0.5))))

    def bounds(self, method: str) -> tuple[float, float]:
        """Bounds of the design.

        Sobol: an integer range is widened by half a step either side, so that each integer
        is equally likely. Morris: the range itself; its levels ``low + j (high - low) / 3``
        round to integers and every Morris step (two levels) then changes the value by the
        same :meth:`morris_step` (see :func:`analyse`).
        """
        if self.integer and method == "sobol":
            return (self.low - 0.5, self.high + 0.5)
        return (self.low, self.high)

    def morris_step(self) -> float:
        """The change of the value over one Morris step, as a fraction of the range: 2/3 for
        a real parameter; for an integer one, ``round(2 r / 3) / r`` (``r = high - low``),
        the same for a step from level 0 to 2 and from 1 to 3 (``r / 3`` is never a half)."""
        span = self.high - self.low
        if not self.integer:
            return 2 / 3
        return round(2 * span / 3) / span


@dataclass(frozen=True)
class Ranges:
    """The parameters of a ranges file, in file order, and the file they came from."""

    parameters: tuple[Parameter, ...]
    file: str
    text: str = field(default="", repr=False)


# ---------------------------------------------------------------------------------------------
# The ranges file
# ---------------------------------------------------------------------------------------------


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def load_ranges(path: str | os.PathLike[str] | None = None) -> Ranges:
    """Read and validate a ranges file (the shipped default when ``path`` is ``None``).

    Parameters
    ----------
    path
        A YAML file with one key, ``ranges``: key path → ``{low: A, high: B}``, or a group's
        label → ``{paths: [key path, ...], low: A, high: B}`` (one value for every path).

    Returns
    -------
    Ranges
        The parameters in file order.

    Raises
    ------
    ScenarioError
        Listing every problem (file, line, key path, bad value): a YAML error, an unknown
        key path (with a did-you-mean), a path that is not a number, a missing or
        non-numeric bound, ``low >= high``, a non-integer bound of an integer parameter.
    """
    if path is None:
        ref = resources.files("sim").joinpath("data", DEFAULT_RANGES)
        with resources.as_file(ref) as real:
            return _read_ranges(Path(real), display="sensitivity-ranges.yaml (default)")
    return _read_ranges(Path(path))


def _read_ranges(path: Path, display: str | None = None) -> Ranges:
    file = display or yamlio.display(path)
    data, marks, raw = yamlio.read_yaml(path)
    problems = [Problem(file, format_path(r.path), r.message, r.line, r.column) for r in raw]

    def add(where: tuple[str | int, ...], label: str, message: str) -> None:
        mark = marks.get(where) or marks.get(where[:-1])
        problems.append(
            Problem(
                file, label, message, mark.line if mark else None, mark.column if mark else None
            )
        )

    if problems:
        raise ScenarioError(problems, RANGES_FILE)
    if not isinstance(data, dict) or not isinstance(data.get("ranges"), dict):
        extra = [k for k in data if k != "ranges"] if isinstance(data, dict) else []
        hint = did_you_mean(extra[0], ["ranges"]) if extra else ""
        add((), "", f"a ranges file is a mapping `ranges: {{KEY.PATH: {{low: A, high: B}}}}`{hint}")
        raise ScenarioError(problems, RANGES_FILE)
    for key in data:
        if key != "ranges":
            add(
                (key,),
                str(key),
                f"unknown key {key!r}{did_you_mean(key, ['ranges'])}; a "
                "ranges file has one key, ranges",
            )
    params: list[Parameter] = []
    seen: dict[KeyPath, str] = {}
    names: set[str] = set()
    for text, spec in data["ranges"].items():
        where = ("ranges", text)
        mark = marks.get(where)
        group = isinstance(spec, dict) and "paths" in spec
        texts = spec["paths"] if group else [text]
        if group and (
            not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts)
        ):
            add((*where, "paths"), f"{text}.paths", f"a list of key paths, got {shown(texts)}")
            continue
        kps: list[KeyPath] = []
        kinds = set()
        for i, one in enumerate(texts):
            at = (*where, "paths", i) if group else where
            try:
                kp = parse(str(one))
                kinds.add(number_kind(kp))
            except KeyPathError as exc:
                add(at, str(one), str(exc).removeprefix(f"{one}: "))
                continue
            if kp in seen:
                add(at, format_path(kp), f"named twice (also in {seen[kp]!r})")
                continue
            seen[kp] = str(text)
            kps.append(kp)
        if len(kps) < len(texts):
            continue
        name = str(text) if group else format_path(kps[0])
        if name in names:
            add(where, name, "named twice")
            continue
        names.add(name)
        if len(kinds) > 1:
            add(where, name, "a group's key paths must all be integers or all be numbers")
            continue
        kind = kinds.pop()
        keys = {"paths", "low", "high"} if group else {"low", "high"}
        if not isinstance(spec, dict) or set(spec) != keys:
            form = "{paths: [KEY.PATH, ...], low: A, high: B}" if group else "{low: A, high: B}"
            add(where, name, f"a range is {form}, got {shown(spec)}")
            continue
        low, high = spec["low"], spec["high"]
        bad = [(k, v) for k, v in (("low", low), ("high", high)) if not _number(v)]
        for k, v in bad:
            add((*where, k), f"{name}.{k}", f"must be a number, got {shown(v)}")
        if bad:
            continue
        if kind == "integer":
            odd = [(k, v) for k, v in (("low", low), ("high", high)) if float(v) != int(v)]
            for k, v in odd:
                add(
                    (*where, k),
                    f"{name}.{k}",
                    f"{name} is an integer parameter; give an integer, got {v!r}",
                )
            if odd:
                continue
            low, high = int(low), int(high)
        if not low < high:
            add(where, name, f"low ({low!r}) must be less than high ({high!r})")
            continue
        line = mark.line if mark is not None else None
        label = name if group else None
        params.append(Parameter(kps[0], low, high, kind == "integer", line, tuple(kps[1:]), label))
    if not params and not problems:
        add(("ranges",), "ranges", "no parameter to vary")
    if problems:
        raise ScenarioError(
            sorted(problems, key=lambda p: (p.line or 0, p.column or 0)), RANGES_FILE
        )
    text = path.read_text(encoding="utf-8")
    return Ranges(tuple(params), file, text)


def check_ranges(
    base: ScenarioData, ranges: Ranges, *, drop: bool = False
) -> tuple[tuple[Parameter, ...], list[str]]:
    """Check that the scenario can take every range, before anything is simulated.

    Each parameter at its low and at its high (the others as in the scenario), then every
    parameter at its low and every one at its high, must give a valid scenario.

    Parameters
    ----------
    base
        The scenario as data.
    ranges
        The parameters.
    drop
        Leave out a parameter the scenario cannot take (and say so) instead of refusing the
        ranges (used for the shipped default file, written for the default fleet).

    Returns
    -------
    tuple
        The parameters kept, and one note per parameter left out.

    Raises
    ------
    ScenarioError
        Naming the ranges file, the line, the key path, the value and the scenario's problem.
    """
    problems: list[Problem] = []
    kept: list[Parameter] = []
    notes: list[str] = []
    for p in ranges.parameters:
        why = None
        for v in (p.low, p.high):
            try:
                base.with_values(p.written(v))
            except (ScenarioError, KeyPathError) as exc:
                why = f"the scenario cannot take {v!r}: {_first(exc)}"
                break
        if why is None:
            kept.append(p)
        elif drop:
            notes.append(f"{ranges.file}: {p.name} left out: {why}")
        else:
            problems.append(Problem(ranges.file, p.name, why, p.line))
    if problems:
        raise ScenarioError(problems, RANGES_FILE)
    for corner in ("low", "high"):
        try:
            base.with_values({k: v for p in kept for k, v in p.written(getattr(p, corner)).items()})
        except (ScenarioError, KeyPathError) as exc:
            raise ScenarioError(
                [
                    Problem(
                        ranges.file,
                        "",
                        f"every parameter at its {corner}: the scenario is not "
                        f"valid: {_first(exc)}",
                    )
                ],
                RANGES_FILE,
            ) from None
    return tuple(kept), notes


def _first(exc: Exception) -> str:
    """One line for a scenario problem: its key path and message, without file and line."""
    if isinstance(exc, ScenarioError) and exc.problems:
        p = exc.problems[0]
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        path = getattr(p, "path", "")
        return f"{path}: {getattr(p, 'message', p)}{more}" if path else f"{p}{more}"
    return str(exc)


# ---------------------------------------------------------------------------------------------
# Design, runs and analysis
# ---------------------------------------------------------------------------------------------


def _problem(params: Sequence[Parameter], method: str) -> dict[str, Any]:
    return {
        "num_vars": len(params),
        "names": [p.name for p in params],
        "bounds": [list(p.bounds(method)) for p in params],
    }


def design(params: Sequence[Parameter], method: str, n: int, seed: int) -> np.ndarray:
    """The SALib design: one row per scenario run, one column per parameter.

    Parameters
    ----------
    params
        The parameters.
    method
        ``morris`` (``n`` trajectories on a 4-level grid) or ``sobol`` (``n`` Saltelli base
        samples, a power of 2; first and total order).
    n
        Trajectories or base samples.
    seed
        Seeds the design (the scenario's seed).
    """
    problem = _problem(params, method)
    if method == "morris":
        from SALib.sample.morris import sample as morris_sample

        return morris_sample(problem, n, num_levels=MORRIS_LEVELS, seed=seed)
    from SALib.sample.sobol import sample as sobol_sample

    return sobol_sample(problem, n, calc_second_order=False, scramble=True, seed=seed)


def _scenario_value(base: ScenarioData, p: Parameter) -> Any:
    """The scenario's value of ``p``: a group's common value, ``None`` when its paths differ."""
    values = {repr(base.value(k)) for k in p.paths}
    return base.value(p.path) if len(values) == 1 else None


def _sample(
    base: ScenarioData, file: str, params: Sequence[Parameter], x: np.ndarray, row: int
) -> Scenario:
    """The scenario of design point ``row``; a point whose values together make an invalid
    scenario (each range alone and both corners were valid) is refused with its values."""
    chosen = [(p, p.value(v)) for p, v in zip(params, x[row], strict=True)]
    try:
        return base.with_values({k: w for p, v in chosen for k, w in p.written(v).items()})
    except (ScenarioError, KeyPathError) as exc:
        shown_values = ", ".join(f"{p.name} = {v!r}" for p, v in chosen)
        message = (
            f"design point {row + 1} of {len(x)} ({shown_values}) is not a valid scenario: "
            f"{_first(exc)}; narrow the ranges that conflict"
        )
        raise ScenarioError([Problem(file, "", message)], RANGES_FILE) from None


def _run_sample(scenario: Scenario, reps: int, seed: int, engine: str) -> list[tuple[float, float]]:
    """P(holds) and p90 (minutes, never = the horizon) of every incident of one sample."""
    network = scenario_network(scenario, cached_network(scenario.network))
    out = []
    for plan in prepare(network, scenario):
        # A design is many samples: large as a whole for ``auto`` (the batch engine where it
        # runs the plan), whatever the replications of one sample.
        runs = run_replications(plan, seed, range(reps), engine=engine, large=True)
        done = np.array([r.completion_min for r in runs])
        p_met = float(np.mean(done <= plan.deadline_min))
        p90 = float(np.percentile(np.minimum(done, HORIZON_MIN), 90))
        out.append((p_met, p90))
    return out


def _clean(x: Any) -> float | None:
    x = float(x)
    return round(x, 6) if math.isfinite(x) else None


def analyse(
    params: Sequence[Parameter], method: str, x: np.ndarray, y: np.ndarray, seed: int
) -> list[dict[str, float | None]]:
    """Per parameter, the indices of one output.

    Parameters
    ----------
    params
        The parameters, in the design's column order.
    method
        ``morris`` or ``sobol`` (as the design was made by :func:`design`).
    x
        The design (one row per run).
    y
        The output of each run.
    seed
        Seeds the bootstrap of the intervals.

    Returns
    -------
    list of dict
        Morris: ``mu_star``, ``mu_star_conf``, ``sigma``, ``mu``, in units of the output per
        whole range of the parameter; Sobol: ``S1``, ``S1_conf``, ``ST``, ``ST_conf``.
    """
    problem = _problem(params, method)
    k = len(params)
    if method == "morris":
        from SALib.analyze.morris import analyze as morris_analyze

        si = morris_analyze(
            problem, x, y, num_resamples=RESAMPLES, num_levels=MORRIS_LEVELS, seed=seed
        )
        # SALib divides every change by the grid's step (2/3 of the range); an integer's
        # values move by its own step (Parameter.morris_step): rescale, so that an output
        # equal to the parameter has mu* = high - low for integers as for reals.
        scale = [(2 / 3) / p.morris_step() for p in params]
        return [
            {
                key: _clean(scale[i] * si[key][i])
                for key in ("mu_star", "mu_star_conf", "sigma", "mu")
            }
            for i in range(k)
        ]
    if float(np.ptp(y)) == 0.0:  # a constant output: no variance to apportion
        zero = {"S1": 0.0, "S1_conf": 0.0, "ST": 0.0, "ST_conf": 0.0}
        return [dict(zero) for _ in range(k)]
    from SALib.analyze.sobol import analyze as sobol_analyze

    with np.errstate(divide="ignore", invalid="ignore"):
        si = sobol_analyze(problem, y, calc_second_order=False, num_resamples=RESAMPLES, seed=seed)
    return [
        {key: _clean(si[key][i]) for key in ("S1", "S1_conf", "ST", "ST_conf")} for i in range(k)
    ]


@dataclass
class SensitivityResult:
    """The outcome of :func:`sensitivity`: the design, every run's outputs and the indices.

    Attributes
    ----------
    scenario
        The scenario analysed (at its own values).
    method
        ``morris`` or ``sobol``.
    n
        Trajectories (Morris) or base samples (Sobol).
    seed, replications
        Used by every run.
    parameters
        The varied parameters.
    ranges_file
        Where the ranges came from.
    plans
        The scenario's incidents, prepared (names, tiers, deadlines).
    x
        The design: one row per run (SALib's values; integers before rounding).
    y
        Per run, per incident, ``(P(holds), p90 minutes)``.
    indices
        Per incident, per output (:data:`OUTPUTS`), per parameter: the indices.
    notes
        Parameters of the default ranges left out, and why.
    ranges_text
        The ranges file as read.
    """

    scenario: Scenario
    method: str
    n: int
    seed: int
    replications: int
    parameters: tuple[Parameter, ...]
    ranges_file: str
    plans: list[IncidentPlan]
    x: np.ndarray
    y: np.ndarray
    indices: list[dict[str, list[dict[str, float | None]]]]
    notes: list[str] = field(default_factory=list)
    ranges_text: str = ""

    def values(self, row: int) -> dict[str, float | int]:
        """The parameter values of run ``row`` (key path → value)."""
        return {p.name: p.value(v) for p, v in zip(self.parameters, self.x[row], strict=True)}

    def ranking(self, incident: int) -> list[int]:
        """Parameter positions of an incident, most influential first: by μ* (Morris) or ST
        (Sobol) of P(holds), then of p90; ties (e.g. P constant, indices rounded to 0) by σ
        or |S1| of P and of p90, so that a parameter the model never reads (all exactly 0)
        comes after every one that moved an output at all; then in file order."""
        first, then = ("mu_star", "sigma") if self.method == "morris" else ("ST", "S1")
        ind = self.indices[incident]

        def score(i: int) -> tuple[float, ...]:
            p, q = ind["p_met"][i], ind["p90_min"][i]
            measures = (p[first], q[first], p[then], q[then])
            return (*(-abs(m or 0.0) for m in measures), i)

        return sorted(range(len(self.parameters)), key=score)

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of ``fleetsim sensitivity --json``.

        ``{"scenario", "method", ..., "parameters": [...], "incidents": [{"name", "tier",
        "deadline_min", "p_met_range", "p90_min_range", "ranking": [{"parameter", "paths", "low",
        "high", "integer", "p_met": {indices}, "p90_min": {indices}}, ...]}]}``, parameters
        most influential first.
        """
        base = ScenarioData.of(self.scenario)
        incidents = []
        for j, plan in enumerate(self.plans):
            ranking = []
            for i in self.ranking(j):
                p = self.parameters[i]
                ranking.append(
                    {
                        "parameter": p.name,
                        "paths": [format_path(k) for k in p.paths],
                        "low": p.low,
                        "high": p.high,
                        "integer": p.integer,
                        "scenario_value": _scenario_value(base, p),
                        **{out: self.indices[j][out][i] for out in OUTPUTS},
                    }
                )
            col = self.y[:, j, :]
            incidents.append(
                {
                    "name": plan.name,
                    "tier": plan.tier,
                    "deadline_min": plan.deadline_min,
                    "p_met_range": [_clean(col[:, 0].min()), _clean(col[:, 0].max())],
                    "p90_min_range": [_clean(col[:, 1].min()), _clean(col[:, 1].max())],
                    "ranking": ranking,
                }
            )
        return {
            "scenario": self.scenario.name,
            "fleetsim_version": __version__,
            "method": self.method,
            ("trajectories" if self.method == "morris" else "samples"): self.n,
            "runs": int(self.x.shape[0]),
            "seed": self.seed,
            "replications": self.replications,
            "ranges_file": self.ranges_file,
            "parameters": [p.name for p in self.parameters],
            "notes": list(self.notes),
            "incidents": incidents,
        }

    def samples_csv(self) -> str:
        """One row per run: the parameter values, then P(holds) and p90 of every incident."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        names = [p.name for p in self.parameters]
        w.writerow(["run", *names, *(f"{pl.name}: {o}" for pl in self.plans for o in OUTPUTS)])
        for r in range(self.x.shape[0]):
            vals = self.values(r)
            w.writerow([r, *(vals[n] for n in names), *(_clean(v) for v in self.y[r].ravel())])
        return buf.getvalue()


def sensitivity(
    scenario: Scenario,
    ranges: Ranges | None = None,
    *,
    method: str = "morris",
    n: int | None = None,
    replications: int | None = None,
    workers: int = 1,
    scheduler: Any = None,
    engine: str = "auto",
    progress: Callable[[int], None] | None = None,
    before: Callable[[Sequence[IncidentPlan], int], None] | None = None,
) -> SensitivityResult:
    """Global sensitivity of every incident's P(holds) and p90 to the ranges' parameters.

    Parameters
    ----------
    scenario
        The scenario (loaded from a file: its file's data is varied; built in Python: its
        resolved file).
    ranges
        The parameters (:func:`load_ranges`); ``None``: the shipped default ranges, leaving
        out (with a note) those the scenario cannot take.
    method
        ``morris`` (elementary effects, default) or ``sobol`` (S1 and ST indices).
    n
        Morris trajectories (default 10) or Sobol base samples (a power of 2, default 64).
    replications
        Replications per incident per run (default: the scenario's).
    workers, scheduler
        Local processes, or a Dask scheduler (:func:`sim.executors.make_executor`); results
        are identical for any choice.
    engine
        ``auto``, ``simpy`` or ``fast`` (:func:`sim.experiment.run_plans`).
    progress
        Called with the replications just finished (``incidents x replications`` per run).
    before
        Called before anything is simulated with the scenario's plans repeated once per run
        and the replication count (the command line estimates the run time there).

    Returns
    -------
    SensitivityResult

    Raises
    ------
    ValidationError
        For a bad method, count, replication count, worker count or engine.
    ScenarioError
        For a ranges file with problems or a range the scenario cannot take.
    """
    if method not in METHODS:
        raise ValidationError(f"`method` must be one of {METHODS}, got {method!r}")
    if engine not in ENGINES:
        raise ValidationError(f"`engine` must be one of {ENGINES}, got {engine!r}")
    check_workers(workers)
    n = (DEFAULT_TRAJECTORIES if method == "morris" else DEFAULT_SAMPLES) if n is None else n
    what = "trajectories" if method == "morris" else "samples"
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValidationError(f"`{what}` must be an integer >= 2, got {n!r}")
    if method == "sobol" and n & (n - 1):
        raise ValidationError(f"`samples` must be a power of 2 for Sobol indices, got {n}")
    reps = scenario.replications if replications is None else replications
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise ValidationError(f"`replications` must be an integer >= 1, got {reps!r}")
    default = ranges is None
    ranges = load_ranges() if ranges is None else ranges
    base = ScenarioData.of(scenario)
    params, notes = check_ranges(base, ranges, drop=default)
    seed = scenario.seed
    x = design(params, method, n, seed)
    # Every sample is validated here, before anything is simulated.
    samples = [_sample(base, ranges.file, params, x, row) for row in range(len(x))]
    plans = prepare(scenario_network(scenario, cached_network(scenario.network)), scenario)
    if before is not None:
        before(list(plans) * len(samples), reps)
    ys = []
    with make_executor(workers, scheduler) as executor:
        tasks = [(s, reps, seed, engine) for s in samples]
        results = executor.map(_run_sample, tasks)
        try:
            for out in results:
                ys.append(out)
                if progress:
                    progress(len(out) * reps)
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
    y = np.array(ys, dtype=float).reshape(len(samples), len(plans), 2)
    indices = [
        {out: analyse(params, method, x, y[:, j, k], seed + 1) for k, out in enumerate(OUTPUTS)}
        for j in range(len(plans))
    ]
    return SensitivityResult(
        scenario,
        method,
        n,
        seed,
        reps,
        params,
        ranges.file,
        list(plans),
        x,
        y,
        indices,
        notes,
        ranges.text,
    )


# ---------------------------------------------------------------------------------------------
# Text table and files
# ---------------------------------------------------------------------------------------------


def _f(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _range_text(p: Parameter) -> str:
    if p.integer:
        return f"{int(p.low)}-{int(p.high)}"
    return f"{p.low:g}-{p.high:g}"


def sensitivity_table(
    result: SensitivityResult, *, ascii_only: bool = False, top: int | None = None
) -> str:
    """The ranked tables, one per incident, as text (:mod:`sim.texttables`).

    Parameters
    ----------
    result
        The analysis.
    ascii_only
        Draw with ASCII only.
    top
        Show only the first ``top`` parameters of each incident (default: all).
    """
    from sim.texttables import new_table, render, right

    data = result.to_json()
    parts: list[Any] = []
    morris = result.method == "morris"
    for inc in data["incidents"]:
        lo, hi = inc["p_met_range"]
        q_lo, q_hi = inc["p90_min_range"]
        parts.append(
            f"{inc['name']} ({inc['tier']}, {inc['deadline_min']:.0f} min): over the "
            f"{data['runs']} runs P(holds) {_f(lo, 2)}-{_f(hi, 2)}, p90 {_f(q_lo, 0)}-"
            f"{_f(q_hi, 0)} min"
        )
        if morris:
            table = new_table(
                right("#"),
                "parameter",
                right("range"),
                right("μ* P"),
                right("±95%"),
                right("σ P"),
                right("μ* p90"),
                right("±95%"),
                right("σ p90"),
            )
        else:
            table = new_table(
                right("#"),
                "parameter",
                right("range"),
                right("S1 P [95%]"),
                right("ST P [95%]"),
                right("S1 p90"),
                right("ST p90 [95%]"),
            )
        ranking = inc["ranking"] if top is None else inc["ranking"][:top]
        for rank, row in enumerate(ranking, start=1):
            p = next(q for q in result.parameters if q.name == row["parameter"])
            a, b = row["p_met"], row["p90_min"]
            if morris:
                cells = [
                    _f(a["mu_star"]),
                    _f(a["mu_star_conf"]),
                    _f(a["sigma"]),
                    _f(b["mu_star"], 1),
                    _f(b["mu_star_conf"], 1),
                    _f(b["sigma"], 1),
                ]
            else:
                cells = [
                    f"{_f(a['S1'], 2)} ±{_f(a['S1_conf'], 2)}",
                    f"{_f(a['ST'], 2)} ±{_f(a['ST_conf'], 2)}",
                    _f(b["S1"], 2),
                    f"{_f(b['ST'], 2)} ±{_f(b['ST_conf'], 2)}",
                ]
            table.add_row(str(rank), row["parameter"], _range_text(p), *cells)
        parts += [table, ""]
    unit = (
        "μ*: mean |change| of the output when the parameter moves across its range (P in "
        "probability, p90 in minutes; 95% bootstrap interval); σ: how much that change "
        "depends on the other parameters"
        if morris
        else "S1: share of the output's variance due to the parameter alone; ST: including "
        "its interactions (95% bootstrap intervals)"
    )
    parts.append(
        f"({result.method}, {data['runs']} runs x {result.replications} replications, seed "
        f"{result.seed}, ranges {result.ranges_file}; {unit})"
    )
    return render(*parts, ascii_only=ascii_only)


def ranking_csv(result: SensitivityResult) -> str:
    """One row per incident per parameter, in ranking order, with every index."""
    data = result.to_json()
    keys = (
        ("mu_star", "mu_star_conf", "sigma", "mu")
        if result.method == "morris"
        else ("S1", "S1_conf", "ST", "ST_conf")
    )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "incident",
            "rank",
            "parameter",
            "low",
            "high",
            "scenario_value",
            *(f"{o}_{k}" for o in OUTPUTS for k in keys),
        ]
    )
    for inc in data["incidents"]:
        for rank, row in enumerate(inc["ranking"], start=1):
            w.writerow(
                [
                    inc["name"],
                    rank,
                    row["parameter"],
                    row["low"],
                    row["high"],
                    row["scenario_value"],
                    *(row[o][k] for o in OUTPUTS for k in keys),
                ]
            )
    return buf.getvalue()


def sensitivity_files(result: SensitivityResult, *, figures: bool = True) -> dict[str, Any]:
    """The files of ``fleetsim sensitivity --out DIR`` (for :func:`sim.outputs.write_outputs`).

    ``summary.json`` (:meth:`SensitivityResult.to_json`), ``ranking.csv``, ``samples.csv``
    (every run's values and outputs), ``ranges.yaml`` (the ranges used),
    ``scenario.resolved.yaml`` (the scenario at its own values) and ``sensitivity.png``
    (μ*-σ per incident for Morris, S1/ST bars for Sobol).
    """
    from sim.outputs import json_text, resolved_scenario_yaml

    files: dict[str, Any] = {
        "summary.json": json_text(result.to_json()),
        "ranking.csv": ranking_csv(result),
        "samples.csv": result.samples_csv(),
        "ranges.yaml": result.ranges_text,
        "scenario.resolved.yaml": resolved_scenario_yaml(
            result.scenario,
            seed=result.seed,
            replications=result.replications,
            extra={"sensitivity": {"method": result.method, "ranges_file": result.ranges_file}},
        ),
    }
    if figures:
        data = result.to_json()

        def figure(path: Path) -> None:
            from sim.plots import save_png, sensitivity_figure

            save_png(sensitivity_figure(data), path)

        files["sensitivity.png"] = figure
    return files
