"""Training through Qiskit ML's own classes, on every primitive, on real data (digits patches)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit_machine_learning.algorithms import NeuralNetworkClassifier
from qiskit_machine_learning.optimizers import COBYLA, L_BFGS_B

from qiskit_qattn.qml import key_distribution_qnn, make_estimator, make_sampler, self_attention_qnn
from qiskit_qattn.qml.datasets import digit_tokens
from qiskit_qattn.qml.models import (
    ClassicalAttentionPooling,
    ClassicalQSANNClassifier,
    QSANNClassifier,
    QuantumAttentionClassifier,
    count_parameters,
    matching_score_dim,
)


@pytest.fixture(scope="module")
def data():
    return digit_tokens((6, 9), num_tokens=4, token_dim=2, max_train=40, seed=0)


def test_neural_network_classifier_decreases_the_loss_on_a_fixed_seed(data, aer_estimator):
    qnn = self_attention_qnn(4, 2, estimator=aer_estimator)
    losses: list[float] = []
    clf = NeuralNetworkClassifier(
        qnn, optimizer=L_BFGS_B(maxiter=6),
        initial_point=np.random.default_rng(0).normal(scale=0.1, size=qnn.num_weights),
        callback=lambda weights, value: losses.append(value),
    )
    clf.fit(data.x_train[:20], data.y_train[:20])
    assert losses[-1] < 0.6 * losses[0]
    assert clf.score(data.x_train[:20], data.y_train[:20]) > 0.8
    assert set(np.unique(clf.predict(data.x_test))) <= {-1, 1}


def _torch_steps(model, data, steps, batch=16, lr=0.1):
    x = torch.tensor(data.x_train[:batch], dtype=torch.float32)
    y = torch.tensor(data.y_train[:batch], dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


@pytest.mark.parametrize("build, steps, batch", [
    (lambda est: QuantumAttentionClassifier(4, 2, estimator=est, seed=0), 8, 16),
    (lambda est: QSANNClassifier(4, 2, estimator=est, seed=0), 3, 4),  # 4 circuits per sample
])
def test_torch_connector_training_decreases_the_loss(build, steps, batch, data, aer_estimator):
    torch.manual_seed(0)
    losses = _torch_steps(build(aer_estimator), data, steps, batch)
    assert losses[-1] < losses[0]


def test_twins_have_the_parameter_counts_they_claim():
    quantum = QuantumAttentionClassifier(4, 2, seed=0)
    assert count_parameters(quantum) == count_parameters(ClassicalAttentionPooling(4, 2)) == 8
    no_att = QuantumAttentionClassifier(4, 2, attention=False, seed=0)
    assert count_parameters(no_att) == count_parameters(
        ClassicalAttentionPooling(4, 2, attention=False)) == 3
    qsann = QSANNClassifier(4, 2, seed=0)
    classical = ClassicalQSANNClassifier(4, 2, score_dim=matching_score_dim(2, 18), seed=0)
    assert count_parameters(qsann) == count_parameters(classical) == 18 + 3


def test_qsann_without_attention_weights_tokens_uniformly(data):
    model = QSANNClassifier(4, 2, attention=False, seed=0)
    tokens = torch.tensor(data.tokens("test")[:2], dtype=torch.float32)
    shuffled = tokens[:, [2, 0, 3, 1]]
    a, b = model.attention(tokens).mean(1), model.attention(shuffled).mean(1)
    torch.testing.assert_close(a, b)  # permutation-invariant: no positional or content weights


@pytest.mark.slow
def test_runtime_local_mode_trains_with_qiskit_ml_classes(data):
    """Runtime's executor Estimator on a fake device: classifier fit and a torch step run."""
    estimator = make_estimator("runtime", mode="fake_nairobi", precision=0.03, seed=7,
                               options={"resilience_level": 0})
    qnn = self_attention_qnn(4, 2, device="fake_nairobi", estimator=estimator)
    assert type(qnn.estimator).__module__.startswith("qiskit_ibm_runtime.executor_estimator")
    x, y = data.x_train[:4], data.y_train[:4]
    exact = self_attention_qnn(4, 2)
    w = np.random.default_rng(0).normal(scale=0.3, size=qnn.num_weights)
    np.testing.assert_allclose(qnn.forward(x, w), exact.forward(x, w), atol=0.2)  # device noise
    before = qnn.gradient.jobs
    _, grad = qnn.backward(x, w)
    assert qnn.gradient.jobs == before + 1 and np.all(np.isfinite(grad))
    clf = NeuralNetworkClassifier(qnn, optimizer=COBYLA(maxiter=qnn.num_weights + 2),
                                 initial_point=w)
    clf.fit(x, y)
    assert set(np.unique(clf.predict(x))) <= {-1, 1}
    model = QuantumAttentionClassifier(4, 2, device="fake_nairobi", estimator=estimator, seed=0)
    losses = _torch_steps(model, data, steps=1, batch=2)
    assert np.isfinite(losses[0])
    sampler = make_sampler("runtime", mode="fake_nairobi", shots=4000, seed=7)
    keys = key_distribution_qnn(4, 2, device="fake_nairobi", sampler=sampler, shots=4000)
    exact = key_distribution_qnn(4, 2, shots=20_000,
                                 sampler=make_sampler("reference", shots=20_000, seed=1))
    np.testing.assert_allclose(keys.forward(x[:2], w[:5]), exact.forward(x[:2], w[:5]),
                               atol=0.12)  # device noise
    assert np.all(np.isfinite(keys.backward(x[:2], w[:5])[1]))


@pytest.mark.parametrize("kind", ["reference", "aer"])
def test_simulator_primitives_train_with_qiskit_ml_classes(kind, data):
    qnn = self_attention_qnn(4, 2, estimator=make_estimator(kind))
    losses: list[float] = []
    clf = NeuralNetworkClassifier(
        qnn, optimizer=L_BFGS_B(maxiter=1),
        initial_point=np.random.default_rng(1).normal(scale=0.1, size=qnn.num_weights),
        callback=lambda weights, value: losses.append(value),
    )
    clf.fit(data.x_train[:4], data.y_train[:4])
    assert losses[-1] < losses[0]


def test_sampler_qnn_key_distribution_trains_through_torch_connector():
    """Fit the attention row (a SamplerQNN) to a softmax row by KL divergence."""
    from qiskit_machine_learning.connectors import TorchConnector

    from qiskit_qattn.qml import key_distribution_qnn, make_sampler

    qnn = key_distribution_qnn(4, 2, shots=2000,
                               sampler=make_sampler("reference", shots=2000, seed=3))
    rng = np.random.default_rng(0)
    tokens = rng.uniform(0, np.pi, (1, 8))
    scores = tokens.reshape(4, 2) @ np.array([1.5, -1.0])
    target = torch.tensor(np.exp(scores) / np.exp(scores).sum(), dtype=torch.float32)
    model = TorchConnector(qnn, initial_weights=np.zeros(qnn.num_weights))
    opt = torch.optim.Adam(model.parameters(), lr=0.2)
    x = torch.tensor(tokens, dtype=torch.float32)
    losses = []
    for _ in range(12):
        opt.zero_grad()
        p = model(x)[0].clamp_min(1e-6)
        loss = (target * (target.log() - p.log())).sum()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]
