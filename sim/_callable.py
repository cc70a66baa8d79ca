"""``sim.sweep(...)`` and ``sim.compare(...)``: two submodules that are also API functions.

``sim.sweep`` and ``sim.compare`` are modules (``from sim.sweep import SweepResult``) and, for
notebooks, the analyst API's functions :func:`sim.api.sweep` and :func:`sim.api.compare`. A
package attribute can hold only one object, and importing a submodule binds its name on the
package, so each of the two modules makes itself callable (:func:`make_callable`): calling the
module calls the function of the same name in :mod:`sim.api`. Everything else about the
modules is unchanged (``import sim.sweep as sw``, ``monkeypatch.setattr(sim.sweep, ...)``).
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Callable
from typing import Any


class CallableModule(types.ModuleType):
    """A module whose call is the :mod:`sim.api` function of the same name."""

    def _api_function(self) -> Callable[..., Any]:
        from sim import api

        return getattr(api, self.__name__.rpartition(".")[2])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call :func:`sim.api.sweep` or :func:`sim.api.compare` (see ``help(sim.api)``)."""
        return self._api_function()(*args, **kwargs)

    @property
    def __signature__(self) -> inspect.Signature:
        """The signature of the API function (shown by IPython's ``sim.sweep?``)."""
        return inspect.signature(self._api_function())


def make_callable(name: str) -> None:
    """Make the loaded module ``name`` (``sim.sweep`` or ``sim.compare``) callable."""
    sys.modules[name].__class__ = CallableModule
