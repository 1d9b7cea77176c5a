"""Exact expectation values of a slot circuit for many bindings at once, with numpy.

The batched gradient (:mod:`.gradients`) evaluates one broadcast PUB of a *slot circuit* (every
parameterized gate a rotation ``exp(-i a G / 2)`` with ``G`` a one- or two-qubit Pauli string,
see :mod:`.shift_plan`). Qiskit's reference ``StatevectorEstimator`` builds one ``Statevector``
per element of such a PUB, gate by gate in Python, and Aer runs the elements as separate
experiments; for exact expectation values the same numbers come out of one vectorised pass: all
bindings' states as one ``[N, 2**n]`` array over the qubits in use, each gate applied once to all
of them (a fixed matrix, or ``cos(a/2) psi - i sin(a/2) G psi`` with a per-state angle ``a``),
then ``<psi|O|psi>`` for every distinct observable with a sparse matrix.

This is the primitive's own computation (exact statevector expectation values), not an
approximation; the gradient uses it only where the primitive is exact (the reference estimator,
or Aer's without noise, at precision 0), see
:class:`~qiskit_qattn.qml.BatchedParamShiftEstimatorGradient`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit.circuit import ParameterExpression, QuantumCircuit
from qiskit.quantum_info import Operator, SparsePauliOp

#: Rotations ``exp(-i a G / 2)`` of a slot circuit and their Pauli generator ``G`` (Qiskit's
#: little-endian label: last character = first qubit of the instruction). ``p``/``u1`` equal
#: ``rz`` up to a global phase, which changes no expectation value.
GENERATORS = {"rx": "X", "ry": "Y", "rz": "Z", "p": "Z", "u1": "Z", "rxx": "XX", "ryy": "YY",
              "rzz": "ZZ", "rzx": "XZ"}
#: Most qubits in use simulated this way (the states of a whole batch are held in memory).
MAX_QUBITS = 16
_IGNORED = ("barrier", "delay")
_CHUNK_AMPLITUDES = 1 << 20  # states processed together: 16 MiB of complex128 amplitudes


def _slices(qubits: Sequence[int], n: int) -> list[tuple]:
    """Index tuples of ``[N, 2, ..., 2]`` selecting each basis state ``j`` of ``qubits``."""
    out = []
    for j in range(1 << len(qubits)):
        index: list[Any] = [slice(None)] * (n + 1)
        for t, q in enumerate(qubits):
            index[n - q] = (j >> t) & 1
        out.append(tuple(index))
    return out


def _apply(states: np.ndarray, entries: list[list[Any]], qubits: Sequence[int],
           n: int) -> np.ndarray:
    """Apply a ``[d, d]`` matrix on ``qubits`` of every state ``states [N, 2**n]``.

    ``entries[i][j]``: ``None`` (zero), a number, or per-state values ``[N, 1, ..., 1]``.
    ``states`` is viewed as ``[N, 2, ..., 2]`` with qubit ``q`` on axis ``n - q`` (little-endian
    index); the matrix index is little-endian over ``qubits`` as in Qiskit. Each output slice is
    a weighted sum of input slices (views, no transposes).
    """
    rows = states.shape[0]
    tensor = states.reshape((rows,) + (2,) * n)
    slices = _slices(qubits, n)
    out = np.empty_like(tensor)
    for i, target in enumerate(slices):
        terms = [(entries[i][j], src) for j, src in enumerate(slices) if entries[i][j] is not None]
        if not terms:
            out[target] = 0
            continue
        coeff, src = terms[0]
        out[target] = tensor[src] if (np.isscalar(coeff) and coeff == 1) else coeff * tensor[src]
        for coeff, src in terms[1:]:
            out[target] += coeff * tensor[src]
    return out.reshape(rows, 1 << n)


def _entries(matrix: np.ndarray) -> list[list[Any]]:
    """A fixed matrix as :func:`_apply` entries (zeros as ``None``, real entries as floats)."""
    return [[None if v == 0 else (float(v.real) if v.imag == 0 else complex(v)) for v in row]
            for row in np.asarray(matrix)]


class SlotSimulator:
    """Batched exact simulation of a slot circuit (parameters = its rotation angles, in order).

    Args:
        circuit: a circuit whose parameters each appear as the whole angle of exactly one
            rotation of :data:`GENERATORS` (a :class:`~qiskit_qattn.qml.shift_plan.ShiftPlan`'s
            ``slot_circuit``), plus fixed gates, barriers and delays.

    Raises:
        ValueError: measurements, resets, classical control or other non-unitary or
            parameterized instructions; gates on more than :data:`MAX_QUBITS` qubits (idle
            qubits, e.g. of an ISA circuit on a device, are not simulated).

    Example:
        >>> from qiskit.circuit import ParameterVector
        >>> a = ParameterVector("slot", 1); qc = QuantumCircuit(1); _ = qc.ry(a[0], 0)
        >>> sim = SlotSimulator(qc)
        >>> np.round(sim.expectations(np.array([[0.0], [np.pi]]), [{"Z": 1.0}]), 6) + 0.0
        array([[ 1., -1.]])
    """

    def __init__(self, circuit: QuantumCircuit) -> None:
        used = sorted({circuit.find_bit(q).index for inst in circuit.data
                       if inst.operation.name not in _IGNORED for q in inst.qubits})
        if len(used) > MAX_QUBITS:
            raise ValueError(f"circuit: {len(used)} qubits in use; the slot simulator holds a "
                             f"batch of statevectors and stops at {MAX_QUBITS}")
        #: Qubits the gates touch (e.g. the few used qubits of an ISA circuit on a device);
        #: the others stay in |0> and are not simulated.
        self.active = used
        self.width = circuit.num_qubits
        self.num_qubits = len(used)
        position = {p: i for i, p in enumerate(circuit.parameters)}
        index = {circuit.qubits[q]: i for i, q in enumerate(used)}
        self._ops: list[tuple[str, Any, tuple[int, ...]]] = []
        for inst in circuit.data:
            op = inst.operation
            if op.name in _IGNORED:
                continue
            qubits = tuple(index[q] for q in inst.qubits)
            if inst.clbits or getattr(op, "condition", None) is not None:
                raise ValueError(f"circuit: instruction {op.name!r} is not unitary")
            symbolic = [p for p in op.params if isinstance(p, ParameterExpression)
                        and p.parameters]
            if symbolic:
                angle = symbolic[0]
                if (op.name not in GENERATORS or len(op.params) != 1
                        or len(angle.parameters) != 1 or angle not in position):
                    raise ValueError(f"circuit: instruction {op.name!r} with {op.params} is not "
                                     "a rotation by one plain slot parameter")
                generator = SparsePauliOp(GENERATORS[op.name]).to_matrix()
                self._ops.append(("rot", (position[angle], _entries(-1j * generator)), qubits))
            else:
                try:
                    matrix = Operator(op).data
                except Exception as exc:  # noqa: BLE001 - names the instruction instead
                    raise ValueError(f"circuit: instruction {op.name!r} has no matrix") from exc
                self._ops.append(("fixed", _entries(matrix), qubits))
        self.num_parameters = circuit.num_parameters
        self._observables: dict[tuple, Any] = {}

    def states(self, values: np.ndarray) -> np.ndarray:
        """Statevectors ``[N, 2**n]`` for slot-angle rows ``values [N, num_parameters]``."""
        values = np.asarray(values, dtype=float)
        n = self.num_qubits
        states = np.zeros((values.shape[0], 1 << n), dtype=complex)
        states[:, 0] = 1.0
        for kind, data, qubits in self._ops:
            if kind == "fixed":
                states = _apply(states, data, qubits, n)
                continue
            # exp(-i a G / 2) = cos(a/2) I - i sin(a/2) G, with a per-state angle a
            column, sin_coeffs = data
            half = values[:, column].reshape((-1,) + (1,) * (n - len(qubits))) / 2
            cos, sin = np.cos(half), np.sin(half)
            entries = [[None if c is None else c * sin for c in row] for row in sin_coeffs]
            for i, row in enumerate(entries):
                row[i] = cos if row[i] is None else cos + row[i]
            states = _apply(states, entries, qubits, n)
        return states

    def _matrix(self, entry: dict[str, float]) -> Any:
        """Sparse matrix of ``entry`` on the active qubits (idle qubits are in ``|0>``)."""
        key = tuple(sorted(entry.items()))
        matrix = self._observables.get(key)
        if matrix is None:
            terms = []
            active = set(self.active)
            for label, coeff in entry.items():
                if len(label) != self.width:
                    raise ValueError(f"observables: {label!r} does not act on the circuit's "
                                     f"{self.width} qubits")
                idle = [label[self.width - 1 - q] for q in range(self.width) if q not in active]
                if any(c in "XY" for c in idle):
                    continue  # <0|X|0> = <0|Y|0> = 0
                kept = "".join(label[self.width - 1 - q] for q in reversed(self.active))
                terms.append((kept, coeff))
            if not terms:
                terms = [("I" * self.num_qubits, 0.0)]
            op = SparsePauliOp.from_list(terms, num_qubits=self.num_qubits)
            matrix = op.to_matrix(sparse=True)
            self._observables[key] = matrix
        return matrix

    def expectations(self, values: np.ndarray, entries: Sequence[dict[str, float]]) -> np.ndarray:
        """``[len(entries), N]``: ``<O_i>`` (entries ``{pauli label: coeff}``) in every state."""
        values = np.asarray(values, dtype=float).reshape(-1, self.num_parameters)
        out = np.empty((len(entries), values.shape[0]))
        step = max(1, _CHUNK_AMPLITUDES >> self.num_qubits)
        for start in range(0, values.shape[0], step):
            states = self.states(values[start:start + step])
            for i, entry in enumerate(entries):
                applied = self._matrix(entry) @ states.T  # [2**n, chunk]
                out[i, start:start + step] = np.real(np.einsum("ij,ji->i", states.conj(),
                                                               applied))
        return out

    def evaluate(self, observables: Any, values: np.ndarray) -> np.ndarray:
        """Expectation values of one broadcast estimator PUB ``(circuit, observables, values)``.

        ``observables``: an array-like (nested lists) of ``{pauli label: coeff}`` entries;
        ``values [..., num_parameters]``. Returns ``evs`` of the broadcast shape, as
        ``PubResult.data.evs``.
        """
        values = np.asarray(values, dtype=float)
        obs = np.asarray(observables, dtype=object)  # dicts are elements, lists are axes
        flat_obs = list(obs.reshape(-1))
        distinct: dict[tuple, int] = {}
        codes = np.empty(obs.shape, dtype=int)
        entries = []
        for i, entry in enumerate(flat_obs):
            key = tuple(sorted(entry.items()))
            if key not in distinct:
                distinct[key] = len(entries)
                entries.append(entry)
            codes.reshape(-1)[i] = distinct[key]
        value_shape = values.shape[:-1]
        table = self.expectations(values.reshape(-1, values.shape[-1]), entries)
        value_index = np.arange(int(np.prod(value_shape))).reshape(value_shape)
        obs_b, val_b = np.broadcast_arrays(codes, value_index)
        return table[obs_b, val_b]

    def evaluate_rows(self, observables: Sequence[dict[str, float]], values: np.ndarray,
                      inverse: np.ndarray) -> np.ndarray:
        """``[..., R]``: row ``r``'s observable in the states of ``values[..., inverse[r], :]``.

        ``values [..., U, num_parameters]`` holds each distinct binding once (``U`` of them);
        ``inverse [R]`` maps rows to bindings. Every binding is simulated once and every
        distinct observable evaluated once on all of them.
        """
        values = np.asarray(values, dtype=float)
        distinct: dict[tuple, int] = {}
        entries, codes = [], []
        for entry in observables:
            key = tuple(sorted(entry.items()))
            if key not in distinct:
                distinct[key] = len(entries)
                entries.append(entry)
            codes.append(distinct[key])
        lead, count = values.shape[:-2], values.shape[-2]
        table = self.expectations(values.reshape(-1, values.shape[-1]), entries)
        table = table.reshape(len(entries), -1, count)  # [E, prod(lead), U]
        out = table[np.asarray(codes), :, np.asarray(inverse)]  # [R, prod(lead)]
        return out.T.reshape(*lead, len(codes))

