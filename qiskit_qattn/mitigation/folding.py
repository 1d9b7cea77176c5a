"""Noise scaling for ZNE on compiled (ISA) circuits: unitary folding and identity insertion.

Fold *after* layout, routing and translation and run the result without re-optimisation: any
optimising transpiler pass recognises ``G G^dagger G`` and cancels it, and ZNE then extrapolates
from identical circuits. Every inverse is written in the target's own instruction set (``sx^dagger``
becomes ``rz(pi) sx rz(pi)``), so a folded ISA circuit stays an ISA circuit.

Methods (``scale_factor`` ``λ >= 1`` multiplies the count of noisy gates, ``rz`` being virtual):

- ``"global"``: ``U (U^dagger U)^k`` then a partial fold of the last gates;
- ``"local"``: every gate ``G -> G (G^dagger G)^k``, the remainder folded from the left;
- ``"random"``: as ``"local"`` but the extra folds land on gates drawn at random;
- ``"identity"``: identity layers (``id`` on every active qubit) inserted after circuit layers,
  scaling the depth (idle noise) instead of the gate count.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import CircuitInstruction, ControlFlowOp, Gate, Instruction
from qiskit.circuit.library import IGate, RZGate, SXGate
from qiskit.transpiler import Target

FOLD_METHODS = ("global", "local", "random", "identity")
FOLD_GATES = ("all", "two_qubit")
#: Frame changes that cost nothing on IBM hardware: folded along, never counted as noise.
VIRTUAL_GATES = frozenset({"rz", "p", "u1", "global_phase"})
_NON_GATES = frozenset({"barrier", "delay"})
_SELF_INVERSE = frozenset({"x", "y", "z", "h", "cz", "cx", "cy", "ecr", "id", "swap", "ccx", "ccz"})


def check_foldable(circuit: QuantumCircuit, name: str = "circuit") -> None:
    """Raise a clear error unless ``circuit`` can be folded.

    Foldable: a ``QuantumCircuit`` with every parameter bound, no control flow, no reset, and
    measurements only at the end (a measurement followed by anything on the same qubit or bit
    is mid-circuit).

    Example:
        >>> qc = QuantumCircuit(1, 1); _ = qc.measure(0, 0); _ = qc.x(0)
        >>> check_foldable(qc)
        Traceback (most recent call last):
        ...
        ValueError: circuit has a mid-circuit measurement on qubit 0 (before 'x'); ...
    """
    if not isinstance(circuit, QuantumCircuit):
        raise TypeError(f"{name} must be a QuantumCircuit; got {type(circuit).__name__}")
    if circuit.parameters:
        names = sorted(p.name for p in circuit.parameters)
        raise ValueError(
            f"{name} has unbound parameters {names}; bind them (circuit.assign_parameters) "
            "before folding"
        )
    measured_q: set[int] = set()
    measured_c: set[int] = set()
    for inst in circuit.data:
        op = inst.operation
        if isinstance(op, ControlFlowOp):
            raise ValueError(f"{name} contains control flow ({op.name!r}); it cannot be folded")
        if op.name == "reset":
            raise ValueError(f"{name} contains a reset; it cannot be folded")
        if not isinstance(op, Gate) and op.name not in ("measure", "barrier", "delay"):
            raise ValueError(
                f"{name} contains the non-unitary instruction {op.name!r}; it cannot be folded"
            )
        qubits = [circuit.find_bit(q).index for q in inst.qubits]
        clbits = [circuit.find_bit(c).index for c in inst.clbits]
        if op.name == "measure":
            if measured_c.intersection(clbits):
                raise ValueError(f"{name} measures into classical bit {clbits[0]} twice")
            if measured_q.intersection(qubits):
                raise ValueError(
                    f"{name} has a mid-circuit measurement on qubit {qubits[0]} "
                    "(measured twice); only final measurements can be folded around"
                )
            measured_q.update(qubits)
            measured_c.update(clbits)
        elif op.name != "barrier":
            hit = measured_q.intersection(qubits) or measured_c.intersection(clbits)
            if hit:
                raise ValueError(
                    f"{name} has a mid-circuit measurement on qubit {min(hit)} (before "
                    f"{op.name!r}); only final measurements can be folded around"
                )


def _split(circuit: QuantumCircuit) -> tuple[list[CircuitInstruction], list[CircuitInstruction]]:
    """``(body, tail)``: the tail holds the closing barriers and every measurement.

    ``check_foldable`` guarantees the measurements are final, so they commute to the end.
    """
    body = [inst for inst in circuit.data if inst.operation.name != "measure"]
    measures = [inst for inst in circuit.data if inst.operation.name == "measure"]
    cut = len(body)
    while measures and cut > 0 and body[cut - 1].operation.name == "barrier":
        cut -= 1
    return body[:cut], body[cut:] + measures


def _weight(inst: CircuitInstruction, gates: str) -> int:
    name = inst.operation.name
    if name in _NON_GATES or name in VIRTUAL_GATES or name == "measure":
        return 0
    if gates == "two_qubit":
        return int(len(inst.qubits) == 2)
    return 1


_TRANSLATED: dict[tuple, QuantumCircuit] = {}


def _translated_inverse(op: Instruction, basis: tuple[str, ...]) -> QuantumCircuit:
    """``op^dagger`` translated to ``basis`` (translation only, no optimisation), cached."""
    from qiskit.circuit.equivalence_library import SessionEquivalenceLibrary
    from qiskit.transpiler import PassManager
    from qiskit.transpiler.passes import BasisTranslator

    key = (op.name, op.num_qubits, tuple(float(p) for p in op.params), basis)
    if key not in _TRANSLATED:
        small = QuantumCircuit(op.num_qubits)
        small.append(op.inverse(), range(op.num_qubits))
        translator = BasisTranslator(SessionEquivalenceLibrary, list(basis))
        _TRANSLATED[key] = PassManager([translator]).run(small)
    return _TRANSLATED[key]


def _inverse_ops(
    inst: CircuitInstruction, target: Target | None
) -> tuple[list[CircuitInstruction], float]:
    """The inverse of one instruction in ``target``'s instruction set, and a global phase."""
    op = inst.operation
    if op.name in _SELF_INVERSE or op.name == "barrier" or op.name == "delay":
        return [inst], 0.0
    if op.name == "sx" and (target is None or "rz" in target.operation_names):
        if target is None:
            return [inst.replace(operation=SXGate().inverse())], 0.0
        rz = RZGate(math.pi)
        # sx^dagger = e^{i pi/2} rz(pi) sx rz(pi)
        return [inst.replace(operation=rz), inst, inst.replace(operation=rz)], math.pi / 2
    inv = op.inverse()
    if target is None or inv.name in target.operation_names:
        return [inst.replace(operation=inv)], 0.0
    basis = tuple(sorted(target.operation_names))
    small = _translated_inverse(op, basis)
    ops = [
        CircuitInstruction(
            sub.operation, tuple(inst.qubits[small.find_bit(q).index] for q in sub.qubits), ()
        )
        for sub in small.data
    ]
    return ops, float(small.global_phase)


