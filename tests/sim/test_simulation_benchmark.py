"""Smoke test of benchmarks/simulation.py's core on tiny sizes (in process, no RESULTS.md)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "simulation.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_simulation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_qaoa_cases_agree_across_methods(bench):
    outs = {}
    for method in ("structured_c128", "structured_c64", "aer_sv", "qiskit_sv"):
        res = bench.run_case({"kind": "qaoa", "m": 5, "queries": 3, "method": method,
                              "repeats": 1})
        assert res["time_s"] > 0
        outs[method] = np.asarray(res["outputs"])
    assert outs["structured_c128"].shape == (3, bench.D_V)
    np.testing.assert_allclose(outs["aer_sv"], outs["structured_c128"], atol=1e-10)
    np.testing.assert_allclose(outs["qiskit_sv"], outs["structured_c128"], atol=1e-10)
    np.testing.assert_allclose(outs["structured_c64"], outs["structured_c128"], atol=1e-5)


def test_block_cases_agree_across_methods(bench):
    outs = {}
    for method in ("mps_native", "mps_quimb", "aer_mps", "quimb_direct"):
        res = bench.run_case({"kind": "block", "n": 8, "reps": 1, "entanglement": "pairwise",
                              "max_bond": None, "method": method, "repeats": 1})
        if "skipped" in res:  # only quimb_direct, when the optional qiskit-quimb is missing
            assert method == "quimb_direct" and "qiskit-quimb" in res["skipped"]
            continue
        outs[method] = np.asarray(res["outputs"])
    for method in set(outs) - {"aer_mps"}:
        np.testing.assert_allclose(outs[method], outs["aer_mps"], atol=1e-8)


def test_driver_tables_and_verdicts(bench):
    def fake_runner(case, cap):
        return bench.run_case({**case, "repeats": 1})

    plan = {"qaoa_m": [5], "batch_m": 4, "batch_q": 2, "real": False,
            "blocks": [(6, 1, "pairwise", None), (6, 2, "circular", 2)], "repeats": 1}
    original = bench.plan
    bench.plan = lambda quick: plan
    try:
        rows = bench.benchmark(quick=True, cap=60, runner=fake_runner)
    finally:
        bench.plan = original
    qaoa_table, block_table = bench.tables(rows)
    assert "m=5" in qaoa_table and "2 queries, m=4" in qaoa_table
    assert "bond <= 2" in block_table
    assert any("MPS at least as fast" in line for line in bench.verdicts(rows))
    assert "not run" in bench._skip_reason("qiskit_sv", 16, {}, 60)
    assert "predicted" in bench._skip_reason("aer_sv", 24, {"aer_sv": (22, 100.0)}, 240)
