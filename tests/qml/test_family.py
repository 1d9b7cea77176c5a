"""Family QNNs: the seam's own circuits (prepare_head) with the schedule as Qiskit ML weights."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Statevector
from qiskit_machine_learning.neural_networks import SamplerQNN

from qiskit_qattn.circuits import prepare_head
from qiskit_qattn.qml import family_head_circuit, family_qnn, make_sampler, qnn_layout

SHOTS = 40_000


def _seam_probs(Q, K, family, query, reps, w, g_shape, b_shape, options):
    """Exact key probabilities of the seam's numeric circuit for the schedule ``w``, decoded
    into key order by the head itself (``PreparedHead.decode``)."""
    n = int(np.prod(g_shape))
    head = prepare_head(Q, K, np.zeros((len(K), 1)), family=family, reps=reps,
                        gammas=w[:n].reshape(g_shape), betas=w[n:].reshape(b_shape), **options)
    probs = np.array([Statevector(qc).probabilities() for qc in head.circuits])
    return head.decode(probs)[query]


@pytest.mark.parametrize("family,reps,shapes,options,seam_options", [
    ("qaoa", 1, ((1,), (1,)), {}, {}),
    ("ma_qaoa", 1, ((1, 3), (1, 3)), {}, {"key_order": "identity"}),
    ("ma_qaoa", 1, ((1, 2), (1, 3)), {"key_order": "sorted", "max_order": 2},
     {"key_order": "sorted", "max_order": 2}),
    ("warm_start", 1, ((1, 2), (1, 3)), {}, {"key_order": "sorted", "max_order": 2}),
])
def test_forward_and_backward_equal_the_seam_circuit(family, reps, shapes, options,
                                                     seam_options, rng):
    Q, K = rng.normal(size=(3, 4)), rng.normal(size=(6, 4))
    ac = family_head_circuit(Q, K, family=family, query=2, reps=reps, **options)
    w = rng.uniform(-1, 1, len(ac.weight_params))
    exact = _seam_probs(Q, K, family, 2, reps, w, *shapes, seam_options)
    bound = ac.circuit.assign_parameters(dict(zip(ac.weight_params, w, strict=True)))
    order = ac.layout.shape["key_order"]
    if seam_options.get("key_order", "identity") == "sorted":
        assert order != list(range(8))  # the decoding below is exercised
    decoded = np.zeros(8)
    decoded[order] = Statevector(bound).probabilities()
    np.testing.assert_allclose(decoded, exact, atol=1e-12)

    qnn = family_qnn(Q, K, family=family, query=2, reps=reps, shots=SHOTS,
                     sampler=make_sampler("aer", shots=SHOTS, seed=5), **options)
    assert isinstance(qnn, SamplerQNN) and qnn.num_inputs == 0
    np.testing.assert_allclose(qnn.forward(None, w)[0], exact, atol=4 / np.sqrt(SHOTS))
    _, grad = qnn.backward(None, w)
    eps = 1e-5
    for j in range(w.size):
        e = np.zeros_like(w)
        e[j] = eps
        fd = (_seam_probs(Q, K, family, 2, reps, w + e, *shapes, seam_options)
              - _seam_probs(Q, K, family, 2, reps, w - e, *shapes, seam_options)) / (2 * eps)
        # shift differences of shot estimates, times chain-rule coefficients (Walsh terms)
        np.testing.assert_allclose(grad[0, :, j], fd, atol=0.06)
    lay = qnn_layout(qnn)
    assert lay.num_inputs == 0 and lay.num_weights == w.size
    assert lay.outputs == tuple(f"p[{j}]" for j in range(8))


def test_bad_family_query_and_reps_are_refused(rng):
    Q, K = rng.normal(size=(2, 4)), rng.normal(size=(4, 4))
    with pytest.raises(ValueError, match="family must be one of"):
        family_qnn(Q, K, family="softmax_state")
    with pytest.raises(ValueError, match="query must be an integer"):
        family_qnn(Q, K, query=2)
    with pytest.raises(ValueError, match="reps must be"):
        family_qnn(Q, K, reps=0)
    with pytest.raises(ValueError, match="takes no key_order"):
        family_qnn(Q, K, family="qaoa", key_order="sorted")
    with pytest.raises(ValueError, match="permutation"):
        from qiskit_qattn.qml import sampler_qnn

        ac = family_head_circuit(Q, K, reps=1)
        sampler_qnn(ac.circuit, [], ac.weight_params, key_order=[0, 0, 1, 2])

