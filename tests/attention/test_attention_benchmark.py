"""Smoke test of benchmarks/attention.py's core on a tiny synthetic problem (keeps it from rot)."""

import importlib.util
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_attention",
                                                  ROOT / "benchmarks" / "attention.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_benchmark_core_runs_and_reports(tmp_path):
    bench = _bench()
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(4, 64, 8, generator=g) for _ in range(3))
    labels = ["classical cv (cov .9)", "classical stratified", "phase0-proto k=32 s=64",
              "nystrom m=64", "linformer k=256"]
    rows = bench.evaluate(q, k, v, 8**-0.5, labels, reps=1, threads=(1,), time_heads=2)
    for lab in labels:
        assert rows[lab]["mean"] >= 0 and rows[lab]["p90"] >= 0 and rows[lab]["ratio_t1"] > 0
    assert rows["linformer k=256"]["mean"] < 1e-5  # 256 pooled segments of 64 keys: identity
    assert rows["classical cv (cov .9)"]["mean"] < 1.0
    assert rows["linformer k=256"]["matrix"] is None  # no weights from linformer
    assert rows["classical stratified"]["coverage"] is not None
    front = bench.pareto(rows, labels)
    assert front and set(front) <= set(labels)
    text = bench.report({64: rows}, (1,), "python benchmarks/attention.py --quick")
    assert "n = 64" in text and "Pareto" in text and "goals" in text
    out = tmp_path / "RESULTS.md"
    from qiskit_qattn.viz.markdown import update_results_section

    update_results_section(out, bench.SECTION, text)
    assert "<!-- section:attention -->" in out.read_text()
