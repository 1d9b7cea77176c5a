import math

import numpy as np
import pytest

from qiskit_qattn.resources import (
    CircuitNoise,
    fit_distance_scaling,
    memory_circuit,
    memory_experiment,
    required_distance,
    threshold_crossing,
)
from qiskit_qattn.resources.surface_code import DistanceFit, pauli_twirl_idle, per_round


def _rates(p, distances=(3, 5), shots=12_000):
    noise = CircuitNoise.uniform(p)
    return [memory_experiment(d, noise, shots=shots, seed=11 + d) for d in distances]


def test_below_threshold_a_larger_code_is_better():
    small, large = _rates(0.003)
    # 5 sigma below: per-round error falls with distance at 0.3% circuit-level noise
    assert large.per_round + 5 * large.per_round_std < small.per_round
    fit = fit_distance_scaling([small, large])
    assert fit.below_threshold and fit.suppression > 2
    assert fit.step_ratios[0] == pytest.approx(fit.suppression)


def test_above_threshold_a_larger_code_is_worse():
    small, large = _rates(0.02)
    assert large.per_round > small.per_round + 5 * small.per_round_std
    assert not fit_distance_scaling([small, large]).below_threshold


def test_noiseless_memory_never_fails():
    noise = CircuitNoise.uniform(0.0)
    assert memory_experiment(3, noise, shots=500).errors == 0


def test_noise_is_inserted_after_every_operation():
    noise = CircuitNoise(one_qubit=0.001, two_qubit=0.002, measurement=0.003, reset=0.004,
                         idle=(0.0005, 0.0006, 0.0007))
    flat = memory_circuit(3, noise, rounds=2).flattened()
    names = [inst.name for inst in flat]
    args = {(inst.name, tuple(inst.gate_args_copy())) for inst in flat}
    assert names.count("CX") == names.count("DEPOLARIZE2")
    assert names.count("H") == names.count("DEPOLARIZE1")
    assert ("DEPOLARIZE2", (0.002,)) in args and ("DEPOLARIZE1", (0.001,)) in args
    assert ("PAULI_CHANNEL_1", (0.0005, 0.0006, 0.0007)) in args
    measurements = names.count("M") + names.count("MR")
    assert sum(1 for a in args if a == ("X_ERROR", (0.003,))) == 1
    assert sum(1 for inst in flat if inst.name == "X_ERROR"
               and inst.gate_args_copy() == [0.003]) == measurements
    assert names.count("PAULI_CHANNEL_1") == 2   # one per round on the data qubits


def test_device_noise_from_target_uses_medians(torino):
    t = torino.target
    noise = CircuitNoise.from_target(t)
    cz = np.median([p.error for p in t["cz"].values() if p is not None and p.error is not None])
    ro = np.median([p.error for p in t["measure"].values() if p is not None])
    assert noise.two_qubit == pytest.approx(cz)
    assert noise.measurement == pytest.approx(ro) and noise.reset == noise.measurement
    assert noise.round_duration > 1e-6 and sum(noise.idle) > 0
    half = CircuitNoise.from_target(t, factor=0.5)
    assert half.two_qubit == pytest.approx(cz / 2)
    assert sum(half.idle) < sum(noise.idle)
    zero = CircuitNoise.from_target(t, factor=0.0)
    assert zero.two_qubit == 0 and sum(zero.idle) == 0


def test_pauli_twirl_and_per_round():
    px, py, pz = pauli_twirl_idle(2e-6, 1e-4, 5e-5)
    assert px == py == pytest.approx((1 - math.exp(-0.02)) / 4)
    assert pz == pytest.approx((1 - math.exp(-0.04)) / 2 - px)
    assert pauli_twirl_idle(1e-6, None, None) == (0.0, 0.0, 0.0)
    eps = 0.003
    after_five = (1 - (1 - 2 * eps) ** 5) / 2   # five independent rounds
    assert per_round(after_five, 5) == pytest.approx(eps)


def test_threshold_crossing_and_required_distance():
    p = [0.004, 0.008, 0.016]
    assert threshold_crossing(p, [1e-3, 5e-3, 2e-2], [2e-4, 4e-3, 4e-2]) == pytest.approx(
        math.exp(math.log(0.008) + math.log(5 / 4) / math.log(2.5) * math.log(2)), rel=1e-9)
    assert threshold_crossing(p, [1e-3, 2e-3, 3e-3], [1e-4, 2e-4, 3e-4]) is None
    fit = DistanceFit(prefactor=0.03, suppression=4.0, distances=[3, 5], per_round=[],
                      step_ratios=[])
    d = required_distance(1e-9, fit)
    assert d * fit.predict(d) <= 1e-9 < (d - 2) * fit.predict(d - 2)
    assert required_distance(1e-9, DistanceFit(0.03, 0.9, [3, 5], [], [])) is None


@pytest.mark.parametrize("bad", [2, 4, 1, -3])
def test_bad_distance(bad):
    with pytest.raises(ValueError, match="distance"):
        memory_circuit(bad, CircuitNoise.uniform(0.001))


def test_bad_noise():
    with pytest.raises(ValueError, match="two_qubit"):
        CircuitNoise(0.0, 1.5, 0.0, 0.0, (0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="p must"):
        CircuitNoise.uniform(-0.01)
    with pytest.raises(ValueError, match="shots"):
        memory_experiment(3, CircuitNoise.uniform(0.001), shots=0)
    with pytest.raises(ValueError, match="two distances"):
        fit_distance_scaling([memory_experiment(3, CircuitNoise.uniform(0.0), shots=10)])


@pytest.mark.slow
def test_threshold_is_near_one_percent_under_circuit_level_depolarizing_noise():
    ps = (0.006, 0.009, 0.012, 0.015)
    e3 = [memory_experiment(3, CircuitNoise.uniform(p), shots=8000, seed=1).per_round for p in ps]
    e5 = [memory_experiment(5, CircuitNoise.uniform(p), shots=8000, seed=2).per_round for p in ps]
    crossing = threshold_crossing(ps, e3, e5)
    assert crossing is not None and 0.008 < crossing < 0.015
