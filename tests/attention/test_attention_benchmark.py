"""benchmarks/attention.py: its references are exact, its verdicts follow its figures."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_attention",
                                                  ROOT / "benchmarks" / "attention.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _qkv(H=72, n=64, E=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(H, n, E, generator=g) for _ in range(3))


@pytest.mark.parametrize("causal", [False, True])
def test_exact_references_agree_with_torch(bench, causal):
    q, k, v = _qkv(H=3, n=50)
    want = F.scaled_dot_product_attention(q, k, v, scale=0.3, is_causal=causal)
    torch.testing.assert_close(bench.sdpa(q, k, v, 0.3, causal), want, atol=1e-5, rtol=0)
    torch.testing.assert_close(bench.naive(q, k, v, 0.3, causal), want, atol=1e-5, rtol=0)
    torch.testing.assert_close(bench.reference(q, k, v, 0.3, causal), want, atol=1e-5, rtol=0)


def test_block_floor_is_exact_attention_over_its_keys(bench):
    q, k, v = _qkv(H=2, n=100)
    full = bench.block_floor(q, k, v, 0.5, 1.0, qb=16)  # every key kept
    torch.testing.assert_close(full, bench.sdpa(q, k, v, 0.5), atol=1e-5, rtol=0)
    half = bench.block_floor(q, k, v, 0.5, 0.5, qb=16)
    assert half.shape == full.shape and float((half - full).abs().max()) > 1e-3


def test_evaluate_measures_errors_against_exact_and_names_the_kernel(bench, monkeypatch):
    q, k, v = _qkv()
    # random 64-token heads: the error guard would recompute every head of this row exactly
    monkeypatch.setitem(bench.METHODS, "classical exact 1/8",
                        ("classical", {"exact_fraction": 0.125, "max_error": None}, 1 << 30))
    labels = [bench.DEFAULT, "classical exact 1/8", "exact backend", "nystrom m=64"]
    rows = bench.evaluate(q, k, v, 8**-0.5, labels, reps=1, threads=(1,), time_heads=2)
    assert rows["exact backend"]["max"] < 1e-5
    assert rows[bench.DEFAULT]["max"] < 1e-5  # 64 keys: the default keeps every key exact
    assert rows["classical exact 1/8"]["mean"] > 1e-3  # a real approximation
    assert rows["nystrom m=64"]["mean"] > 1e-3
    assert len(rows[bench.DEFAULT]["per_head"]) == 72
    meta = rows["_meta"]
    assert meta["kernel"] == "_scaled_dot_product_flash_attention_for_cpu"
    assert meta["kernel_3d"] == "_scaled_dot_product_attention_math"
    assert meta["naive"][1] > 0 and meta["floor"][1] > 0
    causal = bench.evaluate(q, k, v, 8**-0.5, [bench.DEFAULT, "exact backend"], reps=1,
                            threads=(1,), time_heads=2, causal=True)
    assert causal["exact backend"]["max"] < 1e-5, causal["exact backend"]["max"]
    assert causal[bench.DEFAULT]["max"] < 1e-5, causal[bench.DEFAULT]["max"]


def _rows(bench, n, err, ratio):
    per_head = list(np.full(72, err))
    return {bench.DEFAULT: {"mean": err, "p90": err, "max": err, "per_head": per_head,
                            "ratio_t1": ratio},
            "_meta": {"n": n, "info": {"exact_key_fraction": 0.2, "keys_per_query": 0.26,
                                       "key_blocks": 64},
                      "memory": {"sdpa": 10.0, bench.DEFAULT: 20.0},
                      "sdpa_s": {1: 0.4}, "naive": {1: 4.0}, "floor": {1: 0.3},
                      "kernel": "k", "kernel_3d": "m"}}


@pytest.mark.parametrize("err, ratio, verdict", [(0.07, 0.45, "met"), (0.07, 0.6, "MISSED"),
                                                 (0.12, 0.3, "MISSED")])
def test_report_verdict_follows_the_figures(bench, tmp_path, err, ratio, verdict):
    text = bench.report({4096: _rows(bench, 4096, err, ratio)}, {}, (1,),
                        "python benchmarks/attention.py")
    line = next(ln for ln in text.splitlines() if ln.startswith("- n = 4096: default"))
    assert line.endswith(verdict)
    assert "Command: `python benchmarks/attention.py`" in text
    assert "error of every head" in text and "L5 " in text
    from qiskit_qattn.viz.markdown import update_results_section

    out = tmp_path / "RESULTS.md"
    update_results_section(out, bench.SECTION, text)
    assert "<!-- section:attention -->" in out.read_text()
