"""benchmarks/circuit_heads.py: its pieces run on tiny sizes (so the benchmark cannot rot),
and the circuit backend inside the real offline MiniLM equals the exact model."""

from __future__ import annotations

import pytest
import torch

import qiskit_qattn.hf as hf

pytestmark = pytest.mark.slow  # loads the real MiniLM and compiles for FakeTorino


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("circuit_heads")


@pytest.fixture(scope="module")
def minilm(bench):
    return bench.load_minilm()


def test_statevector_circuit_heads_in_minilm_equal_the_exact_model(bench, minilm):
    tokenizer, model = minilm
    first, second = bench.passages(tokenizer, 2)
    assert first.shape == second.shape == (2, 32)
    ids = (first, second[:1])
    exact_a, exact_b, walls, records = bench.run_config(model, ids, "sdpa", [], {})
    assert len(walls) == 3 and records == []
    a, b, _, records = bench.run_config(model, ids, "circuit", [5], {"family": "softmax_state"})
    torch.testing.assert_close(a, exact_a, atol=1e-5, rtol=0)
    torch.testing.assert_close(b, exact_b, atol=1e-5, rtol=0)
    assert [r["num_circuits"] for r in records] == [12 * 32] * 3  # one call per forward
    assert not hf.patched_modules(model)  # unpatched afterwards
    row = bench.quality_row("x", (exact_a, exact_b), (a, b), walls, records)
    assert row[1] == "1.0000" and row[4] == "384"
    assert bench.recall_at_1(exact_a, exact_a) == 1.0


def test_forward_rows_and_tiny_finetune(bench):
    record = {"cpu_seconds": 1.0, "num_circuits": 10, "total_shots": 1000, "executions": 1,
              "timings": {"prepare": 0.1, "compile": 0.5, "execute": 1.0, "mitigate": 0.2,
                          "total": 2.0}}
    rows = bench.forward_rows([("cfg", [record, record, record])])
    assert [r[1] for r in rows] == ["first (cold cache)", "median of next 2"]
    assert rows[0][4] == "0.1 / 0.5 / 1.0 / 0.2"
    tune = bench.finetune_rows(pretrain=2, steps=1, batch=2, shots=100, family="warm_start",
                               test_size=4, device="fake_manila")
    assert len(tune) == 4 and all(0.0 <= float(r[2]) <= 100.0 for r in tune)
