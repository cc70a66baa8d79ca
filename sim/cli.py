"""The ``fleetsim`` command line.

One argparse subcommand per task, each handled by one small ``_cmd_*`` function that returns
the exit code. Errors fleetsim raises on purpose (:class:`~sim.errors.FleetsimError`) print
``fleetsim: error: <message>`` to stderr and exit with status 2, like argparse's own usage
errors; nothing prints a traceback for bad input.

Commands::

    fleetsim network info   [--network SRC] [--json]
    fleetsim network places [--network SRC] [--json]
    fleetsim network roads  [--network SRC] [--json]
    fleetsim network table  [--network SRC] [--to PLACE] [--json]
    fleetsim network export [--network SRC] OUT.graphml|OUT.gpkg
    fleetsim route          [--network SRC] --from A --to B --vehicle CLASS [--json]
    fleetsim run            [SCENARIO] [--reps N] [--seed S] [--workers N] [--scheduler ADDR]
                            [--json] [--out DIR] [--vehicle-log] [--no-figures] [--quiet]
    fleetsim sweep          SCENARIO [--sites seats|nodes|grid:KM] [--incident NAME] [--reps N]
                            [--seed S] [--workers N] [--scheduler ADDR] [--json] [--out DIR]
                            [--resume] [--no-figures] [--quiet]
    fleetsim compare        A B [--reps N] [--seed S] [--workers N] [--scheduler ADDR] [--json]
                            [--out DIR] [--quiet]
    fleetsim sensitivity    SCENARIO [--method morris|sobol] [--ranges FILE] [--reps N]
                            [--trajectories/--samples N] [--workers N] [--scheduler ADDR]
                            [--json] [--out DIR] [--no-figures] [--quiet] [--yes]
    fleetsim report         DIR
    fleetsim validate       FILE
    fleetsim schema

``SRC`` is anything :func:`sim.netload.load_network` accepts (default ``ordos``); a place is a
name known to the network or ``"LAT,LON"``. The ``network`` and ``route`` commands live in
:mod:`sim.cli_network`.

Exit status: 0 on success; 2 for bad input or a failed command (including a disk error while
writing results: the message names the folder, nothing is left half-written); 130 after
Ctrl-C (SIGINT) and 143 after SIGTERM, both handled alike: queued work is cancelled, worker
processes end, ``--out DIR`` is left absent (or as it was) and its temporary folder removed.
Under ``timeout`` (which sends SIGTERM) the exit status is ``timeout``'s own 124. Worker
processes also end when the main process is killed outright (SIGKILL).
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import errno
import faulthandler
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from sim import __version__, netcache
from sim.cli_network import add_json_option as _add_json_option
from sim.cli_network import add_network_commands, add_no_cache_option
from sim.cli_network import ascii_only as _ascii_only
from sim.cli_network import json_text as _json_text
from sim.cli_network import print_text as _print_text
from sim.errors import FleetsimError


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fleetsim`` command line.

    Parameters
    ----------
    argv
        Arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 2 for bad input or a failed command.
    """
    _tolerate_unencodable_output()
    if argv is None:
        argv = sys.argv[1:]
    parser = _build_parser(argv)
    args = parser.parse_args(argv)
    try:
        bypass = (
            netcache.bypassed() if getattr(args, "no_cache", False) else contextlib.nullcontext()
        )
        with _sigterm_as_interrupt(), bypass:
            return args.handler(args)
    except FleetsimError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except _Terminated:
        print(f"{parser.prog}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `fleetsim sweep ... | head`: the reader left
        # The recipe of the Python docs (signal.SIGPIPE notes): no traceback at exit. The
        # reader had what it wanted, so this is a success, as for every command.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a disk error outside the result writers (e.g. network export)
        if exc.errno not in _DISK_ERRORS:
            raise
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2


#: Errors of the file system that are the environment's, not a bug: reported in one line.
_DISK_ERRORS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.ENAMETOOLONG,
    errno.EIO,
}


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's ``KeyboardInterrupt``.

    Everything that cleans up after Ctrl-C (cancelling queued work, removing a temporary
    output folder) therefore cleans up after SIGTERM too.
    """


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`_Terminated` while a command runs (main thread only).

    A SIGTERM handler set by someone else (or SIG_IGN, e.g. under ``nohup``-like wrappers) is
    left alone; the previous handler is restored afterwards.
    """
    try:
        previous = signal.getsignal(signal.SIGTERM)
        if previous is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: signals cannot be handled here
        previous = None
    try:
        yield
    finally:
        if previous is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _tolerate_unencodable_output() -> None:
    """Print ``?`` for characters stdout/stderr cannot encode (e.g. ``PYTHONIOENCODING=ascii``)
    instead of failing with ``UnicodeEncodeError`` after the work is done."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            utf = codecs.lookup(encoding).name.startswith("utf")
        except LookupError:
            utf = False
        if not utf and getattr(stream, "errors", "strict") == "strict":
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors="replace")


def _build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of every command but ``plan`` when ``argv`` names
    another command: :mod:`sim.cli_plan` imports the optimiser (sim.optimise, sim.levers,
    sim.coverage), a third of a second of start-up that only ``fleetsim plan`` uses.

    Without ``plan`` the parser parses ``argv`` exactly as the full one does: ``argv`` starts
    with one of its commands, and neither the usage line (``COMMAND``) nor that command's own
    help and errors list the others. Anything else (no command, an option first, a name that
    is no command) gets the full parser, so ``--help`` and "invalid choice" list every command.
    """
    command = argv[0] if argv else None
    parser, commands = _parser(with_plan=False)
    if command in commands.choices:
        return parser
    return _parser(with_plan=True)[0]


