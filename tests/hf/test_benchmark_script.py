"""Smoke test of benchmarks/hf_models.py on a few passages (keeps the script from rot)."""

import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_hf_models",
                                                  ROOT / "benchmarks" / "hf_models.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_benchmark_core_runs_and_reports(tmp_path):
    bench = _bench()
    passages = bench.held_out_passages(3)
    assert all(len(p.split()) >= bench.MIN_WORDS for p in passages)
    first, second = bench.halves(passages[0])
    assert f"{first} {second}" == " ".join(passages[0].split())
    q = bench.quality(["exact"], passages, batch_size=2, ablation=False, log=lambda _: None)
    assert q["exact"]["max_abs"] < 1e-5 and q["exact"]["agree_top1"] == 1.0
    np.testing.assert_allclose(q["exact"]["cos"], 1.0, atol=1e-6)
    t = bench.timing(["exact"], [16], repeats=1, log=lambda _: None)
    assert t[16]["sdpa"]["ratio"] == 1.0 and abs(t[16]["qattn_exact"]["cos"] - 1) < 1e-6
    text = bench.report({"short": q}, t, "python benchmarks/hf_models.py --quick", 1)
    assert "goal <= 1e-05: met" in text and "n = 16" in text and "recall@1" in text
    out = tmp_path / "RESULTS.md"
    from qiskit_qattn.viz.markdown import update_results_section

    update_results_section(out, bench.SECTION, text)
    assert "<!-- section:hf_models -->" in out.read_text()
