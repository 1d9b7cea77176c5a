"""Clifford data regression: training circuits, fits against known noise, one execution."""

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.providers.fake_provider import GenericBackendV2
from qiskit.quantum_info import Statevector
from qiskit_ibm_runtime.fake_provider import FakeTorino

from qiskit_qattn.circuits import prepare_head
from qiskit_qattn.execution import CircuitBatch, Executor, LocalSampler, Outcomes, compiled_batch
from qiskit_qattn.mitigation import (
    MitigatedExecutor,
    MitigationConfig,
    fit_cdr,
    fit_vncdr,
    ideal_distributions,
    training_circuits,
)
from qiskit_qattn.mitigation.training import rotation_sites, training_set
from qiskit_qattn.noise import depolarizing_noise, noisy_distributions
from qiskit_qattn.sim import sample_counts


@pytest.fixture(scope="module")
def torino_batch():
    """A real compiled attention batch: 3 queries, 8 keys on FakeTorino (ISA, routed)."""
    rng = np.random.default_rng(7)
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
    backend = FakeTorino()
    return backend, compiled_batch(prepare_head(q, k, v), backend)


def _structure(qc):
    return [(inst.operation.name, tuple(qc.find_bit(q).index for q in inst.qubits),
             tuple(qc.find_bit(c).index for c in inst.clbits)) for inst in qc.data]


def test_training_circuits_keep_the_compiled_structure(torino_batch):
    backend, batch = torino_batch
    isa = list(batch.circuits)
    training = training_circuits(isa, 6, non_clifford=2, seed=3)
    assert [tc.metadata["training_of"] for tc in training] == [0, 1, 2, 0, 1, 2]
    for tc in training:
        src = isa[tc.metadata["training_of"]]
        # Same instructions on the same physical qubits in the same order: layout, routing and
        # every two-qubit gate are the target's; only rotation angles differ.
        assert _structure(tc) == _structure(src)
        two_q = [(n, q) for n, q, _ in _structure(tc) if len(q) == 2]
        assert two_q == [(n, q) for n, q, _ in _structure(src) if len(q) == 2] and two_q
        # At most two non-Clifford angles are left, and they are the target's own.
        left = rotation_sites(tc)[1]
        assert len(left) <= 2 < len(rotation_sites(src)[1])
        assert all(tc.data[i].operation.params == src.data[i].operation.params for i in left)
        for inst in tc.data:  # still an ISA circuit of the device
            qargs = tuple(tc.find_bit(q).index for q in inst.qubits)
            assert inst.operation.name in ("measure", "barrier") or (
                backend.target.instruction_supported(inst.operation.name, qargs))


def test_ideal_distributions_match_a_dense_statevector(torino_batch):
    _, batch = torino_batch
    training = training_circuits(list(batch.circuits)[:1], 3, non_clifford=3, seed=1)
    ideal = ideal_distributions(training)
    reference = noisy_distributions(training, noise_model=None)  # exact, unrelated code path
    np.testing.assert_allclose(ideal, reference, atol=1e-10)
    # Clifford circuits wider than a statevector go through the stabilizer formalism.
    wide = QuantumCircuit(24, 2)
    wide.h(range(24))
    wide.cx(0, 23)
    wide.s(23)
    wide.h(23)
    wide.measure([23, 5], [0, 1])
    small = QuantumCircuit(2, 2)
    small.h([0, 1])
    small.cx(1, 0)
    small.s(0)
    small.h(0)
    small.measure([0, 1], [0, 1])
    np.testing.assert_allclose(ideal_distributions([wide])[0],
                               Statevector(small.remove_final_measurements(inplace=False))
                               .probabilities([0, 1]), atol=1e-12)
    wide = wide.remove_final_measurements(inplace=False)
    wide.rz(0.3, 23)
    wide.h(23)
    wide.measure_all()
    with pytest.raises(ValueError, match="not classically computable"):
        ideal_distributions([wide])


def test_training_set_rejects_uninformative_clifford_circuits():
    qc = QuantumCircuit(3)
    qc.sx(range(3))
    for q, angle in enumerate((0.4, 0.7, 1.3)):
        qc.rz(angle, q)
    qc.measure_all()  # Clifford versions: |+>-like states, uniform outcomes
    with pytest.raises(ValueError, match="nearly\\) uniform"):
        training_set([qc], 4, non_clifford=0, seed=1)