def _parser(*, with_plan: bool) -> tuple[argparse.ArgumentParser, Any]:
    """The parser and its subcommands (with or without ``plan``, see :func:`_build_parser`)."""
    parser = argparse.ArgumentParser(
        prog="fleetsim",
        description="Emergency fleet assembly on real road graphs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add_network_commands(commands)

    run = commands.add_parser("run", help="simulate a scenario and print the 1/2/3-hour verdict")
    run.add_argument(
        "scenario",
        nargs="?",
        default="ordos-123",
        metavar="SCENARIO",
        help="a scenario file (YAML) or a built-in scenario name (default: ordos-123)",
    )
    run.add_argument(
        "--reps",
        type=int,
        default=None,
        metavar="N",
        help="replications per incident (default: the scenario's)",
    )
    run.add_argument(
        "--seed", type=int, default=None, metavar="S", help="root seed (default: the scenario's)"
    )
    run.add_argument(
        "--fleet-sharing",
        choices=("independent", "shared"),
        default=None,
        help="override the scenario's fleet_sharing: every incident with the whole fleet to "
        "itself, or all incidents on one fleet",
    )
    _add_workers_option(run, default=1)
    run.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="write summary.json, incidents.csv, arrivals.csv, scenario.resolved.yaml, "
        "report.html and figures into DIR (atomically: DIR is absent or complete)",
    )
    run.add_argument(
        "--vehicle-log",
        action="store_true",
        help="also write vehicles.csv (one row per called vehicle per replication)",
    )
    run.add_argument("--no-figures", action="store_true", help="write no PNG figures")
    run.add_argument(
        "--engine",
        choices=("auto", "simpy", "fast", "batch"),
        default="auto",
        help="auto (default): the batch engine for runs of 64 incident-replications or more, "
        "else the heap engine, where each is proven identical to SimPy, else SimPy; simpy: "
        "always SimPy; fast: the heap engine or an error; batch: the compiled batch engine "
        "or an error",
    )
    _add_scheduler_option(run)
    _add_quiet_option(run)
    add_no_cache_option(run)
    _add_yes_option(run)
    _add_json_option(run)
    run.set_defaults(handler=_cmd_run)
    _add_study_commands(commands)
    _add_sensitivity_command(commands)
    if with_plan:
        from sim.cli_plan import add_plan_command

        add_plan_command(commands, _load_scenario)
    _add_file_commands(commands)
    _add_check_command(commands)
    return parser, commands


def _add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDR",
        help="run on an existing Dask cluster, e.g. tcp://HOST:8786 (default: the "
        "DASK_SCHEDULER_ADDRESS environment variable, else local processes; needs "
        "`pip install 'fleetsim[dask]'`; results are identical)",
    )


