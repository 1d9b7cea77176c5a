import numpy as np
import pytest
from qiskit_ibm_runtime.fake_provider import FakeTorino

from qiskit_qattn.circuits import prepare_head
from qiskit_qattn.execution import CircuitBatch, Executor, Outcomes, compiled_batch
from qiskit_qattn.mitigation import MitigatedExecutor, MitigationConfig, execute_with_zne
from qiskit_qattn.noise import noisy_distributions
from qiskit_qattn.sim import sample_counts
from qiskit_qattn.viz.report import two_qubit_count


@pytest.fixture(scope="module")
def setup():
    backend = FakeTorino()
    rng = np.random.default_rng(2)
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
    head = prepare_head(q, k, v)
    return backend, compiled_batch(head, backend)


class Recorder(Executor):
    """A sampling executor that records every call and samples noiselessly."""

    name = "shots"

    def __init__(self, device, server_side=()):
        super().__init__()
        self._device = device
        self._server = server_side
        self.calls = []
        self.options = {}

    @property
    def device(self):
        return self._device

    @property
    def server_side(self):
        return self._server

    def with_options(self, options):
        self.options = options
        return self

    def _run(self, batches, shots):
        self.calls.append([qc for b in batches for qc in b.circuits])
        return [Outcomes.from_counts(sample_counts(noisy_distributions(b.circuits,
                                                                        noise_model=None),
                                                   shots, 0), shots) for b in batches]


def test_one_execution_holds_every_fold_and_the_calibration(setup):
    backend, batch = setup
    run = Recorder(backend)
    cfg = MitigationConfig.parse("zne+rem", {"scale_factors": (1, 3, 5)})
    res = MitigatedExecutor(run, cfg).run(batch, 200)
    assert len(run.calls) == 1 and run.executions == 1
    executed = run.calls[0]
    isa = batch.circuits
    assert len(executed) == 3 * len(isa) + 2  # folds + tensored calibration
    # The executed circuits are the folded ISA circuits, not re-optimised ones.
    base = [two_qubit_count(c) for c in isa]
    for s, factor in enumerate((1, 3, 5)):
        got = [two_qubit_count(c) for c in executed[s * len(isa):(s + 1) * len(isa)]]
        assert got == [factor * b for b in base]
    assert res.client_side == ("zne", "rem")
    assert res.probabilities.shape == (3, len(isa), 8)
    assert res.total_shots == 200 * len(executed) and res.num_circuits == len(executed)
    np.testing.assert_allclose(res.probabilities.sum(axis=-1), 1.0)
    # Noiseless: the calibration is the identity.
    cal = next(iter(res.calibrations.values()))
    np.testing.assert_allclose(cal.matrix, np.eye(8))


def test_dd_client_side_or_left_to_runtime(setup):
    backend, batch = setup
    cfg = MitigationConfig.parse("dd")
    run = Recorder(backend)
    res = MitigatedExecutor(run, cfg).run(batch, 200)
    assert res.client_side == ("dd",)
    assert all("delay" in c.count_ops() for c in run.calls[0])
    run = Recorder(backend, server_side=("dd", "twirling"))
    res = MitigatedExecutor(run, cfg).run(batch, 200)
    assert res.client_side == () and res.server_side == ("dd",)
    assert run.options["dynamical_decoupling"]["enable"] is True
    assert all("delay" not in c.count_ops() for c in run.calls[0])


def test_bad_combinations_are_named(setup):
    backend, batch = setup
    with pytest.raises(ValueError, match="needs a noisy compiled execution"):
        MitigatedExecutor(Recorder(None), MitigationConfig.parse("rem"))
    with pytest.raises(ValueError, match="twirling is applied by Runtime"):
        MitigatedExecutor(Recorder(backend), MitigationConfig.parse("twirling"))
    logical = CircuitBatch(batch.circuits, 3, measured=False)
    with pytest.raises(ValueError, match="measured ISA circuits"):
        MitigatedExecutor(Recorder(backend), MitigationConfig.parse("rem")).run(logical, 10)


def test_execute_with_zne_generic_executor(setup):
    """Mitiq-style helper with a toy executor whose value decays with the 2q count."""
    backend, batch = setup
    isa = list(batch.circuits)
    calls = []

    def executor(batch):
        calls.append(len(batch))
        values = np.array([0.97 ** two_qubit_count(c) for c in batch])
        return values, np.full(len(batch), 1e-3)

    res = execute_with_zne(isa, executor, scale_factors=[1, 3, 5], target=backend.target,
                           extrapolation="exponential", asymptote=0.0, engine="native")
    assert calls == [3 * len(isa)]
    np.testing.assert_allclose(res.values, 1.0, atol=1e-9)
    assert res.raw_values.shape == (3, len(isa))
    assert np.all(res.std_errors > 0)
    with pytest.raises(ValueError, match="one value"):
        execute_with_zne(isa, lambda batch: [0.0], target=backend.target)
