"""QuantumMultiheadAttention(quantum_backend="circuit"): torch's contract, one execution per
forward, gradients, options checked when the layer is built."""

from __future__ import annotations

import pytest
import torch
from qiskit_ibm_runtime.fake_provider import FakeManilaV2
from torch import nn

from qiskit_qattn.execution import LocalSampler
from qiskit_qattn.nn import QuantumMultiheadAttention

E, H, N, L = 8, 2, 2, 4


def _pair(**options):
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(E, H, batch_first=True, dtype=torch.float64)
    layer = QuantumMultiheadAttention(E, H, batch_first=True, dtype=torch.float64,
                                      quantum_backend="circuit", **options)
    layer.load_state_dict(ref.state_dict())
    return ref, layer


def test_statevector_circuit_heads_equal_torch_with_masks():
    ref, layer = _pair(family="softmax_state")
    x = torch.randn(N, L, E, dtype=torch.float64)
    kpm = torch.zeros(N, L, dtype=torch.float64)
    kpm[0, 2] = float("-inf")
    causal = nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64)
    for kw in ({}, {"key_padding_mask": kpm}, {"attn_mask": causal},
               {"key_padding_mask": kpm, "attn_mask": causal}):
        for average in (True, False):
            out, w = layer(x, x, x, average_attn_weights=average, **kw)
            r_out, r_w = ref(x, x, x, average_attn_weights=average, **kw)
            torch.testing.assert_close(out, r_out, atol=1e-6, rtol=0)
            torch.testing.assert_close(w, r_w, atol=1e-6, rtol=0)


def test_statevector_gradients_equal_torch():
    """Exact family, statevector: the documented convention is the exact gradient."""
    ref, layer = _pair()
    x = torch.randn(N, L, E, dtype=torch.float64)
    ref(x, x, x)[0].square().sum().backward()
    layer(x, x, x)[0].square().sum().backward()
    for (name, p), (_, r) in zip(layer.named_parameters(), ref.named_parameters(), strict=True):
        torch.testing.assert_close(p.grad, r.grad, atol=1e-6, rtol=0, msg=name)


def test_one_execution_per_forward_on_device_noise():
    executor = LocalSampler(FakeManilaV2(), seed=3)
    _, layer = _pair(family="warm_start", execution=executor, shots=500)
    x = torch.randn(3, L, E, dtype=torch.float64)
    out, w = layer(x, x, x)
    assert executor.executions == 1
    info = layer._backend.last_result.info
    assert info["num_circuits"] == 3 * H * L and info["executions"] == 1
    assert out.shape == (3, L, E) and w.shape == (3, L, L)
    layer(x, x, x, need_weights=False)
    assert executor.executions == 2


def test_noisy_training_step_reaches_the_projections():
    torch.manual_seed(1)
    _, layer = _pair(family="warm_start", quantum_device="fake_manila", shots=200, seed=4)
    assert layer._backend.options["device"] == "fake_manila"
    x = torch.randn(N, L, E, dtype=torch.float64)
    out, _ = layer(x, x, x)
    out.square().sum().backward()
    assert layer.in_proj_weight.grad is not None
    assert float(layer.in_proj_weight.grad.abs().sum()) > 0


@pytest.mark.parametrize(("options", "match"), [
    ({"family": "nope"}, "family must be one of"),
    ({"quantum_device": "fake_nowhere"}, "unknown fake device"),
    ({"quantum_device": "fake_manila", "shots": 0}, "shots must be an integer >= 1"),
    ({"mitigation": "zne"}, "noisy compiled execution"),
])
def test_bad_options_fail_when_the_layer_is_built(options, match):
    with pytest.raises(ValueError, match=match):
        QuantumMultiheadAttention(E, H, quantum_backend="circuit", **options)