def _scheduler(args: argparse.Namespace) -> str | None:
    """The Dask scheduler address: ``--scheduler``, else ``$DASK_SCHEDULER_ADDRESS``."""
    import os

    from sim.executors import DASK_SCHEDULER_ENV

    return args.scheduler or os.environ.get(DASK_SCHEDULER_ENV) or None


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def _cmd_run(args: argparse.Namespace) -> int:
    import time

    from sim.experiment import run
    from sim.netload import cached_network
    from sim.results import arrivals_table, verdict_table

    scenario = _load_scenario(args.scenario)
    if args.fleet_sharing is not None:
        import dataclasses

        scenario = dataclasses.replace(scenario, fleet_sharing=args.fleet_sharing)
    if args.out:
        from sim.outputs import check_out_dir

        check_out_dir(args.out)  # before the work, not after it
    figures = bool(args.out) and not args.no_figures
    reps = scenario.replications if args.reps is None else args.reps
    start = time.perf_counter()
    base = cached_network(scenario.network)  # loaded (and cleaned) once, by validation
    with contextlib.ExitStack() as stack:
        # Figures need no vehicle log (replications keep their registration times); a vehicle
        # log asked for with --out is streamed to disk as replications finish.
        log = None
        if args.out and args.vehicle_log:
            from sim.outputs import VehicleLog

            log = stack.enter_context(VehicleLog([d.name for d in scenario.fleet.depots]))
        with _progress(len(scenario.incidents) * reps, "run", args.quiet, args.engine) as bar:
            result = run(
                scenario,
                network=base,
                replications=args.reps,
                seed=args.seed,
                workers=args.workers,
                log_vehicles=log is not None,
                progress=bar,
                scheduler=_scheduler(args),
                engine=args.engine,
                before=_confirm_long_runs(args, args.workers, "run"),
                vehicle_sink=None if log is None else log.write,
            )
        summary = result.summary
        elapsed = time.perf_counter() - start
        if args.out:
            from sim.outputs import run_files, write_outputs

            files = run_files(result, vehicle_log=log or False, figures=figures)
            out = write_outputs(args.out, files)
            _note(args, f"wrote {out} ({len(files)} files)")
    if args.json:
        print(_json_text(summary), end="")
        return 0
    print(verdict_table(summary, ascii_only=_ascii_only()))
    _print_closures(summary.get("closures") or [])
    print()
    print(arrivals_table(summary, ascii_only=_ascii_only()))
    if summary.get("fleet_sharing") == "shared":
        from sim.contention import contention_table

        print()
        print(contention_table(summary, ascii_only=_ascii_only()))
        for note in summary.get("fleet_notes", ()):
            print(f"note: {note}")
    if not args.quiet:
        print(f"({elapsed:.1f} s on network {scenario.network!r})")
    return 0


def _print_closures(entries: Sequence[Any]) -> None:
    """One line per closure: road-km closed, candidate routes changed (summary.json entries)."""
    from sim.closures import closure_line

    for entry in entries:
        _print_text(closure_line(entry))


# --------------------------------------------------------------------------------------------
# Sweep and compare
# --------------------------------------------------------------------------------------------


def _load_scenario(arg: str) -> Any:
    """The scenario named by a command-line argument: a built-in name or a scenario file.

    The one place the CLI turns SCENARIO into a :class:`~sim.scenario.Scenario`.
    """
    import os

    from sim.builtin import BUILTIN_SCENARIOS
    from sim.errors import ValidationError
    from sim.scenario import load_scenario

    if arg in BUILTIN_SCENARIOS:
        return _warned(BUILTIN_SCENARIOS[arg]())
    if os.path.isfile(arg):
        return _warned(load_scenario(arg))
    if arg.endswith((".yaml", ".yml")) or os.sep in arg or "/" in arg:
        raise ValidationError(f"scenario file not found: {arg}")
    raise ValidationError(
        f"scenario {arg!r}: not a file and not a built-in scenario; built-in scenarios: "
        f"{', '.join(BUILTIN_SCENARIOS)}"
    )


def _warned(scenario: Any) -> Any:
    """Print the scenario's warnings on stderr (even with ``--quiet``: how a file was read is
    not progress) and return it."""
    for text in scenario.warnings:
        print(f"fleetsim: warning: {text}", file=sys.stderr)
    return scenario


def _add_quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bar and no notes on stderr"
    )


def _progress(total: int, label: str, quiet: bool, engine: str = "auto") -> Any:
    """The progress bar on stderr (silent with ``--quiet`` or for short runs).

    Before a run that will wait for the batch engine's kernels to compile, a note says why
    the bar sits at 0 % (:func:`sim.experiment.compile_note`).
    """
    from sim.experiment import compile_note
    from sim.progress import ProgressBar

    note = None if quiet else compile_note(total, engine)
    if note:
        print(note, file=sys.stderr)
    return ProgressBar(total, label, enabled=not quiet)


