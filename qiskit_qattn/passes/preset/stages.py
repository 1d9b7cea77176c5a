"""Pass managers of the ``qattn`` optimization, init and layout stages.

Each builder wraps Qiskit's default stage for the level with this package's passes. The passes
are imported when a stage is built, so importing this module (the plugins do, lazily) stays cheap.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from qiskit.transpiler import PassManager
from qiskit.transpiler.passes import GateDirection, Optimize1qGatesDecomposition
from qiskit.transpiler.passmanager_config import PassManagerConfig
from qiskit.transpiler.preset_passmanagers.plugin import PassManagerStagePluginManager


def error_budget_from_degree(approximation_degree: float | None) -> float:
    """Phase-angle budget whose error bound keeps state fidelity >= ``approximation_degree``.

    Dropping phase terms of total |angle| ``ε`` changes the unitary by ``||U - U'|| <= ε``, so
    every output state keeps fidelity ``>= (1 - ε²/2)²``. ``None`` or ``>= 1`` means exact.

    Example:
        >>> round(error_budget_from_degree(0.99), 4), error_budget_from_degree(1.0)
        (0.1001, 0.0)
    """
    if approximation_degree is None or approximation_degree >= 1.0:
        return 0.0
    if not 0.0 < approximation_degree < 1.0:
        raise ValueError(
            f"approximation_degree must be in (0, 1] or None; got {approximation_degree!r}"
        )
    return float(np.sqrt(2.0 * (1.0 - np.sqrt(approximation_degree))))


def fidelity_lower_bound(error_bound: float) -> float:
    """State-fidelity lower bound ``(1 - ε²/2)²`` for an operator-norm error ``ε <= sqrt(2)``.

    Example:
        >>> fidelity_lower_bound(0.0)
        1.0
    """
    if error_bound < 0:
        raise ValueError(f"error_bound must be >= 0; got {error_bound!r}")
    return float(max(0.0, 1.0 - error_bound**2 / 2.0) ** 2)


def _stage_manager() -> PassManagerStagePluginManager:
    return PassManagerStagePluginManager()


def isa_pass_manager(config: PassManagerConfig, optimization_level: int = 3) -> PassManager:
    """Translation + Qiskit's optimisation loop (no layout passes) back to the target's ISA."""
    local = copy.copy(config)
    local.coupling_map = None  # no VF2PostLayout inside: the layout is fixed by now
    local.approximation_degree = 1.0  # exact: only certified approximations are allowed
    stage = _stage_manager().get_passmanager_stage(
        "optimization", "default", local, optimization_level=max(optimization_level, 1)
    )
    pm = PassManager()
    if stage is not None:
        pm += stage
    cmap = config.target.build_coupling_map() if config.target is not None else config.coupling_map
    if cmap is not None:
        pm.append(GateDirection(cmap, target=config.target))
        pm.append(Optimize1qGatesDecomposition(basis=config.basis_gates, target=config.target))
    return pm


def qattn_optimization_stage(
    config: PassManagerConfig,
    optimization_level: int | None = None,
    *,
    inner_seeds: int = 1,
    resynthesis: bool = False,
) -> PassManager:
    """Pass manager of the ``qattn`` optimization stage for ``config``.

    Stash the routed circuit, run Qiskit's optimization stage for the level, then
    :class:`.LogicalRecompile` (undo routing, resynthesize the phase polynomials all-to-all,
    compile again, keep the result only if it is better). ``resynthesis=True`` appends the older
    in-place :class:`.CnotPhaseResynthesis` (it found nothing more on the benchmark families).
    With ``approximation_degree < 1`` the error budget of :func:`error_budget_from_degree` is
    shared by the passes and the certified bound lands in ``property_set["qattn_error_bound"]``.

    Args:
        config: the preset pass manager's configuration.
        optimization_level: Qiskit level of the default stage and of the inner compilation.
        inner_seeds: how many seeds (from ``config.seed_transpiler``) the inner compilation tries.
        resynthesis: also run :class:`.CnotPhaseResynthesis`.

    Example:
        >>> from qiskit.transpiler import PassManagerConfig
        >>> stage = qattn_optimization_stage(PassManagerConfig(basis_gates=["cx", "rz", "sx"]))
        >>> [type(t).__name__ for t in stage.to_flow_controller().tasks][0]
        'StashRoutedCircuit'
    """
    from ..cnot_phase_resynthesis import CnotPhaseResynthesis
    from ..logical_recompile import LogicalRecompile
    from ..stash_routed_circuit import StashRoutedCircuit

    level = 3 if optimization_level is None else int(optimization_level)
    budget = error_budget_from_degree(config.approximation_degree)
    # Qiskit's own optimisation passes run exact, so the stage's error is the certified bound.
    exact = copy.copy(config)
    exact.approximation_degree = 1.0
    default = _stage_manager().get_passmanager_stage(
        "optimization", "default", exact, optimization_level=level
    )
    pm = PassManager([StashRoutedCircuit()])
    if default is not None:
        pm += default
    seed = config.seed_transpiler if config.seed_transpiler is not None else 0
    pm.append(
        LogicalRecompile(
            config.target,
            seeds=[max(int(seed), 0) + k for k in range(inner_seeds)],
            optimization_level=max(level, 1),
            basis_gates=config.basis_gates,
            coupling_map=config.coupling_map,
            error_budget=budget / 2 if resynthesis else budget,
            qubits_initially_zero=getattr(config, "qubits_initially_zero", True),
            keep_layout=config.initial_layout is not None,
        )
    )
    if not resynthesis:
        return pm
    pm.append(
        CnotPhaseResynthesis(
            target=config.target,
            coupling_map=config.coupling_map,
            post_pass_manager=isa_pass_manager(exact, level),
            error_budget=budget / 2,
            seed=max(int(seed), 0),
        )
    )
    return pm


#: Name of this package's HighLevelSynthesis plugin for ``StatePreparation``.
STATE_PREPARATION_METHOD = "qattn"
#: Widest ``StatePreparation`` the init stage gives to the path-native synthesis: beyond 4 qubits
#: its CNOT walk costs more than Qiskit's routed Gray code (benchmarks/RESULTS.md).
PATH_STATE_PREPARATION_DEFAULT_QUBITS = 4


def _state_preparation_plugin_installed() -> bool:
    from qiskit.transpiler.passes.synthesis.plugin import HighLevelSynthesisPluginManager

    return STATE_PREPARATION_METHOD in HighLevelSynthesisPluginManager().method_names(
        "state_preparation"
    )


def qattn_init_stage(
    config: PassManagerConfig, optimization_level: int | None = None
) -> PassManager:
    """Pass manager of the ``qattn`` init stage for ``config``.

    Qiskit's init stage for the level, with two changes before layout: ``StatePreparation``
    gates of up to :data:`PATH_STATE_PREPARATION_DEFAULT_QUBITS` qubits are synthesized by this
    package's path-native amplitude encoding (unless the user's ``hls_config`` names a method
    for them; wider ones keep Qiskit's synthesis), and the phase polynomials of the logical
    circuit are resynthesized (:class:`.PhaseBlockRecovery`, exact), so layout and routing see
    the cheaper circuit.

    Example:
        >>> from qiskit.transpiler import PassManagerConfig
        >>> stage = qattn_init_stage(PassManagerConfig(basis_gates=["cx", "rz", "sx"]))
        >>> "PhaseBlockRecovery" in [type(t).__name__ for t in stage.to_flow_controller().tasks]
        True
    """
    from qiskit.transpiler.passes.synthesis.high_level_synthesis import HLSConfig
    from qiskit.transpiler.preset_passmanagers.common import generate_unroll_3q

    from ..phase_block_recovery import PhaseBlockRecovery

    level = 3 if optimization_level is None else int(optimization_level)
    local = copy.copy(config)
    user = config.hls_config
    if _state_preparation_plugin_installed() and (
        user is None or "state_preparation" not in user.methods
    ):
        methods = dict(user.methods) if user is not None else {}
        methods["state_preparation"] = [
            # When the plugin declines (wider or complex preparations) HLS uses the definition.
            (STATE_PREPARATION_METHOD, {"max_qubits": PATH_STATE_PREPARATION_DEFAULT_QUBITS}),
        ]
        local.hls_config = HLSConfig(**methods)
    default = _stage_manager().get_passmanager_stage(
        "init", "default", local, optimization_level=level
    )
    # Recover the phase polynomials right after unrolling, before Qiskit's init optimisations:
    # commutative cancellation moves CNOTs across the RX mixers (an RX on a CNOT target
    # commutes with it), which merges consecutive phase separators into one region that no
    # longer has a CNOT-phase form.
    pm = generate_unroll_3q(
        local.target,
        local.basis_gates,
        1.0,
        local.unitary_synthesis_method,
        local.unitary_synthesis_plugin_config,
        local.hls_config,
        getattr(local, "qubits_initially_zero", True),
    )
    # Only strict all-to-all savings here: an equal-cost rewrite before layout can route worse,
    # and nothing after this stage would undo it (the optimization stage compares against O3 of
    # the rewritten circuit).
    pm.append(PhaseBlockRecovery(frames=False, replace_ties=False))
    if default is not None:
        pm += default
    return pm


def noise_aware_layout_pass_manager(
    pass_manager_config: Any,
    optimization_level: int | None = None,
    *,
    candidates: int = 8,
    coherence_weight: float = 0.0,
) -> PassManager:
    """Layout stage: given layout, else :class:`NoiseAwareLayout`, then embed and apply it.

    Mirrors Qiskit's builtin layout plugins: ``SetLayout`` of the configured initial layout,
    the layout pass when no layout is set, then ``FullAncillaAllocation``,
    ``EnlargeWithAncilla`` and ``ApplyLayout``. When Qiskit's own candidate scores best, or
    without a target, Qiskit's default layout stage runs instead (with the same seed, so the
    result is the one the pass scored).

    Args:
        pass_manager_config: the preset pass manager's ``PassManagerConfig``.
        optimization_level: level of the evaluation compilations (default 3).
        candidates: regions tried besides Qiskit's own layout.
        coherence_weight: T1/T2 idle penalty weight (see :class:`NoiseAwareLayout`).

    Example:
        >>> from qiskit.transpiler import PassManagerConfig
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
        >>> cfg = PassManagerConfig.from_backend(FakeTorino(), seed_transpiler=0)
        >>> stage = noise_aware_layout_pass_manager(cfg, 3)
        >>> [type(t).__name__ for t in stage.to_flow_controller().tasks][:2]
        ['SetLayout', 'ConditionalController']
    """
    from qiskit.passmanager.flow_controllers import ConditionalController
    from qiskit.transpiler.passes import (
        ApplyLayout,
        EnlargeWithAncilla,
        FullAncillaAllocation,
        SetLayout,
    )

    from ..noise_aware_layout import NoiseAwareLayout

    level = 3 if optimization_level is None else int(optimization_level)
    default = _stage_manager().get_passmanager_stage(
        "layout", "default", pass_manager_config, optimization_level=level
    )
    target = pass_manager_config.target
    if target is None or target.build_coupling_map() is None:
        return default

    def _choose_layout_condition(property_set: Any) -> bool:
        return not property_set["layout"]

    def _qiskit_chosen(property_set: Any) -> bool:
        return property_set["noise_aware_layout_choice"] == "qiskit"

    def _region_chosen(property_set: Any) -> bool:
        return not _qiskit_chosen(property_set)

    routing = pass_manager_config.routing_method
    translation = pass_manager_config.translation_method
    layout = PassManager()
    layout.append(SetLayout(pass_manager_config.initial_layout))
    layout.append(
        ConditionalController(
            NoiseAwareLayout(
                target,
                seed=pass_manager_config.seed_transpiler,
                candidates=candidates,
                optimization_level=level,
                coherence_weight=coherence_weight,
                routing_method=None if routing in (None, "default") else routing,
                translation_method=None if translation in (None, "default") else translation,
                layout_method=pass_manager_config.layout_method,
            ),
            condition=_choose_layout_condition,
        )
    )
    # Qiskit's candidate won: rerun its own stage (same seed) so that SabreLayout's joint
    # layout-and-routing result is reproduced exactly rather than re-routed from its layout.
    layout.append(ConditionalController(default.to_flow_controller(), condition=_qiskit_chosen))
    embed = [FullAncillaAllocation(target), EnlargeWithAncilla(), ApplyLayout()]
    layout.append(ConditionalController(embed, condition=_region_chosen))
    return layout
