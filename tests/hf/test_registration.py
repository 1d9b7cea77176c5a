import pytest
import torch
from transformers import AttentionInterface
from transformers.masking_utils import AttentionMaskInterface

import qiskit_qattn.hf as hf
from qiskit_qattn.attention import available_backends, register_backend, unregister_backend
from qiskit_qattn.attention.torch_exact import exact_backend

REQUIRED = ("qattn_exact", "qattn_classical", "qattn_phase0-proto", "qattn_quantum-sim")


def test_every_backend_is_registered_with_its_mask_function():
    attn, masks = AttentionInterface(), AttentionMaskInterface()
    for name in REQUIRED:
        assert name in attn and masks[name] is hf.qattn_mask
    assert hf.registered_implementations() == tuple(sorted(f"qattn_{b}"
                                                           for b in available_backends()))


def test_registered_function_runs_the_named_backend():
    q = k = v = torch.randn(1, 2, 40, 8, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    out, _ = AttentionInterface()["qattn_quantum-sim"](torch.nn.Module(), q, k, v, None,
                                                        is_causal=False)
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v).transpose(1, 2)
    err = (out - ref).abs().max().item()
    assert 1e-4 < err < 0.5  # 1024 shots: close to exact, but visibly sampled


def test_names_and_backends_round_trip():
    for name in REQUIRED:
        assert hf.implementation_name(hf.backend_of(name)) == name


def test_bad_backend_names_list_the_choices():
    with pytest.raises(ValueError, match=r"backend must be one of .*'classical'.*'quantum-sim'"):
        hf.implementation_name("qauntum-sim")
    with pytest.raises(ValueError, match=r"qattn_<backend>.*'exact'"):
        hf.backend_of("sdpa")
    with pytest.raises(ValueError, match="backend must be one of"):
        hf.backend_of("qattn_nope")
    with pytest.raises(ValueError, match="backend must be one of"):
        hf.register("nope")


def test_backend_registered_later_can_be_registered_in_transformers():
    register_backend("test-hf-late", exact_backend)
    try:
        assert "qattn_test-hf-late" not in AttentionInterface()
        assert hf.register("test-hf-late") == "qattn_test-hf-late"
        assert "qattn_test-hf-late" in hf.registered_implementations()
    finally:
        unregister_backend("test-hf-late")
        hf.unregister("test-hf-late")
    assert "qattn_test-hf-late" not in AttentionInterface()
    assert "qattn_test-hf-late" not in AttentionMaskInterface()
