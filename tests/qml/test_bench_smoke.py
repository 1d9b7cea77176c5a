"""benchmarks/qml.py: its core functions run on tiny sizes (so the benchmark cannot rot)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("qml")


def test_step_timing_and_gradients_of_every_path_agree(bench):
    from qiskit_qattn.qml.datasets import digit_tokens

    x = digit_tokens((6, 9), max_train=8).x_train[:2]
    reps = {"batched": 2, "stock": 1, "lincomb": 1, "reverse": 1}
    timings = bench.compare_training_steps(bench._attention_model, bench.estimator("aer"), None,
                                           x, reps)
    for path in reps:
        assert timings[path].seconds > 0
        np.testing.assert_allclose(timings[path].grads[1], timings["batched"].grads[1],
                                   atol=1e-10)
    row = bench._speed_row("QNN", "aer", None, timings, ("stock", "lincomb", "reverse"), False)
    assert len(row) == 8 and row[4].endswith("x**")
    # exact Aer: the batched gradient evaluated its PUB itself, and the table says so
    assert timings["batched"].local and row[1] == "aer (numpy statevector)"


def test_stock_peer_is_a_plain_qiskit_ml_qnn_on_the_same_circuit(bench):
    from qiskit_machine_learning.gradients import ParamShiftSamplerGradient
    from qiskit_machine_learning.neural_networks import SamplerQNN

    model, owner = bench._keys_model(bench.sampler("reference"), None)
    ours = owner.qnn
    peer = bench._with_peer(model, owner)
    assert type(peer) is SamplerQNN and isinstance(peer.gradient, ParamShiftSamplerGradient)
    assert peer.circuit is ours.circuit and owner.qnn is peer
    np.testing.assert_array_equal(owner.connector.weight.detach().numpy(),
                                  model.connector.weight.detach().numpy())


def test_training_functions_report_accuracy_and_parameters(bench):
    from qiskit_qattn.qml import self_attention_qnn
    from qiskit_qattn.qml.datasets import digit_tokens
    from qiskit_qattn.qml.models import ClassicalAttentionPooling

    data = digit_tokens((6, 9), max_train=8)
    torch_fit = bench.train_torch(ClassicalAttentionPooling(4, 2), data, epochs=1, seed=0)
    qml_fit = bench.train_classifier(self_attention_qnn(4, 2, estimator=bench.estimator("aer")),
                                     data, maxiter=1, seed=0)
    for fit in (torch_fit, qml_fit):
        assert 0.0 <= fit.test_acc <= 1.0 and 0.0 <= fit.train_acc <= 1.0
        assert fit.params == 8 and fit.seconds >= 0
