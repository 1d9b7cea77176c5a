"""Transpilation of attention circuits: passes, synthesis, and the ``qattn`` stage plugins.

The layout follows Qiskit's: this package holds the transpiler passes, one per module
(:class:`LogicalRecompile`, :class:`PhaseBlockRecovery`, :class:`CnotPhaseResynthesis`,
:class:`StashRoutedCircuit`, :class:`NoiseAwareLayout`), with the routing inversion they share
(:func:`deroute`) and the on-device equivalence checks of :mod:`.verify`; :mod:`.synthesis`
holds the synthesis algorithms (Gray-code diagonals, architecture-aware linear and parity-network
synthesis, phase-polynomial forms, path-native state preparation and its HighLevelSynthesis
plugin), like ``qiskit.synthesis``; :mod:`.preset` assembles the stages, registers them as
plugins (:mod:`.preset.plugin`) and offers :func:`compile_circuits` / :func:`compile_qattn`, like
``qiskit.transpiler.preset_passmanagers``.

Qiskit imports every installed stage plugin on every preset pass-manager build, so names here load
lazily (attribute access) and :mod:`.preset.plugin` imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "CnotPhaseResynthesis": ".cnot_phase_resynthesis",
    "LogicalRecompile": ".logical_recompile",
    "NoiseAwareLayout": ".noise_aware_layout",
    "PhaseBlockRecovery": ".phase_block_recovery",
    "StashRoutedCircuit": ".stash_routed_circuit",
    "deroute": ".deroute",
    "estimated_success_probability": ".noise_aware_layout",
    "recover_phase_blocks": ".phase_block_recovery",
    "active_qubits": ".idle_qubits",
    "compact_circuit": ".idle_qubits",
    "equivalent_on_device": ".verify",
    "state_fidelity_on_device": ".verify",
    "PathStatePreparationSynthesis": ".synthesis.state_preparation",
    "path_state_preparation": ".synthesis.state_preparation",
    "QAttnInitPlugin": ".preset.plugin",
    "QAttnLayoutPlugin": ".preset.plugin",
    "QAttnOptimizationPlugin": ".preset.plugin",
    "compile_circuits": ".preset.compile",
    "compile_qattn": ".preset.compile",
    "error_budget_from_degree": ".preset.stages",
    "fidelity_lower_bound": ".preset.stages",
    "noise_aware_layout_pass_manager": ".preset.stages",
    "qattn_init_stage": ".preset.stages",
    "qattn_optimization_stage": ".preset.stages",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
