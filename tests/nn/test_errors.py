"""Bad input raises what nn.MultiheadAttention raises (same exception type) or clearer."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from qiskit_qattn.nn import (
    AttentionDtypeError,
    AttentionMaskTypeError,
    AttentionShapeError,
    AttentionSizeError,
    QuantumMultiheadAttention,
)

E, H = 8, 2


def _pair(**kw):
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(E, H, **kw)
    qm = QuantumMultiheadAttention(E, H, quantum_backend="exact", **kw)
    qm.load_state_dict(ref.state_dict())
    return ref, qm


q3, k3 = torch.randn(4, 2, E), torch.randn(6, 2, E)
k_small, v_small = torch.randn(6, 2, 3), torch.randn(6, 2, 5)

# name -> (module kwargs, forward args, forward kwargs, words the message must contain)
FORWARD_CASES = {
    "query-embed-dim": ({}, (torch.randn(4, 2, 7), k3, k3), {}, ["query", "embed_dim"]),
    "key-kdim": ({"kdim": 3, "vdim": 5}, (q3, torch.randn(6, 2, 4), v_small), {}, ["key", "kdim"]),
    "value-vdim": ({"kdim": 3, "vdim": 5}, (q3, k_small, torch.randn(6, 2, 4)), {},
                   ["value", "vdim"]),
    "key-value-length": ({}, (q3, torch.randn(5, 2, E), k3), {}, ["key", "value"]),
    "batch-size": ({}, (q3, torch.randn(6, 3, E), torch.randn(6, 3, E)), {}, ["batch"]),
    "query-4d": ({}, (torch.randn(1, 4, 2, E), k3, k3), {}, ["query", "4-D"]),
    "key-rank": ({}, (q3, torch.randn(6, E), torch.randn(6, E)), {}, ["key", "3-D"]),
    "kpm-rank": ({}, (q3, k3, k3), {"key_padding_mask": torch.zeros(6, dtype=torch.bool)},
                 ["key_padding_mask"]),
    "kpm-shape": ({}, (q3, k3, k3), {"key_padding_mask": torch.zeros(2, 5, dtype=torch.bool)},
                  ["key_padding_mask", "(2, 6)"]),
    "attn-2d-shape": ({}, (q3, k3, k3), {"attn_mask": torch.zeros(4, 5)}, ["attn_mask", "(4, 6)"]),
    "attn-3d-shape": ({}, (q3, k3, k3), {"attn_mask": torch.zeros(3, 4, 6)},
                      ["attn_mask", "(4, 4, 6)"]),
    "attn-4d": ({}, (q3, k3, k3), {"attn_mask": torch.zeros(1, 1, 4, 6)}, ["attn_mask"]),
    "attn-int-dtype": ({}, (q3, k3, k3), {"attn_mask": torch.zeros(4, 6, dtype=torch.long)},
                       ["attn_mask", "bool"]),
    "kpm-int-dtype": ({}, (q3, k3, k3), {"key_padding_mask": torch.zeros(2, 6, dtype=torch.int)},
                      ["key_padding_mask", "bool"]),
    "unbatched-attn-3d-shape": ({}, (torch.randn(4, E), torch.randn(6, E), torch.randn(6, E)),
                                {"attn_mask": torch.zeros(3, 4, 6)}, ["attn_mask", "(2, 4, 6)"]),
    "is-causal-no-mask": ({}, (q3, q3, q3), {"is_causal": True}, ["is_causal", "attn_mask"]),
    "integer-query": ({}, (torch.ones(4, 2, E, dtype=torch.long),) * 3, {}, ["query", "floating"]),
}


@pytest.mark.parametrize("case", list(FORWARD_CASES))
def test_forward_errors_are_torch_compatible_and_clear(case):
    kwargs, args, fkw, words = FORWARD_CASES[case]
    ref, qm = _pair(**kwargs)
    with pytest.raises(Exception) as torch_exc:
        ref(*args, **fkw)
    with pytest.raises((ValueError, TypeError)) as ours:
        qm(*args, **fkw)
    assert isinstance(ours.value, type(torch_exc.value)), (type(ours.value), torch_exc.value)
    for word in words:
        assert word in str(ours.value)


def test_error_classes_are_both_types():
    assert issubclass(AttentionShapeError, ValueError) and issubclass(AttentionShapeError,
                                                                      AssertionError)
    assert issubclass(AttentionSizeError, ValueError) and issubclass(AttentionSizeError,
                                                                     RuntimeError)
    assert issubclass(AttentionMaskTypeError, TypeError)
    assert issubclass(AttentionDtypeError, TypeError)


@pytest.mark.parametrize(
    "args, torch_type",
    [((8, 3), AssertionError), ((0, 2), ValueError), ((8, 0), ValueError)],
    ids=["heads-not-dividing", "zero-embed", "zero-heads"],
)
def test_constructor_errors_are_torch_compatible(args, torch_type):
    with pytest.raises(torch_type):
        nn.MultiheadAttention(*args)
    with pytest.raises(torch_type) as ours:
        QuantumMultiheadAttention(*args, quantum_backend="exact")
    assert isinstance(ours.value, ValueError)
    assert "num_heads" in str(ours.value) or "embed_dim" in str(ours.value)


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        ({"embed_dim": 8.0, "num_heads": 2}, TypeError, "embed_dim"),
        ({"embed_dim": 8, "num_heads": 2, "kdim": 0}, ValueError, "kdim"),
        ({"embed_dim": 8, "num_heads": 2, "dropout": 1.5}, ValueError, "dropout"),
        ({"embed_dim": 8, "num_heads": 2, "quantum_backend": "nope"}, ValueError,
         "quantum_backend"),
        ({"embed_dim": 8, "num_heads": 2, "quantum_backend": 3}, TypeError, "quantum_backend"),
        ({"embed_dim": 8, "num_heads": 2, "quantum_backend": "exact", "shots": 10}, ValueError,
         "exact"),
        ({"embed_dim": 64, "num_heads": 2, "quantum_backend": "variational"}, ValueError,
         "head_dim"),
        ({"embed_dim": 8, "num_heads": 2, "quantum_backend": "variational", "engine": "x"},
         ValueError, "engine"),
    ],
)
def test_bad_configuration_is_named(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        QuantumMultiheadAttention(**kwargs)


def test_mismatched_mask_types_warn_like_torch():
    ref, qm = _pair()
    kpm = torch.zeros(2, 6, dtype=torch.bool)
    am = torch.zeros(4, 6)
    with pytest.warns(UserWarning, match="mismatched") as rec_torch:
        r = ref(q3, k3, k3, key_padding_mask=kpm, attn_mask=am)
    with pytest.warns(UserWarning, match="mismatched"):
        o = qm(q3, k3, k3, key_padding_mask=kpm, attn_mask=am)
    assert rec_torch
    torch.testing.assert_close(o[0], r[0], atol=1e-6, rtol=0)


def test_hybrid_setters_validate():
    qm = QuantumMultiheadAttention(E, 4, quantum_backend="exact")
    with pytest.raises(ValueError, match="quantum_heads"):
        qm.set_quantum_heads([4])
    with pytest.raises(ValueError, match="quantum_mix"):
        qm.set_quantum_mix(1.5)


def test_inputs_are_not_mutated():
    _, qm = _pair()
    kpm = torch.zeros(2, 6, dtype=torch.bool)
    kpm[0, 1] = True
    am = torch.zeros(4, 6, dtype=torch.bool)
    copies = [t.clone() for t in (q3, k3, kpm, am)]
    qm(q3, k3, k3, key_padding_mask=kpm, attn_mask=am)
    for t, c in zip((q3, k3, kpm, am), copies, strict=True):
        assert torch.equal(t, c)
