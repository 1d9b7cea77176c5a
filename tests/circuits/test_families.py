import numpy as np
import pytest
import torch
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import Statevector

from qiskit_qattn.circuits import qaoa_attention, softmax_state
from qiskit_qattn.circuits.families import amplification as amp_mod
from qiskit_qattn.circuits.families import (
    amplification_attention,
    born_machine_attention,
    ma_qaoa_attention,
    warm_start_attention,
    warm_start_probabilities,
)
from qiskit_qattn.circuits.families import born_machine as bm_mod
from qiskit_qattn.circuits.families import ma_qaoa as ma_mod
from qiskit_qattn.circuits.families import warm_start as ws_mod
from qiskit_qattn.circuits.rows import prepare_row, prepare_rows, to_key_order
from qiskit_qattn.encoding import masked_softmax
from qiskit_qattn.fitting import torch_states as ts

# PauliEvolutionGate statevectors go through scipy.sparse.linalg.expm, which warns about
# CSC efficiency; the warning is scipy-internal and harmless.
pytestmark = pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")


def _overlap(a, b):
    return abs(np.vdot(a, b)) ** 2


# ----------------------------------------------------------------------------- parameter counts


@pytest.mark.parametrize(("m", "reps", "k"), [(2, 1, 2), (3, 2, 2), (3, 3, None), (4, 2, 1)])
def test_ma_qaoa_parameter_count(rng, m, reps, k):
    kk = m if k is None else k
    g, b = ParameterVector("g", reps * kk), ParameterVector("b", reps * m)
    qc = ma_qaoa_attention(rng.normal(size=2**m), reps,
                           np.array(list(g), dtype=object).reshape(reps, kk),
                           np.array(list(b), dtype=object).reshape(reps, m), max_order=k)
    assert qc.num_parameters == ma_mod.num_parameters(m, reps, k) == reps * (kk + m)
    assert qc.metadata["num_parameters"] == qc.num_parameters


@pytest.mark.parametrize(("m", "reps"), [(2, 1), (3, 2)])
def test_warm_start_parameter_count(rng, m, reps):
    g, b = ParameterVector("g", reps * 2), ParameterVector("b", reps * m)
    qc = warm_start_attention(rng.normal(size=2**m), reps,
                              np.array(list(g), dtype=object).reshape(reps, 2),
                              np.array(list(b), dtype=object).reshape(reps, m), window=0)
    assert qc.num_parameters == ws_mod.num_parameters(m, reps, 2) == reps * (2 + m)
    assert warm_start_attention(rng.normal(size=2**m)).num_parameters == 0


@pytest.mark.parametrize("reps", [1, 3])
def test_amplification_parameter_count(rng, reps):
    a = ParameterVector("a", 2 * reps)
    qc = amplification_attention(rng.normal(size=8), reps,
                                 np.array(list(a), dtype=object).reshape(reps, 2))
    assert qc.num_parameters == amp_mod.num_parameters(reps) == 2 * reps


@pytest.mark.parametrize(("m", "layers"), [(2, 0), (3, 2)])
def test_born_machine_parameter_count_and_cz(rng, m, layers):
    t = ParameterVector("t", (layers + 1) * m)
    qc = born_machine_attention(rng.normal(size=2**m), layers,
                                np.array(list(t), dtype=object).reshape(layers + 1, m))
    assert qc.num_parameters == bm_mod.num_parameters(m, layers) == (layers + 1) * m
    assert qc.count_ops().get("cz", 0) == layers * (m - 1)


# ----------------------------------------------------------------------------- statevectors


@pytest.mark.parametrize("key_order", ["identity", "sorted"])
@pytest.mark.parametrize(("n", "k"), [(4, 1), (7, 2), (8, None)])
def test_ma_qaoa_matches_torch_simulator(rng, key_order, n, k):
    s = rng.normal(size=n) * 1.7
    mask = np.ones(n, bool)
    mask[1] = False
    rows = prepare_row(s, 0.8, mask, key_order)
    m, kk = rows.num_qubits, (rows.num_qubits if k is None else k)
    g, b = rng.normal(size=(2, kk)), rng.normal(size=(2, m))
    qc = ma_qaoa_attention(s, 2, g, b, max_order=k, key_order=key_order, temperature=0.8,
                           mask=mask)
    for dtype, atol in ((torch.complex128, 1e-9), (torch.complex64, 2e-5)):
        psi = ts.ma_qaoa_states(ts.order_parts(rows, kk, dtype), torch.tensor(g)[None],
                                torch.tensor(b)[None], dtype)
        assert _overlap(Statevector(qc).data, psi[0].numpy()) == pytest.approx(1, abs=atol)