def test_fits_recover_exact_affine_and_exponential_noise():
    rng = np.random.default_rng(2)
    ideal = rng.dirichlet(np.ones(4) * 0.5, size=12)
    noisy = 0.83 * ideal + np.array([0.08, 0.04, 0.03, 0.02])
    cdr = fit_cdr(noisy, ideal)
    assert cdr.slope == pytest.approx(0.83) and cdr.residual < 1e-12
    target = rng.dirichlet(np.ones(4))
    np.testing.assert_allclose(cdr.apply(0.83 * target + cdr.offset)[0][0], target, atol=1e-12)
    # Global depolarising at every scale factor: p(l) - u = f**l (p - u). Circuits decaying at a
    # slightly different rate than the training average are corrected to first order.
    factors = np.array([1.0, 5.0])
    levels = np.stack([0.25 + 0.9**lam * (ideal - 0.25) for lam in factors])
    fit = fit_vncdr(levels, ideal, factors)
    np.testing.assert_allclose(fit.slopes, 0.9**factors)
    exact = 0.25 + np.tensordot(fit.coefficients, np.stack(
        [0.9**lam * (target - 0.25) for lam in factors]), axes=1)
    np.testing.assert_allclose(exact, target, atol=1e-12)
    faster = 0.25 + np.tensordot(fit.coefficients, np.stack(
        [0.88**lam * (target - 0.25) for lam in factors]), axes=1)
    plain = 0.25 + 0.88 * (target - 0.25) / 0.9
    assert np.abs(faster - target).max() < np.abs(plain - target).max() / 10


def test_vncdr_error_bars_match_the_spread_of_repeated_fits():
    rng = np.random.default_rng(4)
    ideal = rng.dirichlet(np.ones(4) * 0.4, size=10)
    factors = np.array([1.0, 3.0])
    truth = np.stack([0.25 + 0.85**lam * (ideal - 0.25) for lam in factors])
    target = rng.dirichlet(np.ones(4))
    target_levels = np.stack([0.25 + 0.85**lam * (target - 0.25) for lam in factors])[:, None]
    shots = 20_000
    estimates, errors = [], []
    for _ in range(300):
        counts = np.stack([sample_counts(t, shots, rng) for t in truth])
        levels = counts / shots
        covs = np.stack([[(np.diag(p) - np.outer(p, p)) / shots for p in lv] for lv in levels])
        fit = fit_vncdr(levels, ideal, factors, covs)
        tc = np.stack([sample_counts(t, shots, rng) for t in target_levels]) / shots
        tcov = np.stack([[(np.diag(p) - np.outer(p, p)) / shots for p in lv] for lv in tc])
        p, cov = fit.apply(tc, tcov)
        estimates.append(p[0])
        errors.append(np.sqrt(np.diag(cov[0])))
    estimates = np.array(estimates)
    np.testing.assert_allclose(estimates.mean(axis=0), target, atol=4 * estimates.std(0).max()
                               / np.sqrt(len(estimates)) + 1e-4)
    # Reported standard errors (target shots + fitted coefficients) match the observed spread.
    np.testing.assert_allclose(np.mean(errors, axis=0), estimates.std(axis=0), rtol=0.15)


@pytest.fixture(scope="module")
def two_qubit_device():
    return GenericBackendV2(2, basis_gates=["cz", "id", "rz", "sx", "x"],
                            coupling_map=[[0, 1], [1, 0]], seed=1)


def _non_clifford_circuit(device):
    from qiskit.transpiler import generate_preset_pass_manager

    qc = QuantumCircuit(2)
    qc.ry(0.7, 0)
    qc.ry(1.9, 1)
    for angle in (0.4, 1.1, 0.8):
        qc.cz(0, 1)
        qc.rx(angle, 0)
        qc.ry(angle / 2, 1)
    qc.measure_all()
    return generate_preset_pass_manager(1, backend=device, seed_transpiler=1).run(qc)


