"""Smoke test of benchmarks/qaoa_softmax.py on a tiny size, so the script cannot rot."""


import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("qaoa_softmax")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")
def test_benchmark_core_on_a_tiny_size(bench, tmp_path):
    records = bench.evaluate([3], max_rows=12, compile_rows=1)
    by = {(r["variant"], r["p"]): r for r in records}
    exact = by[("exact amplitude encoding", 0)]
    assert exact["fidelity_mean"] == pytest.approx(1.0)
    assert exact["error_mean"] == pytest.approx(0.0, abs=1e-12)
    assert exact["two_qubit"] > 0
    assert by[("warm start sorted, c=0", 0)]["two_qubit"] == 0
    assert by[("uniform state", 0)]["fidelity_mean"] < by[("warm start sorted, c=1", 0)][
        "fidelity_mean"]
    for r in records:
        assert 0 <= r["fidelity_p10"] <= r["fidelity_mean"] + 1e-12 <= 1 + 1e-9
        assert r["dist_fidelity_mean"] >= r["fidelity_mean"] - 1e-12
        assert np.isfinite(r["error_mean"])
    fig = bench.pareto_plot(records, tmp_path / "pareto.png")
    assert fig.stat().st_size > 1000
    body = bench.results_body(records, "python benchmarks/qaoa_softmax.py --quick", "pareto.png")
    assert "Goal check" in body and "| family | p | m=3 |" in body