#: A run estimated to take longer than this (seconds) asks first (``--yes`` skips the question).
LONG_RUN_S = 600.0


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:,.0f} days"


def _confirm_long_runs(args: argparse.Namespace, workers: int, what: str) -> Any:
    """A ``before`` hook: estimate the run time from pilot replications and, past
    :data:`LONG_RUN_S`, warn and ask (a terminal), or stop with exit 2 (no terminal)
    unless ``--yes``."""
    from sim.errors import ValidationError
    from sim.experiment import estimate_seconds

    def before(plans: Any, reps: int) -> None:
        est = estimate_seconds(plans, reps, workers=workers, engine=getattr(args, "engine", "auto"))
        if est <= LONG_RUN_S:
            return
        msg = (
            f"this {what} will take about {_duration(est)} ({len(plans):,} incident(s) or "
            f"site(s) x {reps:,} replications on {workers} worker(s), estimated from pilot "
            "replications)"
        )
        if args.yes:
            _note(args, f"note: {msg}; going ahead (--yes)")
            return
        if sys.stdin is not None and sys.stdin.isatty() and sys.stderr.isatty():
            print(f"fleetsim: {msg}. Continue? [y/N] ", end="", file=sys.stderr, flush=True)
            if sys.stdin.readline().strip().lower() in ("y", "yes"):
                return
        raise ValidationError(f"{msg}; lower --reps or pass --yes to run it anyway")

    return before


def _add_workers_option(parser: argparse.ArgumentParser, *, default: int | None) -> None:
    """``--workers N``: local processes; ``default`` 1, or ``None`` for the CPUs (at most 8)."""
    spelled = "1" if default == 1 else "the CPUs, at most 8"
    parser.add_argument(
        "--workers",
        type=int,
        default=default,
        metavar="N",
        help=f"local worker processes (default: {spelled}; results are identical for any N)",
    )


def _add_yes_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help=f"do not ask before a run estimated to take more than {LONG_RUN_S / 60:.0f} minutes",
    )


def _note(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text, file=sys.stderr)


def _add_study_commands(commands: Any) -> None:
    sweep = commands.add_parser(
        "sweep", help="place one incident's demand at every candidate site; map P(holds)"
    )
    sweep.add_argument(
        "scenario", metavar="SCENARIO", help="a built-in scenario name (e.g. ordos-123) or file"
    )
    sweep.add_argument(
        "--sites",
        default="seats",
        metavar="SITES",
        help="'seats' (banner/district seats, default), 'nodes' (every node inside the "
        "region) or 'grid:KM' (a grid of KM spacing snapped to nodes)",
    )
    sweep.add_argument(
        "--incident",
        default=None,
        metavar="NAME",
        help="the incident whose demand is swept (default: the scenario's first)",
    )
    _add_reps_seed_options(sweep, "per site")
    _add_workers_option(sweep, default=None)
    sweep.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="write summary.json, sites.csv, sites.geojson, scenario.resolved.yaml, "
        "report.html and sites-map.png into DIR (atomically: DIR is absent or complete)",
    )
    sweep.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted sweep: reuse the sites already finished, cached in "
        "DIR.partial/ next to --out (needs --out; the cache is removed once DIR is written)",
    )
    sweep.add_argument("--no-figures", action="store_true", help="write no PNG figure")
    _add_scheduler_option(sweep)
    _add_quiet_option(sweep)
    add_no_cache_option(sweep)
    _add_yes_option(sweep)
    _add_json_option(sweep)
    sweep.set_defaults(handler=_cmd_sweep)

    compare = commands.add_parser(
        "compare", help="two scenario variants with common random numbers: B - A per incident"
    )
    compare.add_argument("a", metavar="A", help="the baseline scenario (name or file)")
    compare.add_argument("b", metavar="B", help="the variant scenario (name or file)")
    _add_reps_seed_options(compare, "per incident (both variants)")
    _add_workers_option(compare, default=1)
    compare.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="write summary.json, comparison.csv, report.html and the two runs (a/, b/) into "
        "DIR (atomically: DIR is absent or complete)",
    )
    _add_scheduler_option(compare)
    _add_quiet_option(compare)
    add_no_cache_option(compare)
    _add_yes_option(compare)
    _add_json_option(compare)
    compare.set_defaults(handler=_cmd_compare)

    report = commands.add_parser(
        "report",
        help="(re)write report.html, the page for a browser, from a results folder of "
        "run/sweep/compare --out",
    )
    report.add_argument("dir", metavar="DIR", help="a results folder")
    report.set_defaults(handler=_cmd_report)


