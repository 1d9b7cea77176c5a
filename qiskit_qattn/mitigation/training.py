"""Training circuits for learning-based mitigation: the compiled circuits, nearly Clifford.

Clifford data regression learns how the device distorts a circuit from *training circuits* whose
ideal outputs can be computed classically. Here they are made from the compiled (ISA) circuits
themselves: every instruction, qubit, layout and routing choice stays; only the angles of the
rotation gates (``rz`` on IBM devices) change. Each non-Clifford angle is replaced by a multiple
of ``pi/2`` drawn with probability ``~ exp(-d**2 / (2 sigma**2))`` of its distance ``d`` to the
original (so training states resemble the target's), except ``non_clifford`` angles kept as they
are. The two-qubit structure — the main noise source — is therefore exactly the target's.

Ideal outcome distributions (:func:`ideal_distributions`) come from a statevector of the active
qubits (up to :data:`MAX_STATEVECTOR_QUBITS`), or for Clifford circuits from the stabilizer
formalism at any width.

Mitiq's ``cdr`` module builds its training circuits from logical circuits converted through
OpenQASM 2, which drops the layout and routing; this module keeps the ISA structure instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit

#: Single-angle rotation gates whose angle is Clifford exactly at multiples of pi/2.
ROTATION_GATES = frozenset({"rz", "rx", "ry", "p", "u1", "rzz", "rxx", "ryy", "rzx", "cp", "crz"})
_CONTROLLED = frozenset({"cp", "crz"})  # Clifford only at multiples of pi (handled below)
#: Active qubits up to which ideal distributions of non-Clifford circuits are computed.
MAX_STATEVECTOR_QUBITS = 20
#: Smallest mean ``||p - u||**2`` of a training set's ideal distributions (else uninformative).
MIN_INFORMATION = 1e-4
_ATOL = 1e-9


def clifford_step(name: str) -> float:
    """Angle step at which rotation gate ``name`` is Clifford (``pi/2``; ``pi`` if controlled).

    Example:
        >>> clifford_step("rz") == math.pi / 2
        True
    """
    return math.pi if name in _CONTROLLED else math.pi / 2


def is_clifford_angle(angle: float, step: float = math.pi / 2) -> bool:
    """Whether ``angle`` is a multiple of ``step`` (to 1e-9).

    Example:
        >>> is_clifford_angle(3 * math.pi / 2), is_clifford_angle(0.3)
        (True, False)
    """
    ratio = float(angle) / step
    return abs(ratio - round(ratio)) < _ATOL


def rotation_sites(circuit: QuantumCircuit) -> tuple[list[int], list[int]]:
    """``(rotation instruction indices, the non-Clifford ones among them)``.

    Example:
        >>> qc = QuantumCircuit(1); _ = qc.rz(0.3, 0); _ = qc.sx(0); _ = qc.rz(math.pi, 0)
        >>> rotation_sites(qc)
        ([0, 2], [0])
    """
    sites, non_clifford = [], []
    for i, inst in enumerate(circuit.data):
        op = inst.operation
        if op.name not in ROTATION_GATES or len(op.params) != 1:
            continue
        try:
            angle = float(op.params[0])
        except TypeError as exc:
            raise ValueError(
                f"training circuits need bound circuits; instruction {i} ({op.name}) has the "
                f"parameter {op.params[0]}"
            ) from exc
        sites.append(i)
        if not is_clifford_angle(angle, clifford_step(op.name)):
            non_clifford.append(i)
    return sites, non_clifford


def _with_angles(circuit: QuantumCircuit, angles: dict[int, float]) -> QuantumCircuit:
    out = circuit.copy()
    for i, angle in angles.items():
        inst = out.data[i]
        out.data[i] = inst.replace(operation=type(inst.operation)(angle))
    return out


def kept_count(non_clifford: int | float, available: int) -> int:
    """Non-Clifford angles to keep: a count, or a fraction in ``(0, 1)`` of ``available``.

    Example:
        >>> kept_count(2, 40), kept_count(0.5, 41), kept_count(3, 1)
        (2, 20, 1)
    """
    if isinstance(non_clifford, bool) or not isinstance(non_clifford, (int, float, np.integer,
                                                                       np.floating)):
        raise ValueError(f"non_clifford must be a count >= 0 or a fraction in (0, 1); got "
                         f"{non_clifford!r}")
    if isinstance(non_clifford, (float, np.floating)) and 0 < non_clifford < 1:
        return int(math.floor(non_clifford * available))
    if non_clifford < 0 or float(non_clifford) != int(non_clifford):
        raise ValueError(f"non_clifford must be a count >= 0 or a fraction in (0, 1); got "
                         f"{non_clifford!r}")
    return min(int(non_clifford), available)


def training_circuits(
    circuits: Sequence[QuantumCircuit],
    num_training: int,
    *,
    non_clifford: int | float = 2,
    sigma: float = 0.5,
    seed: int | np.random.Generator | None = None,
) -> list[QuantumCircuit]:
    """Near-Clifford copies of ``circuits`` (round-robin), identical but for rotation angles.

    Args:
        circuits: bound circuits, usually compiled and measured (their ISA structure is kept).
        num_training: how many training circuits to make (cycling through ``circuits``).
        non_clifford: non-Clifford angles kept unchanged per training circuit: a count, or a
            fraction in ``(0, 1)`` of the circuit's non-Clifford angles (0 = Clifford; such
            circuits' ideal outputs are computable at any width).
        sigma: width (radians) of the Gaussian preference for Clifford angles near the original.
        seed: seeds the random choices.

    Returns:
        ``num_training`` circuits; ``metadata["training_of"]`` is the index of the source circuit.

    Example:
        >>> qc = QuantumCircuit(2); _ = qc.rz(0.3, 0); _ = qc.sx(0); _ = qc.cz(0, 1)
        >>> _ = qc.rz(1.1, 1); _ = qc.measure_all()
        >>> tr = training_circuits([qc], 2, non_clifford=0, seed=1)
        >>> [g.operation.name for g in tr[0].data] == [g.operation.name for g in qc.data]
        True
        >>> all(is_clifford_angle(float(g.operation.params[0])) for g in tr[0].data
        ...     if g.operation.name == "rz")
        True
    """
    circuits = list(circuits)
    if not circuits:
        raise ValueError("circuits must not be empty")
    if isinstance(num_training, bool) or not isinstance(num_training, (int, np.integer)) or (
            num_training < 1):
        raise ValueError(f"num_training must be an integer >= 1; got {num_training!r}")
    kept_count(non_clifford, 0)  # validates
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number; got {sigma!r}")
    rng = np.random.default_rng(seed)
    sites = [rotation_sites(qc) for qc in circuits]
    out = []
    for t in range(int(num_training)):
        src = t % len(circuits)
        qc = circuits[src]
        _, movable = sites[src]
        keep = set()
        count = kept_count(non_clifford, len(movable))
        if count:
            keep = set(rng.choice(movable, size=count, replace=False).tolist())
        angles = {}
        for i in movable:
            if i in keep:
                continue
            op = qc.data[i].operation
            step = clifford_step(op.name)
            theta = float(op.params[0])
            candidates = step * np.arange(int(round(2 * math.pi / step)))
            dist = np.abs((theta - candidates + math.pi) % (2 * math.pi) - math.pi)
            weights = np.exp(-(dist**2) / (2 * sigma**2))
            angles[i] = float(rng.choice(candidates, p=weights / weights.sum()))
        tc = _with_angles(qc, angles)
        tc.name = f"{qc.name}_training{t}"
        tc.metadata = {**(qc.metadata or {}), "training_of": src, "non_clifford": len(keep)}
        out.append(tc)
    return out


def training_set(
    circuits: Sequence[QuantumCircuit],
    num_training: int,
    *,
    non_clifford: int | float = 2,
    oversample: int = 4,
    seed: int | np.random.Generator | None = None,
) -> tuple[list[QuantumCircuit], np.ndarray]:
    """Informative training circuits and their ideal distributions ``[num_training, 2**k]``.

    Clifford versions of many circuits (QAOA after its Hadamard layer, for one) output nearly
    uniform distributions, which carry no information about how the device damps a circuit:
    the regression ignores them. For every source circuit ``oversample`` times its share of
    candidates is drawn and the ones farthest from uniform (largest ``||p - u||**2``) are kept,
    most informative first.

    Example:
        >>> qc = QuantumCircuit(2); _ = qc.sx(0); _ = qc.rz(0.3, 0); _ = qc.sx(0)
        >>> _ = qc.rz(1.1, 0); _ = qc.sx(0); _ = qc.cz(0, 1); _ = qc.measure_all()
        >>> tr, ideal = training_set([qc], 3, non_clifford=1, seed=1)
        >>> len(tr), ideal.shape, bool(np.all(np.diff(((ideal - 0.25) ** 2).sum(1)) <= 1e-12))
        (3, (3, 4), True)
    """
    circuits = list(circuits)
    if isinstance(oversample, bool) or not isinstance(oversample, (int, np.integer)) or (
            oversample < 1):
        raise ValueError(f"oversample must be an integer >= 1; got {oversample!r}")
    rng = np.random.default_rng(seed)
    quota = [num_training // len(circuits) + (i < num_training % len(circuits))
             for i in range(len(circuits))]
    chosen: list[QuantumCircuit] = []
    chosen_ideal: list[np.ndarray] = []
    for src, (qc, want) in enumerate(zip(circuits, quota, strict=True)):
        if not want:
            continue
        cands = training_circuits([qc], oversample * want, non_clifford=non_clifford, seed=rng)
        ideal = ideal_distributions(cands)
        info = np.sum((ideal - 1.0 / ideal.shape[1]) ** 2, axis=1)
        for j in np.argsort(-info, kind="stable")[:want]:
            cands[j].metadata["training_of"] = src
            chosen.append(cands[j])
            chosen_ideal.append(ideal[j])
    ideal = np.stack(chosen_ideal)
    info = np.sum((ideal - 1.0 / ideal.shape[1]) ** 2, axis=1)
    if float(np.mean(info)) <= MIN_INFORMATION:
        raise ValueError(
            f"the training circuits' ideal distributions are (nearly) uniform with "
            f"non_clifford={non_clifford}: they carry no information about the noise; keep "
            "more non-Clifford angles (or use zne)"
        )
    order = np.argsort(-info, kind="stable")
    return [chosen[i] for i in order], ideal[order]


def _marginal(probs: np.ndarray, num_qubits: int, measured: list[int]) -> np.ndarray:
    """Distribution over the measured qubits (bit ``i`` = ``measured[i]``) of a full one."""
    tensor = probs.reshape((2,) * num_qubits)  # C order: axis 0 is the top qubit
    axes = [num_qubits - 1 - q for q in reversed(measured)]  # most significant bit first
    others = tuple(a for a in range(num_qubits) if a not in axes)
    reduced = tensor.sum(axis=others) if others else tensor
    order = sorted(axes)
    reduced = np.transpose(reduced, [order.index(a) for a in axes])
    return reduced.reshape(-1)


def ideal_distributions(circuits: Sequence[QuantumCircuit]) -> np.ndarray:
    """Exact noiseless outcome distributions ``[n, 2**num_clbits]`` of measured circuits.

    Statevector of the active qubits (at most :data:`MAX_STATEVECTOR_QUBITS`); Clifford circuits
    of any width go through the stabilizer formalism.

    Example:
        >>> qc = QuantumCircuit(3, 1); _ = qc.h(2); _ = qc.measure(2, 0)
        >>> ideal_distributions([qc]).round(3).tolist()
        [[0.5, 0.5]]
    """
    from qiskit.quantum_info import Clifford, StabilizerState, Statevector

    from ..noise.distributions import measured_body

    circuits = list(circuits)
    if not circuits:
        raise ValueError("circuits must not be empty")
    widths = {qc.num_clbits for qc in circuits}
    if len(widths) != 1:
        raise ValueError(f"circuits must share one classical width; got {sorted(widths)}")
    out = np.zeros((len(circuits), 2 ** widths.pop()))
    for i, qc in enumerate(circuits):
        body, measured, _, _ = measured_body(qc, keep_delays=False)
        if body.num_qubits <= MAX_STATEVECTOR_QUBITS:
            probs = Statevector(body).probabilities()
            out[i] = _marginal(probs, body.num_qubits, measured)
            continue
        try:
            state = StabilizerState(Clifford(body))
        except Exception as exc:  # QiskitError: not a Clifford circuit
            raise ValueError(
                f"circuit {i} has {body.num_qubits} active qubits and non-Clifford gates: its "
                f"ideal distribution is not classically computable here (limit "
                f"{MAX_STATEVECTOR_QUBITS}); use non_clifford=0 training circuits"
            ) from exc
        out[i] = state.probabilities(measured)
    return out
