"""Lower a ``QuantumCircuit`` to the few operation kinds the dense Numba kernels apply.

Kinds: ``("1q", q, 2x2)``, ``("kq", qubits, 2**k x 2**k)``, ``("diag", qubits, diagonal)``,
``("mux", target, controls, [2**c, 2, 2])`` (uniformly controlled single-qubit gate) and
``("prep", qubits, amplitudes)`` (a state preparation on qubits still in ``|0>``). Known
structure is kept (diagonal gates, Z-only ``PauliEvolutionGate`` phase separators, ``UCGate``
multiplexers, ``StatePreparation`` of amplitude vectors on fresh qubits); other instructions
of up to two qubits are applied as matrices; anything larger is decomposed through its
``definition`` until it is. Consecutive single-qubit gates are fused, and pending single-qubit
gates are folded into the next two-qubit matrix on the same qubits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Gate, Instruction
from qiskit.circuit.library import DiagonalGate, PauliEvolutionGate, StatePreparation, UCGate
from qiskit.quantum_info import SparsePauliOp

from ..encoding import sparse_pauli_to_diagonal

_SKIP = ("barrier", "delay")
# Standard gates whose matrices are cheap to write down (parameter-free ones are cached by name).
_FIXED = {"h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "sxdg", "id", "cx", "cz", "cy",
          "swap", "ch", "ecr", "iswap", "csx"}
_cache: dict[str, np.ndarray] = {}
_EYE2 = np.eye(2, dtype=complex)


def _eye_mask(dim: int) -> np.ndarray:
    mask = _cache.get(f"eye{dim}")
    if mask is None:
        mask = _cache[f"eye{dim}"] = np.eye(dim, dtype=bool)
    return mask


def _rotation(name: str, params: list) -> np.ndarray | None:
    if name in _FIXED and not params:
        return None
    try:
        t = [float(p) for p in params]
    except (TypeError, ValueError):
        return None
    if name == "rx":
        c, s = np.cos(t[0] / 2), np.sin(t[0] / 2)
        return np.array([[c, -1j * s], [-1j * s, c]])
    if name == "ry":
        c, s = np.cos(t[0] / 2), np.sin(t[0] / 2)
        return np.array([[c, -s], [s, c]], dtype=complex)
    if name == "rz":
        e = np.exp(-0.5j * t[0])
        return np.array([[e, 0], [0, np.conj(e)]])
    if name == "p":
        return np.array([[1, 0], [0, np.exp(1j * t[0])]])
    if name in ("u", "u3"):
        c, s = np.cos(t[0] / 2), np.sin(t[0] / 2)
        return np.array([
            [c, -np.exp(1j * t[2]) * s],
            [np.exp(1j * t[1]) * s, np.exp(1j * (t[1] + t[2])) * c],
        ])
    return None


def _fast_matrix(op: Instruction) -> np.ndarray | None:
    """Matrices of common standard gates without Qiskit's per-call overhead."""
    name = op.name
    if name in _FIXED and not op.params:
        mat = _cache.get(name)
        if mat is None:
            mat = _matrix(op)
            if mat is not None:
                _cache[name] = mat
        return mat
    if name in ("rx", "ry", "rz", "p", "u", "u3"):
        return _rotation(name, op.params)
    return None
#: Largest gate applied directly as a matrix when it has no cheaper structure or definition.
MAX_MATRIX_QUBITS = 2


@dataclass
class Program:
    """A circuit as kernel operations, its global phase and its terminal measurements."""

    num_qubits: int
    ops: list[tuple] = field(default_factory=list)
    global_phase: float = 0.0
    measured: list[tuple[int, int]] = field(default_factory=list)
    num_clbits: int = 0

    def diagonal_bytes(self) -> int:
        """Largest diagonal array this program holds (its memory on top of the state)."""
        sizes = [op[2].nbytes for op in self.ops if op[0] == "diag"]
        return max(sizes, default=0)