def _inverse_sequence(
    seq: Sequence[CircuitInstruction], target: Target | None
) -> tuple[list[CircuitInstruction], float]:
    out: list[CircuitInstruction] = []
    phase = 0.0
    for inst in reversed(seq):
        ops, ph = _inverse_ops(inst, target)
        out.extend(ops)
        phase += ph
    return out, phase


def _check_scale(scale_factor: float) -> float:
    if isinstance(scale_factor, bool) or not isinstance(scale_factor, numbers.Real):
        raise TypeError(f"scale_factor must be a real number >= 1; got {scale_factor!r}")
    value = float(scale_factor)
    if not math.isfinite(value) or value < 1:
        raise ValueError(f"scale factors must be real numbers >= 1; got {scale_factor!r}")
    return value


def fold_circuit(
    circuit: QuantumCircuit,
    scale_factor: float,
    *,
    method: str = "global",
    target: Target | None = None,
    gates: str = "all",
    seed: int | np.random.Generator | None = None,
) -> QuantumCircuit:
    """Scale the noise of ``circuit`` by ``scale_factor`` without changing its unitary.

    Args:
        circuit: a bound circuit, usually compiled (ISA); final measurements are kept at the end.
        scale_factor: ``λ >= 1``; the achieved factor (integers for odd ``λ`` and whole circuits)
            is stored in ``metadata["scale_factor"]``.
        method: one of :data:`FOLD_METHODS`.
        target: the device ``Target`` the circuit was compiled for: inverses are written in its
            instruction set and ``"identity"`` checks that it offers ``id``.
        gates: ``"all"`` counts and folds every non-virtual gate; ``"two_qubit"`` only two-qubit
            gates (whose errors dominate on current devices).
        seed: seed for ``method="random"``.

    Returns:
        A new circuit; the input is not modified.

    Example:
        >>> qc = QuantumCircuit(2); _ = qc.sx(0); _ = qc.cz(0, 1)
        >>> folded = fold_circuit(qc, 3)
        >>> folded.count_ops()["cz"], folded.metadata["scale_factor"]
        (3, 3.0)
    """
    check_foldable(circuit)
    lam = _check_scale(scale_factor)
    if method not in FOLD_METHODS:
        raise ValueError(f"method must be one of {FOLD_METHODS}; got {method!r}")
    if gates not in FOLD_GATES:
        raise ValueError(f"gates must be one of {FOLD_GATES}; got {gates!r}")
    body, tail = _split(circuit)
    if method == "identity":
        new_body, achieved = _insert_identity_layers(circuit, body, lam, target)
        phase = 0.0
    elif method == "global":
        new_body, phase, achieved = _fold_global(body, lam, target, gates)
    else:
        rng = np.random.default_rng(seed) if method == "random" else None
        new_body, phase, achieved = _fold_local(body, lam, target, gates, rng)
    out = circuit.copy_empty_like()
    out.global_phase = circuit.global_phase + phase
    for inst in new_body + tail:
        out._append(inst)
    out.metadata = dict(circuit.metadata or {})
    out.metadata.update(scale_factor=achieved, fold_method=method)
    return out


