"""Transpiler stage plugins named ``qattn`` (registered through entry points).

Select with ``generate_preset_pass_manager(..., optimization_method="qattn")`` or
``transpile(..., optimization_method="qattn")``. Qiskit imports every installed plugin when it
builds a preset pass manager, so this module imports nothing beyond the plugin base class; the
passes are imported when a stage is actually built.
"""

from __future__ import annotations

from qiskit.transpiler.preset_passmanagers.plugin import PassManagerStagePlugin


class QAttnOptimizationPlugin(PassManagerStagePlugin):
    """Optimization stage: Qiskit's stage for the level, then a logical recompilation.

    The routed circuit is de-routed (SWAP-like blocks become a wire relabelling), its phase
    polynomials (Pauli-evolution ladders, phase separators) are re-derived and resynthesized as
    Gray-code diagonals or GraySynth networks, and the logical circuit is compiled again; the
    result is kept only when it has fewer two-qubit gates (or as many and less depth), with the
    layouts rewritten to match. Output stays in the target's ISA. With
    ``approximation_degree < 1`` small phase terms may be dropped; the certified operator-norm
    error bound is stored in ``property_set["qattn_error_bound"]``.

    Example:
        >>> from qiskit.transpiler.preset_passmanagers.plugin import list_stage_plugins
        >>> "qattn" in list_stage_plugins("optimization")
        True
    """

    def pass_manager(self, pass_manager_config, optimization_level=None):
        from .stages import qattn_optimization_stage

        return qattn_optimization_stage(pass_manager_config, optimization_level)


class QAttnInitPlugin(PassManagerStagePlugin):
    """Init stage: Qiskit's init stage, then exact phase-polynomial recovery before layout.

    ``StatePreparation`` gates get the package's path-native amplitude encoding when that
    synthesis plugin is installed.

    Select with ``init_method="qattn"``; combine with ``optimization_method="qattn"``.

    Example:
        >>> from qiskit.transpiler.preset_passmanagers.plugin import list_stage_plugins
        >>> "qattn" in list_stage_plugins("init")
        True
    """

    def pass_manager(self, pass_manager_config, optimization_level=None):
        from .stages import qattn_init_stage

        return qattn_init_stage(pass_manager_config, optimization_level)


class QAttnLayoutPlugin(PassManagerStagePlugin):
    """Layout stage: noise-aware placement on the best-calibrated connected regions.

    Candidate regions (and Qiskit's own layout) are compiled with the rest of the pipeline and
    scored by estimated success probability; see :class:`.NoiseAwareLayout`. Select with
    ``layout_method="qattn"``.

    Example:
        >>> from qiskit.transpiler.preset_passmanagers.plugin import list_stage_plugins
        >>> "qattn" in list_stage_plugins("layout")
        True
    """

    def pass_manager(self, pass_manager_config, optimization_level=None):
        from .stages import noise_aware_layout_pass_manager

        return noise_aware_layout_pass_manager(pass_manager_config, optimization_level)
