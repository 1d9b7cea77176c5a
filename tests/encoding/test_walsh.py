import numpy as np
import pytest
from scipy.linalg import hadamard

from qiskit_qattn.encoding import diagonal_from_walsh, fwht, walsh_coefficients, walsh_order


@pytest.mark.parametrize("m", [1, 2, 3, 5, 8])
def test_fwht_matches_dense_hadamard(rng, m):
    n = 2**m
    x = rng.normal(size=(3, n))
    dense = x @ hadamard(n).T  # Sylvester order == (-1)^popcount(z & S)
    np.testing.assert_allclose(fwht(x), dense, atol=1e-12)


def test_fwht_round_trip_and_input_untouched(rng):
    x = rng.normal(size=64) + 1j * rng.normal(size=64)
    keep = x.copy()
    np.testing.assert_allclose(fwht(fwht(x)) / 64, x, atol=1e-12)
    np.testing.assert_array_equal(x, keep)


def test_walsh_coefficients_reconstruct_diagonal(rng):
    d = rng.normal(size=32)
    c = walsh_coefficients(d)
    np.testing.assert_allclose(diagonal_from_walsh(c), d, atol=1e-12)
    z = np.arange(32)
    explicit = np.array([
        sum(c[s] * (-1) ** bin(zz & s).count("1") for s in range(32)) for zz in z
    ])
    np.testing.assert_allclose(explicit, d, atol=1e-12)


def test_walsh_order():
    assert walsh_order(3).tolist() == [0, 1, 1, 2, 1, 2, 2, 3]


@pytest.mark.parametrize("n", [0, 3, 6])
def test_fwht_rejects_non_power_of_two(n):
    with pytest.raises(ValueError, match="power-of-two"):
        fwht(np.ones(n))
