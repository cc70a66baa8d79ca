"""Small, explicit probability distributions for model inputs.

Every distribution is sampled by transforming standard uniforms (inverse CDF). The model draws
the uniforms from its own seeded streams and hands them here, so the same vehicle in the same
replication gets the same uniforms whatever the distribution's parameters: this is what makes
common random numbers work across scenario variants (``fleetsim compare``), and it keeps the
degenerate ``fixed`` case exact for oracle tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import ndtri

from sim.errors import ValidationError

Kind = Literal["fixed", "exponential", "lognormal", "uniform"]
_KINDS: tuple[str, ...] = ("fixed", "exponential", "lognormal", "uniform")


@dataclass(frozen=True)
class Dist:
    """A non-negative distribution of durations (minutes) or factors.

    Parameters
    ----------
    kind
        ``fixed`` (always ``value``), ``exponential`` (mean ``value``), ``lognormal``
        (median ``value``, log-standard-deviation ``sigma``) or ``uniform`` (on
        ``[value - spread, value + spread]``).
    value
        The fixed value, mean, median or centre; must be >= 0.
    sigma
        Log-sd of the lognormal; ignored otherwise.
    spread
        Half-width of the uniform; ignored otherwise.
    """

    kind: Kind = "fixed"
    value: float = 0.0
    sigma: float = 0.0
    spread: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValidationError(f"Dist: `kind` must be one of {_KINDS}, got {self.kind!r}")
        for name in ("value", "sigma", "spread"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or math.isnan(v) or v < 0 or math.isinf(v):
                raise ValidationError(f"Dist: `{name}` must be a finite number >= 0, got {v!r}")
        if self.kind == "uniform" and self.spread > self.value:
            raise ValidationError(
                f"Dist: uniform `spread` ({self.spread}) must not exceed `value` ({self.value})"
            )

    @classmethod
    def fixed(cls, value: float) -> Dist:
        """Return a degenerate distribution at ``value``."""
        return cls("fixed", float(value))

    @classmethod
    def exponential(cls, mean: float) -> Dist:
        """Return an exponential distribution with the given mean."""
        return cls("exponential", float(mean))

    @classmethod
    def lognormal(cls, median: float, sigma: float) -> Dist:
        """Return a lognormal distribution with the given median and log-sd."""
        return cls("lognormal", float(median), sigma=float(sigma))

    @property
    def is_degenerate(self) -> bool:
        """Whether every draw is the same value (``fixed``, or a spread/sigma/mean of 0)."""
        if self.kind == "fixed" or self.value == 0:
            return True
        if self.kind == "lognormal":
            return self.sigma == 0
        if self.kind == "uniform":
            return self.spread == 0
        return False

    @property
    def mean(self) -> float:
        """The distribution's mean."""
        if self.kind == "lognormal":
            return self.value * math.exp(0.5 * self.sigma**2)
        return self.value

    @property
    def second_moment(self) -> float:
        """The distribution's second moment, E[X²]."""
        v = self.value
        if self.kind == "lognormal":
            return v * v * math.exp(2.0 * self.sigma**2)
        if self.kind == "exponential":
            return 2.0 * v * v
        if self.kind == "uniform":
            return v * v + self.spread**2 / 3.0
        return v * v

    def from_uniform(self, u: np.ndarray | float) -> np.ndarray:
        """Transform standard uniforms ``u`` in (0, 1) into draws (inverse CDF).

        Parameters
        ----------
        u
            Uniforms in the open interval (0, 1), any shape.

        Returns
        -------
        numpy.ndarray
            Draws of the same shape.
        """
        u = np.asarray(u, dtype=np.float64)
        return self._from(u, ndtri(u) if self.kind == "lognormal" else None)

    def from_uniform_pair(self, other: Dist, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(self.from_uniform(u), other.from_uniform(u))``, the same values, with the normal
        quantiles of ``u`` taken once when both are lognormal (they are most of a lognormal
        draw's time: the batch engine's day and night mobilisations share their uniforms).

        Parameters
        ----------
        other
            The second distribution.
        u
            Uniforms in the open interval (0, 1), any shape.
        """
        u = np.asarray(u, dtype=np.float64)
        z = ndtri(u) if "lognormal" in (self.kind, other.kind) else None
        return self._from(u, z), other._from(u, z)

    def _from(self, u: np.ndarray, z: np.ndarray | None) -> np.ndarray:
        """The inverse CDF at ``u``, with ``z = ndtri(u)`` given for a lognormal."""
        if self.kind == "fixed":
            return np.full(u.shape, self.value)
        if self.kind == "exponential":
            return -self.value * np.log1p(-u)
        if self.kind == "uniform":
            return self.value + self.spread * (2.0 * u - 1.0)
        assert z is not None
        return self.value * np.exp(self.sigma * z)

    def scaled(self, factor: float) -> Dist:
        """Return the same distribution with its location multiplied by ``factor``."""
        return Dist(self.kind, self.value * factor, self.sigma, self.spread * factor)


def from_uniform_by(dists: Sequence[Dist], which: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Draws from uniforms ``u`` by distributions that differ from draw to draw: the values of
    ``dists[which[i]].from_uniform(u[i])``, for many draws at once.

    When every distribution is lognormal, the normal quantiles are taken once for all the
    draws and each draw scales by its own median and log-sd (the same operations as
    :meth:`Dist.from_uniform`, element by element); otherwise each distinct distribution
    draws its share.

    Parameters
    ----------
    dists
        The distributions.
    which
        Per draw, an index into ``dists``.
    u
        Uniforms in the open interval (0, 1), the shape of ``which``.
    """
    distinct = set(dists)
    if len(distinct) == 1:
        return dists[0].from_uniform(u)
    u = np.asarray(u, dtype=np.float64)
    if all(d.kind == "lognormal" for d in distinct):
        z = ndtri(u)  # in place from here: one array, not a new one a step
        np.multiply(np.array([d.sigma for d in dists])[which], z, out=z)
        np.exp(z, out=z)
        return np.multiply(np.array([d.value for d in dists])[which], z, out=z)
    out = np.empty(u.shape)
    for dist in distinct:
        mine = np.isin(which, [i for i, d in enumerate(dists) if d == dist])
        if mine.any():
            out[mine] = dist.from_uniform(u[mine])
    return out