def test_ma_qaoa_reduces_to_textbook_qaoa(rng):
    s = rng.normal(size=8)
    sigma = np.std(s / 1.3)
    g, b = np.array([0.4, -0.3]), np.array([0.7, 0.2])
    text = qaoa_attention(s, 2, g / sigma, b, temperature=1.3)
    ma = ma_qaoa_attention(s, 2, np.outer(g, np.ones(3)), np.outer(b, np.ones(3)),
                           temperature=1.3, phase_separator="walsh")
    diag = ma_qaoa_attention(s, 2, np.outer(g, np.ones(3)), np.outer(b, np.ones(3)),
                             temperature=1.3, phase_separator="diagonal")
    ref = Statevector(text).data
    assert _overlap(ref, Statevector(ma).data) == pytest.approx(1, abs=1e-9)
    assert _overlap(ref, Statevector(diag).data) == pytest.approx(1, abs=1e-9)


@pytest.mark.parametrize("key_order", ["identity", "sorted"])
@pytest.mark.parametrize("window", [0, 1, 2, 5])
def test_warm_start_statevector_is_the_closed_form(rng, key_order, window):
    s = rng.normal(size=13) * 2
    mask = np.ones(13, bool)
    mask[[0, 7]] = False
    qc = warm_start_attention(s, window=window, key_order=key_order, mask=mask)
    rows = prepare_row(s, 1.0, mask, key_order)
    sv = Statevector(qc).data
    q = warm_start_probabilities(rows.probs, window)[0]
    np.testing.assert_allclose(sv.imag, 0, atol=1e-12)
    np.testing.assert_allclose(np.abs(sv) ** 2, q, atol=1e-12)
    keys = to_key_order(np.abs(sv) ** 2, qc.metadata["key_order"], 13)
    if window >= rows.num_qubits - 1:  # full tree = exact amplitude encoding
        assert keys[~mask].max() < 1e-12  # masked keys get exactly no amplitude
        np.testing.assert_allclose(keys, masked_softmax(s, mask=mask), atol=1e-12)
        exact = Statevector(softmax_state(s, mask=mask)).data
        if key_order == "identity":
            assert _overlap(exact, sv) == pytest.approx(1, abs=1e-10)


def test_warm_start_window_zero_is_a_product_state(rng):
    qc = warm_start_attention(rng.normal(size=16), window=0)
    assert all(len(inst.qubits) == 1 for inst in qc.data)
    qc1 = warm_start_attention(rng.normal(size=16), window=1)
    assert sum(len(inst.qubits) > 1 for inst in qc1.data) == 3  # one UCRY per lower qubit


@pytest.mark.parametrize("window", [0, 1])
def test_warm_start_corrections_match_torch(rng, window):
    s = rng.normal(size=11)
    rows = prepare_row(s, 1.0, None, "sorted")
    g, b = rng.normal(size=(2, 2)), rng.normal(size=(2, 4))
    qc = warm_start_attention(s, 2, g, b, window=window)
    psi = ts.warm_start_states(rows, window, ts.order_parts(rows, 2), torch.tensor(g)[None],
                               torch.tensor(b)[None])
    assert _overlap(Statevector(qc).data, psi[0].numpy()) == pytest.approx(1, abs=1e-9)
    # zero corrections are the identity on the warm start
    qc0 = warm_start_attention(s, 2, np.zeros((2, 2)), np.zeros((2, 4)), window=window)
    bare = warm_start_attention(s, window=window)
    assert _overlap(Statevector(qc0).data, Statevector(bare).data) == pytest.approx(1, abs=1e-9)


def _dense_amplification(s, angles, initial_state):
    """Independent reference: oracle e^{iγD}, then I + (e^{iβ}-1)|ψ0><ψ0| as dense matrices."""
    rows = prepare_row(s, 1.0, None, "identity")
    d = rows.diag[0]
    psi0 = initial_state
    psi = psi0.copy()
    for gamma, beta in angles:
        psi = np.diag(np.exp(1j * gamma * d)) @ psi
        psi = (np.eye(len(d)) + (np.exp(1j * beta) - 1) * np.outer(psi0, psi0.conj())) @ psi
    return psi


@pytest.mark.parametrize("initial", ["uniform", "warm"])
def test_amplification_matches_dense_and_torch(rng, initial):
    s = rng.normal(size=8)
    angles = rng.normal(size=(2, 2))
    qc = amplification_attention(s, 2, angles, initial=initial)
    rows = prepare_row(s, 1.0, None, "identity")
    psi_t = ts.amplification_states(rows, torch.tensor(angles)[None], initial)[0].numpy()
    sv = Statevector(qc).data
    assert _overlap(sv, psi_t) == pytest.approx(1, abs=1e-9)
    if initial == "uniform":
        psi0 = np.full(8, 8**-0.5, dtype=complex)
        assert _overlap(sv, _dense_amplification(s, angles, psi0)) == pytest.approx(1, abs=1e-9)


def test_grover_reflection_amplifies_the_top_key():
    s = np.array([0.0, 0.0, 0.0, 5.0])
    # γ=π on a ±-shaped diagonal flips the top key's sign; β=π is Grover's diffusion: p(top)=1
    rows = prepare_row(s, 1.0, None, "identity")
    gamma = np.pi / (rows.diag[0, 3] - rows.diag[0, 0])
    qc = amplification_attention(s, 1, [[gamma, np.pi]])
    assert Statevector(qc).probabilities()[3] == pytest.approx(1.0, abs=1e-9)


