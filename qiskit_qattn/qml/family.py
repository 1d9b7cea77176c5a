"""A registered circuit family's attention row as a QNN whose weights are its schedule angles.

The circuit comes from the execution seam itself: :func:`qiskit_qattn.circuits.prepare_head`
lays the head out for the family and builds the query's circuit with ``Parameter`` schedule
angles (the families accept symbolic ``gammas``/``betas``), so the QNN is exactly the circuit
``estimate_attention`` runs, with its schedule free. Training it (``NeuralNetworkRegressor``,
``TorchConnector``) fits a schedule to a head with Qiskit ML's tools.

Families with a trainable schedule (:data:`SCHEDULED_FAMILIES`): ``qaoa`` (``γ[l]``, ``β[l]``
per layer), ``ma_qaoa`` (``γ[l, o]`` per layer and Walsh order ``o < K``, ``β[l, q]`` per layer
and qubit) and ``warm_start`` (its correction layers: ``γ[l, o]`` per Walsh order ``o < K``,
``K = max_order`` (default 2), and warm-start-mixer ``β[l, q]``; the warm-start tree itself is
closed-form). Output ``j`` is always the probability of key ``j``: with
``key_order="sorted"`` (basis state ``x`` holds the key of rank ``x``) the QNN's ``interpret``
maps basis states back to keys with the head's ``key_order``, as ``PreparedHead.decode`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import transpile
from qiskit.circuit import ParameterVector

from ..circuits import FAMILY_NAMES, get_family, prepare_head
from ..circuits.families.ma_qaoa import resolve_max_order
from .circuits import AttentionCircuit, _finish
from .layout import QNNLayout

#: Families whose schedule angles may be ``Parameter`` objects (the QNN's weights).
SCHEDULED_FAMILIES = ("qaoa", "ma_qaoa", "warm_start")
UNROLL_BASIS = ["h", "x", "sx", "cx", "rx", "ry", "rz", "rzz"]
#: Default highest Walsh order ``K`` of each family's phase separator (``None`` = all ``m``).
_DEFAULT_MAX_ORDER = {"ma_qaoa": None, "warm_start": 2}


def _schedule_shapes(family: str, reps: int, num_qubits: int,
                     max_order: int | None) -> tuple[tuple, tuple]:
    if family == "qaoa":
        return (reps,), (reps,)
    return (reps, resolve_max_order(num_qubits, max_order)), (reps, num_qubits)


def _names(prefix: str, shape: tuple) -> list[str]:
    return [f"{prefix}[{','.join(str(i) for i in idx)}]" for idx in np.ndindex(*shape)]


def _family_options(family: str, key_order: str | None, max_order: int | None,
                    window: int | None) -> dict[str, Any]:
    accepted = get_family(family).options
    options: dict[str, Any] = {}
    for name, value in (("key_order", key_order), ("max_order", max_order),
                        ("window", window)):
        if value is None:
            continue
        if name not in accepted:
            raise ValueError(f"family {family!r} takes no {name}= (its options: {accepted})")
        options[name] = value
    if "max_order" in accepted and "max_order" not in options:
        options["max_order"] = _DEFAULT_MAX_ORDER[family]
    return options


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
    key_order: str | None = None,
    max_order: int | None = None,
    window: int | None = None,
) -> AttentionCircuit:
    """The family's circuit for query ``query`` of a head, schedule angles as weights.

    Layout. No inputs (the head's scores are fixed in the circuit); weights ``γ`` then ``β``,
    row-major (shapes: :func:`_schedule_shapes`); outputs ``p[j]``, the probability of key ``j``
    (``j >= n_k`` are padding keys). Basis state ``x`` of the circuit holds key
    ``layout.shape["key_order"][x]`` (identity unless ``key_order="sorted"``).

    Args:
        Q: queries ``[n_q, d]``.
        K: keys ``[n_k, d]``.
        family: one of :data:`SCHEDULED_FAMILIES`.
        query: row of ``Q`` whose attention row the circuit prepares.
        reps: schedule layers ``p``.
        mask: keep-mask as in :func:`~qiskit_qattn.circuits.prepare_head`.
        scale: score scale (default ``1/sqrt(d)``).
        temperature: softmax temperature.
        key_order: ``"identity"`` or ``"sorted"`` (``ma_qaoa``, ``warm_start``; default: the
            family's own, ``identity`` / ``sorted``).
        max_order: highest Walsh order of the phase separator (``ma_qaoa``: all; ``warm_start``:
            2).
        window: conditioning window of the warm-start tree (``warm_start``; default 1).

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
    options = _family_options(family, key_order, max_order, window)
    common = dict(family=family, mask=mask, scale=scale, temperature=temperature, reps=reps,
                  **options)
    head = prepare_head(Q, K, values, **common)  # validates the head; circuits stay unbuilt
    if isinstance(query, bool) or not isinstance(query, (int, np.integer)) or not (
            0 <= query < head.num_queries):
        raise ValueError(f"query must be an integer in [0, {head.num_queries - 1}]; got {query!r}")
    m = head.num_qubits
    g_shape, b_shape = _schedule_shapes(family, reps, m, options.get("max_order"))
    gamma = ParameterVector("γ", int(np.prod(g_shape)))
    beta = ParameterVector("β", int(np.prod(b_shape)))
    gammas = np.array(list(gamma), dtype=object).reshape(g_shape).tolist()
    betas = np.array(list(beta), dtype=object).reshape(b_shape).tolist()
    symbolic = prepare_head(Q, K, values, **{**common, "gammas": gammas, "betas": betas})
    # Unrolled to plain rotations: Aer (and devices) do not take a parameterized
    # PauliEvolutionGate, and the shift rule wants one rotation per angle anyway.
    circuit = transpile(symbolic.circuits[int(query)], basis_gates=UNROLL_BASIS,
                        optimization_level=0)
    if circuit.num_qubits != m or circuit.num_clbits:
        raise RuntimeError(f"family {family!r} built a circuit other than an unmeasured "
                           f"{m}-qubit key register")
    order = [int(k) for k in symbolic.key_order[int(query)]]
    layout = QNNLayout(
        f"family:{family}",
        (),
        tuple(_names("γ", g_shape) + _names("β", b_shape)),
        tuple(f"p[{j}]" for j in range(1 << m)),
        {"family": family, "reps": reps, "query": int(query), "num_keys": head.num_keys,
         "key_qubits": m, "key_layout": symbolic.key_layout, "key_order": order,
         **{k: v for k, v in options.items() if k != "key_order"}},
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
    key_order: str | None = None,
    max_order: int | None = None,
    window: int | None = None,
    **options: Any,
):
    """A family's attention row for one query as a ``SamplerQNN`` (weights = schedule angles).

    Output ``j`` is the probability of key ``j`` whatever the family's key order (sorted
    layouts are decoded by the QNN's ``interpret``). ``options`` go to
    :func:`~qiskit_qattn.qml.sampler_qnn` (``sampler``, ``device``, ``gradient``, ``shots``,
    ...); the other arguments are those of :func:`family_head_circuit`.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> qnn = family_qnn(rng.normal(size=(2, 4)), rng.normal(size=(4, 4)), reps=1, shots=100)
        >>> qnn.num_inputs, qnn.num_weights, qnn.output_shape
        (0, 2, (4,))
    """
    from .factories import sampler_qnn

    ac = family_head_circuit(Q, K, family=family, query=query, reps=reps, mask=mask,
                             scale=scale, temperature=temperature, key_order=key_order,
                             max_order=max_order, window=window)
    order = ac.layout.shape["key_order"]
    identity = order == list(range(len(order)))
    return sampler_qnn(ac.circuit, ac.input_params, ac.weight_params, key_qubits=ac.key_qubits,
                       key_order=None if identity else order, **options)
