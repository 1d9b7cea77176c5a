"""Every family through every execution on a real MiniLM head: one spine, one key order.

Each execution is compared with its own exact expectation: the family's ideal output for
statevector and ideal shots (and exact attention for exact encodings), the exact noisy output of
the very circuits that ran for device noise and Runtime local mode (FakeManilaV2), and the ideal
output again for ZNE+REM. A decoding bug (key order, layout, padding) shows up as tens of
standard errors; shot noise stays within 4.5.
"""

import tempfile

import numpy as np
import pytest

from qiskit_qattn.attention import estimate_attention, exact_attention, outputs_from_counts
from qiskit_qattn.circuits import FAMILY_NAMES, get_family
from qiskit_qattn.execution import LocalSampler, RuntimeExecutor

pytestmark = pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")

Z_MAX = 4.5


@pytest.fixture(scope="module")
def minilm_head():
    from qiskit_qattn.demo import DemoConfig, load_demo_head

    q, k, v, _tokens, scale = load_demo_head(DemoConfig(layer=3, head=5, num_keys=8,
                                                        num_queries=2, value_columns=2))
    return q, k, v, scale


def _exact_noisy_output(est):
    """The output the executed circuits give under the device noise, without shot noise."""
    dist = LocalSampler("fake_manila").distributions(est.batch)
    out, _, _ = outputs_from_counts(est.head.decode(dist), est.head.values, est.head.keep,
                                    exact=True)
    return out


def _z(est, reference):
    return float(np.abs((est.values - reference) / est.std_errors).max())


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_family_agrees_across_every_execution(minilm_head, family):
    q, k, v, scale = minilm_head
    common = {"family": family, "scale": scale}
    ideal = estimate_attention(q, k, v, **common).values
    if get_family(family).exact:
        np.testing.assert_allclose(ideal, exact_attention(q, k, v, scale=scale), atol=1e-9)

    shots = estimate_attention(q, k, v, execution="shots", shots=20_000, seed=1, **common)
    assert _z(shots, ideal) < Z_MAX

    noisy = estimate_attention(q, k, v, execution="shots", device="fake_manila", shots=200_000,
                               seed=1, **common)
    noisy_ref = _exact_noisy_output(noisy)
    assert _z(noisy, noisy_ref) < Z_MAX
    bias = np.abs(noisy_ref - ideal).max()
    assert bias > 10 * noisy.std_errors.max()  # the device noise is really there

    runtime = estimate_attention(
        q, k, v, shots=20_000, **common,
        execution=RuntimeExecutor("fake_manila", store=tempfile.mkdtemp(), seed=2))
    assert runtime.metadata["jobs"] == 1
    assert _z(runtime, _exact_noisy_output(runtime)) < Z_MAX

    mitigated = estimate_attention(q, k, v, execution="shots", device="fake_manila",
                                   shots=200_000, seed=1, mitigation="zne+rem", **common)
    assert _z(mitigated, ideal) < Z_MAX
    assert np.abs(mitigated.values - ideal).max() < 0.5 * bias
