"""Keep the cyclic garbage collector out of work that makes many objects and no cycles.

Two ways, for two situations:

- :func:`collector_paused` stops collection while a burst of acyclic objects is made (a
  pickle of a road network loading, a sub-batch of replication results). Every 700 new
  containers start a pass over the young ones, and nothing they hold is garbage yet.
- :func:`long_lived_frozen` moves the objects alive now (the network, the plans) out of every
  pass while a long run piles up results; collection itself stays on.

This module imports no fleetsim module, so that modules which import none by design
(:mod:`sim.netcache`) may use it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused", "long_lived_frozen"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic garbage collector while the block runs, then restore its state.

    Collection is enabled again afterwards only if it was enabled before, so nested pauses
    and callers that disabled it themselves are left as they were.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@contextmanager
def long_lived_frozen() -> Iterator[None]:
    """Leave the objects alive before the block out of the collector's passes while it runs
    (:func:`gc.freeze`, undone after it).

    Results made by the thousand trigger full passes, each walking the whole network again.
    Nothing is frozen when collection is off or the caller froze objects already (undoing
    would thaw theirs too).
    """
    freeze = gc.isenabled() and gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()
