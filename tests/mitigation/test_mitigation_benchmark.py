"""Smoke test of benchmarks/mitigation.py on a tiny size, so the script cannot rot."""


import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("mitigation")


def test_held_out_heads_are_not_design_heads(bench):
    assert not set(bench.HELD_OUT) & set(bench.DESIGN)


@pytest.mark.slow
def test_benchmark_core_on_a_tiny_size(bench):
    records = bench.run_case("fake_manila", "softmax_state", 2, shots=4000, num_queries=1,
                             head=bench.HELD_OUT[0], repeats=1)
    assert [r["config"] for r in records] == list(bench.LABELS)
    by = {r["config"]: r for r in records}
    assert by["unmitigated"]["shot_ratio"] == 1.0
    assert by["unmitigated, 5x shots"]["shot_ratio"] == pytest.approx(5.0)
    # Classic ZNE+REM: 3 folds + 2 tensored calibration circuits for one query.
    assert by["ZNE+REM (Mitiq)"]["shot_ratio"] == pytest.approx(5.0)
    assert by["Runtime resilience-2 style"]["shot_ratio"] == pytest.approx(5.0)
    for label in ("auto", "CDR+REM", "ZNE+REM, optimal shots"):
        assert by[label]["shot_ratio"] <= 5.0 + 1e-9
    assert len(by["auto"]["scale_factors"]) == 2
    assert all(np.isfinite(r["error"]) and r["std"] > 0 for r in records)
    rows = bench.goal_rows(records)
    assert rows[0][1] == "auto" and rows[0][-1].endswith(("met", "missed"))
    assert [row[1] for row in rows] == list(bench.GOAL_LABELS)
    assert all(len(row) == len(bench.GOAL_HEADER) for row in rows)
    assert rows[0][6] in ("0/1 >= 5x", "1/1 >= 5x") and rows[0][7] in ("0/1", "1/1")
    speed = bench.speed_case("fake_manila", shots=200, num_queries=1, local_repeats=1,
                             runtime_repeats=1)
    assert speed["runtime"] > 0 and speed["exact_cold"] > 0 and speed["aer_warm"] > 0
    dd = bench.dd_case("fake_manila", "softmax_state", 2, num_queries=1)
    assert all(0 < dd[key] < 1 for key in ("unscheduled", "scheduled", "dd_xx", "dd_xy4"))
    body = bench.results_body(records, [speed], "python benchmarks/mitigation.py --quick", [dd],
                              repeats=1)
    assert "Goal check" in body and "| fake_manila | softmax_state | 2 |" in body
    assert "DD XY4" in body and "L3H6@24000" in body
