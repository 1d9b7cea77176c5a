"""Stage assembly of the ``qattn`` transpiler plugins and the compile helpers built on them.

As ``qiskit.transpiler.preset_passmanagers``: :mod:`.stages` builds the optimization, init and
layout stages, :mod:`.plugin` registers them as stage plugins (entry points in
``pyproject.toml``), and :mod:`.compile` holds :func:`compile_circuits` and
:func:`compile_qattn`. Qiskit imports :mod:`.plugin` on every preset pass-manager build, so this
package imports nothing on its own: names load on attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "QAttnInitPlugin": ".plugin",
    "QAttnLayoutPlugin": ".plugin",
    "QAttnOptimizationPlugin": ".plugin",
    "compile_circuits": ".compile",
    "compile_qattn": ".compile",
    "error_budget_from_degree": ".stages",
    "fidelity_lower_bound": ".stages",
    "isa_pass_manager": ".stages",
    "noise_aware_layout_pass_manager": ".stages",
    "qattn_init_stage": ".stages",
    "qattn_optimization_stage": ".stages",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
