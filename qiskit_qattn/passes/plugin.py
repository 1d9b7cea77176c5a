"""Transpiler stage plugins named ``qattn`` (registered through entry points).

Select with ``generate_preset_pass_manager(..., optimization_method="qattn")`` or
``transpile(..., optimization_method="qattn")``. Qiskit imports every installed plugin when it
builds a preset pass manager, so this module imports nothing beyond the plugin base class; the
passes are imported when a stage is actually built.
"""

from __future__ import annotations

from qiskit.transpiler.preset_passmanagers.plugin import PassManagerStagePlugin


class QAttnOptimizationPlugin(PassManagerStagePlugin):
    """Optimization stage: Qiskit's stage for the level, then CNOT-phase resynthesis.

    The resynthesis re-derives the phase polynomials of the routed circuit (phase separators,
    uniformly controlled rotations, SWAP chains), synthesizes them on the coupling graph and keeps
    the result only when it has fewer two-qubit gates (or as many and less depth). Output stays in
    the target's ISA. With ``approximation_degree < 1`` small phase terms may be dropped; the
    certified operator-norm error bound is stored in ``property_set["qattn_error_bound"]``.

    Example:
        >>> from qiskit.transpiler.preset_passmanagers.plugin import list_stage_plugins
        >>> "qattn" in list_stage_plugins("optimization")
        True
    """

    def pass_manager(self, pass_manager_config, optimization_level=None):
        from .stage import qattn_optimization_stage

        return qattn_optimization_stage(pass_manager_config, optimization_level)
