"""Executors: run tasks serially, on local processes or on a Dask cluster, results in order.

Every replication depends only on the scenario seed, the incident's name and its index, and
results are assembled in submission order, so the results are identical whichever executor
runs them and however the work is chunked.

Local worker processes never outlive the process that started them: each asks the kernel to
kill it when its parent dies (Linux ``PR_SET_PDEATHSIG``), so SIGKILL to a ``fleetsim`` process
leaves no worker running. They ignore SIGINT and SIGTERM, which a terminal (Ctrl-C) or
``timeout`` sends to the whole process group: the main process handles them, cancels the
queued work, lets the running chunks finish and shuts the pool down. (A worker dying while the
main process cancels would hang Python 3.11's pool shutdown.)
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sim.errors import ValidationError
from sim.signals import raise_held, stop_signals_deferred

#: Environment variable naming a Dask scheduler (read by the command line, as in Dask).
DASK_SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


class Executor:
    """Runs tasks and yields their results *in submission order*.

    One abstraction for every way of running replications: :class:`SerialExecutor`,
    :class:`ProcessExecutor` (local processes) and :class:`DaskExecutor` (an existing Dask
    cluster). Since every replication depends only on the seed, the incident's name and its
    index, and results are assembled in submission order, the results are identical
    whichever executor runs them and however the work is chunked.

    Attributes
    ----------
    slots : int
        Tasks that run at the same time (used to size chunks; results do not depend on it).
    inherits_state : bool
        Whether the tasks of a :meth:`map` run in this process or in processes forked from it
        when :meth:`map` starts, so they see this process's objects (a loaded road network)
        without a copy per task.
    """

    slots: int = 1
    inherits_state: bool = False

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Any]:
        """Yield ``fn(*task)`` for every task, in the order of ``tasks``.

        Closing the iterator early (an error or Ctrl-C in the consumer) cancels the tasks not
        yet started; only those already running are waited for.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release the executor's resources (a no-op unless it owns a connection)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs every task in this process, one after the other."""

    inherits_state = True

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Any]:
        """Yield ``fn(*task)`` for every task, computed lazily in order."""
        for task in tasks:
            yield fn(*task)


class ProcessExecutor(Executor):
    """Runs tasks on ``workers`` local processes (a fresh pool per :meth:`map`).

    Parameters
    ----------
    workers
        Number of worker processes (>= 1).
    """

    def __init__(self, workers: int) -> None:
        self.slots = check_workers(workers)
        # The pool's processes start by fork (Linux' default) unless the program chose another
        # start method: then they see nothing of this process but what each task carries.
        self.inherits_state = multiprocessing.get_start_method() == "fork"

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Any]:
        """Submit every task at once and yield the results in submission order."""
        with ProcessPoolExecutor(
            max_workers=self.slots, initializer=_init_worker, initargs=(os.getpid(),)
        ) as pool:
            # The first submit forks the workers and starts the pool's manager thread. A
            # KeyboardInterrupt raised in between leaves workers that the pool's shutdown never
            # tells to stop, and the interpreter then waits for them at exit for ever. A forked
            # worker also runs the held handler until its initializer ignores both signals.
            with stop_signals_deferred() as caught:
                futures = [pool.submit(fn, *task) for task in tasks]
            try:
                raise_held(caught)  # Ctrl-C or SIGTERM during the submission: act on it now
                for fut in futures:
                    yield fut.result()
            except BaseException:
                # Ctrl-C, an error, or the consumer closing the iterator: cancel the queued
                # tasks, so leaving the `with` waits only for the few already running.
                # (shutdown(cancel_futures=True) is not enough: its manager thread may outlive
                # the executor and then runs every queued task.)
                for fut in futures:
                    fut.cancel()
                raise


#: ``prctl`` option: the signal the kernel sends this process when its parent dies.
_PR_SET_PDEATHSIG = 1


