"""Smoke test of benchmarks/mitigation.py on a tiny size, so the script cannot rot."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "mitigation.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("mitigation_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.mark.slow
def test_benchmark_core_on_a_tiny_size(bench):
    records = bench.run_case("fake_manila", "softmax_state", 2, shots=2000, num_queries=1)
    assert [r["config"] for r in records] == [c for c, _ in bench.CONFIGS]
    by = {r["config"]: r for r in records}
    assert by["unmitigated"]["shot_ratio"] == 1.0
    # Same total budget as ZNE+REM: 3 folds + 2 calibration circuits for one query.
    assert by["unmitigated, same total shots"]["total_shots"] == by["ZNE+REM"]["total_shots"]
    assert by["ZNE+REM"]["shot_ratio"] == pytest.approx(5.0)
    assert all(np.isfinite(r["error"]) and r["std"] > 0 for r in records)
    speed = bench.speed_case("fake_manila", shots=200, num_queries=1, local_repeats=1,
                             runtime_repeats=1)
    assert speed["runtime"] > 0 and speed["exact_cold"] > 0 and speed["aer_warm"] > 0
    dd = bench.dd_case("fake_manila", "softmax_state", 2, num_queries=1)
    assert all(0 < dd[key] < 1 for key in ("unscheduled", "scheduled", "dd_xx", "dd_xy4"))
    body = bench.results_body(records, [speed], "python benchmarks/mitigation.py --quick", [dd])
    assert "Goal check" in body and "| fake_manila | softmax_state | 2 |" in body
    assert "DD XY4" in body
