"""patch_model on the loaded offline MiniLM: layer and head selection, options, undo, errors."""

import pytest
import torch

import qiskit_qattn.hf as hf
from qiskit_qattn.attention import AttentionResult, register_backend, unregister_backend


def masked_mean_backend(q, k, v, *, bias, scale, need_weights, generator, **options):
    """Uniform attention over the kept keys: easy to tell from softmax, easy to recompute."""
    keep = torch.ones(q.shape[0], q.shape[1], k.shape[1], dtype=v.dtype)
    if bias is not None:
        keep = keep * (~torch.isneginf(bias)).to(v.dtype)
    w = keep / keep.sum(-1, keepdim=True)
    out = w @ v
    return AttentionResult(output=out, weights=w if need_weights else None,
                           std_error=torch.zeros_like(out))


@pytest.fixture
def uniform_backend():
    register_backend("test-hf-uniform", masked_mean_backend)
    yield "test-hf-uniform"
    unregister_backend("test-hf-uniform")
    hf.unregister("test-hf-uniform")


def record_layers(model):
    """Inputs and outputs of every attention module, by layer."""
    seen = {}
    for i, (_, module) in enumerate(hf.attention_modules(model)):
        module.register_forward_hook(
            lambda mod, args, kwargs, out, i=i: seen.__setitem__(i, (kwargs.get(
                "hidden_states", args[0] if args else None), out[0])),
            with_kwargs=True)
    return seen


def test_only_the_chosen_heads_of_the_chosen_layer_change(load, batch, uniform_backend):
    ref_model, model = load(), load()
    hf.patch_model(model, uniform_backend, layers=[1], heads=[2, 7])
    ref_seen, seen = record_layers(ref_model), record_layers(model)
    with torch.no_grad():
        ref_model(**batch)
        model(**batch)
    keep = batch["attention_mask"].bool()
    torch.testing.assert_close(seen[0][1], ref_seen[0][1], atol=1e-6, rtol=0)
    hidden, out = seen[1]
    out, ref = out.unflatten(-1, (12, 32)), ref_seen[1][1].unflatten(-1, (12, 32))
    others = [h for h in range(12) if h not in (2, 7)]
    torch.testing.assert_close(out[keep][:, others], ref[keep][:, others], atol=1e-5, rtol=0)
    # The chosen heads: the mean of the values over the real tokens of each passage.
    attn = model.encoder.layer[1].attention.self
    with torch.no_grad():
        values = attn.value(hidden).unflatten(-1, (12, 32))
    m = batch["attention_mask"][:, :, None, None].float()
    mean = (values * m).sum(1) / m.sum(1)  # [B, H, 32]
    expected = mean[:, None].expand_as(out)
    torch.testing.assert_close(out[keep][:, [2, 7]], expected[keep][:, [2, 7]], atol=1e-5,
                               rtol=0)
    assert (out[keep][:, [2, 7]] - ref[keep][:, [2, 7]]).abs().max() > 1e-2


def test_patching_twice_accumulates_and_unpatch_restores_sdpa(load, batch):
    model = load()
    hf.patch_model(model, "quantum-sim", layers=0, shots=64, seed=5)
    hf.patch_model(model, "phase0-proto", layers=["encoder.layer.3.attention.self"], top_k=4,
                   samples=8, seed=6)
    backends = {n: (s.backend, s.seed) for n, s in hf.patched_modules(model).items()}
    assert backends["encoder.layer.0.attention.self"] == ("quantum-sim", 5)
    assert backends["encoder.layer.3.attention.self"] == ("phase0-proto", 9)  # seed + index 3
    assert backends["encoder.layer.1.attention.self"] == (None, None)
    assert model.config._attn_implementation == "qattn_phase0-proto"
    with torch.no_grad():
        a = model(**batch).last_hidden_state
        b = model(**batch).last_hidden_state
    torch.testing.assert_close(a, b, atol=0, rtol=0)  # seeded: repeatable
    ref = load()
    with torch.no_grad():
        ref_out = ref(**batch).last_hidden_state
    keep = batch["attention_mask"].bool()
    assert (a[keep] - ref_out[keep]).abs().max() > 1e-3
    hf.unpatch_model(model)
    assert model.config._attn_implementation == "sdpa" and not hf.patched_modules(model)
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).last_hidden_state, ref_out, atol=1e-6, rtol=0)


def test_seeds_change_the_draws(load, batch):
    outs = []
    for seed in (0, 0, 1):
        model = hf.patch_model(load(), "quantum-sim", layers=0, shots=32, seed=seed)
        with torch.no_grad():
            outs.append(model(**batch).last_hidden_state)
    assert torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], outs[2])


def test_bad_arguments_are_named(load):
    model = load()
    with pytest.raises(ValueError, match=r"backend must be one of \(.*'classical'.*\); got 'qsim'"):
        hf.patch_model(model, "qsim")
    with pytest.raises(ValueError, match=r"indices in \[-6, 6\)"):
        hf.patch_model(model, "exact", layers=[6])
    with pytest.raises(ValueError, match="no attention module named 'layer.0'"):
        hf.patch_model(model, "exact", layers="layer.0")
    with pytest.raises(ValueError, match=r"heads \[12\] out of range.*12 heads"):
        hf.patch_model(model, "exact", heads=[0, 12])
    with pytest.raises(ValueError, match="must not repeat"):
        hf.patch_model(model, "exact", heads=[1, 1])
    with pytest.raises(ValueError, match="heads must be"):
        hf.patch_model(model, "exact", heads="all")
    with pytest.raises(ValueError, match=r"rejected by backend 'quantum-sim'.*shot"):
        hf.patch_model(model, "quantum-sim", shot=10)
    with pytest.raises(ValueError, match="seed must be"):
        hf.patch_model(model, "classical", seed=-1)
    with pytest.raises(TypeError, match="PreTrainedModel"):
        hf.patch_model(torch.nn.Linear(2, 2), "exact")
    assert not hf.patched_modules(model)  # nothing half-applied
    assert model.config._attn_implementation == "sdpa"


def test_attention_modules_of_minilm(load):
    names = [n for n, _ in hf.attention_modules(load())]
    assert names == [f"encoder.layer.{i}.attention.self" for i in range(6)]