@pytest.mark.parametrize("technique", ["vncdr+rem", "cdr+rem"])
def test_cdr_recovers_the_ideal_distribution_under_known_noise(two_qubit_device, technique):
    """Two-qubit depolarizing after every CZ on a 2-qubit register is global depolarizing, plus
    readout errors: REM + (vn)CDR must recover the ideal distribution within its error bars."""
    isa = _non_clifford_circuit(two_qubit_device)
    assert len(rotation_sites(isa)[1]) >= 4
    batch = CircuitBatch([isa], 2, measured=True, device=two_qubit_device.name)
    noise = depolarizing_noise(p1=0.0, p2=0.06, readout=(0.02, 0.05))
    executor = LocalSampler(two_qubit_device, noise_model=noise, seed=11)
    options = {"budget": 8.0, "non_clifford": 2, "seed": 5}
    if technique.startswith("vncdr"):
        options["scale_factors"] = (1, 5)
    res = MitigatedExecutor(executor, MitigationConfig.parse(technique, options)).run(
        batch, 200_000)
    assert executor.executions == 1
    ideal = ideal_distributions([isa])[0]
    noisy = res.probabilities[0, 0]
    z_raw = (noisy - ideal) / np.sqrt(np.diag(res.covariances[0, 0]))
    assert np.abs(z_raw).max() > 20  # the noise is real
    err = np.sqrt(np.diag(res.mitigated_covariances[0]))
    z = (res.mitigated[0] - ideal) / err
    assert np.all(np.abs(z) < 4.5), z
    assert np.abs(res.mitigated[0] - ideal).max() < 0.01
    assert res.client_side[-1] == "rem" and res.model.num_training >= 2
    assert res.total_shots <= 8 * 200_000


class Recorder(Executor):
    """Records every circuit of every call; samples noiselessly."""

    name = "shots"

    def __init__(self, device):
        super().__init__()
        self._device = device
        self.calls = []

    @property
    def device(self):
        return self._device

    def _run(self, batches, shots):
        self.calls.append(([qc for b in batches for qc in b.circuits], shots))
        return [Outcomes.from_counts(sample_counts(noisy_distributions(
            b.circuits, noise_model=None), shots, 0), shots) for b in batches]


def test_training_and_folds_run_in_the_one_execution_and_count_in_total_shots(torino_batch):
    backend, batch = torino_batch
    run = Recorder(backend)
    cfg = MitigationConfig.parse("vncdr+rem", {"scale_factors": (1, 3), "budget": 5,
                                               "seed": 2})
    res = MitigatedExecutor(run, cfg).run(batch, 40_000)
    assert run.executions == 1 and len(run.calls) == 1
    executed, unit = run.calls[0]
    plan = res.plan
    rows = batch.num_rows
    assert len(executed) == rows * sum(plan.target) + sum(plan.training) + 2 * plan.calibration
    assert res.total_shots == len(executed) * unit == plan.total_shots(rows, 2)
    assert res.total_shots <= 5 * 40_000 * rows
    isa_2q = {tuple(_structure(qc)) for qc in batch.circuits}
    training = [qc for qc in executed if "training_of" in (qc.metadata or {})]
    assert len(training) == sum(plan.training)
    for qc in training:  # unfolded training circuits: exactly a query circuit's structure
        if qc.metadata.get("scale_factor", 1.0) == 1.0:
            assert tuple(_structure(qc)) in isa_2q
    folded = [qc for qc in training if qc.metadata.get("scale_factor") == 3.0]
    assert folded and all(qc.count_ops()["cz"] == 3 * batch.circuits[0].count_ops()["cz"]
                          for qc in folded)
    # Noiseless sampling: the model is (nearly) the identity and the result the ideal one.
    ideal = ideal_distributions(batch.circuits)
    np.testing.assert_allclose(res.mitigated, ideal, atol=0.02)
    # Without a seed the same work still builds the same circuits (a Runtime job is found
    # again in the store instead of resubmitted): the seed derives from the batch.
    unseeded = MitigationConfig.parse("vncdr+rem", {"scale_factors": (1, 3), "budget": 5})
    first, again = Recorder(backend), Recorder(backend)
    MitigatedExecutor(first, unseeded).run(batch, 40_000)
    MitigatedExecutor(again, unseeded).run(batch, 40_000)
    assert [a.data == b.data for a, b in zip(first.calls[0][0], again.calls[0][0],
                                             strict=True)] == [True] * len(first.calls[0][0])
