import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.primitives import StatevectorEstimator, StatevectorSampler
from qiskit.quantum_info import Statevector
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qiskit_qattn.attention import estimate_attention, exact_attention
from qiskit_qattn.circuits import prepare_head, prepare_rows, qaoa_attention
from qiskit_qattn.circuits.families.qaoa import qaoa_template, qaoa_template_values
from qiskit_qattn.execution import RuntimeExecutor, compiled_batch, measure_layout
from qiskit_qattn.runtime import RuntimeSubmitter

pytestmark = pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")


@pytest.fixture(scope="module")
def manila():
    return FakeManilaV2()


@pytest.fixture
def head_data():
    rng = np.random.default_rng(5)
    return rng.normal(size=(3, 4)), rng.normal(size=(6, 4)), rng.normal(size=(6, 2))


def _reference(tmp_path, manila, primitive, reference, **kw):
    """A Runtime executor that submits to Qiskit's exact reference primitive."""
    return RuntimeExecutor(manila, primitive=primitive, store=tmp_path,
                           submitter=RuntimeSubmitter(reference), **kw)


@pytest.mark.parametrize("reps", [1, 2, 3])
def test_template_reproduces_qaoa_attention(reps):
    rng = np.random.default_rng(reps)
    scores = rng.normal(size=(3, 8))
    mask = np.ones((3, 8), bool)
    mask[1, [2, 5]] = False
    values = qaoa_template_values(prepare_rows(scores, 0.7, mask), reps)
    tmpl = qaoa_template(3, reps)
    for i in range(3):
        ref = Statevector(qaoa_attention(scores[i], reps=reps, mask=mask[i],
                                         temperature=0.7)).probabilities()
        got = Statevector(tmpl.assign_parameters(values[i]))
        np.testing.assert_allclose(got.probabilities(), ref, atol=1e-12)


@pytest.mark.parametrize("family", ["qaoa", "softmax_state", "warm_start"])
def test_estimator_pubs_reproduce_the_logical_estimate(tmp_path, head_data, manila, family):
    """Reference Estimator on the laid-out ISA PUBs == statevector estimate (sorted keys too)."""
    Q, K, V = head_data
    ex = _reference(tmp_path, manila, "estimator", StatevectorEstimator(), precision=1e-12)
    est = estimate_attention(Q, K, V, family=family, execution=ex)
    task = ex.last_preview
    assert task.pubs == (1 if family == "qaoa" else 3) and task.circuits == 3
    ref = estimate_attention(Q, K, V, family=family)
    np.testing.assert_allclose(est.values, ref.values, atol=1e-8)
    if family == "softmax_state":
        np.testing.assert_allclose(est.values, exact_attention(Q, K, V), atol=1e-8)


@pytest.mark.parametrize("family", ["qaoa", "born_machine"])
def test_sampler_pubs_decode_into_key_order(tmp_path, head_data, manila, family):
    Q, K, V = head_data
    ex = _reference(tmp_path, manila, "sampler", StatevectorSampler(seed=3))
    est = estimate_attention(Q, K, V, family=family, execution=ex, shots=40000)
    assert ex.last_preview.pubs == (1 if family == "qaoa" else 3)
    ref = estimate_attention(Q, K, V, family=family)
    assert np.all(np.abs(est.values - ref.values) < 5 * est.std_errors + 1e-9)
    np.testing.assert_allclose(est.weights, ref.weights, atol=0.02)


def test_every_fold_and_calibration_circuit_is_one_job(tmp_path, head_data, manila):
    """Noiseless reference sampler: every fold agrees, the extrapolation recovers the ideal."""
    Q, K, V = head_data
    ex = _reference(tmp_path, manila, "sampler", StatevectorSampler(seed=4))
    est = estimate_attention(Q, K, V, family="softmax_state", execution=ex, shots=50000,
                             mitigation="zne+rem", mitigation_options={"scale_factors": (1, 3)})
    report = est.mitigation
    assert ex.executions == 1
    assert report.num_circuits == ex.last_preview.circuits == 2 * 3 + 2 * len(
        report.readout_fidelity)
    np.testing.assert_allclose(report.raw_values[1], report.raw_values[0], atol=0.05)
    exact = exact_attention(Q, K, V)
    assert np.all(np.abs(est.values - exact) < 5 * est.std_errors + 1e-9)


def test_fingerprint_is_stable_and_sensitive(head_data, manila):
    Q, K, V = head_data

    def task(q=Q, v=V, shots=100, primitive="sampler"):
        head = prepare_head(q, K, v, family="qaoa")
        ex = RuntimeExecutor(manila, primitive=primitive)
        batch = compiled_batch(head, manila, measure=primitive == "sampler",
                               observables=primitive == "estimator")
        return ex.pack([batch], shots)[0]

    a, b = task(), task()  # rebuilt: new Parameter objects
    assert a.fingerprint() == b.fingerprint() and len(a.fingerprint()) == 32
    assert task(shots=101).fingerprint() != a.fingerprint()
    assert task(v=V * 2, primitive="estimator").fingerprint() != task(
        primitive="estimator").fingerprint()
    assert task(q=Q[:2]).fingerprint() != a.fingerprint()
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
    ({"primitive": "x"}, "primitive"), ({"precision": -1.0}, "precision"),
])
def test_runtime_executor_rejects_bad_input(manila, kwargs, match):
    with pytest.raises(ValueError, match=match):
        RuntimeExecutor(manila, **kwargs)


def test_template_needs_the_qaoa_family(head_data, manila):
    head = prepare_head(*head_data, family="softmax_state")
    with pytest.raises(ValueError, match="template=True needs family 'qaoa'"):
        compiled_batch(head, manila, template=True)
