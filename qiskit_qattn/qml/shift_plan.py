"""Parameter-shift plan of a circuit: one free angle per rotation, and the chain rule back.

Every parameterized rotation ``exp(-i a P / 2)`` (``rx``, ``ry``, ``rz``, ``p``, ``rxx``, ``ryy``,
``rzz``, ``rzx``) gets its own *slot* angle ``a_k``; the circuit's parameters ``p`` enter only
through the slot expressions ``a_k = e_k(p)``. Then

    d<O>/dp_j = sum_k  (de_k/dp_j) * (<O>(a_k + pi/2) - <O>(a_k - pi/2)) / 2

exactly, for any expressions ``e_k`` (affine, bilinear, ...): the shift is applied to the slot,
and the derivative of the expression is evaluated at the row's values. All slot values of a
whole batch, shifted and unshifted, are computed with numpy from the expressions (compiled once
per circuit with sympy), so a batch becomes one broadcast PUB of the slot circuit.

Other parameterized gates are first translated into those rotations with Qiskit's
``TranslateParameterizedGates`` (e.g. ``cry`` -> ``ry``, ``cx``); ISA circuits of IBM devices
are already made of ``rz`` (and ``rx``/``rzz`` on fractional-gate devices). A parameterized
global phase is dropped: it changes no expectation value and no probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from qiskit.circuit import (
    CircuitInstruction,
    Parameter,
    ParameterExpression,
    ParameterVector,
    QuantumCircuit,
)

#: Rotations ``exp(-i a G / 2)`` with ``G² = 1``: the two-term shift rule with ``±π/2`` is exact.
SHIFTABLE_GATES = ("rx", "ry", "rz", "p", "u1", "rxx", "ryy", "rzz", "rzx")


def _lambdify(sym, names: dict[str, int]):
    """``f(values [rows, P]) -> [rows]`` evaluating the sympy expression ``sym`` on every row."""
    import sympy

    symbols = sorted(sym.free_symbols, key=lambda s: s.name)
    columns = [names[s.name] for s in symbols]
    fn = sympy.lambdify(symbols, sym, modules="numpy")

    def evaluate(values: np.ndarray) -> np.ndarray:
        out = fn(*(values[:, c] for c in columns))
        return np.broadcast_to(np.real(np.asarray(out, dtype=complex)), values.shape[:1])

    return evaluate


@dataclass
class _Term:
    """``de_k/dp_j`` of one slot and one circuit parameter: a constant or a row function."""

    slot: int
    param: int
    constant: float | None = None
    function: object = None

    def value(self, values: np.ndarray) -> np.ndarray | float:
        return self.constant if self.function is None else self.function(values)


@dataclass
class ShiftPlan:
    """The slot circuit of ``circuit`` and the chain rule from slots back to its parameters.

    Attributes:
        circuit: the circuit the plan was built for (kept so identity checks stay valid).
        slot_circuit: ``circuit`` with angle ``slots[k]`` in the ``k``-th parameterized rotation
            and no global phase; its parameters are exactly the slots, in order.
        num_slots: number of parameterized rotations.
        terms: the non-zero ``de_k/dp_j``.
    """

    circuit: QuantumCircuit
    slot_circuit: QuantumCircuit
    num_slots: int
    terms: list[_Term]
    _offsets: np.ndarray = field(repr=False)
    _linear: np.ndarray = field(repr=False)
    _nonlinear: list[tuple[int, object]] = field(repr=False)

    def slot_values(self, values: np.ndarray) -> np.ndarray:
        """Slot angles ``[rows, num_slots]`` for circuit parameter values ``[rows, P]``.

        Example:
            >>> from qiskit.circuit import Parameter
            >>> a = Parameter("a"); qc = QuantumCircuit(1); _ = qc.ry(2 * a + 1, 0)
            >>> build_shift_plan(qc).slot_values(np.array([[0.5]]))
            array([[2.]])
        """
        out = values @ self._linear + self._offsets
        for k, fn in self._nonlinear:
            out[:, k] = fn(values)
        return out

    def slots_of(self, params: Sequence[int]) -> np.ndarray:
        """Sorted indices of the slots whose angle depends on any of ``params``."""
        wanted = set(params)
        return np.array(sorted({t.slot for t in self.terms if t.param in wanted}), dtype=int)

    def chain_rule(
        self, values: np.ndarray, slots: np.ndarray, params: Sequence[int]
    ) -> np.ndarray:
        """Coefficients ``[rows, len(slots), len(params)]`` of ``d a_slot / d p_param``."""
        rows = values.shape[0]
        slot_pos = {int(s): i for i, s in enumerate(slots)}
        param_pos = {int(p): j for j, p in enumerate(params)}
        coeffs = np.zeros((rows, len(slots), len(params)))
        for term in self.terms:
            i, j = slot_pos.get(term.slot), param_pos.get(term.param)
            if i is not None and j is not None:
                coeffs[:, i, j] = term.value(values)
        return coeffs


def _as_parameterized(value: object) -> ParameterExpression | None:
    if isinstance(value, ParameterExpression) and value.parameters:
        return value
    return None


def build_shift_plan(circuit: QuantumCircuit) -> ShiftPlan:
    """Give every parameterized rotation of ``circuit`` its own slot angle.

    Raises:
        ValueError: a parameterized instruction is not a gate or has more than one parameterized
            argument after translation (e.g. a parameterized ``delay``), naming it.

    Example:
        >>> from qiskit.circuit import Parameter
        >>> a, b = Parameter("a"), Parameter("b")
        >>> qc = QuantumCircuit(2); _ = qc.cry(a, 0, 1); _ = qc.rzz(a * b, 0, 1)
        >>> plan = build_shift_plan(qc)
        >>> plan.num_slots, plan.slot_circuit.num_parameters
        (3, 3)
    """
    from qiskit.transpiler.passes import TranslateParameterizedGates

    if any(
        _as_parameterized(p) is not None and inst.operation.name not in SHIFTABLE_GATES
        for inst in circuit.data
        for p in inst.operation.params
    ):
        translated = TranslateParameterizedGates(list(SHIFTABLE_GATES))(circuit)
    else:
        translated = circuit
    names = {p.name: i for i, p in enumerate(circuit.parameters)}
    instructions = list(translated.data)
    expressions: list[ParameterExpression] = []
    slot_of: dict[int, int] = {}  # instruction position -> slot
    for position, inst in enumerate(instructions):
        op = inst.operation
        parameterized = [i for i, p in enumerate(op.params) if _as_parameterized(p) is not None]
        if not parameterized:
            continue
        if op.name not in SHIFTABLE_GATES or parameterized != [0] or len(op.params) != 1:
            raise ValueError(
                f"circuit: cannot apply the parameter-shift rule to instruction {op.name!r} "
                f"with parameters {op.params}; use rotations {SHIFTABLE_GATES} or gates that "
                "translate into them"
            )
        slot_of[position] = len(expressions)
        expressions.append(op.params[0])
    slots = ParameterVector("slot", len(expressions))
    slot_circuit = translated.copy_empty_like()
    slot_circuit.global_phase = 0.0
    for position, inst in enumerate(instructions):
        k = slot_of.get(position)
        if k is None:
            slot_circuit._append(inst)
        else:
            op = inst.operation.base_class(slots[k])
            slot_circuit._append(CircuitInstruction(op, inst.qubits, inst.clbits))

    # Derivatives by sympy on the sympified angle: ParameterExpression.gradient(...).sympify()
    # can name the wrong symbol (seen with Qiskit 2.6 on ParameterVector products).
    import sympy

    num_params = len(names)
    linear = np.zeros((num_params, len(expressions)))
    offsets = np.zeros(len(expressions))
    nonlinear: list[tuple[int, object]] = []
    terms: list[_Term] = []
    for k, expr in enumerate(expressions):
        sym = sympy.sympify(expr.sympify())
        affine = True
        for symbol in sorted(sym.free_symbols, key=lambda s: s.name):
            j = names.get(symbol.name)
            if j is None:
                raise ValueError(f"circuit: rotation angle {expr} uses unknown parameter {symbol}")
            derivative = sympy.diff(sym, symbol)
            if derivative.free_symbols:
                terms.append(_Term(k, j, function=_lambdify(derivative, names)))
                affine = False
                continue
            coefficient = float(sympy.re(derivative))
            if coefficient != 0.0:
                terms.append(_Term(k, j, constant=coefficient))
                linear[j, k] = coefficient
        if affine:
            offsets[k] = float(sympy.re(sym.subs({s: 0 for s in sym.free_symbols})))
        else:
            nonlinear.append((k, _lambdify(sym, names)))
    return ShiftPlan(circuit, slot_circuit, len(expressions), terms, offsets, linear, nonlinear)


class ShiftPlanCache:
    """Plans per circuit object (the QNN passes the same circuit object on every call).

    Example:
        >>> cache = ShiftPlanCache()
        >>> qc = QuantumCircuit(1)
        >>> cache.plan(qc) is cache.plan(qc)
        True
    """

    def __init__(self, max_size: int = 32) -> None:
        self._plans: dict[int, ShiftPlan] = {}
        self._max_size = max_size

    def plan(self, circuit: QuantumCircuit) -> ShiftPlan:
        cached = self._plans.get(id(circuit))
        if cached is not None and cached.circuit is circuit:
            return cached
        if len(self._plans) >= self._max_size:
            self._plans.pop(next(iter(self._plans)))
        plan = build_shift_plan(circuit)
        self._plans[id(circuit)] = plan
        return plan


def parameter_indices(circuit: QuantumCircuit, parameters: Sequence[Parameter]) -> list[int]:
    """Positions of ``parameters`` in ``circuit.parameters`` (the order of a value row)."""
    position = {p: i for i, p in enumerate(circuit.parameters)}
    try:
        return [position[p] for p in parameters]
    except KeyError as exc:
        raise ValueError(f"parameters: {exc.args[0]} is not a parameter of the circuit") from None
