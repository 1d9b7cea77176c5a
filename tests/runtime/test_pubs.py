import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.primitives import StatevectorEstimator, StatevectorSampler
from qiskit.quantum_info import Statevector

from qiskit_qattn.attention import exact_attention
from qiskit_qattn.circuits import qaoa_attention
from qiskit_qattn.runtime import pack_head, qaoa_parameter_values, qaoa_template
from qiskit_qattn.runtime.pubs import measure_layout


@pytest.fixture
def head_data():
    rng = np.random.default_rng(5)
    return rng.normal(size=(3, 4)), rng.normal(size=(6, 4)), rng.normal(size=(6, 2))


@pytest.mark.parametrize("reps", [1, 2, 3])
def test_template_reproduces_qaoa_attention(reps):
    rng = np.random.default_rng(reps)
    scores = rng.normal(size=(3, 8))
    mask = np.ones((3, 8), bool)
    mask[1, [2, 5]] = False
    values = qaoa_parameter_values(scores, reps=reps, mask=mask, temperature=0.7)
    tmpl, params = qaoa_template(3, reps)
    for i in range(3):
        ref = Statevector(qaoa_attention(scores[i], reps=reps, mask=mask[i],
                                         temperature=0.7)).probabilities()
        got = Statevector(tmpl.assign_parameters(dict(zip(params, values[i], strict=True))))
        np.testing.assert_allclose(got.probabilities(), ref, atol=1e-12)


def _exact(Q, K, V):
    return exact_attention(Q, K, V)


@pytest.mark.parametrize("method", ["qaoa", "softmax_state"])
def test_estimator_pubs_with_laid_out_observables(head_data, manila, method):
    """Reference Estimator on the ISA PUBs reproduces the logical estimate exactly."""
    from qiskit_qattn.attention import estimate_attention

    Q, K, V = head_data
    job = pack_head(Q, K, V, backend=manila, method=method, primitive="estimator",
                    precision=1e-12)
    assert job.templated == (method == "qaoa")
    assert len(job.task.pubs) == (1 if method == "qaoa" else 3)
    assert job.task.num_executions == 3
    pub = job.task.pubs[0]
    assert pub.observables.num_qubits == manila.num_qubits  # laid out on physical qubits
    result = StatevectorEstimator().run(list(job.task.pubs)).result()
    values, std, _ = job.estimates(result)[0]
    ref = estimate_attention(Q, K, V, method=method).values
    np.testing.assert_allclose(values, ref, atol=1e-8)
    if method == "softmax_state":
        np.testing.assert_allclose(values, _exact(Q, K, V), atol=1e-8)


def test_sampler_pubs_broadcast_queries(head_data, manila):
    from qiskit_qattn.attention import estimate_attention

    Q, K, V = head_data
    job = pack_head(Q, K, V, backend=manila, method="qaoa", shots=40000)
    (pub,) = job.task.pubs
    assert pub.parameter_values.shape == (3,) and pub.shots == 40000
    result = StatevectorSampler(seed=3).run(list(job.task.pubs)).result()
    counts = job.counts(result)
    assert counts.shape == (1, 3, 8) and (counts.sum(axis=-1) == 40000).all()
    values, std, weights = job.estimates(result)[0]
    ref = estimate_attention(Q, K, V, method="qaoa")
    assert np.all(np.abs(values - ref.values) < 5 * std + 1e-9)
    np.testing.assert_allclose(weights[:, :6], ref.weights, atol=0.02)


def test_folds_are_packed_into_one_job(head_data, manila):
    """Every fold of every query in one task; a no-op fold gives identical exact values."""

    def identity_fold(isa, factor):
        out = isa.copy()
        for _ in range(int(factor) - 1):
            for q in range(manila.num_qubits):
                out.x(q)
                out.x(q)
        return out

    Q, K, V = head_data
    job = pack_head(Q, K, V, backend=manila, method="qaoa", primitive="estimator",
                    precision=1e-12, fold=identity_fold, fold_factors=(1, 3, 5))
    assert len(job.task.pubs) == 3
    extra = 2 * manila.num_qubits * 4  # factor 5 = 4 extra X-X layers
    assert job.task.pubs[2].circuit.size() == job.task.pubs[0].circuit.size() + extra
    per_fold = job.estimates(StatevectorEstimator().run(list(job.task.pubs)).result())
    for values, _, _ in per_fold[1:]:
        np.testing.assert_allclose(values, per_fold[0][0], atol=1e-9)


def test_fingerprint_is_stable_and_sensitive(head_data, manila):
    Q, K, V = head_data
    a = pack_head(Q, K, V, backend=manila, shots=100).task
    b = pack_head(Q, K, V, backend=manila, shots=100).task  # rebuilt: new Parameter objects
    assert a.fingerprint() == b.fingerprint() and len(a.fingerprint()) == 32
    assert pack_head(Q, K, V, backend=manila, shots=101).task.fingerprint() != a.fingerprint()
    assert pack_head(Q, K, V * 2, backend=manila, shots=100,
                     primitive="estimator").task.fingerprint() != pack_head(
        Q, K, V, backend=manila, shots=100, primitive="estimator").task.fingerprint()
    assert pack_head(Q[:2], K, V, backend=manila, shots=100).task.fingerprint() != a.fingerprint()
    assert a.fingerprint({"resilience_level": 0}) != a.fingerprint()


def test_measure_layout_reads_logical_qubits(manila):
    from qiskit.transpiler import generate_preset_pass_manager

    qc = QuantumCircuit(3)
    qc.x(0)
    qc.cx(0, 2)
    qc.swap(1, 2)
    isa = generate_preset_pass_manager(3, backend=manila, seed_transpiler=1).run(qc)
    counts = StatevectorSampler().run([measure_layout(isa, 3)], shots=10).result()[0]
    assert counts.data.meas.get_int_counts() == {0b011: 10}  # q0=1, q1=1 after the swap


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"method": "nope"}, "method"), ({"primitive": "x"}, "primitive"), ({"shots": 0}, "shots"),
    ({"fold_factors": (1, 3)}, "fold"), ({"fold_factors": (0.5,)}, "fold_factors"),
    ({"precision": -1.0}, "precision"), ({"method": "softmax_state", "template": True}, "template"),
])
def test_pack_head_rejects_bad_input(head_data, manila, kwargs, match):
    Q, K, V = head_data
    with pytest.raises(ValueError, match=match):
        pack_head(Q, K, V, backend=manila, **kwargs)
