import numpy as np
import pytest

from qiskit_qattn.data import capture_heads, real_score_rows, reference_text


def test_reference_text_is_english_prose():
    text = reference_text()
    assert len(text) > 50_000
    assert text.count(" the ") > 500


def test_captured_heads_reproduce_the_models_own_attention(tmp_path, monkeypatch):
    """Q/K from the hooks give exactly the attention probabilities MiniLM reports."""
    import torch

    from qiskit_qattn.data.minilm import _load_model

    monkeypatch.setenv("QATTN_CACHE", str(tmp_path))
    heads = capture_heads(12)
    assert heads.queries.shape == (6, 12, 12, 32)
    tokenizer, model = _load_model()
    model.set_attn_implementation("eager")
    text = reference_text()[: 8 * 12 + 200]
    enc = tokenizer(text, return_tensors="pt", truncation=True, max_length=12)
    with torch.no_grad():
        attn = model(**enc, output_attentions=True).attentions
    for layer in (0, 3, 5):
        q, k = heads.queries[layer], heads.keys[layer]
        s = np.einsum("hid,hjd->hij", q, k) * heads.scale
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        np.testing.assert_allclose(p, attn[layer][0].numpy(), atol=1e-5)
    # Cached: the second call reads the file and returns the same arrays.
    again = capture_heads(12)
    np.testing.assert_array_equal(again.values, heads.values)
    rows = real_score_rows(8, num_windows=1)
    assert rows.shape == (6 * 12 * 8, 8) and np.all(np.isfinite(rows))


def test_bad_token_count():
    with pytest.raises(ValueError, match="num_tokens"):
        capture_heads(1)
