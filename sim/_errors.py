"""Package exceptions.

Every error fleetsim raises on bad input derives from :class:`FleetsimError`, so a caller
(the CLI, a notebook) can catch one type. Each concrete error also subclasses the built-in
that describes it best, as SimPy and OSMnx do.
"""

from __future__ import annotations


class FleetsimError(Exception):
    """Base class of every error fleetsim raises on purpose."""


class ValidationError(FleetsimError, ValueError):
    """A parameter, scenario key or input value is not acceptable.

    The message names the parameter (or key path) and the bad value.
    """


class NetworkError(FleetsimError, ValueError):
    """A road network cannot be loaded, or a location cannot be placed on it."""
