"""estimate_attention(..., mitigation=...): analytic noise, device noise, bad input."""

import numpy as np
import pytest
from qiskit.providers.fake_provider import GenericBackendV2

from qiskit_qattn.attention import estimate_attention
from qiskit_qattn.noise import depolarizing_noise


@pytest.fixture(scope="module")
def two_qubit_backend():
    return GenericBackendV2(2, basis_gates=["cz", "id", "rz", "sx", "x"],
                            coupling_map=[[0, 1], [1, 0]], seed=1)


@pytest.fixture(scope="module")
def small_head():
    rng = np.random.default_rng(21)
    return rng.normal(size=(3, 6)), rng.normal(size=(4, 6)) * 1.5, rng.normal(size=(4, 3))


def _ideal(q, k, v):
    return estimate_attention(q, k, v).values


def test_zne_recovers_ideal_under_global_depolarizing(two_qubit_backend, small_head):
    """On a 2-qubit register a two-qubit depolarizing channel after each CZ is global
    depolarizing: outputs decay as f**lambda toward mean(V), which ZNE must undo exactly
    (exponential fit with that asymptote), up to shot noise."""
    q, k, v = small_head
    noise = depolarizing_noise(p1=0.0, p2=0.1)
    common = dict(execution="shots", device=two_qubit_backend, noise_model=noise,
                  shots=100_000, seed=3)
    plain = estimate_attention(q, k, v, **common)
    ideal = _ideal(q, k, v)
    assert plain.relative_error(ideal) > 0.05  # the noise is real
    est = estimate_attention(
        q, k, v, **common, mitigation="zne",
        mitigation_options={"scale_factors": (1, 3, 5), "extrapolation": "exponential",
                            "asymptote": "uniform"},
    )
    z = (est.values - ideal) / est.std_errors
    assert np.all(np.abs(z) < 4.5), z
    assert est.relative_error(ideal) < plain.relative_error(ideal) / 5
    rep = est.mitigation
    assert rep.client_side == ("zne",)
    assert rep.scale_factors.shape == (3, 3)
    np.testing.assert_allclose(rep.scale_factors, [[1] * 3, [3] * 3, [5] * 3])
    assert rep.total_shots == 9 * 100_000
    # The raw outputs decay monotonically toward mean(V) as the noise is scaled.
    gap = np.abs(rep.raw_values - v.mean(axis=0))
    assert np.all(gap[0] > gap[1]) and np.all(gap[1] > gap[2])


def test_zne_composes_with_readout_mitigation(two_qubit_backend, small_head):
    q, k, v = small_head
    noise = depolarizing_noise(p1=0.0, p2=0.04, readout=(0.03, 0.06))
    common = dict(execution="shots", device=two_qubit_backend, noise_model=noise,
                  shots=100_000, seed=5)
    ideal = _ideal(q, k, v)
    zne_only = estimate_attention(q, k, v, **common, mitigation="zne", mitigation_options={
        "extrapolation": "exponential", "asymptote": "uniform"})
    both = estimate_attention(q, k, v, **common, mitigation="zne+rem", mitigation_options={
        "extrapolation": "exponential", "asymptote": "uniform"})
    z = (both.values - ideal) / both.std_errors
    assert np.all(np.abs(z) < 4.5), z
    assert both.relative_error(ideal) < zne_only.relative_error(ideal)
    assert both.mitigation.client_side == ("zne", "rem")
    fidelity = next(iter(both.mitigation.readout_fidelity.values()))
    assert fidelity == pytest.approx(1 - (0.03 + 0.06) / 2 * 2 + 0.03 * 0.06, abs=0.01)


def test_device_noise_zne_rem_beats_unmitigated(head):
    q, k, v = head
    q, k, v = q[:3], k[:8], v[:8]
    ideal = _ideal(q, k, v)
    est = estimate_attention(q, k, v, execution="shots", device="fake_torino", shots=50_000,
                             seed=2, mitigation="zne+rem")
    rep = est.mitigation
    plain_error = np.linalg.norm(rep.unmitigated_values - ideal) / np.linalg.norm(ideal)
    assert est.relative_error(ideal) < plain_error / 2
    assert est.metadata["mitigation"] == "zne+rem"
    assert rep.extrapolation.startswith("richardson")
    assert est.weights.shape == (3, 8)
    np.testing.assert_allclose(est.weights.sum(axis=1), 1.0)