def _init_worker(main_pid: int) -> None:
    """Set up a local worker process: die with the parent, leave Ctrl-C and SIGTERM to the
    main process (which ends the pool)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent(main_pid)


def _die_with_parent(main_pid: int) -> bool:
    """Have the kernel kill this process (SIGKILL) when its parent process dies.

    Linux only (``prctl(PR_SET_PDEATHSIG)``); elsewhere nothing happens. If ``main_pid`` is
    already gone (it died while this process started), this process exits at once.

    Parameters
    ----------
    main_pid
        The process that started the pool (the parent, or with a fork server its parent).

    Returns
    -------
    bool
        Whether the request was made.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        ok = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):  # pragma: no cover - no usable libc
        return False
    # The parent may have died before prctl took effect: then nobody will send the signal.
    if os.getppid() != main_pid:
        try:
            os.kill(main_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # pragma: no cover - a pid reused by another user
            os._exit(1)
    return ok


class DaskExecutor(Executor):
    """Runs tasks on an existing Dask cluster (``pip install 'fleetsim[dask]'``).

    The cluster's workers need fleetsim installed (the same version) to unpickle the tasks.

    Parameters
    ----------
    scheduler
        The scheduler's address, e.g. ``tcp://10.0.0.5:8786``, or a connected
        ``distributed.Client`` (which is then left open by :meth:`close`).
    timeout
        Seconds to wait for the scheduler when connecting.

    Raises
    ------
    ValidationError
        When Dask (``distributed``) is not installed, or the scheduler cannot be reached.
    """

    def __init__(self, scheduler: Any, *, timeout: float = 10.0) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ValidationError(
                "a Dask scheduler was given but Dask is not installed; install it with "
                "`pip install 'fleetsim[dask]'` (or `pip install 'dask[distributed]'`)"
            ) from None
        if isinstance(scheduler, str):
            try:
                self.client = Client(scheduler, timeout=timeout, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ValidationError(
                    f"cannot connect to the Dask scheduler {scheduler!r}: {exc}"
                ) from None
            self._owns = True
        elif isinstance(scheduler, Client):
            self.client, self._owns = scheduler, False
        else:
            raise ValidationError(
                "`scheduler` must be an address such as 'tcp://HOST:8786' or a "
                f"distributed.Client, got {scheduler!r}"
            )
        self.slots = max(1, sum(self.client.nthreads().values()))

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Any]:
        """Submit every task to the cluster and yield the results in submission order."""
        if not tasks:
            return
        # Send every distinct object argument (an incident plan) to the cluster once, so a
        # sweep of many sites does not ship one large task graph; tasks refer to it.
        shared: dict[int, Any] = {}
        for task in tasks:
            for arg in task:
                if not isinstance(arg, _SCALARS):
                    shared.setdefault(id(arg), arg)
        refs: dict[int, Any] = {}
        if shared:
            scattered = self.client.scatter(list(shared.values()), hash=False)
            refs = dict(zip(shared, scattered, strict=True))
        args = [tuple(refs.get(id(a), a) for a in task) for task in tasks]
        futures = self.client.map(fn, *zip(*args, strict=True), pure=False)
        try:
            for fut in futures:
                yield fut.result()
        except BaseException:
            self.client.cancel(futures)
            raise

    def close(self) -> None:
        """Close the connection to the scheduler if this executor opened it."""
        if self._owns:
            self.client.close()


_SCALARS = (bool, int, float, str, bytes, range, type(None))


def check_workers(workers: object) -> int:
    """Validate a worker count (an integer >= 1) and return it."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValidationError(f"`workers` must be an integer >= 1, got {workers!r}")
    return workers


def make_executor(workers: int = 1, scheduler: Any = None) -> Executor:
    """The executor for ``workers`` local processes or a Dask ``scheduler``.

    Parameters
    ----------
    workers
        1 runs serially; more uses that many local processes. Ignored with ``scheduler``.
    scheduler
        A Dask scheduler address (``tcp://HOST:PORT``) or a ``distributed.Client``: run on
        that cluster instead.

    Returns
    -------
    Executor
        Close it after use (it is a context manager).
    """
    check_workers(workers)
    if scheduler is not None and scheduler != "":
        return DaskExecutor(scheduler)
    return SerialExecutor() if workers == 1 else ProcessExecutor(workers)


def default_workers() -> int:
    """Worker processes used by default: the CPUs available to this process (at most 8)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))