def _fold_global(body, lam, target, gates):
    weights = [_weight(inst, gates) for inst in body]
    total = sum(weights)
    if total == 0:
        return list(body), 0.0, 1.0
    k = int((lam - 1) // 2)
    partial = int(round((lam - (2 * k + 1)) * total / 2))
    inverse, inv_phase = _inverse_sequence(body, target)
    out = list(body)
    phase = 0.0
    for _ in range(k):
        out += inverse + list(body)
        phase += inv_phase
    if partial:
        acc, start = 0, len(body)
        while start > 0 and acc < partial:
            start -= 1
            acc += weights[start]
        suffix = body[start:]
        sub_inverse, sub_phase = _inverse_sequence(suffix, target)
        out += sub_inverse + list(suffix)
        phase += sub_phase
        partial = acc
    return out, phase, (total + 2 * (k * total + partial)) / total


def _fold_local(body, lam, target, gates, rng):
    weights = [_weight(inst, gates) for inst in body]
    counted = [i for i, w in enumerate(weights) if w]
    total = len(counted)
    if total == 0:
        return list(body), 0.0, 1.0
    k = int((lam - 1) // 2)
    extra = int(round((lam - (2 * k + 1)) * total / 2))
    folds = dict.fromkeys(counted, k)
    chosen = counted[:extra] if rng is None else rng.choice(counted, extra, replace=False)
    for i in chosen:
        folds[int(i)] += 1
    out: list[CircuitInstruction] = []
    phase = 0.0
    for i, inst in enumerate(body):
        out.append(inst)
        n = folds.get(i, 0)
        if n:
            inverse, inv_phase = _inverse_ops(inst, target)
            for _ in range(n):
                out += inverse + [inst]
                phase += inv_phase
    return out, phase, (total + 2 * sum(folds.values())) / total


def _insert_identity_layers(circuit, body, lam, target):
    if target is not None and "id" not in target.operation_names:
        raise ValueError("method='identity' needs an 'id' instruction in the target")
    depth: dict[int, int] = {}
    layer_of: list[int] = []
    active: set[int] = set()
    for inst in body:
        qubits = [circuit.find_bit(q).index for q in inst.qubits]
        current = max((depth.get(q, 0) for q in qubits), default=0)
        name = inst.operation.name
        if name == "barrier" or name in VIRTUAL_GATES:
            layer = current
        else:
            layer = current + 1
            active.update(qubits)
        for q in qubits:
            depth[q] = layer
        layer_of.append(layer)
    layers = max(layer_of, default=0)
    if layers == 0:
        return list(body), 1.0
    inserts = int(round((lam - 1) * layers))
    per_layer = [inserts // layers] * layers
    for i in range(inserts % layers):
        per_layer[i] += 1
    order = sorted(range(len(body)), key=lambda i: (layer_of[i], i))
    ident = IGate()
    qubit_objs = [circuit.qubits[q] for q in sorted(active)]
    out: list[CircuitInstruction] = []
    pos = 0
    for layer in range(layers + 1):
        while pos < len(order) and layer_of[order[pos]] == layer:
            out.append(body[order[pos]])
            pos += 1
        if 1 <= layer <= layers:
            for _ in range(per_layer[layer - 1]):
                out += [CircuitInstruction(ident, (q,), ()) for q in qubit_objs]
    return out, (layers + inserts) / layers


def fold_circuits(
    circuits: Sequence[QuantumCircuit],
    scale_factors: Sequence[float],
    *,
    method: str = "global",
    target: Target | None = None,
    gates: str = "all",
    seed: int | None = None,
) -> tuple[list[QuantumCircuit], np.ndarray]:
    """Fold a batch: every circuit at every scale factor, ready for one execution.

    Returns:
        ``(folded, achieved)``: circuits ordered scale-major (all circuits at ``scale_factors[0]``,
        then at ``scale_factors[1]``, ...) and the achieved factors ``[num_scales, num_circuits]``.

    Example:
        >>> qc = QuantumCircuit(2); _ = qc.cz(0, 1)
        >>> batch, achieved = fold_circuits([qc, qc], [1, 3])
        >>> len(batch), achieved.tolist()
        (4, [[1.0, 1.0], [3.0, 3.0]])
    """
    factors = check_scale_factors(scale_factors)
    circuits = list(circuits)
    if not circuits:
        raise ValueError("circuits must not be empty")
    for i, qc in enumerate(circuits):
        check_foldable(qc, f"circuits[{i}]")
    rng = np.random.default_rng(seed)
    folded, achieved = [], np.zeros((len(factors), len(circuits)))
    for s, lam in enumerate(factors):
        for c, qc in enumerate(circuits):
            sub_seed = int(rng.integers(2**31)) if method == "random" else None
            out = fold_circuit(qc, lam, method=method, target=target, gates=gates, seed=sub_seed)
            folded.append(out)
            achieved[s, c] = out.metadata["scale_factor"]
    return folded, achieved


def check_scale_factors(scale_factors: Sequence[float]) -> tuple[float, ...]:
    """Validate ZNE scale factors: at least two, distinct, each a real number ``>= 1``.

    Example:
        >>> check_scale_factors([1, 3, 5])
        (1.0, 3.0, 5.0)
    """
    if isinstance(scale_factors, (str, bytes)) or not isinstance(scale_factors, Sequence):
        try:
            scale_factors = list(scale_factors)
        except TypeError as exc:
            raise TypeError(
                f"scale_factors must be a sequence of numbers >= 1; got {scale_factors!r}"
            ) from exc
    factors = tuple(_check_scale(s) for s in scale_factors)
    if len(factors) < 2:
        raise ValueError(f"scale_factors needs at least two values to extrapolate; got {factors}")
    if len(set(factors)) != len(factors):
        raise ValueError(f"scale_factors must be distinct; got {factors}")
    return factors
