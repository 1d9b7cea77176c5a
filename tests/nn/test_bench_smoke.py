"""benchmarks/nn.py: its core functions run on tiny sizes (so the benchmark cannot rot)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("nn")


def test_tasks_train_and_evaluate(bench):
    xtr, ytr, xte, yte = bench.digits_data()
    assert xtr.shape[1:] == (16, 4) and len(yte) == 360 and len(ytr) == 1797 - 360
    small = (xtr[:64], ytr[:64], xte[:32], yte[:32])
    text = bench.char_data(3000)
    for backend, opts, cur in [(None, {}, False), ("variational", {"reps": 1}, True)]:
        d = bench.train_digits(backend, opts, cur, steps=2, batch=8, data=small)
        c = bench.train_charlm(backend, opts, cur, steps=2, batch=4, data=text, eval_windows=8)
        assert 0.0 <= d.metric <= 1.0 and d.seconds > 0
        assert 1.0 < c.metric < 10 * text[2]  # perplexity of a barely trained model


def test_same_start_for_every_backend(bench):
    torch.manual_seed(0)
    a = bench.swap_attention(bench.DigitsClassifier(), "variational", {"reps": 1}, 0)
    torch.manual_seed(0)
    b = bench.swap_attention(bench.DigitsClassifier(), None, {}, 0)
    assert torch.equal(a.layer.self_attn.in_proj_weight, b.layer.self_attn.in_proj_weight)
    assert torch.equal(a.head.weight, b.head.weight)


def test_timing_tables_on_tiny_sizes(bench):
    rows = bench.timing_rows(True, B=1, L=2, E=4, H=2)
    labels = [r[0] for r in rows]
    assert labels[0] == "nn.MultiheadAttention" and "naive TorchConnector loop" in labels
    assert rows[-1][0].startswith("**speed-up")
    tiny = bench.tiny_rows(B=1, L=1, E=4, H=2)
    assert len(tiny) == 5 and "diff" in tiny[-1][3]
    long = bench.long_rows(True, B=1, L=8, E=4, H=2)
    assert long[0][0] == "nn.MultiheadAttention"