def _add_reps_seed_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--reps",
        type=int,
        default=None,
        metavar="N",
        help=f"replications {what} (default: the scenario's)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, metavar="S", help="root seed (default: the scenario's)"
    )


def _cmd_sweep(args: argparse.Namespace) -> int:
    import time

    from sim.errors import ValidationError
    from sim.executors import default_workers
    from sim.experiment import check_reps_seed
    from sim.netload import cached_network
    from sim.sweeps import (
        check_cache_dir,
        choose_sites,
        discard_cache,
        sweep,
        sweep_cache_dir,
        sweep_table,
    )

    scenario = _load_scenario(args.scenario)
    workers = default_workers() if args.workers is None else args.workers
    reps, seed = check_reps_seed(scenario, args.reps, args.seed)
    if args.resume and not args.out:
        raise ValidationError("--resume needs --out (finished sites are cached next to it)")
    cache = None
    if args.out:
        from sim.outputs import check_out_dir

        check_out_dir(args.out)  # before the work, not after it
        cache = sweep_cache_dir(args.out)
        check_cache_dir(cache)  # only a cache fleetsim wrote is reused or deleted
        if not args.resume:
            discard_cache(cache)  # a fresh sweep: forget an earlier interrupted one
    start = time.perf_counter()
    network = cached_network(scenario.network)  # closures are applied by sweep(), once
    choice = choose_sites(network, args.sites, max_snap_km=scenario.max_snap_km)
    skip_note = choice.skip_note()
    if skip_note:  # never silently another place (issue 11 item 1)
        _note(args, skip_note)
    sites = choice.sites
    with _progress(len(sites) * reps, f"sweep {len(sites)} sites", args.quiet) as bar:
        result = sweep(
            scenario,
            choice,
            network=network,
            incident=args.incident,
            replications=reps,
            seed=seed,
            workers=workers,
            progress=bar,
            scheduler=_scheduler(args),
            cache_dir=cache,
            before=_confirm_long_runs(args, workers, "sweep"),
        )
    result.sites = args.sites
    elapsed = time.perf_counter() - start
    for text in result.cache_notes:
        _note(args, text)
    if result.resumed:
        _note(args, f"resumed: {result.resumed} of {len(sites)} sites taken from {cache}")
    if args.out:
        from sim.outputs import sweep_files, write_outputs

        files = sweep_files(result, scenario, figures=not args.no_figures)
        out = write_outputs(args.out, files)
        if cache is not None:
            discard_cache(cache, ignore_errors=True)
        _note(args, f"wrote {out} ({len(files)} files)")
    if args.json:
        print(_json_text(result.to_json()), end="")
        return 0
    print(sweep_table(result, ascii_only=_ascii_only()))
    if not args.quiet:
        print(f"({elapsed:.1f} s with {workers} worker(s) on network {scenario.network!r})")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from sim.comparison import compare, comparison_table
    from sim.experiment import check_reps_seed

    a, b = _load_scenario(args.a), _load_scenario(args.b)
    reps, seed = check_reps_seed(a, args.reps, args.seed)
    if args.out:
        from sim.outputs import check_out_dir

        check_out_dir(args.out)  # before the work, not after it
    total = (len(a.incidents) + len(b.incidents)) * reps
    with _progress(total, "compare", args.quiet) as bar:
        result = compare(
            a,
            b,
            replications=reps,
            seed=seed,
            workers=args.workers,
            progress=bar,
            scheduler=_scheduler(args),
            before=_confirm_long_runs(args, args.workers, "comparison"),
        )
    if args.out:
        from sim.outputs import compare_files, write_outputs

        files = compare_files(result)
        out = write_outputs(args.out, files)
        _note(args, f"wrote {out} ({len(files)} files)")
    if args.json:
        print(_json_text(result.to_json()), end="")
        return 0
    print(comparison_table(result, ascii_only=_ascii_only()))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from sim.report import write_report

    path = write_report(args.dir)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


# --------------------------------------------------------------------------------------------
# Sensitivity (sim.sensitivities)
# --------------------------------------------------------------------------------------------


