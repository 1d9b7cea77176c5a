import numpy as np
import pytest
from qiskit_ibm_runtime.fake_provider import FakeTorino

from qiskit_qattn.circuits import attention_circuits
from qiskit_qattn.mitigation import MitigationConfig, execute_with_zne, sample_mitigated
from qiskit_qattn.passes import compile_circuits
from qiskit_qattn.sim.aer_sampling import sample_compiled
from qiskit_qattn.viz.report import two_qubit_count


@pytest.fixture(scope="module")
def setup():
    backend = FakeTorino()
    rng = np.random.default_rng(2)
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
    return backend, compile_circuits(attention_circuits(q, k, v), backend, measure=True)


class Recorder:
    """A count executor that records every call and runs noiselessly on Aer."""

    def __init__(self, shots=200):
        self.calls = []
        self.shots = shots

    def __call__(self, batch):
        self.calls.append(list(batch))
        return sample_compiled(batch, shots=self.shots, num_outcomes=8, noise_model=None, seed=0)


def test_one_execution_holds_every_fold_and_the_calibration(setup):
    backend, isa = setup
    run = Recorder()
    cfg = MitigationConfig.parse("zne+rem", {"scale_factors": (1, 3, 5)})
    res = sample_mitigated(isa, run, cfg, shots=run.shots, target=backend.target)
    assert len(run.calls) == 1
    batch = run.calls[0]
    assert len(batch) == 3 * len(isa) + 2  # folds + tensored calibration
    # The executed circuits are the folded ISA circuits, not re-optimised ones.
    base = [two_qubit_count(c) for c in isa]
    for s, factor in enumerate((1, 3, 5)):
        got = [two_qubit_count(c) for c in batch[s * len(isa):(s + 1) * len(isa)]]
        assert got == [factor * b for b in base]
    assert res.applied == ("zne", "rem")
    assert res.probs.shape == (3, len(isa), 8)
    assert res.total_shots == run.shots * len(batch)
    np.testing.assert_allclose(res.probs.sum(axis=-1), 1.0)
    # Noiseless: the calibration is the identity and the folds agree with each other.
    cal = next(iter(res.calibrations.values()))
    np.testing.assert_allclose(cal.matrix, np.eye(8))


def test_dd_client_side_or_left_to_runtime(setup):
    backend, isa = setup
    cfg = MitigationConfig.parse("dd")
    run = Recorder()
    res = sample_mitigated(isa, run, cfg, shots=run.shots, target=backend.target)
    assert res.applied == ("dd",)
    assert all("delay" in c.count_ops() for c in run.calls[0])
    run = Recorder()
    res = sample_mitigated(isa, run, cfg, shots=run.shots, target=backend.target,
                           client_dd=False)
    assert res.applied == ()
    assert all("delay" not in c.count_ops() for c in run.calls[0])


def test_executor_contract_is_checked(setup):
    backend, isa = setup
    with pytest.raises(ValueError, match="count_executor must return counts shaped"):
        sample_mitigated(isa, lambda batch: np.zeros((1, 8)), None, shots=1)
    with pytest.raises(ValueError, match="must not be empty"):
        sample_mitigated([], lambda batch: None, None, shots=1)


def test_execute_with_zne_generic_executor(setup):
    """Mitiq-style helper with a toy executor whose value decays with the 2q count."""
    backend, isa = setup
    calls = []

    def executor(batch):
        calls.append(len(batch))
        values = np.array([0.97 ** two_qubit_count(c) for c in batch])
        return values, np.full(len(batch), 1e-3)

    res = execute_with_zne(isa, executor, scale_factors=[1, 3, 5], target=backend.target,
                           extrapolation="exponential", asymptote=0.0, engine="native")
    assert calls == [3 * len(isa)]
    np.testing.assert_allclose(res.value, 1.0, atol=1e-9)
    assert res.raw_values.shape == (3, len(isa))
    assert np.all(res.std_error > 0)
    with pytest.raises(ValueError, match="one value"):
        execute_with_zne(isa, lambda batch: [0.0], target=backend.target)
