"""Transpilation of attention circuits: preset compilation and the ``qattn`` stage plugin.

The plugin lives in :mod:`.plugin`; Qiskit imports it on every preset pass-manager build, so this
package loads its passes lazily (attribute access) and :mod:`.plugin` imports nothing heavy. The
main pass is :class:`LogicalRecompile` (undo routing, resynthesize the phase polynomials of the
logical circuit, compile again).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "CnotPhaseResynthesis": ".cnot_phase_resynthesis",
    "LogicalRecompile": ".logical_recompile",
    "NoiseAwareLayout": ".noise_aware_layout",
    "PathStatePreparationSynthesis": ".state_preparation_synthesis",
    "path_state_preparation": ".state_preparation_synthesis",
    "estimated_success_probability": ".noise_aware_layout",
    "noise_aware_layout_pass_manager": ".noise_aware_layout",
    "PhaseBlockRecovery": ".phase_block_recovery",
    "StashRoutedCircuit": ".stash_routed_circuit",
    "deroute": ".deroute",
    "recover_phase_blocks": ".phase_block_recovery",
    "compile_circuits": ".preset",
    "compile_qattn": ".preset",
    "equivalent_on_device": ".verify",
    "state_fidelity_on_device": ".verify",
    "error_budget_from_degree": ".stage",
    "fidelity_lower_bound": ".stage",
    "qattn_optimization_stage": ".stage",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