class _Lowerer:
    def __init__(self, circuit: QuantumCircuit, structured: bool = True):
        self.circuit = circuit
        self.structured = structured
        self.program = Program(circuit.num_qubits, num_clbits=circuit.num_clbits)
        self.pending: dict[int, np.ndarray] = {}
        self.touched: set[int] = set()
        self.measured_qubits: set[int] = set()

    # -- emitting -------------------------------------------------------------------------------
    def flush(self, qubits=None) -> None:
        keys = list(self.pending) if qubits is None else [q for q in qubits if q in self.pending]
        for q in keys:
            mat = self.pending.pop(q)
            if mat[0, 1] != 0 or mat[1, 0] != 0 or mat[0, 0] != 1 or mat[1, 1] != 1:
                self.program.ops.append(("1q", q, mat))

    def one_qubit(self, q: int, mat: np.ndarray) -> None:
        prev = self.pending.get(q)
        self.pending[q] = mat if prev is None else mat @ prev

    def k_qubit(self, qubits: list[int], mat: np.ndarray) -> None:
        if len(qubits) == 2:
            # fold pending single-qubit gates into the matrix (qubits[0] is the low bit)
            p0 = self.pending.pop(qubits[0], None)
            p1 = self.pending.pop(qubits[1], None)
            if p0 is not None or p1 is not None:
                p0 = _EYE2 if p0 is None else p0
                p1 = _EYE2 if p1 is None else p1
                mat = mat @ (p1[:, None, :, None] * p0[None, :, None, :]).reshape(4, 4)
        else:
            self.flush(qubits)
        if not mat[~_eye_mask(mat.shape[0])].any():
            self.program.ops.append(("diag", np.array(qubits, dtype=np.int64), np.diag(mat).copy()))
        else:
            self.program.ops.append(("kq", np.array(qubits, dtype=np.int64), mat))

    def diagonal(self, qubits: list[int], diag: np.ndarray) -> None:
        self.flush(qubits)
        self.program.ops.append(
            ("diag", np.array(qubits, dtype=np.int64), np.asarray(diag, dtype=complex))
        )

    # -- walking --------------------------------------------------------------------------------
    def run(self) -> Program:
        qc = self.circuit
        if qc.parameters:
            names = ", ".join(p.name for p in list(qc.parameters)[:5])
            raise ValueError(
                f"circuit {qc.name!r} has unbound parameters ({names}, ...); bind them or pass "
                "parameter_values"
            )
        self.program.global_phase += float(qc.global_phase)
        qindex = {q: i for i, q in enumerate(qc.qubits)}
        cindex = {c: i for i, c in enumerate(qc.clbits)}
        for inst in qc.data:
            qubits = [qindex[q] for q in inst.qubits]
            if len(qubits) <= MAX_MATRIX_QUBITS and inst.is_standard_gate():
                # Qiskit computes standard-gate matrices natively: skip building the Python gate
                mat = inst.matrix
                if mat is not None and not self.measured_qubits.intersection(qubits):
                    self.touched.update(qubits)
                    if len(qubits) == 1:
                        self.one_qubit(qubits[0], np.asarray(mat, dtype=complex))
                    else:
                        self.k_qubit(qubits, np.asarray(mat, dtype=complex))
                    continue
            clbits = [cindex[c] for c in inst.clbits]
            self.instruction(inst.operation, qubits, clbits)
        self.flush()
        return self.program

    def instruction(self, op: Instruction, qubits: list[int], clbits: list[int]) -> None:
        name = op.name
        if name in _SKIP:
            return
        if name == "measure":
            self.flush(qubits)
            self.measured_qubits.update(qubits)
            self.program.measured.append((qubits[0], clbits[0]))
            return
        if self.measured_qubits.intersection(qubits):
            raise ValueError(
                f"instruction {name!r} acts on a measured qubit: mid-circuit measurement is not "
                "supported by the statevector kernels; use method='aer'"
            )
        if name == "reset":
            if qubits[0] in self.touched:
                raise ValueError(
                    "reset after operations is not supported by the statevector kernels; "
                    "use method='aer'"
                )
            return
        if len(qubits) <= MAX_MATRIX_QUBITS:
            mat = _fast_matrix(op)
            if mat is not None:
                self.touched.update(qubits)
                if len(qubits) == 1:
                    self.one_qubit(qubits[0], mat)
                else:
                    self.k_qubit(qubits, mat)
                return
        if getattr(op, "condition", None) is not None or not isinstance(op, Instruction):
            raise ValueError(f"instruction {name!r} is not supported; use method='aer'")
        # structured=False keeps every operation on at most two qubits (for MPS)
        wide = len(qubits) > MAX_MATRIX_QUBITS and not self.structured
        if self.structured and self._state_preparation(op, qubits):
            return
        if self._emit(op, qubits, wide):
            self.touched.update(qubits)
            return
        definition = op.definition
        if definition is None:
            mat = _matrix(op) if isinstance(op, Gate) else None
            if mat is None:
                raise ValueError(
                    f"instruction {name!r} has neither a matrix nor a definition; "
                    "use method='aer' or decompose it first"
                )
            self.touched.update(qubits)
            self.k_qubit(qubits, mat)
            return
        self.program.global_phase += float(definition.global_phase)
        for inner in definition.data:
            inner_q = [qubits[definition.find_bit(q).index] for q in inner.qubits]
            inner_c = [clbits[definition.find_bit(c).index] for c in inner.clbits]
            self.instruction(inner.operation, inner_q, inner_c)

    def _emit(self, op: Instruction, qubits: list[int], wide: bool) -> bool:
        """Emit ``op`` directly if it has a structure or matrix the kernels apply."""
        if isinstance(op, DiagonalGate) and not wide:
            self.diagonal(qubits, np.asarray(op.params, dtype=complex))
            return True
        if isinstance(op, PauliEvolutionGate) and not wide and self._pauli_evolution(op, qubits):
            return True
        if isinstance(op, UCGate) and not op.up_to_diagonal and self.structured:
            self.flush(qubits)
            mats = np.stack([np.asarray(m, dtype=complex) for m in op.params])
            self.program.ops.append(
                ("mux", qubits[0], np.array(qubits[1:], dtype=np.int64), mats)
            )
            return True
        if len(qubits) <= MAX_MATRIX_QUBITS and isinstance(op, Gate):
            mat = _matrix(op)
            if mat is not None:
                if len(qubits) == 1:
                    self.one_qubit(qubits[0], mat)
                else:
                    self.k_qubit(qubits, mat)
                return True
        return False

    def _state_preparation(self, op: Instruction, qubits: list[int]) -> bool:
        # On qubits still in |0> the prepared state is the amplitude vector itself (its
        # synthesis is exact, global phase included), so skip the O(2**k)-gate decomposition.
        if not isinstance(op, StatePreparation) or op._inverse or op._from_label:
            return False
        if op._from_int or self.touched.intersection(qubits):
            return False
        amps = np.asarray(op.params, dtype=complex)
        if amps.shape != (2 ** len(qubits),):
            return False
        amps = amps / np.linalg.norm(amps)
        self.touched.update(qubits)
        self.program.ops.append(("prep", np.array(qubits, dtype=np.int64), amps))
        return True

    def _pauli_evolution(self, op: PauliEvolutionGate, qubits: list[int]) -> bool:
        operator = op.operator
        if not isinstance(operator, SparsePauliOp) or operator.paulis.x.any():
            return False
        if np.any(np.abs(np.imag(operator.coeffs)) > 1e-12):
            return False
        time = float(op.params[0])
        diag = np.real(sparse_pauli_to_diagonal(operator.simplify(atol=0.0)))
        self.diagonal(qubits, np.exp(-1j * time * diag))
        return True


def _matrix(op: Gate) -> np.ndarray | None:
    try:
        return np.asarray(op.to_matrix(), dtype=complex)
    except Exception:  # noqa: BLE001 - gates without a matrix fall back to their definition
        return None


def lower_circuit(circuit: Any, *, structured: bool = True) -> Program:
    """Lower ``circuit`` (bound parameters, terminal measurements only) to a :class:`Program`.

    With ``structured=False`` every operation acts on at most two qubits (wide diagonals,
    multiplexers and state preparations are decomposed), as an MPS simulator needs.

    Example:
        >>> qc = QuantumCircuit(2); _ = qc.h(0); _ = qc.cx(0, 1); _ = qc.rz(0.3, 1)
        >>> [op[0] for op in lower_circuit(qc).ops]
        ['kq', '1q']
    """
    if not isinstance(circuit, QuantumCircuit):
        raise TypeError(f"circuits must be QuantumCircuit objects; got {type(circuit)!r}")
    return _Lowerer(circuit, structured).run()
