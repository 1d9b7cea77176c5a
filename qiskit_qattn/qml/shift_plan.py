"""Parameter-shift plan of a circuit: one free angle per rotation, and the chain rule back.

Every parameterized rotation ``exp(-i a P / 2)`` (``rx``, ``ry``, ``rz``, ``p``, ``rxx``, ``ryy``,
``rzz``, ``rzx``) gets its own *slot* angle ``a_k``; the circuit's parameters ``p`` enter only
through the slot expressions ``a_k = e_k(p)``. Then

    d<O>/dp_j = sum_k  (de_k/dp_j) * (<O>(a_k + pi/2) - <O>(a_k - pi/2)) / 2

exactly, for any expressions ``e_k`` (affine, bilinear, ...): the shift is applied to the slot,
and the derivative of the expression is evaluated at the row's values. All slot values of a
whole batch, shifted and unshifted, and all ``de_k/dp_j`` are computed with numpy (polynomial
angles from their monomials, other angles from one compiled sympy function), so a batch
becomes one broadcast PUB of the slot circuit.

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


class _RowFunctions:
    """Sympy expressions of the circuit parameters compiled into one numpy function.

    ``f(values [rows, P]) -> [rows, len(expressions)]`` (one ``lambdify`` for all of them).
    Only angles that are not polynomials in the parameters (``sin``, ``exp``, ...) need it.
    """

    def __init__(self, expressions: list, names: dict[str, int]) -> None:
        import sympy

        self.size = len(expressions)
        if not expressions:
            return
        symbols = sorted(set().union(*(e.free_symbols for e in expressions)),
                         key=lambda s: s.name)
        self._columns = [names[s.name] for s in symbols]
        # Plain identifiers (parameter names such as "x[0]" are not) spare lambdify a pass.
        plain = [sympy.Symbol(f"p{i}") for i in range(len(symbols))]
        renamed = [e.xreplace(dict(zip(symbols, plain, strict=True))) for e in expressions]
        self._fn = sympy.lambdify(plain, renamed, modules="numpy", dummify=False)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        out = np.empty((values.shape[0], self.size))
        if self.size:
            results = self._fn(*(values[:, c] for c in self._columns))
            for i, r in enumerate(results):
                out[:, i] = np.real(np.asarray(r, dtype=complex))
        return out


@dataclass
class _Monomials:
    """``sum_m coeff[m] * prod_p values[:, p] ** exponents[m, p]``, scattered into ``slot[m]``."""

    slot: np.ndarray  # [M]
    coeff: np.ndarray  # [M]
    exponents: np.ndarray  # [M, P]

    def evaluate(self, values: np.ndarray, exponents: np.ndarray | None = None) -> np.ndarray:
        exps = self.exponents if exponents is None else exponents
        return np.prod(values[:, None, :] ** exps[None], axis=2)  # [rows, M]


@dataclass
class ShiftPlan:
    """The slot circuit of ``circuit`` and the chain rule from slots back to its parameters.

    Slot angles are split into an affine part (``values @ linear + offsets``), higher-degree
    monomials (evaluated and differentiated exactly with numpy) and, for angles that are not
    polynomials, compiled sympy functions.

    Attributes:
        circuit: the circuit the plan was built for (kept so identity checks stay valid).
        slot_circuit: ``circuit`` with angle ``slots[k]`` in the ``k``-th parameterized rotation
            and no global phase; its parameters are exactly the slots, in order.
        num_slots: number of parameterized rotations.
        depends: ``[num_slots, num_parameters]``, whether slot ``k``'s angle uses parameter ``j``.
    """

    circuit: QuantumCircuit
    slot_circuit: QuantumCircuit
    num_slots: int
    depends: np.ndarray
    _offsets: np.ndarray = field(repr=False)
    _linear: np.ndarray = field(repr=False)
    _monomials: _Monomials = field(repr=False)
    _other_slots: list[int] = field(repr=False)
    _other_values: _RowFunctions = field(repr=False)
    _other_derivatives: dict[tuple[int, int], int] = field(repr=False)
    _other_derivative_values: _RowFunctions = field(repr=False)

    def slot_values(self, values: np.ndarray) -> np.ndarray:
        """Slot angles ``[rows, num_slots]`` for circuit parameter values ``[rows, P]``.

        Example:
            >>> from qiskit.circuit import Parameter
            >>> a = Parameter("a"); qc = QuantumCircuit(1); _ = qc.ry(2 * a * a + 1, 0)
            >>> build_shift_plan(qc).slot_values(np.array([[0.5]]))
            array([[1.5]])
        """
        out = values @ self._linear + self._offsets
        mono = self._monomials
        if mono.slot.size:
            terms = mono.coeff * mono.evaluate(values)
            for k in np.unique(mono.slot):
                out[:, k] += terms[:, mono.slot == k].sum(axis=1)
        if self._other_slots:
            out[:, self._other_slots] = self._other_values(values)
        return out

    def slots_of(self, params: Sequence[int]) -> np.ndarray:
        """Sorted indices of the slots whose angle depends on any of ``params``."""
        return np.flatnonzero(self.depends[:, list(params)].any(axis=1))

    def chain_rule(
        self, values: np.ndarray, slots: np.ndarray, params: Sequence[int]
    ) -> np.ndarray:
        """Coefficients ``[rows, len(slots), len(params)]`` of ``d a_slot / d p_param``."""
        params = list(params)
        rows = values.shape[0]
        coeffs = np.broadcast_to(self._linear[params][:, slots].T,
                                 (rows, len(slots), len(params))).copy()
        slot_pos = {int(s): i for i, s in enumerate(slots)}
        mono = self._monomials
        if mono.slot.size:
            in_slots = np.array([int(k) in slot_pos for k in mono.slot])
            for j_out, j in enumerate(params):
                use = in_slots & (mono.exponents[:, j] > 0)
                if not use.any():
                    continue
                exps = mono.exponents[use].copy()
                factor = mono.coeff[use] * exps[:, j]
                exps[:, j] -= 1
                terms = factor * mono.evaluate(values, exps)
                for m, k in enumerate(mono.slot[use]):
                    coeffs[:, slot_pos[int(k)], j_out] += terms[:, m]
        if self._other_derivatives:
            derivs = None
            for j_out, j in enumerate(params):
                for k in self._other_slots:
                    index = self._other_derivatives.get((k, j))
                    if index is None or k not in slot_pos:
                        continue
                    if derivs is None:
                        derivs = self._other_derivative_values(values)
                    coeffs[:, slot_pos[k], j_out] = derivs[:, index]
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

    # Angles are differentiated from their sympy form: ParameterExpression.gradient(...)
    # .sympify() can name the wrong symbol (seen with Qiskit 2.6 on ParameterVector products).
    import sympy

    num_params = len(names)
    linear = np.zeros((num_params, len(expressions)))
    offsets = np.zeros(len(expressions))
    depends = np.zeros((len(expressions), num_params), dtype=bool)
    mono_slot: list[int] = []
    mono_coeff: list[float] = []
    mono_exps: list[np.ndarray] = []
    other_slots: list[int] = []
    other_exprs: list = []
    other_derivatives: dict[tuple[int, int], int] = {}
    derivative_exprs: list = []
    for k, expr in enumerate(expressions):
        sym = expr.sympify()
        symbols = sorted(sym.free_symbols, key=lambda s: s.name)
        columns = []
        for symbol in symbols:
            j = names.get(symbol.name)
            if j is None:
                raise ValueError(f"circuit: rotation angle {expr} uses unknown parameter {symbol}")
            columns.append(j)
            depends[k, j] = True
        try:
            poly = sympy.Poly(sym, *symbols)
            terms = [(monom, complex(coeff)) for monom, coeff in poly.terms()]
        except (sympy.PolynomialError, TypeError, ValueError):
            terms = None
        if terms is not None and all(abs(c.imag) < 1e-12 for _, c in terms):
            for monom, coeff in terms:
                degree = sum(monom)
                if degree == 0:
                    offsets[k] += coeff.real
                elif degree == 1:
                    linear[columns[monom.index(1)], k] += coeff.real
                else:
                    exps = np.zeros(num_params, dtype=int)
                    for column, power in zip(columns, monom, strict=True):
                        exps[column] = power
                    mono_slot.append(k)
                    mono_coeff.append(coeff.real)
                    mono_exps.append(exps)
            continue
        # Not a polynomial: compile its value and derivatives (sympy.diff; see the note above).
        other_slots.append(k)
        other_exprs.append(sym)
        for symbol, j in zip(symbols, columns, strict=True):
            other_derivatives[(k, j)] = len(derivative_exprs)
            derivative_exprs.append(sympy.diff(sym, symbol))
    monomials = _Monomials(
        np.array(mono_slot, dtype=int), np.array(mono_coeff, dtype=float),
        np.array(mono_exps, dtype=int).reshape(len(mono_slot), num_params),
    )
    return ShiftPlan(
        circuit, slot_circuit, len(expressions), depends, offsets, linear, monomials,
        other_slots, _RowFunctions(other_exprs, names), other_derivatives,
        _RowFunctions(derivative_exprs, names),
    )


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
