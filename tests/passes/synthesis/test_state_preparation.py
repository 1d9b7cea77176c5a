from __future__ import annotations

import numpy as np
import pytest
from qiskit.circuit.library import StatePreparation
from qiskit.quantum_info import Statevector
from qiskit.transpiler import generate_preset_pass_manager
from qiskit.transpiler.passes.synthesis.high_level_synthesis import HLSConfig

from qiskit_qattn.circuits import softmax_state
from qiskit_qattn.passes.synthesis.state_preparation import (
    PathStatePreparationSynthesis,
    path_state_preparation,
)
from qiskit_qattn.passes.verify import state_fidelity_on_device


def _fidelity(qc, amplitudes) -> float:
    target = np.asarray(amplitudes, dtype=float)
    target = target / np.linalg.norm(target)
    return float(abs(np.vdot(target, Statevector(qc).data)) ** 2)


def _path_only(qc) -> bool:
    for inst in qc.data:
        if inst.operation.num_qubits == 2:
            a, b = (qc.find_bit(q).index for q in inst.qubits)
            if abs(a - b) != 1:
                return False
    return True


def _softmax_row(m: int, scale: float, seed: int) -> np.ndarray:
    s = np.random.default_rng(seed).normal(size=2**m) * scale
    p = np.exp(s - s.max())
    return np.sqrt(p / p.sum())


@pytest.mark.parametrize("m", range(1, 8))
def test_random_real_vectors_exact(m):
    rng = np.random.default_rng(100 + m)
    for amplitudes in (
        rng.normal(size=2**m),
        np.where(rng.random(2**m) < 0.4, 0.0, rng.normal(size=2**m)) + (np.arange(2**m) == 0),
        _softmax_row(m, 3.0, m),
    ):
        qc = path_state_preparation(amplitudes)
        assert qc.num_qubits == m
        assert _fidelity(qc, amplitudes) == pytest.approx(1.0, abs=1e-9)
        assert _path_only(qc)
        assert qc.metadata["qattn_error_bound"] == 0.0


def test_zeros_save_cnots():
    amplitudes = np.zeros(32)
    amplitudes[:16] = np.random.default_rng(3).random(16) + 0.1
    qc = path_state_preparation(amplitudes)
    dense = path_state_preparation(np.random.default_rng(4).random(32) + 0.1)
    assert _fidelity(qc, amplitudes) == pytest.approx(1.0, abs=1e-9)
    assert qc.count_ops().get("cx", 0) < dense.count_ops().get("cx", 0)


def test_approximate_mode_respects_bound_and_saves_cnots():
    amplitudes = _softmax_row(6, 4.0, 7)
    exact = path_state_preparation(amplitudes)
    approx = path_state_preparation(amplitudes, error_budget=0.1)
    eps = approx.metadata["qattn_error_bound"]
    assert 0.0 < eps <= 0.1 + 1e-12
    assert _path_only(approx)
    fidelity = _fidelity(approx, amplitudes)
    assert fidelity >= approx.metadata["qattn_fidelity_bound"] - 1e-12
    assert fidelity >= (1 - eps**2 / 2) ** 2 - 1e-12
    assert approx.count_ops()["cx"] < exact.count_ops()["cx"]


@pytest.mark.parametrize(
    "bad, word",
    [
        ([np.nan, 1.0], "NaN"),
        ([0.0, 0.0], "zero"),
        ([1.0, 2.0, 3.0], "power of two"),
        ([], "non-empty"),
    ],
)
def test_bad_input(bad, word):
    with pytest.raises(ValueError, match="amplitudes") as info:
        path_state_preparation(bad)
    assert word in str(info.value)


def test_bad_budget():
    with pytest.raises(ValueError, match="error_budget"):
        path_state_preparation([1.0, 1.0], error_budget=-1.0)


def test_plugin_falls_back():
    plugin = PathStatePreparationSynthesis()
    assert plugin.run(StatePreparation([1, 1j], normalize=True)) is None
    assert plugin.run(StatePreparation("01+")) is None
    assert plugin.run(StatePreparation(3, num_qubits=2)) is None
    out = plugin.run(StatePreparation([0.6, 0.0, 0.0, -0.8]))
    assert _fidelity(out, [0.6, 0.0, 0.0, -0.8]) == pytest.approx(1.0, abs=1e-9)


def test_plugin_error_budget_option():
    amplitudes = _softmax_row(5, 4.0, 2)
    out = PathStatePreparationSynthesis().run(StatePreparation(amplitudes), error_budget=0.05)
    assert out.metadata["qattn_error_bound"] <= 0.05 + 1e-12


@pytest.mark.parametrize("m", [3, 5])
def test_plugin_in_preset_pass_manager(torino, m):
    source = softmax_state(np.random.default_rng(m).normal(size=2**m))
    config = HLSConfig(state_preparation=[PathStatePreparationSynthesis()])
    pm = generate_preset_pass_manager(
        optimization_level=3, backend=torino, hls_config=config, seed_transpiler=0
    )
    compiled = pm.run(source)
    assert state_fidelity_on_device(source, compiled) == pytest.approx(1.0, abs=1e-8)
    assert "swap" not in compiled.count_ops()


def test_too_large_is_rejected_and_plugin_falls_back():
    with pytest.raises(ValueError, match="amplitudes"):
        path_state_preparation(np.ones(2**9))
    big = StatePreparation(np.ones(2**9), normalize=True)
    assert PathStatePreparationSynthesis().run(big) is None
