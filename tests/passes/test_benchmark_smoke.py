import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "transpile.py"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pytket's own imports, if present
def test_benchmark_core_runs_on_a_tiny_case(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_transpile", BENCH)
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # dataclasses look their module up
    spec.loader.exec_module(bench)
    monkeypatch.setattr(bench, "SEEDS", range(1))
    from qiskit_qattn.circuits import qaoa_attention

    monkeypatch.setattr(
        bench,
        "families",
        lambda quick, rng: [("qaoa-walsh", "m=2 p=1", qaoa_attention(rng.normal(size=4), reps=1))],
    )
    rows, summary = bench.run(quick=True, targets=("fake_torino",), tket=False,
                              progress=lambda _: None)
    assert len(rows) == 1
    row = rows[0]
    assert row.qattn[0].two_q <= row.o3[0].two_q
    assert row.approx_fidelity is not None and row.approx_fidelity > 0.9
    assert summary["qattn_best_vs_o3_best"] <= 1.0
    assert "| target |" in bench.table(rows)