def _add_sensitivity_command(commands: Any) -> None:
    sens = commands.add_parser(
        "sensitivity",
        help="which assumptions decide each incident's P(holds) and p90 (Morris or Sobol)",
    )
    sens.add_argument("scenario", metavar="SCENARIO", help="a built-in scenario name or file")
    sens.add_argument("--method", choices=("morris", "sobol"), default="morris")
    sens.add_argument(
        "--ranges",
        default=None,
        metavar="FILE",
        help="key paths and ranges, `ranges: {staging.lanes: {low: 1, high: 4}}` (default: "
        "the shipped ranges of every assumption)",
    )
    sens.add_argument(
        "--trajectories",
        "--samples",
        dest="n",
        type=int,
        default=None,
        metavar="N",
        help="Morris trajectories (default 10) or Sobol base samples (a power of 2, default 64)",
    )
    _add_reps_seed_options(sens, "per incident per run")
    _add_workers_option(sens, default=None)
    sens.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="write summary.json, ranking.csv, samples.csv, ranges.yaml, "
        "scenario.resolved.yaml and sensitivity.png into DIR (atomically)",
    )
    sens.add_argument("--no-figures", action="store_true", help="write no PNG figure")
    _add_scheduler_option(sens)
    _add_quiet_option(sens)
    add_no_cache_option(sens)
    _add_yes_option(sens)
    _add_json_option(sens)
    sens.set_defaults(handler=_cmd_sensitivity)


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    import dataclasses

    from sim.executors import default_workers
    from sim.experiment import check_reps_seed
    from sim.sensitivities import load_ranges, sensitivity, sensitivity_files, sensitivity_table

    scenario = _load_scenario(args.scenario)
    reps, seed = check_reps_seed(scenario, args.reps, args.seed)
    scenario = dataclasses.replace(scenario, seed=seed)
    workers = default_workers() if args.workers is None else args.workers
    ranges = load_ranges(args.ranges) if args.ranges else None
    if args.out:
        from sim.outputs import check_out_dir

        check_out_dir(args.out)  # before the work, not after it

    def before(plans: Any, n_reps: int) -> None:
        _confirm_long_runs(args, workers, "sensitivity analysis")(plans, n_reps)
        bar.set_total(len(plans) * n_reps)

    with _progress(1, f"sensitivity ({args.method})", args.quiet) as bar:
        result = sensitivity(
            scenario,
            ranges,
            method=args.method,
            n=args.n,
            replications=reps,
            workers=workers,
            scheduler=_scheduler(args),
            progress=bar,
            before=before,
        )
    for text in result.notes:
        _note(args, f"note: {text}")
    if args.out:
        from sim.outputs import write_outputs

        files = sensitivity_files(result, figures=not args.no_figures)
        out = write_outputs(args.out, files)
        _note(args, f"wrote {out} ({len(files)} files)")
    if args.json:
        print(_json_text(result.to_json()), end="")
        return 0
    print(sensitivity_table(result, ascii_only=_ascii_only()))
    return 0


# --------------------------------------------------------------------------------------------
# Scenario files: validate and schema
# --------------------------------------------------------------------------------------------


def _add_file_commands(commands: Any) -> None:
    validate = commands.add_parser(
        "validate", help="check a scenario file; list every problem (exit 0 if valid, 2 if not)"
    )
    validate.add_argument("file", metavar="FILE", help="a scenario file (YAML)")
    add_no_cache_option(validate)
    validate.set_defaults(handler=_cmd_validate)
    schema = commands.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.set_defaults(handler=_cmd_schema)


