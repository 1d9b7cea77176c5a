"""mitigation="auto": the documented decision rule, its options, bad input, the CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.providers.fake_provider import GenericBackendV2
from qiskit_ibm_runtime.fake_provider import FakeTorino

from qiskit_qattn.circuits import prepare_head
from qiskit_qattn.execution import compiled_batch
from qiskit_qattn.mitigation import (
    MitigationConfig,
    predicted_decay_rate,
    resolve_auto,
    second_scale_factor,
)


@pytest.fixture(scope="module")
def torino_batch():
    rng = np.random.default_rng(5)
    q, k, v = rng.normal(size=(2, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
    backend = FakeTorino()
    return backend, compiled_batch(prepare_head(q, k, v, family="qaoa"), backend)


def test_auto_on_device_noise_is_vncdr_with_readout_mitigation(torino_batch):
    backend, batch = torino_batch
    circuits = list(batch.circuits)
    rate = predicted_decay_rate(circuits, backend.target)
    assert 0.005 < rate < 0.5
    for shots in (100_000, 1_000_000):
        cfg, why = resolve_auto(MitigationConfig.parse("auto"), circuits, backend, shots)
        assert cfg.techniques == ("vncdr", "rem")
        assert cfg.scale_factors == (1.0, float(second_scale_factor(rate, shots)))
        assert cfg.budget == 5.0 and cfg.non_clifford == 2
        assert "variable-noise CDR" in why and f"{shots} shots" in why
    far = resolve_auto(MitigationConfig.parse("auto"), circuits, backend, 100_000)[0]
    near = resolve_auto(MitigationConfig.parse("auto"), circuits, backend, 10**7)[0]
    assert near.scale_factors[1] < far.scale_factors[1]  # more shots: less extrapolation
    kept = resolve_auto(MitigationConfig.parse("auto", {"budget": 3, "seed": 4}), circuits,
                        backend, 100_000)[0]
    assert kept.budget == 3 and kept.seed == 4


def test_auto_without_gate_errors_is_readout_only():
    noiseless = GenericBackendV2(2, basis_gates=["cz", "rz", "sx", "x"], noise_info=False,
                                 seed=1)
    qc = QuantumCircuit(2, 2)
    qc.sx(0)
    qc.cz(0, 1)
    qc.measure([0, 1], [0, 1])
    cfg, why = resolve_auto(MitigationConfig.parse("auto"), [qc], noiseless, 1000)
    assert cfg.techniques == ("rem",) and "no gate errors" in why


def test_auto_for_the_estimator_is_runtime_zne_and_trex():
    cfg, why = resolve_auto(MitigationConfig.parse("auto"), None, FakeTorino(), 0,
                            primitive="estimator")
    assert cfg.techniques == ("zne", "rem") and "Runtime" in why


def test_auto_falls_back_to_zne_when_clifford_training_is_uninformative():
    """Wider than a statevector and QAOA-like (Hadamards, then phases): Clifford copies all
    output uniform distributions, so the rule picks ZNE with optimal shots."""
    backend = FakeTorino()
    qc = QuantumCircuit(133, 3)
    for q in range(24):
        qc.sx(q)
        qc.rz(0.3 + 0.01 * q, q)
    for q in range(23):
        qc.cz(q, q + 1)
    qc.measure([0, 1, 2], [0, 1, 2])
    cfg, why = resolve_auto(MitigationConfig.parse("auto"), [qc], backend, 100_000)
    assert cfg.techniques == ("zne", "rem") and cfg.shot_allocation == "optimal"
    assert cfg.extrapolation == "auto" and "uninformative" in why


@pytest.mark.parametrize(
    ("mitigation", "options", "match"),
    [
        ("auto+rem", None, "combines with nothing"),
        ("auto", {"scale_factors": (1, 3)}, "decides scale_factors itself"),
        ("auto", {"extrapolation": "linear"}, "decides extrapolation itself"),
        ("zne+vncdr", None, "both remove gate noise"),
        ("cdr+rem", {"scale_factors": (1, 3)}, "takes no scale_factors"),
        ("vncdr", {"budget": -2}, "budget must be a positive number"),
        ("vncdr", {"budget": "lots"}, "budget must be a positive number"),
        ("vncdr", {"training_fraction": 0.7}, r"training_fraction must be a number in \(0, 0.5\)"),
        ("vncdr", {"non_clifford": -1}, "non_clifford must be a count"),
        ("vncdr", {"training_circuits": 1}, "training_circuits must be an integer >= 2"),
        ("vncdr", {"shot_granularity": 0}, "shot_granularity must be an integer >= 1"),
        ("zne", {"shot_allocation": "greedy"}, "shot_allocation must be one of"),
        ("vncdr", {"shot_allocation": "optimal"}, "applies to ZNE"),
        ("zne", {"extrapolation": "auto", "engine": "mitiq"}, "drop engine='mitiq'"),
    ],
)
def test_bad_options_fail_clearly(mitigation, options, match):
    with pytest.raises(ValueError, match=match):
        MitigationConfig.parse(mitigation, options)


SCRIPT = Path(sys.executable).with_name("qattn")


@pytest.mark.slow
@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed")
def test_cli_run_mitigation_auto_is_one_resumable_job(tmp_path):
    args = [str(SCRIPT), "run", "--random", "--device", "fake_manila", "--keys", "4",
            "--queries", "1", "--shots", "2000", "--mitigation", "auto", "--store",
            str(tmp_path), "--json"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    runs = [subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
            for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr[-2000:]
    first, second = (json.loads(r.stdout) for r in runs)
    report = first["mitigation_report"]
    assert report["techniques"] == ["vncdr", "rem"]
    assert report["total_shots"] <= 5 * 2000
    assert report["num_circuits"] == first["metadata"]["cost_preview"]["circuits"]
    assert len(first["metadata"]["job_ids"]) == 1
    assert second["metadata"]["job_ids"] == first["metadata"]["job_ids"]  # from the store
    np.testing.assert_array_equal(second["values"], first["values"])
