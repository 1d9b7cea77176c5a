"""From a prepared head to the batch an executor runs: logical, or compiled for a device."""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit

from ..circuits import PreparedHead
from .batch import CircuitBatch

#: Family options that keep the textbook QAOA circuits sharing one structure (a template).
_TEMPLATE_FAMILY = "qaoa"


def uses_template(head: PreparedHead) -> bool:
    """Whether the head's circuits share one parametrised structure (textbook QAOA, Walsh form).

    Example:
        >>> from qiskit_qattn.circuits import prepare_head
        >>> uses_template(prepare_head(np.eye(2), np.eye(2), np.eye(2), family="qaoa"))
        True
    """
    return (head.family.name == _TEMPLATE_FAMILY
            and head.options.get("phase_separator", "walsh") == "walsh")


def logical_batch(head: PreparedHead) -> CircuitBatch:
    """The head's logical circuits as a batch (textbook QAOA also in structured form).

    QAOA heads carry their :class:`~qiskit_qattn.sim.QaoaProblem` and build no circuit until an
    executor asks for them (``batch.circuits`` is then the head's circuits).

    Example:
        >>> from qiskit_qattn.circuits import prepare_head
        >>> b = logical_batch(prepare_head(np.eye(2), np.eye(2), np.eye(2), family="qaoa"))
        >>> b.problem.batch_shape, b.measured
        ((2,), False)
    """
    if head.family.name == _TEMPLATE_FAMILY:
        from ..circuits import qaoa_angles
        from ..sim import QaoaProblem

        opts = head.options
        gammas, betas = qaoa_angles(head.rows.sigma, opts.get("reps", 2), opts.get("gammas"),
                                    opts.get("betas"))
        problem = QaoaProblem(head.scores, head.key_mask, np.asarray(gammas, dtype=float),
                              np.asarray(betas, dtype=float), head.temperature)
        return CircuitBatch(lambda: head.circuits, head.num_qubits, problem=problem,
                            label=head.family.name, num_rows=head.num_queries)
    return CircuitBatch(tuple(head.circuits), head.num_qubits, label=head.family.name)


def measure_layout(isa: QuantumCircuit, num_logical: int) -> QuantumCircuit:
    """Copy of an unmeasured ISA circuit measuring its logical qubits into register ``meas``.

    Bit ``i`` of ``meas`` reads the physical qubit holding logical qubit ``i`` at the end of the
    circuit (after routing), so outcomes are little-endian key-register basis states.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeManilaV2
        >>> from qiskit.transpiler import generate_preset_pass_manager
        >>> qc = QuantumCircuit(2); _ = qc.x(1)
        >>> isa = generate_preset_pass_manager(1, backend=FakeManilaV2()).run(qc)
        >>> measure_layout(isa, 2).count_ops()["measure"]
        2
    """
    if isa.layout is None:
        physical = list(range(num_logical))
    else:
        physical = isa.layout.final_index_layout(filter_ancillas=True)[:num_logical]
    out = isa.copy()
    out.add_register(ClassicalRegister(num_logical, "meas"))
    out.measure(physical, out.cregs[-1])
    return out


def compiled_batch(
    head: PreparedHead,
    device: Any,
    *,
    measure: bool = True,
    template: bool | None = None,
    observables: bool = False,
    optimization_level: int = 3,
    optimization_method: str | None = None,
    seed_transpiler: int = 0,
) -> CircuitBatch:
    """Compile the head's circuits for ``device`` (ISA), measured into ``meas`` for samplers.

    Textbook QAOA heads compile **one** parametrised template and bind every query to it
    (``template=None`` picks this whenever :func:`uses_template`); other families compile one
    circuit per query.

    Args:
        head: the prepared head.
        device: a ``BackendV2`` (or a name, see :func:`~qiskit_qattn.runtime.resolve_device`).
        measure: append measurements of the key register (sampler executions).
        template: force (``True``) or forbid (``False``) the shared template.
        observables: attach the estimator's per-query diagonals ``[P O_0, ..., P O_{d-1}, P]``
            (``P`` the kept-key projector) in basis-state order.
        optimization_level, optimization_method, seed_transpiler: compilation options.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeManilaV2
        >>> from qiskit_qattn.circuits import prepare_head
        >>> rng = np.random.default_rng(0)
        >>> head = prepare_head(rng.normal(size=(3, 4)), rng.normal(size=(4, 4)),
        ...                     rng.normal(size=(4, 2)), family="qaoa")
        >>> b = compiled_batch(head, FakeManilaV2())
        >>> b.num_rows, b.template is not None, b.measured
        (3, True, True)
    """
    from ..passes import compile_circuits
    from ..runtime import resolve_device

    target = resolve_device(device)
    use_template = uses_template(head) if template is None else bool(template)
    if use_template and head.family.name != _TEMPLATE_FAMILY:
        raise ValueError(f"template=True needs family 'qaoa'; got {head.family.name!r}")
    opts = {} if optimization_method is None else {"optimization_method": optimization_method}
    m = head.num_qubits
    diagonals = _observable_diagonals(head) if observables else None
    common = {"num_bits": m, "measured": measure, "observables": diagonals,
              "device": target.name, "label": f"{head.family.name} on {target.name}"}
    if use_template:
        from ..circuits.families.qaoa import qaoa_template, qaoa_template_values

        opts_f = head.options
        reps = opts_f.get("reps", 2)
        tmpl = qaoa_template(m, reps)
        values = qaoa_template_values(head.rows, reps, opts_f.get("gammas"), opts_f.get("betas"))
        isa = compile_circuits(tmpl, target, optimization_level=optimization_level,
                               seed_transpiler=seed_transpiler, **opts)[0]
        params = list(tmpl.parameters)
        order = [params.index(p) for p in isa.parameters]
        if len(order) != len(params):
            raise RuntimeError("the compiled template lost parameters; cannot bind every query")
        return CircuitBatch(None, template=measure_layout(isa, m) if measure else isa,
                            parameter_values=values[:, order], **common)
    isas = compile_circuits(head.circuits, target, optimization_level=optimization_level,
                            seed_transpiler=seed_transpiler, **opts)
    if measure:
        isas = [measure_layout(isa, m) for isa in isas]
    return CircuitBatch(tuple(isas), **common)


def _observable_diagonals(head: PreparedHead) -> np.ndarray:
    """``[n_q, d_v + 1, 2**m]``: ``P O_c`` per value column, then ``P``, in basis order."""
    values = head.basis_values()  # [n_q, 2**m, d_v]
    keep = head.basis_keep()  # [n_q, 2**m]
    masked = np.where(keep[:, :, None], values, 0.0).transpose(0, 2, 1)
    return np.concatenate([masked, keep[:, None, :].astype(float)], axis=1)
