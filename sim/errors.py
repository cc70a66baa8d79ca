"""Package exceptions.

Every error fleetsim raises on bad input derives from :class:`FleetsimError`, so a caller
(the CLI, a notebook) can catch one type. Each concrete error also subclasses the built-in
that describes it best, as SimPy and OSMnx do.
"""

from __future__ import annotations

from collections.abc import Sequence


class FleetsimError(Exception):
    """Base class of every error fleetsim raises on purpose."""


class ValidationError(FleetsimError, ValueError):
    """A parameter, scenario key or input value is not acceptable.

    The message names the parameter (or key path) and the bad value.
    """


class NetworkError(FleetsimError, ValueError):
    """A road network cannot be loaded, or a location cannot be placed on it."""


class OutputError(FleetsimError, OSError):
    """Results cannot be written: a full or read-only disk, no permission, a file-size limit.

    The message names the folder and the cause; whatever was being written has been removed,
    so an output folder is left absent or as it was.
    """


class ScenarioError(ValidationError):
    """A scenario file has one or more problems; :attr:`problems` lists every one of them.

    Parameters
    ----------
    problems
        The problems (objects whose ``str()`` is a one-line message naming the file, the key
        path and the bad value, e.g. :class:`sim.scenario.Problem`).
    what
        What has them, for the first line: ``the scenario`` or e.g. ``the ranges file``.
    """

    def __init__(self, problems: Sequence[object], what: str = "the scenario") -> None:
        self.problems = list(problems)
        n = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} in {what}:\n{lines}")