def test_readout_only_and_dd_run_on_device_noise(head):
    q, k, v = head
    q, k, v = q[:2], k[:8], v[:8]
    rem = estimate_attention(q, k, v, execution="shots", device="fake_torino", shots=4000,
                             seed=1, mitigation="rem", mitigation_options={
                                 "readout_method": "full"})
    assert rem.mitigation.num_circuits == 2 + 8  # queries + 2**3 full calibration circuits
    dd = estimate_attention(q, k, v, execution="shots", device="fake_torino", shots=4000,
                            seed=1, mitigation="dd")
    assert dd.mitigation.client_side == ("dd",)
    assert np.all(np.isfinite(dd.values))


def test_unmitigated_noisy_shots_are_unbiased_for_the_full_device_model(head):
    """Sorted keys, reduced noise model, sampling, decoding: checked against Aer's full model."""
    from qiskit_aer.noise import NoiseModel
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    from qiskit_qattn.noise import noisy_distributions

    q, k, v = head
    q, k, v = q[:2], k[:8], v[:8]
    est = estimate_attention(q, k, v, family="warm_start", execution="shots",
                             device="fake_manila", shots=200_000, seed=4)
    assert est.mitigation is None
    full = noisy_distributions(est.compiled, noise_model=NoiseModel.from_backend(FakeManilaV2()))
    expected = np.zeros((2, v.shape[1]))
    for i, qc in enumerate(est.circuits):
        order = np.asarray(qc.metadata["key_order"])  # basis state x holds key order[x]
        p_keys = np.zeros(8)
        p_keys[order] = full[i]
        expected[i] = p_keys @ v / p_keys.sum()
    z = (est.values - expected) / est.std_errors
    assert np.all(np.abs(z) < 4.5), z


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"execution": "shots", "device": "fake_torino", "mitigation": "zne+magic"},
         "unknown mitigation technique 'magic'"),
        ({"execution": "shots", "device": "fake_torino", "mitigation": 3}, "mitigation must be"),
        ({"execution": "shots", "device": "fake_torino", "mitigation": "zne",
          "mitigation_options": {"scale_factors": (0.5, 1)}}, r"scale factors must be .* >= 1"),
        ({"execution": "shots", "device": "fake_torino", "mitigation": "zne",
          "mitigation_options": {"scale_factors": (1,)}}, "at least two"),
        ({"execution": "shots", "device": "fake_torino", "mitigation": "zne",
          "mitigation_options": {"fold": "global"}}, "unknown mitigation option"),
        ({"execution": "shots", "device": "fake_torino", "mitigation": "zne",
          "mitigation_options": {"extrapolation": "magic"}}, "extrapolation must be one of"),
        ({"mitigation": "zne"}, "execution='statevector'"),
        ({"execution": "shots", "mitigation": "rem"}, "needs a noisy compiled execution"),
        ({"execution": "shots", "device": "fake_torino", "mitigation": "twirling"},
         "execution='runtime'"),
        ({"execution": "shots", "device": "fake_torino", "runtime_options": {}},
         "runtime_options only apply"),
        ({"mitigation_options": {"scale_factors": (1, 3)}}, "mitigation is None"),
    ],
)
def test_bad_mitigation_input(head, kwargs, match):
    q, k, v = head
    with pytest.raises((ValueError, TypeError), match=match):
        estimate_attention(q[:1], k, v, **kwargs)


@pytest.mark.slow
def test_runtime_local_mode_splits_client_and_server_side(head):
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    q, k, v = head
    q, k, v = q[:2], k[:4], v[:4]
    est = estimate_attention(q, k, v, execution="runtime", mode=FakeManilaV2(), shots=2000,
                             seed=5, mitigation="rem+dd")
    rep = est.mitigation
    assert rep.client_side == ("rem",)  # calibration circuits went into the same job
    assert rep.server_side == ("dd",)  # Runtime pads DD; we did not pad as well
    assert rep.runtime_options["dynamical_decoupling"]["enable"] is True
    assert rep.num_circuits == 2 + 2
    assert est.relative_error(_ideal(q, k, v)) < 0.25


@pytest.mark.slow
def test_runtime_local_mode_runs_the_folds_unoptimised(head):
    """Folded circuits submitted to Runtime are executed as folded: more noise at scale 5."""
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    q, k, v = head
    q, k, v = q[:2], k[:4], v[:4]
    ideal = _ideal(q, k, v)
    est = estimate_attention(q, k, v, execution="runtime", mode=FakeManilaV2(), shots=20_000,
                             seed=5, mitigation="zne", mitigation_options={"scale_factors": (1, 5)})
    raw = est.mitigation.raw_values
    errors = [np.linalg.norm(raw[s] - ideal) / np.linalg.norm(ideal) for s in range(2)]
    assert errors[1] > errors[0] + 0.005
    assert est.mitigation.client_side == ("zne",)
