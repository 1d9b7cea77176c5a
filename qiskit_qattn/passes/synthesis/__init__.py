"""Synthesis algorithms of the ``qattn`` passes, in the spirit of ``qiskit.synthesis``.

- :mod:`.diagonal`: exact CNOT + RZ Gray-code synthesis of dense diagonals.
- :mod:`.linear`: CNOT synthesis of linear reversible maps on a coupling graph (Steiner-Gauss).
- :mod:`.parity_network`: connectivity-aware synthesis of phase polynomials (CNOT-phase circuits).
- :mod:`.cnot_phase_form` and :mod:`.cnot_phase_blocks`: the phase-polynomial form of a circuit
  (rewrite making CNOT-phase regions visible; the phase polynomial and affine map of each region).
- :mod:`.graph`: the small coupling graphs the syntheses work on.
- :mod:`.state_preparation`: path-native amplitude encoding and its HighLevelSynthesis plugin
  (entry point ``state_preparation.qattn``).

HighLevelSynthesis imports every installed synthesis plugin, so this package imports nothing on its
own: names load on attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "CnotPhaseFunction": ".cnot_phase_blocks",
    "PathStatePreparationSynthesis": ".state_preparation",
    "WireGraph": ".graph",
    "block_function": ".cnot_phase_blocks",
    "drop_small_terms": ".parity_network",
    "path_state_preparation": ".state_preparation",
    "steiner_gauss": ".linear",
    "synthesize_cnot_phase": ".parity_network",
    "synthesize_diagonal": ".diagonal",
    "synthesize_linear": ".linear",
    "to_cnot_phase_form": ".cnot_phase_form",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
