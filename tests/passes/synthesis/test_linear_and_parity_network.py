import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator

from qiskit_qattn.passes.synthesis.graph import WireGraph
from qiskit_qattn.passes.synthesis.linear import gf2_inverse, steiner_gauss, synthesize_linear
from qiskit_qattn.passes.synthesis.parity_network import synthesize_cnot_phase

LINE4 = [(0, 1), (1, 2), (2, 3)]
TREE6 = [(0, 1), (1, 2), (2, 3), (3, 4), (2, 5)]


def _circuit(net, n):
    qc = QuantumCircuit(n, global_phase=net.global_phase)
    for op in net.ops:
        if op[0] == "cx":
            qc.cx(op[1], op[2])
        elif op[0] == "p":
            qc.p(op[2], op[1])
        else:
            qc.x(op[1])
    return qc


def _expected(n, terms, linear, constants, out):
    """Dense reference: phases on |x>, then |x> -> |A x + b> with output j on wire out[j]."""
    dim = 2**n
    mat = np.zeros((dim, dim), dtype=complex)
    for x in range(dim):
        phase = sum(a * ((m & x).bit_count() % 2) for m, a in terms.items())
        y = 0
        for j in range(n):
            bit = ((linear[j] & x).bit_count() + constants[j]) % 2
            y |= bit << out[j]
        mat[y, x] = np.exp(1j * phase)
    return mat


def _random_linear(rng, n):
    while True:
        rows = [int(r) for r in rng.integers(1, 2**n, size=n)]
        try:
            gf2_inverse(rows, n)
            return rows
        except ValueError:
            continue


@pytest.mark.parametrize("edges", [None, LINE4])
@pytest.mark.parametrize("free", [False, True])
def test_cnot_phase_matches_dense_reference(rng, edges, free):
    n = 4
    graph = WireGraph(n, edges)
    terms = {int(m): float(rng.normal()) for m in rng.choice(np.arange(1, 2**n), 9, replace=False)}
    linear = _random_linear(rng, n)
    constants = [int(b) for b in rng.integers(0, 2, size=n)]
    net = synthesize_cnot_phase(graph, terms, linear, constants, free_permutation=free)
    for op in net.ops:
        if op[0] == "cx":
            assert (min(op[1:]), max(op[1:])) in graph.edges
    if not free:
        assert net.output_wires == list(range(n))
    actual = Operator(_circuit(net, n)).data
    assert np.allclose(actual, _expected(n, terms, linear, constants, net.output_wires))


def test_dense_diagonal_on_tree(rng):
    n = 6
    graph = WireGraph(n, TREE6)
    terms = {m: float(rng.normal()) for m in range(1, 2**n)}
    net = synthesize_cnot_phase(graph, terms, free_permutation=True)
    actual = Operator(_circuit(net, n)).data
    ident = [1 << i for i in range(n)]
    assert np.allclose(actual, _expected(n, terms, ident, [0] * n, net.output_wires))


def test_steiner_gauss_reaches_identity_on_a_line(rng):
    graph = WireGraph(5, [(i, i + 1) for i in range(4)])
    for _ in range(5):
        rows = _random_linear(rng, 5)
        m = list(rows)
        for c, t in steiner_gauss(rows, graph):
            assert (min(c, t), max(c, t)) in graph.edges
            m[t] ^= m[c]
        assert m == [1 << i for i in range(5)]


def test_synthesize_linear_free_permutation_is_cheap_for_permutations():
    graph = WireGraph(3, [(0, 1), (1, 2)])
    ops, out = synthesize_linear([0b100, 0b010, 0b001], [1, 2, 4], graph, free_permutation=True)
    assert ops == [] and out == [2, 1, 0]


def test_bad_terms_raise():
    with pytest.raises(ValueError, match="terms"):
        synthesize_cnot_phase(WireGraph(2), {0b100: 1.0})
    with pytest.raises(ValueError, match="edges"):
        WireGraph(2, [(0, 0)])
