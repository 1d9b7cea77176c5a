import math

import numpy as np
import pytest

from qiskit_qattn.resources import classical_cost, noise_sweep
from qiskit_qattn.resources.nisq import DeviceMedians, NoisePoint, NoiseSweep


def _point(factor, floor, mitigation="none"):
    return NoisePoint(factor=factor, mitigation=mitigation, relative_error=floor, floor=floor,
                      variance_per_shot=1.0, shots=math.inf, total_shots_per_query=math.inf,
                      qpu_seconds_per_query=math.inf, probe_shots=1, two_qubit_gates=0.0,
                      duration=0.0, wall_time=0.0)


def _sweep(floors, factors=(0.0, 1.0, 2.0, 3.0)):
    medians = DeviceMedians(two_qubit_error=0.004, one_qubit_error=3e-4, readout_error=0.02,
                            t1=2e-4, t2=1.5e-4)
    return NoiseSweep("softmax_state", 8, 2, "fake_torino", 0.1,
                      [_point(f, e) for f, e in zip(factors, floors, strict=True)], medians)


def test_tolerable_factor_interpolates_the_floor_crossing():
    sw = _sweep([0.0, 0.04, 0.08, 0.12])
    assert sw.tolerable_factor() == pytest.approx(2.5)
    lim = sw.hardware_limits()
    assert lim["max_two_qubit_error"] == pytest.approx(0.01)
    assert lim["min_t1"] == pytest.approx(2e-4 / 2.5) and not lim["lower_bound"]
    assert _sweep([0.0, 0.01, 0.02, 0.03]).tolerable_factor() == math.inf
    assert _sweep([0.0, 0.01, 0.02, 0.03]).hardware_limits()["lower_bound"] is True
    assert _sweep([0.2, 0.3, 0.4, 0.5]).tolerable_factor() is None
    with pytest.raises(ValueError, match="mitigation"):
        _sweep([0.0, 0.0, 0.0, 0.0]).curve("zne")


@pytest.mark.slow
def test_noise_sweep_on_a_real_device(small_head, torino):
    Q, K, V = small_head
    V = V + 1.0  # outputs well away from zero, so relative errors are about the noise
    sw = noise_sweep(Q[:1], K, V, "softmax_state", device=torino, factors=(0.0, 0.5, 2.0),
                     mitigations=("none", "zne+rem"), probe_shots=2_000_000, seed=3)
    plain, mitigated = sw.curve("none"), sw.curve("zne+rem")
    # 0x: the ideal output; the only error left is sampling noise of the probe
    assert plain[0].floor < 2e-3 and plain[0].relative_error < 2e-3
    floors = [p.floor for p in plain]
    assert floors == sorted(floors) and floors[-1] > 5 * max(floors[0], 1e-3)
    # ZNE+REM removes most of the bias at 2x noise, at a higher per-shot variance
    assert mitigated[-1].floor < 0.5 * plain[-1].floor
    assert mitigated[-1].variance_per_shot > plain[-1].variance_per_shot
    assert mitigated[-1].total_shots_per_query > mitigated[-1].shots   # folds + calibration
    assert all(p.qpu_seconds_per_query > 0 for p in plain if math.isfinite(p.shots))
    assert sw.medians.two_qubit_error > 0 and sw.device == "fake_torino"
    assert any("scaled" in a for a in sw.assumptions)


def test_classical_cost_reaches_the_target():
    rng = np.random.default_rng(3)
    Q, K, V = rng.normal(size=(4, 8)), rng.normal(size=(64, 8)), rng.normal(size=(64, 3)) + 1
    cost = classical_cost(Q, K, V, target_error=0.1, seeds=[0, 1])
    assert cost.reached and cost.relative_error <= 0.1
    assert 0 < cost.keys_scored_per_query <= 64 + 16
    assert cost.exact_wall_time > 0 and cost.wall_time > 0 and cost.num_keys == 64


def test_bad_sweep_input(small_head):
    Q, K, V = small_head
    with pytest.raises(ValueError, match="factor"):
        noise_sweep(Q, K, V, "softmax_state", factors=(-1.0,))
    with pytest.raises(ValueError, match="family"):
        noise_sweep(Q, K, V, "nope")
    with pytest.raises(ValueError, match="target_error"):
        noise_sweep(Q, K, V, "softmax_state", target_error=0)
