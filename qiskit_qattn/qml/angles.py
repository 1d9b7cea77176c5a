"""Rotation angles rewritten as flat polynomials, so that binding a circuit is cheap.

A primitive binds the QNN's circuit once per row of every forward pass
(``QuantumCircuit.assign_parameters``). With Qiskit 2.6 that costs about 20 ms per row for the
nested angle expressions of :func:`~qiskit_qattn.qml.self_attention_circuit` (sums of scaled
differences of products of inputs and weights) and under 1 ms once each angle is written as a
flat sum of monomials: the same function of the same parameters. On Qiskit's reference
``StatevectorEstimator`` binding dominated the forward pass (0.56 s of a 0.9 s training step at
batch 16); the factories therefore expand every polynomial angle, and keep any other angle
(``sin``, ``exp``, ...) as it is.
"""

from __future__ import annotations

from qiskit.circuit import CircuitInstruction, Parameter, ParameterExpression, QuantumCircuit

#: Angles whose expansion has more monomials than this are kept as they are.
MAX_TERMS = 256


def _expanded(expr: ParameterExpression, by_name: dict[str, Parameter]) -> ParameterExpression:
    """``expr`` as a flat sum of monomials, or ``expr`` itself when that is not possible."""
    import sympy

    if isinstance(expr, Parameter):
        return expr
    try:
        sym = sympy.expand(expr.sympify())
    except Exception:  # noqa: BLE001 - an angle sympy cannot read stays as it is
        return expr
    terms = sympy.Add.make_args(sym)
    if len(terms) > MAX_TERMS:
        return expr
    out: ParameterExpression | float = 0
    for term in terms:
        coeff, factors = term.as_coeff_mul()
        if not coeff.is_real:
            return expr
        value: ParameterExpression | float = float(coeff)
        for factor in factors:
            if factor.is_number:
                if not factor.is_real:
                    return expr
                value = value * float(factor)
                continue
            base, exponent = factor.as_base_exp()
            param = by_name.get(getattr(base, "name", None))
            if param is None or not (exponent.is_Integer and int(exponent) >= 1):
                return expr
            for _ in range(int(exponent)):
                value = value * param
        out = out + value
    if not isinstance(out, ParameterExpression):
        return expr
    return out


def _with_params(op, params: list):
    """A fresh gate like ``op`` with ``params`` and no cached definition.

    (A copied gate keeps its cached ``definition``, whose old nested angles
    ``assign_parameters`` would bind as well: the very cost this module removes.)
    """
    try:
        fresh = op.base_class(*params)
    except Exception:  # noqa: BLE001 - a gate whose constructor takes other arguments
        fresh = None
    if fresh is None or fresh.name != op.name or fresh.num_qubits != op.num_qubits:
        fresh = op.to_mutable()
        fresh.params = params
        fresh._definition = None
    return fresh


def expand_angles(circuit: QuantumCircuit) -> QuantumCircuit:
    """A copy of ``circuit`` whose polynomial rotation angles are flat sums of monomials.

    Same gates, qubits, parameters (in the same order), layout and metadata; every angle is the
    same function of the parameters. Angles that are a single parameter, not polynomials, or
    would expand into more than :data:`MAX_TERMS` monomials are kept unchanged.

    Example:
        >>> from qiskit.circuit import Parameter
        >>> a, b = Parameter("a"), Parameter("b")
        >>> qc = QuantumCircuit(1); _ = qc.ry(((a + b) / 2 - (a - b) / 2) * a, 0)
        >>> str(expand_angles(qc).data[0].operation.params[0])
        'a*b'
    """
    by_name = {p.name: p for p in circuit.parameters}
    expanded: dict[tuple[int, int], ParameterExpression] = {}
    for i, inst in enumerate(circuit.data):
        for j, p in enumerate(inst.operation.params):
            if isinstance(p, ParameterExpression) and p.parameters:
                new = _expanded(p, by_name)
                if new is not p:
                    expanded[(i, j)] = new
    # A parameter may cancel out of an angle (x - x); keep the original angles that would
    # otherwise drop it from the circuit, so its parameter list stays the same.
    kept = set().union(*(e.parameters for e in expanded.values())) if expanded else set()
    for i, inst in enumerate(circuit.data):
        for j, p in enumerate(inst.operation.params):
            if isinstance(p, ParameterExpression) and (i, j) not in expanded:
                kept |= set(p.parameters)
    lost = set(circuit.parameters) - kept
    if lost:
        expanded = {key: e for key, e in expanded.items()
                    if not set(circuit.data[key[0]].operation.params[key[1]].parameters) & lost}
    if not expanded:
        return circuit
    out = circuit.copy_empty_like()
    for i, inst in enumerate(circuit.data):
        op = inst.operation
        if any((i, j) in expanded for j in range(len(op.params))):
            params = [expanded.get((i, j), p) for j, p in enumerate(op.params)]
            inst = CircuitInstruction(_with_params(op, params), inst.qubits, inst.clbits)
        out._append(inst)
    return out
