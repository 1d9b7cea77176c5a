"""Drop-in use: TransformerEncoderLayer, state dicts, from_torch/to_torch, hybrid heads."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from qiskit_qattn.nn import QuantumMultiheadAttention, set_hybrid

E, H = 16, 4


def _layers(batch_first=True):
    torch.manual_seed(0)
    ref = nn.TransformerEncoderLayer(E, H, dim_feedforward=32, dropout=0.0,
                                     batch_first=batch_first)
    mine = copy.deepcopy(ref)
    mine.self_attn = QuantumMultiheadAttention(E, H, dropout=0.0, batch_first=batch_first,
                                               quantum_backend="exact")
    mine.load_state_dict(ref.state_dict())
    return ref, mine


@pytest.mark.parametrize("batch_first", [True, False])
def test_swap_into_transformer_encoder_layer_train_and_eval(batch_first):
    ref, mine = _layers(batch_first)
    x = torch.randn(2, 5, E) if batch_first else torch.randn(5, 2, E)
    kpm = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    causal = nn.Transformer.generate_square_subsequent_mask(5)
    for kwargs in ({}, {"src_key_padding_mask": kpm}, {"src_mask": causal, "is_causal": True}):
        torch.testing.assert_close(mine(x, **kwargs), ref(x, **kwargs), atol=1e-6, rtol=0)
    ref.eval(), mine.eval()
    with torch.no_grad():  # torch's fused fast path vs ours: same numbers
        out, want = mine(x, src_key_padding_mask=kpm), ref(x, src_key_padding_mask=kpm)
    keep = ~kpm if batch_first else ~kpm.T
    torch.testing.assert_close(out[keep], want[keep], atol=1e-5, rtol=0)


def test_fused_fast_path_cannot_bypass_quantum_heads():
    # In eval + no_grad, TransformerEncoderLayer would call a fused exact kernel on
    # in_proj_weight; the layer must still use the variational heads.
    ref, mine = _layers()
    mine.self_attn.set_backend("variational", reps=1)
    mine.eval()
    x = torch.randn(2, 5, E)
    with torch.no_grad():
        fast = mine(x)
    mine.train()  # training mode never takes the fast path
    torch.testing.assert_close(fast, mine(x).detach(), atol=1e-6, rtol=0)
    assert not torch.allclose(fast, ref.eval()(x), atol=1e-3)


def test_transformer_encoder_nested_tensor_path():
    # nn.TransformerEncoder turns padded batches into NestedTensors in eval mode.
    ref_layer, layer = _layers()
    enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=True).eval()
    ref = nn.TransformerEncoder(ref_layer, 2, enable_nested_tensor=False).eval()
    x = torch.randn(2, 5, E)
    kpm = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    with torch.no_grad(), pytest.warns(UserWarning, match="nested tensors"):
        out = enc(x, src_key_padding_mask=kpm)
    with torch.no_grad():
        want = ref(x, src_key_padding_mask=kpm)
    torch.testing.assert_close(out[~kpm], want[~kpm], atol=1e-5, rtol=0)


@pytest.mark.parametrize("backend", ["exact", "variational"])
def test_loads_a_plain_multihead_attention_state_dict_strictly(backend):
    mha = nn.MultiheadAttention(E, H, kdim=6, vdim=10, add_bias_kv=True)
    q = QuantumMultiheadAttention(E, H, kdim=6, vdim=10, add_bias_kv=True,
                                  quantum_backend=backend)
    before = {n: p.clone() for n, p in q.named_parameters() if n.startswith("quantum.")}
    result = q.load_state_dict(mha.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for name, p in mha.named_parameters():
        assert torch.equal(dict(q.named_parameters())[name], p)
    for name, p in before.items():  # quantum weights keep their values
        assert torch.equal(dict(q.named_parameters())[name], p)
    # a checkpoint of the quantum module round-trips, quantum weights included
    other = QuantumMultiheadAttention(E, H, kdim=6, vdim=10, add_bias_kv=True,
                                      quantum_backend=backend)
    other.load_state_dict(q.state_dict(), strict=True)
    for (n1, p1), (n2, p2) in zip(q.named_parameters(), other.named_parameters(), strict=True):
        assert n1 == n2 and torch.equal(p1, p2)


def test_partial_quantum_state_still_reports_missing_keys():
    q = QuantumMultiheadAttention(8, 2, quantum_backend="variational", reps=1)
    state = q.state_dict()
    del state["quantum.log_scale"]
    with pytest.raises(RuntimeError, match="quantum.log_scale"):
        q.load_state_dict(state, strict=True)


def test_state_dict_loads_inside_a_model():
    ref, mine = _layers()
    mine.self_attn.set_backend("variational", reps=1)
    mine.load_state_dict(ref.state_dict(), strict=True)  # prefix "self_attn."
    assert torch.equal(mine.self_attn.in_proj_weight, ref.self_attn.in_proj_weight)


def test_from_torch_and_to_torch_round_trip():
    mha = nn.MultiheadAttention(E, H, batch_first=True, bias=False)
    q = QuantumMultiheadAttention.from_torch(mha, "variational", reps=1)
    assert isinstance(q, nn.MultiheadAttention) and q.batch_first and q.in_proj_bias is None
    back = q.to_torch()
    assert type(back) is nn.MultiheadAttention
    x = torch.randn(2, 3, E)
    torch.testing.assert_close(back(x, x, x)[0], mha(x, x, x)[0])
    with pytest.raises(TypeError, match="MultiheadAttention"):
        QuantumMultiheadAttention.from_torch(nn.Linear(2, 2))


def test_hybrid_heads_and_mix():
    torch.manual_seed(0)
    m = QuantumMultiheadAttention(E, H, quantum_backend="variational", reps=1)
    exact = QuantumMultiheadAttention(E, H, quantum_backend="exact")
    exact.load_state_dict(m.state_dict(), strict=False)
    x = torch.randn(5, 2, E)
    full_q = m(x, x, x, average_attn_weights=False)[1]
    full_e = exact(x, x, x, average_attn_weights=False)[1]
    set_hybrid(m, quantum_heads=[1, 3])
    w = m(x, x, x, average_attn_weights=False)[1]
    torch.testing.assert_close(w[:, [0, 2]], full_e[:, [0, 2]], atol=1e-6, rtol=0)
    torch.testing.assert_close(w[:, [1, 3]], full_q[:, [1, 3]], atol=1e-6, rtol=0)
    set_hybrid(m, quantum_heads=range(H), mix=0.25)
    w = m(x, x, x, average_attn_weights=False)[1]
    torch.testing.assert_close(w, 0.75 * full_e + 0.25 * full_q, atol=1e-6, rtol=0)
    set_hybrid(m, mix=0.0)
    torch.testing.assert_close(m(x, x, x)[0], exact(x, x, x)[0], atol=1e-6, rtol=0)


def test_custom_callable_backend():
    calls = []

    def doubled(q, k, v, mask, *, need_weights, is_causal, dropout_p):
        calls.append(tuple(q.shape))
        from qiskit_qattn.nn import exact_heads

        out, w = exact_heads(q, k, v, mask, need_weights=need_weights, is_causal=is_causal)
        return 2 * out, w

    m = QuantumMultiheadAttention(8, 2, quantum_backend=doubled)
    ref = QuantumMultiheadAttention(8, 2, quantum_backend="exact")
    ref.load_state_dict(m.state_dict())
    x = torch.randn(3, 1, 8)
    assert m.quantum_backend == "custom"
    torch.testing.assert_close(m(x, x, x)[1], ref(x, x, x)[1])
    assert calls == [(1, 2, 3, 4)]