def test_born_machine_matches_torch(rng):
    s = rng.normal(size=16)
    th = rng.normal(size=(3, 4))
    qc = born_machine_attention(s, 2, th)
    psi = ts.born_machine_states(torch.tensor(th)[None])[0].numpy()
    assert _overlap(Statevector(qc).data, psi) == pytest.approx(1, abs=1e-10)


def test_born_machine_initial_map_is_the_product_warm_start(rng):
    s = rng.normal(size=16)
    rows = prepare_row(s, 1.0, None, "sorted")
    w = torch.tensor(bm_mod.initial_weights(4, 2))
    psi = ts.born_machine_mapped_states(rows, w)
    q = warm_start_probabilities(rows.probs, 0)
    np.testing.assert_allclose(ts.tl.probabilities(psi).numpy(), q, atol=1e-12)


# ----------------------------------------------------------------------------- rows


def test_prepare_rows_sorted_layout_and_features():
    rows = prepare_rows([[0.1, 2.0, -1.0, 0.5, 0.3]], key_order="sorted")
    assert rows.order[0, :5].tolist() == [1, 3, 4, 0, 2]
    assert rows.keep[0].tolist() == [True] * 5 + [False] * 3
    np.testing.assert_allclose(np.sort(rows.probs[0])[::-1][:5],
                               np.sort(masked_softmax([0.1, 2.0, -1.0, 0.5, 0.3]))[::-1])
    assert rows.probs[0, 5:].tolist() == [0, 0, 0]
    assert np.all(rows.diag[0, 5:] == rows.diag[0, :5].min())
    s = np.array([0.1, 2.0, -1.0, 0.5, 0.3])
    sigma = s.std()
    assert rows.features[0, 1] == pytest.approx(np.log(sigma))
    assert rows.features[0, 2] == pytest.approx((2.0 - 0.5) / sigma)
    assert rows.features[0, 3] == pytest.approx(3.0 / sigma)


def test_key_probabilities_inverts_the_order(rng):
    s = rng.normal(size=(3, 6))
    rows = prepare_rows(s, key_order="sorted")
    np.testing.assert_allclose(to_key_order(rows.probs, rows.order, 6), masked_softmax(s))


def test_inputs_are_not_mutated(rng):
    s = rng.normal(size=8)
    mask = np.ones(8, bool)
    s0, mask0 = s.copy(), mask.copy()
    warm_start_attention(s, mask=mask)
    ma_qaoa_attention(s, 1, [[0.1, 0.2, 0.3]], [[0.1, 0.2, 0.3]], mask=mask)
    assert np.array_equal(s, s0) and np.array_equal(mask, mask0)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: ma_qaoa_attention(s, 1, [[0.1]], [[0.1, 0.2]]), "gammas must have shape"),
        (lambda s: ma_qaoa_attention(s, 1, [[0.1, 0.2]], None), "both gammas and betas"),
        (lambda s: ma_qaoa_attention(s, 0), "reps"),
        (lambda s: ma_qaoa_attention(s, 1, max_order=0), "max_order"),
        (lambda s: ma_qaoa_attention(s, key_order="random"), "key_order"),
        (lambda s: ma_qaoa_attention(s, 1, [[np.nan, 0]], [[0, 0]]), "finite"),
        (lambda s: warm_start_attention(s, window=-1), "window"),
        (lambda s: warm_start_attention(s, 0, [[0.1, 0.2]], [[0.1, 0.2]]), "reps=0"),
        (lambda s: amplification_attention(s, 1, [[0.1, 0.2]], initial="x"), "initial"),
        (lambda s: amplification_attention(s, 1, [[0.1]]), "angles must have shape"),
        (lambda s: born_machine_attention(s, -1), "layers"),
        (lambda s: born_machine_attention(s, 1, [[0.0, 0.0]]), "thetas must have shape"),
        (lambda s: warm_start_attention([[0.1, 0.2]]), "scores must be 1-D"),
        (lambda s: warm_start_attention(s, mask=np.ones(3, bool)), "mask"),
        (lambda s: warm_start_attention(s, temperature=0), "temperature"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call([0.3, -1.0, 2.0, 0.5])


def test_head_decoding_gives_exact_attention(rng):
    """Sorted-layout circuits + PreparedHead.decode + the kept-key estimator = exact attention."""
    from qiskit_qattn.attention import exact_attention
    from qiskit_qattn.attention.key_estimators import outputs_from_counts
    from qiskit_qattn.circuits import prepare_head

    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    head = prepare_head(q, k, v, family="warm_start", window=2)  # m=3: exact tree
    probs = np.stack([Statevector(qc).probabilities() for qc in head.circuits])
    scores = q @ k.T / 2.0
    assert not np.allclose(probs[:, :6], masked_softmax(scores))  # basis states are permuted
    out, _, _ = outputs_from_counts(head.decode(probs), head.values, head.keep, exact=True)
    np.testing.assert_allclose(out, exact_attention(q, k, v), atol=1e-10)
    with pytest.raises(ValueError, match="key_order must have length"):
        head.decode(probs[:, :4])