def _cmd_validate(args: argparse.Namespace) -> int:
    import os

    from sim.errors import ScenarioError
    from sim.scenario import load_scenario

    if not os.path.isfile(args.file):
        print(f"fleetsim: error: scenario file not found: {args.file}", file=sys.stderr)
        return 2
    try:
        scenario = load_scenario(args.file)
    except ScenarioError as exc:
        n = len(exc.problems)
        print(f"{args.file}: {n} problem{'s' if n != 1 else ''}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    _warned(scenario)
    n = len(scenario.incidents)
    print(
        f"{args.file}: OK, scenario {scenario.name!r}: {n} incident{'s' if n != 1 else ''}, "
        f"{scenario.fleet.total:,} vehicles, network {scenario.network!r}"
    )
    if scenario.closures:
        from sim.netload import cached_network
        from sim.planning import closure_report

        report = closure_report(scenario, cached_network(scenario.network))
        _print_closures([effect.to_json() for effect in report])
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from sim.scenario import scenario_json_schema

    print(_json_text(scenario_json_schema()), end="")
    return 0


# --------------------------------------------------------------------------------------------
# Regression guard: check
# --------------------------------------------------------------------------------------------


def _add_check_command(commands: Any) -> None:
    check = commands.add_parser(
        "check",
        help="rerun the canonical scenarios and compare response times with the baselines "
        "(exit 1 if any metric is worse than its tolerance)",
    )
    check.add_argument(
        "--scenario",
        nargs="+",
        default=None,
        metavar="FILE",
        help="scenario files to check (default: every scenarios/*.yaml)",
    )
    check.add_argument(
        "--baselines",
        default="regression/baselines",
        metavar="DIR",
        help="baseline folder (default: regression/baselines)",
    )
    check.add_argument("--update", action="store_true", help="rewrite the baselines from this run")
    check.add_argument(
        "--reps",
        type=int,
        default=100,
        metavar="N",
        help="with --update: replications per incident in the new baselines (default 100)",
    )
    check.add_argument(
        "--statistical",
        action="store_true",
        help="pass a metric when the baseline lies in the new run's confidence interval "
        "(for refactors that change random-number use; see README)",
    )
    check.add_argument(
        "--overlay",
        default=None,
        metavar="FILE",
        help="a scenario-file fragment merged over every scenario (what-ifs, mutation tests)",
    )
    _add_workers_option(check, default=None)
    _add_quiet_option(check)
    add_no_cache_option(check)
    check.set_defaults(handler=_cmd_check)


def _cmd_check(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from sim.errors import ValidationError
    from sim.executors import default_workers
    from sim.regression import check, format_report

    if args.scenario:
        scenarios = [Path(p) for p in args.scenario]
    else:
        scenarios = sorted(Path("scenarios").glob("*.yaml"))
        if not scenarios:
            raise ValidationError(
                "no scenario files in ./scenarios; run from the project folder or give --scenario"
            )
    for path in scenarios:
        if not path.is_file():
            raise ValidationError(f"--scenario: file not found: {path}")
    overlay = Path(args.overlay) if args.overlay else None
    if overlay is not None and not overlay.is_file():
        raise ValidationError(f"--overlay: file not found: {overlay}")
    workers = args.workers or default_workers()
    start = time.perf_counter()
    lines = check(
        scenarios,
        Path(args.baselines),
        update=args.update,
        statistical=args.statistical,
        overlay=overlay,
        workers=workers,
        replications=args.reps,
        progress=None if args.quiet else (lambda name: _note(args, f"checking {name} ...")),
    )
    elapsed = time.perf_counter() - start
    if args.update:
        print(f"updated {len(scenarios)} baselines in {args.baselines} ({elapsed:.1f} s)")
        return 0
    if args.quiet:  # the verdict line, and the metrics that are worse, one per line
        worse = [line for line in lines if line.status == "WORSE"]
        print(f"{len(lines)} metrics, {len(worse)} worse than tolerance")
        for w in worse:
            print(
                f"  WORSE {w.scenario}/{w.incident}/{w.metric}: baseline {w.baseline}, "
                f"now {w.now} (tolerance {w.tolerance})"
            )
    else:
        print(format_report(lines, ascii_only=_ascii_only()))
    mode = "statistical" if args.statistical else "exact"
    print(f"({len(scenarios)} scenarios, {mode} mode, {elapsed:.1f} s)")
    return 1 if any(line.status == "WORSE" for line in lines) else 0


#: Seconds a process that was interrupted or terminated may take to exit once it has cleaned
#: up; after that it prints every thread's stack to stderr and exits with status 1.
EXIT_GRACE_S = 30.0


def console() -> None:
    """The ``fleetsim`` console script: :func:`main`, then exit with its status.

    After Ctrl-C or SIGTERM, the interpreter's exit (joining worker processes and threads)
    gets :data:`EXIT_GRACE_S` seconds. Under heavy load a sweep was once seen to print
    ``terminated`` and then never exit; the watchdog bounds that and leaves the stacks on
    stderr for a bug report (workers die with the main process: ``PR_SET_PDEATHSIG``).
    """
    status = main()
    if status in (130, 128 + signal.SIGTERM):
        faulthandler.dump_traceback_later(EXIT_GRACE_S, exit=True)
    sys.exit(status)


if __name__ == "__main__":  # pragma: no cover
    console()
