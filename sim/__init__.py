"""fleetsim: emergency fleet assembly on real road graphs."""

__version__ = "0.1.0"

