"""Factories returning genuine qiskit-machine-learning ``EstimatorQNN`` / ``SamplerQNN`` objects.

Every factory takes the same execution options:

- ``estimator=`` / ``sampler=``: any V2 primitive (:mod:`.primitives` builds the reference, Aer
  and Runtime ones). Default: the exact reference primitive, or Aer's when ``device`` is given
  (the reference primitives simulate every device qubit of an ISA circuit).
- ``device=``: a ``BackendV2`` or name (``"fake_torino"``). The circuit is compiled once,
  unbound, to the device's ISA (``optimization_level``, ``seed_transpiler``,
  ``initial_layout``) and the observables are laid out on the device's qubits
  (:mod:`.compile`); the QNN gets no ``pass_manager``.
- ``gradient=``: ``"batched"`` (default, :mod:`.gradients`: one primitive job per backward),
  ``"default"`` (qiskit-machine-learning's ``ParamShift*Gradient``) or a gradient object.
- ``input_gradients=``: as in qiskit-machine-learning (``True`` to back-propagate into inputs).
- ``precision=`` (estimators; default: the estimator's own, ``0`` = exact for the reference and
  Aer) / ``shots=`` (samplers).

The QNN's circuit has its polynomial angles written as flat sums of monomials
(:func:`~qiskit_qattn.qml.angles.expand_angles`: the same functions of the same parameters,
~30x cheaper for a primitive to bind).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.providers import BackendV2
from qiskit.quantum_info import SparsePauliOp

from .angles import expand_angles
from .circuits import key_distribution_circuit, qsann_circuit, self_attention_circuit
from .compile import check_layout, compile_for_device
from .primitives import default_precision, make_estimator, make_sampler

GRADIENTS = ("batched", "default")
#: Instructions that load data as amplitudes: not transpilable unbound, not shift-differentiable.
AMPLITUDE_LOADERS = ("initialize", "state_preparation", "parameterizedinitialize",
                     "raw_feature_vector")
#: Widest circuit the reference primitives are allowed to simulate (they simulate every qubit).
REFERENCE_MAX_QUBITS = 24


def _check_parameters(
    circuit: QuantumCircuit, input_params: Sequence[Parameter], weight_params: Sequence[Parameter]
) -> tuple[list[Parameter], list[Parameter]]:
    inputs, weights = list(input_params or []), list(weight_params or [])
    for name, params in (("input_params", inputs), ("weight_params", weights)):
        bad = [p for p in params if not isinstance(p, Parameter)]
        if bad:
            raise TypeError(f"{name} must hold Parameter objects; got {bad[:3]}")
        if len(set(params)) != len(params):
            raise ValueError(f"{name} lists a parameter twice")
    both = sorted(p.name for p in set(inputs) & set(weights))
    if both:
        raise ValueError(f"parameters {both} are listed as both inputs and weights")
    present = set(circuit.parameters)
    missing = sorted(p.name for p in (set(inputs) | set(weights)) - present)
    if missing:
        raise ValueError(f"parameters {missing} are not in the circuit")
    unbound = sorted(p.name for p in present - set(inputs) - set(weights))
    if unbound:
        raise ValueError(
            f"circuit parameters {unbound} are neither inputs nor weights, so nothing would "
            "bind them; list them in input_params or weight_params, or assign them first"
        )
    for inst in circuit.data:
        op = inst.operation
        if op.name.lower() in AMPLITUDE_LOADERS and any(
            getattr(p, "parameters", None) for p in op.params
        ):
            raise ValueError(
                f"the circuit loads parameters as amplitudes ({op.name!r}); such a circuit can "
                "be neither compiled before binding nor differentiated by parameter shifts "
                "(qiskit-machine-learning #243, #669). Encode data in rotation angles, e.g. the "
                "key tree of qiskit_qattn.qml.self_attention_circuit"
            )
    return inputs, weights


def _check_reference_width(primitive: Any, num_qubits: int, what: str) -> None:
    name = type(primitive).__name__
    if name in ("StatevectorEstimator", "StatevectorSampler") and num_qubits > REFERENCE_MAX_QUBITS:
        raise ValueError(
            f"{what}: {name} simulates all {num_qubits} qubits of the ISA circuit; use "
            "make_estimator('aer') / make_sampler('aer') (they drop idle device qubits)"
        )


def _check_options(gradient: Any, input_gradients: Any) -> None:
    if isinstance(gradient, str) and gradient not in GRADIENTS:
        raise ValueError(f"gradient must be one of {GRADIENTS} or a gradient object; "
                         f"got {gradient!r}")
    if not isinstance(input_gradients, bool):
        raise TypeError(f"input_gradients must be a bool; got {type(input_gradients).__name__}")


def estimator_qnn(
    circuit: QuantumCircuit,
    observables: Sequence[SparsePauliOp],
    input_params: Sequence[Parameter],
    weight_params: Sequence[Parameter],
    *,
    estimator: Any = None,
    device: str | BackendV2 | None = None,
    gradient: Any = "batched",
    input_gradients: bool = False,
    precision: float | None = None,
    optimization_level: int = 3,
    seed_transpiler: int | None = 0,
    initial_layout: Sequence[int] | None = None,
):
    """``EstimatorQNN`` of any angle-encoded circuit, optionally ISA-compiled for ``device``.

    Raises:
        ValueError: a circuit parameter is neither input nor weight (it would stay unbound),
            amplitude-encoded inputs, bad ``initial_layout``, observables that do not match the
            circuit's layout, or a reference primitive asked to simulate a whole device.

    Example:
        >>> from qiskit.circuit import Parameter
        >>> x, w = Parameter("x"), Parameter("w")
        >>> qc = QuantumCircuit(1); _ = qc.ry(x, 0); _ = qc.rx(w, 0)
        >>> qnn = estimator_qnn(qc, [SparsePauliOp("Z")], [x], [w])
        >>> float(qnn.forward([0.0], [0.0])[0, 0])
        1.0
    """
    from qiskit_machine_learning.gradients import (
        BaseEstimatorGradient,
        ParamShiftEstimatorGradient,
    )
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    from .gradients import BatchedParamShiftEstimatorGradient

    _check_options(gradient, input_gradients)
    if not isinstance(gradient, (str, BaseEstimatorGradient)):
        raise TypeError(f"gradient must be 'batched', 'default' or a BaseEstimatorGradient; "
                        f"got {type(gradient).__name__}")
    inputs, weights = _check_parameters(circuit, input_params, weight_params)
    observables = [SparsePauliOp(op) for op in observables]
    if not observables:
        raise ValueError("observables must list at least one observable")
    if device is not None:
        compiled = compile_for_device(
            circuit, observables, device, optimization_level=optimization_level,
            seed_transpiler=seed_transpiler, initial_layout=initial_layout,
        )
        circuit, observables = compiled.circuit, compiled.observables
    else:
        if initial_layout is not None:
            raise ValueError("initial_layout needs device=")
        check_layout(circuit, observables)
    circuit = expand_angles(circuit)  # the same angles, cheap to bind (see .angles)
    if estimator is None:
        estimator = make_estimator("aer" if device is not None else "reference")
    _check_reference_width(estimator, circuit.num_qubits, "estimator")
    precision = default_precision(estimator) if precision is None else float(precision)
    if gradient == "batched":
        gradient = BatchedParamShiftEstimatorGradient(estimator, precision=precision)
    elif gradient == "default":
        gradient = ParamShiftEstimatorGradient(estimator)
    return EstimatorQNN(
        circuit=circuit, estimator=estimator, observables=observables, input_params=inputs,
        weight_params=weights, gradient=gradient, input_gradients=input_gradients,
        default_precision=precision,
    )


def sampler_qnn(
    circuit: QuantumCircuit,
    input_params: Sequence[Parameter],
    weight_params: Sequence[Parameter],
    *,
    key_qubits: Sequence[int] | None = None,
    key_order: Sequence[int] | None = None,
    sampler: Any = None,
    device: str | BackendV2 | None = None,
    gradient: Any = "batched",
    input_gradients: bool = False,
    shots: int | None = None,
    optimization_level: int = 3,
    seed_transpiler: int | None = 0,
    initial_layout: Sequence[int] | None = None,
):
    """``SamplerQNN`` whose outputs are the probabilities of the ``key_qubits`` outcomes.

    ``key_qubits`` must be the first ``k`` logical qubits (default: all); output ``j`` is the
    probability of outcome ``j`` on them (little-endian), on logical and ISA circuits alike.
    With ``key_order`` (a permutation of ``range(2**k)``), outcome ``x`` is reported as output
    ``key_order[x]`` instead (the QNN's ``interpret``; e.g. a family's sorted key layout).

    Example:
        >>> from qiskit.circuit import Parameter
        >>> x = Parameter("x"); qc = QuantumCircuit(1); _ = qc.ry(x, 0)
        >>> qnn = sampler_qnn(qc, [x], [], shots=100)
        >>> qnn.forward([3.14159], None).round(1).tolist()
        [[0.0, 1.0]]
    """
    from qiskit_machine_learning.gradients import BaseSamplerGradient, ParamShiftSamplerGradient
    from qiskit_machine_learning.neural_networks import SamplerQNN

    from .gradients import BatchedParamShiftSamplerGradient

    _check_options(gradient, input_gradients)
    if not isinstance(gradient, (str, BaseSamplerGradient)):
        raise TypeError(f"gradient must be 'batched', 'default' or a BaseSamplerGradient; "
                        f"got {type(gradient).__name__}")
    if circuit.num_clbits:
        raise ValueError("circuit must be unmeasured; the factory measures key_qubits")
    inputs, weights = _check_parameters(circuit, input_params, weight_params)
    keys = list(range(circuit.num_qubits)) if key_qubits is None else [int(q) for q in key_qubits]
    if not keys or keys != list(range(len(keys))):
        raise ValueError(
            f"key_qubits must be the first k logical qubits [0, 1, ..., k-1]; got {keys}"
        )
    if device is not None and gradient == "default":
        raise ValueError(
            "gradient='default' cannot differentiate an ISA SamplerQNN: qiskit-machine-learning's "
            "ParamShiftSamplerGradient reports outcomes of the device's qubits, which SamplerQNN "
            "does not map back to logical keys (IndexError); use gradient='batched'"
        )
    if device is not None:
        compiled = compile_for_device(
            circuit, [], device, key_qubits=keys, optimization_level=optimization_level,
            seed_transpiler=seed_transpiler, initial_layout=initial_layout,
        )
        circuit = compiled.circuit
    else:
        if initial_layout is not None:
            raise ValueError("initial_layout needs device=")
        circuit = circuit.copy()
        meas = ClassicalRegister(len(keys), "meas")
        circuit.add_register(meas)
        circuit.measure(keys, meas)
    circuit = expand_angles(circuit)
    if sampler is None:
        sampler = make_sampler("aer" if device is not None else "reference", shots=shots)
    _check_reference_width(sampler, circuit.num_qubits, "sampler")
    if gradient == "batched":
        gradient = BatchedParamShiftSamplerGradient(sampler, shots=shots)
    elif gradient == "default":
        gradient = ParamShiftSamplerGradient(sampler)
    size = 1 << len(keys)
    interpret = _identity if key_order is None else _KeyLookup(key_order, size)
    return SamplerQNN(
        circuit=circuit, sampler=sampler, input_params=inputs, weight_params=weights,
        interpret=interpret, output_shape=size, gradient=gradient,
        input_gradients=input_gradients,
    )


def _identity(key: int) -> int:
    return key


class _KeyLookup:
    """``interpret`` of a permuted key layout: outcome ``x`` -> output ``order[x]``."""

    def __init__(self, order: Sequence[int], size: int) -> None:
        try:
            values = [int(k) for k in order]
        except (TypeError, ValueError):
            values = None
        if values is None or sorted(values) != list(range(size)):
            raise ValueError(f"key_order must be a permutation of range({size}); got {order!r}")
        self.order = values

    def __call__(self, outcome: int) -> int:
        return self.order[outcome]


def qsann_qnn(
    token_dim: int,
    *,
    reps: int = 1,
    score_dim: int = 1,
    entanglement: str = "pairwise",
    **options: Any,
):
    """QSANN query/key/value features of a token as an ``EstimatorQNN``.

    The layout is that of :func:`~qiskit_qattn.qml.circuits.qsann_circuit` (also in
    ``qnn_layout(qnn)``): inputs = the token's ``token_dim`` angles; weights = ``θ_q, θ_k, θ_v``;
    outputs = ``q[0..score_dim-1], k[0..score_dim-1], v[0..token_dim-1]``. Feed it every token of
    every sequence as one batch (``TorchConnector`` does), then attend classically
    (:class:`~qiskit_qattn.qml.models.QSANNAttention`).

    Args:
        token_dim, reps, score_dim, entanglement: the block shape.
        **options: execution options of :func:`estimator_qnn` (module docstring).

    Example:
        >>> qnn = qsann_qnn(2)
        >>> type(qnn).__name__, qnn.num_inputs, qnn.num_weights, qnn.output_shape
        ('EstimatorQNN', 2, 18, (4,))
    """
    ac = qsann_circuit(token_dim, reps=reps, score_dim=score_dim, entanglement=entanglement)
    return estimator_qnn(ac.circuit, ac.observables, ac.input_params, ac.weight_params,
                         **options)


def self_attention_qnn(
    num_tokens: int,
    token_dim: int,
    *,
    value_qubits: int = 1,
    queries: str = "learned",
    readout: str = "mean",
    attention: bool = True,
    **options: Any,
):
    """A quantum self-attention layer over a short token sequence as an ``EstimatorQNN``.

    Input row = the sequence flattened token-major (``x[t * token_dim + i]``); weights and
    outputs as in :func:`~qiskit_qattn.qml.circuits.self_attention_circuit`. With one value
    qubit the output is one number in ``[-1, 1]``: ``NeuralNetworkClassifier`` trains it as a
    binary classifier directly.

    Example:
        >>> qnn = self_attention_qnn(4, 2)
        >>> qnn.num_inputs, qnn.num_weights, qnn.output_shape
        (8, 8, (1,))
    """
    ac = self_attention_circuit(num_tokens, token_dim, value_qubits=value_qubits,
                                queries=queries, readout=readout, attention=attention)
    return estimator_qnn(ac.circuit, ac.observables, ac.input_params, ac.weight_params,
                         **options)


def key_distribution_qnn(
    num_tokens: int,
    token_dim: int,
    *,
    query: int | None = None,
    **options: Any,
):
    """The attention row over ``num_tokens`` keys as a ``SamplerQNN`` (outputs = key probabilities).

    Example:
        >>> qnn = key_distribution_qnn(4, 2, shots=2000)
        >>> qnn.output_shape, qnn.num_inputs, qnn.num_weights
        ((4,), 8, 5)
    """
    ac = key_distribution_circuit(num_tokens, token_dim, query=query)
    return sampler_qnn(ac.circuit, ac.input_params, ac.weight_params, key_qubits=ac.key_qubits,
                       **options)
