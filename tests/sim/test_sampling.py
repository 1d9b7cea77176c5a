import numpy as np
import pytest

from qiskit_qattn.sim import sample_counts


def test_counts_follow_the_distribution_and_the_seed(rng):
    p = rng.dirichlet(np.ones(8), size=3)
    counts = sample_counts(p, 200_000, seed=5)
    assert counts.shape == (3, 8) and counts.sum(axis=1).tolist() == [200_000] * 3
    sigma = np.sqrt(p * (1 - p) / 200_000) + 1e-12
    assert np.all(np.abs(counts / 200_000 - p) < 5 * sigma)
    np.testing.assert_array_equal(counts, sample_counts(p, 200_000, seed=5))
    assert not np.array_equal(counts, sample_counts(p, 200_000, seed=6))


def test_rounding_residues_are_clipped_and_bad_input_named():
    assert sample_counts([[-1e-17, 1.0]], 10, seed=0).tolist() == [[0, 10]]
    with pytest.raises(ValueError, match="shots"):
        sample_counts([[0.5, 0.5]], 0)
    with pytest.raises(ValueError, match="positive, finite total"):
        sample_counts([[0.0, 0.0]], 10)
