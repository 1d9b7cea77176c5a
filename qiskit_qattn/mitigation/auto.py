"""``mitigation="auto"``: the recommended combination for a circuit batch and shot budget.

The decision rule (each step documented with the measurement behind it in
``benchmarks/RESULTS.md``, section "Error mitigation at realistic shot budgets"):

1. **Estimator primitive** (Runtime returns expectation values, not counts): ``zne+rem`` applied
   by Runtime itself (gate folding and TREX through its resilience options).
2. **No gate errors reported** by the device (predicted decay rate 0): ``rem`` only; there is
   no gate noise to learn or extrapolate.
3. Otherwise **variable-noise CDR with readout mitigation** (``vncdr+rem``) at scale factors
   ``(1, lambda)``: ``lambda`` from the predicted decay per fold and the shots
   (:func:`~.allocation.second_scale_factor`: at most half the signal left at 100k shots per
   circuit, less extrapolation at higher shot counts, at most 21). Training circuits keep two
   non-Clifford angles when the circuits' active qubits fit a statevector (at most 20); wider
   circuits get Clifford training circuits (simulable at any width). The total is ``budget``
   (default 5) times the unmitigated run's shots: 5 % readout calibration, 10 % training
   circuits, the rest split over the two scale factors in proportion to the predicted
   coefficients (the variance-optimal split).
4. **Wide circuits whose Clifford versions are uninformative** (nearly uniform ideal outputs,
   e.g. QAOA after its Hadamard layer): ``zne+rem`` with the variance-optimal shot split over
   (1, 3, 5) and the extrapolation (linear or Richardson) chosen on the data by estimated mean
   squared error.

Why not ZNE: Richardson extrapolation from (1, 3, 5) amplifies shot noise
``sum |w| = 3.5`` fold and linear extrapolation from (1, 3) is biased on deep circuits; learned
coefficients remove the damping a deep circuit suffers at ``sum |alpha| ~ 1.1-2``. Measured on
held-out heads (16 cases, ``benchmarks/RESULTS.md``): at 100k shots per circuit ``auto`` has the
smallest error of every technique on 15 of 16 cases (ZNE with the variance-optimal split wins
one); at 1M shots that ZNE wins 7 of 16, where the learned model's bias rather than shot noise
limits ``auto``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from .allocation import predicted_decay_rate, second_scale_factor
from .config import AUTO_OPTIONS, DEFAULT_BUDGET, MitigationConfig


def check_auto_options(config: MitigationConfig) -> None:
    """Raise if ``config`` is not a valid ``mitigation="auto"`` configuration.

    Example:
        >>> MitigationConfig.parse("auto", {"scale_factors": (1, 3)})
        Traceback (most recent call last):
        ...
        ValueError: mitigation='auto' decides scale_factors itself; name the techniques instead \
(e.g. 'vncdr+rem') to set it
    """
    if not config.is_auto:
        raise ValueError(f"expected mitigation='auto'; got {config.label!r}")


def resolve_auto(
    config: MitigationConfig,
    circuits: Sequence[Any] | None,
    device: Any,
    shots: int,
    *,
    primitive: str = "sampler",
) -> tuple[MitigationConfig, str]:
    """The concrete configuration ``mitigation="auto"`` stands for, and why.

    Args:
        config: an auto configuration (its budget, seed and fractions are kept).
        circuits: the compiled, bound circuits to mitigate (``None`` for the estimator).
        device: the ``BackendV2`` they were compiled for.
        shots: shots per circuit of the unmitigated run.
        primitive: ``"sampler"`` or ``"estimator"``.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
        >>> qc = QuantumCircuit(133, 1); _ = qc.sx(0); _ = qc.cz(0, 1); _ = qc.measure(0, 0)
        >>> cfg, why = resolve_auto(MitigationConfig.parse("auto"), [qc], FakeTorino(), 100_000)
        >>> cfg.label, cfg.scale_factors, cfg.budget
        ('vncdr+rem', (1.0, 21.0), 5.0)
    """
    check_auto_options(config)
    keep = {name: getattr(config, name) for name in AUTO_OPTIONS}
    if primitive == "estimator":
        keep.pop("budget")
        chosen = dataclasses.replace(config, techniques=("zne", "rem"), **keep)
        return chosen, ("estimator primitive: Runtime applies ZNE (gate folding) and TREX "
                        "readout mitigation")
    rate = predicted_decay_rate(circuits, device.target)
    budget = DEFAULT_BUDGET if config.budget is None else config.budget
    keep["budget"] = budget
    if rate <= 0:
        chosen = MitigationConfig(techniques=("rem",), **keep)
        return chosen, "the device reports no gate errors: readout mitigation only"
    lam = second_scale_factor(rate, shots)
    from ..passes.idle_qubits import active_qubits
    from .training import MAX_STATEVECTOR_QUBITS

    width = max(len(active_qubits(qc)) for qc in circuits)
    non_clifford = 2 if width <= MAX_STATEVECTOR_QUBITS else 0
    if not non_clifford and not _clifford_training_informative(circuits, config.seed):
        zne = dict(keep)
        zne.pop("training_circuits")
        zne.pop("training_fraction")
        chosen = MitigationConfig(techniques=("zne", "rem"), shot_allocation="optimal",
                                  extrapolation="auto", **zne)
        return chosen, (f"{width} active qubits and uninformative Clifford training circuits: "
                        f"ZNE (1, 3, 5) with variance-optimal shots and extrapolation chosen "
                        f"by estimated error, readout mitigation, {budget:g}x shots")
    chosen = MitigationConfig(techniques=("vncdr", "rem"), scale_factors=(1.0, float(lam)),
                              non_clifford=non_clifford, **keep)
    why = (f"predicted decay {rate:.4f} per unit scale factor at {shots} shots per circuit: "
           f"variable-noise CDR at scale factors (1, {lam}) with readout mitigation, "
           f"{non_clifford} non-Clifford angles per training circuit, {budget:g}x shots")
    return chosen, why


def _clifford_training_informative(circuits: Sequence[Any], seed: Any) -> bool:
    """Whether Clifford training circuits of ``circuits`` have non-uniform ideal outputs."""
    from .training import training_set

    try:
        training_set(list(circuits)[:2], 4, non_clifford=0, seed=seed)
    except ValueError:
        return False
    return True
