"""A registered circuit family's attention row as a QNN whose weights are its schedule angles.

The circuit comes from the execution seam itself: :func:`qiskit_qattn.circuits.prepare_head`
lays the head out for the family and builds the query's circuit with ``Parameter`` schedule
angles (the families accept symbolic ``gammas``/``betas``), so the QNN is exactly the circuit
``estimate_attention`` runs, with its schedule free. Training it (``NeuralNetworkRegressor``,
``TorchConnector``) fits a schedule to a head with Qiskit ML's tools.

Families with a trainable schedule (:data:`SCHEDULED_FAMILIES`): ``qaoa`` (``γ[l]``, ``β[l]``
per layer) and ``ma_qaoa`` (``γ[l, o]`` per layer and Walsh order, ``β[l, q]`` per layer and
qubit). Keys are laid out in identity order, so output ``j`` is key ``j``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import transpile
from qiskit.circuit import ParameterVector

from ..circuits import FAMILY_NAMES, get_family, prepare_head
from .circuits import AttentionCircuit, _finish
from .layout import QNNLayout

#: Families whose schedule angles may be ``Parameter`` objects (the QNN's weights).
SCHEDULED_FAMILIES = ("qaoa", "ma_qaoa")
UNROLL_BASIS = ["h", "x", "sx", "cx", "rx", "ry", "rz", "rzz"]


def _schedule_shapes(family: str, reps: int, num_qubits: int) -> tuple[tuple, tuple]:
    if family == "qaoa":
        return (reps,), (reps,)
    return (reps, num_qubits), (reps, num_qubits)


def _names(prefix: str, shape: tuple) -> list[str]:
    return [f"{prefix}[{','.join(str(i) for i in idx)}]" for idx in np.ndindex(*shape)]


def family_head_circuit(
    Q: Any,
    K: Any,
    *,
    family: str = "qaoa",
    query: int = 0,
    reps: int = 2,
    mask: Any | None = None,
    scale: float | None = None,
    temperature: float = 1.0,
) -> AttentionCircuit:
    """The family's circuit for query ``query`` of a head, schedule angles as weights.

    Layout. No inputs (the head's scores are fixed in the circuit); weights ``γ`` then ``β``,
    row-major (shapes: :func:`_schedule_shapes`); outputs ``p[j]``, the probability of key ``j``
    (``j >= n_k`` are padding keys).

    Args:
        Q: queries ``[n_q, d]``.
        K: keys ``[n_k, d]``.
        family: one of :data:`SCHEDULED_FAMILIES`.
        query: row of ``Q`` whose attention row the circuit prepares.
        reps: schedule layers ``p``.
        mask: keep-mask as in :func:`~qiskit_qattn.circuits.prepare_head`.
        scale: score scale (default ``1/sqrt(d)``).
        temperature: softmax temperature.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> ac = family_head_circuit(rng.normal(size=(2, 4)), rng.normal(size=(4, 4)), reps=1)
        >>> ac.layout.weights, ac.layout.outputs
        (('γ[0]', 'β[0]'), ('p[0]', 'p[1]', 'p[2]', 'p[3]'))
    """
    if family not in SCHEDULED_FAMILIES:
        other = [f for f in FAMILY_NAMES if f not in SCHEDULED_FAMILIES]
        raise ValueError(f"family must be one of {SCHEDULED_FAMILIES} (a schedule to train); got "
                         f"{family!r} (families {other} have no trainable schedule here)")
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise ValueError(f"reps must be an integer >= 1; got {reps!r}")
    K_arr = np.asarray(K, dtype=float)
    values = np.zeros((K_arr.shape[0] if K_arr.ndim == 2 else 1, 1))  # the QNN has no values
    common = dict(family=family, mask=mask, scale=scale, temperature=temperature, reps=reps)
    if "key_order" in get_family(family).options:
        common["key_order"] = "identity"
    head = prepare_head(Q, K, values, **common)
    if isinstance(query, bool) or not isinstance(query, (int, np.integer)) or not (
            0 <= query < head.num_queries):
        raise ValueError(f"query must be an integer in [0, {head.num_queries - 1}]; got {query!r}")
    m = head.num_qubits
    g_shape, b_shape = _schedule_shapes(family, reps, m)
    gamma = ParameterVector("γ", int(np.prod(g_shape)))
    beta = ParameterVector("β", int(np.prod(b_shape)))
    gammas = np.array(list(gamma), dtype=object).reshape(g_shape).tolist()
    betas = np.array(list(beta), dtype=object).reshape(b_shape).tolist()
    symbolic = prepare_head(Q, K, values, gammas=gammas, betas=betas, **common)
    # Unrolled to plain rotations: Aer (and devices) do not take a parameterized
    # PauliEvolutionGate, and the shift rule wants one rotation per angle anyway.
    circuit = transpile(symbolic.circuits[int(query)], basis_gates=UNROLL_BASIS,
                        optimization_level=0)
    if circuit.num_qubits != m or circuit.num_clbits:
        raise RuntimeError(f"family {family!r} built a circuit other than an unmeasured "
                           f"{m}-qubit key register")
    layout = QNNLayout(
        f"family:{family}",
        (),
        tuple(_names("γ", g_shape) + _names("β", b_shape)),
        tuple(f"p[{j}]" for j in range(1 << m)),
        {"family": family, "reps": reps, "query": int(query), "num_keys": head.num_keys,
         "key_qubits": m},
    )
    return _finish(circuit, [], list(gamma) + list(beta), [], list(range(m)), layout)


def family_qnn(
    Q: Any,
    K: Any,
    *,
    family: str = "qaoa",
    query: int = 0,
    reps: int = 2,
    mask: Any | None = None,
    scale: float | None = None,
    temperature: float = 1.0,
    **options: Any,
):
    """A family's attention row for one query as a ``SamplerQNN`` (weights = schedule angles).

    ``options`` go to :func:`~qiskit_qattn.qml.sampler_qnn` (``sampler``, ``device``,
    ``gradient``, ``shots``, ...).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> qnn = family_qnn(rng.normal(size=(2, 4)), rng.normal(size=(4, 4)), reps=1, shots=100)
        >>> qnn.num_inputs, qnn.num_weights, qnn.output_shape
        (0, 2, (4,))
    """
    from .factories import sampler_qnn

    ac = family_head_circuit(Q, K, family=family, query=query, reps=reps, mask=mask,
                             scale=scale, temperature=temperature)
    return sampler_qnn(ac.circuit, ac.input_params, ac.weight_params, key_qubits=ac.key_qubits,
                       **options)
