"""qattn implementations inside the real offline all-MiniLM-L6-v2 (no mocks)."""

import pytest
import torch

import qiskit_qattn.hf as hf

SAMPLING = ("classical", "phase0-proto", "quantum-sim")


def selection(backend):
    """The first and last layer (padding is handled per module call); for `classical` (0.1-0.5 s
    per head call today) two heads of the first layer."""
    if backend == "classical":
        return {"layers": [0], "heads": [0, 1]}
    return {"layers": [0, -1]}


def states(model, enc, **kw):
    with torch.no_grad():
        return model(**enc, **kw)


def real(enc):
    return enc["attention_mask"].bool()


def test_qattn_exact_equals_sdpa_on_a_padded_batch(load, batch, tokenizer, passages):
    ref, got = states(load("sdpa"), batch), states(load("qattn_exact"), batch)
    keep = real(batch)
    assert (~keep).any()  # the batch really is padded
    torch.testing.assert_close(got.last_hidden_state[keep], ref.last_hidden_state[keep],
                               atol=1e-5, rtol=0)
    emb_ref = hf.sentence_embeddings(load("sdpa"), tokenizer, passages)
    emb = hf.sentence_embeddings(load("qattn_exact"), tokenizer, passages)
    torch.testing.assert_close(emb, emb_ref, atol=1e-5, rtol=0)


def test_attention_weights_match_eager(load, batch):
    ref = states(load("eager"), batch, output_attentions=True).attentions
    got = states(load("qattn_exact"), batch, output_attentions=True).attentions
    assert len(got) == 6 and got[0].shape == ref[0].shape
    for a, b in zip(got, ref, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("backend", SAMPLING)
def test_no_backend_puts_weight_on_padding_keys(load, batch, backend):
    model = hf.patch_model(load(), backend, seed=0, **selection(backend))
    attentions = states(model, batch, output_attentions=True).attentions
    pad_keys = ~real(batch)[:, None, None, :]
    for w in attentions:
        assert torch.all(w.masked_select(pad_keys) == 0)
        rows = w.sum(-1)[real(batch)[:, None, :].expand(-1, w.shape[1], -1)]
        torch.testing.assert_close(rows, torch.ones_like(rows), atol=1e-4, rtol=0)


@pytest.mark.parametrize("backend, options", [("exact", {}), ("quantum-sim", {"shots": None})])
def test_a_passage_alone_equals_it_padded_in_a_batch(load, tokenizer, passages, backend,
                                                     options):
    model = hf.patch_model(load(), backend, **options)
    alone = states(model, tokenizer(passages[0], return_tensors="pt")).last_hidden_state[0]
    padded = states(model, tokenizer(passages, padding=True, return_tensors="pt"))
    n = alone.shape[0]
    assert padded.last_hidden_state.shape[1] > n
    torch.testing.assert_close(padded.last_hidden_state[0, :n], alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("backend", SAMPLING)
def test_padding_content_cannot_change_other_tokens(load, batch, backend):
    """Same seed, other tokens under the padding: every real token's state is unchanged."""
    model = hf.patch_model(load(), backend, seed=0, **selection(backend))
    other = dict(batch)
    other["input_ids"] = batch["input_ids"].masked_fill(~real(batch), 2023)  # "this"
    a, b = states(model, batch), states(model, other)
    keep = real(batch)
    torch.testing.assert_close(a.last_hidden_state[keep], b.last_hidden_state[keep],
                               atol=1e-6, rtol=0)


def test_without_its_mask_function_padding_leaks(load, batch):
    """The control: registered in AttentionInterface only, transformers drops the mask."""
    from transformers import AttentionInterface

    AttentionInterface.register("qattn_test_nomask", hf.make_attention_function("exact"))
    try:
        model = load("qattn_test_nomask")
        other = dict(batch)
        other["input_ids"] = batch["input_ids"].masked_fill(~real(batch), 2023)
        a, b = states(model, batch), states(model, other)
        keep = real(batch)
        assert (a.last_hidden_state[keep] - b.last_hidden_state[keep]).abs().max() > 1e-2
    finally:
        del AttentionInterface._global_mapping["qattn_test_nomask"]


def test_phase0_is_exact_while_every_key_is_in_its_top_k(load, batch):
    assert batch["input_ids"].shape[1] <= 64
    model = hf.patch_model(load(), "phase0-proto", layers=[0, -1], top_k=64)
    ref, got = states(load("sdpa"), batch), states(model, batch)
    keep = real(batch)
    torch.testing.assert_close(got.last_hidden_state[keep], ref.last_hidden_state[keep],
                               atol=1e-5, rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize("backend", SAMPLING)
def test_sampling_backends_keep_sentence_embeddings_close(load, tokenizer, passages, backend):
    """Every layer through from_pretrained (classical: patched on two layers, see selection)."""
    torch.manual_seed(0)
    ref = hf.sentence_embeddings(load("sdpa"), tokenizer, passages)
    if backend == "classical":
        model = hf.patch_model(load(), backend, **selection(backend))
    else:
        model = load(f"qattn_{backend}")
    emb = hf.sentence_embeddings(model, tokenizer, passages)
    cos = (emb * ref).sum(-1)
    assert cos.min() > 0.97, cos


def test_from_pretrained_with_an_unknown_qattn_name_fails(load):
    with pytest.raises(ValueError, match="qattn_nope"):
        load("qattn_nope")


def test_training_mode_with_dropout_is_refused_on_a_backend(load, batch):
    model = load("qattn_classical").train()
    with pytest.raises(ValueError, match=r"dropout.*model\.eval\(\)"):
        model(**batch)
    # Unpatched heads keep SDPA's dropout: a model patched on head 0 of layer 0 only still
    # refuses, one whose patched heads have no dropout trains.
    with pytest.raises(ValueError, match="dropout"):
        hf.patch_model(load(), "exact", layers=0, heads=0).train()(**batch)
    model = hf.patch_model(load(attention_probs_dropout_prob=0.0), "exact", layers=0).train()
    assert model(**batch).last_hidden_state.requires_grad


def test_gradients_flow_through_a_differentiable_backend(load, batch):
    model = hf.patch_model(load(), "quantum-sim", layers=0, shots=None)
    model(**batch).last_hidden_state.sum().backward()
    grad = model.encoder.layer[0].attention.self.query.weight.grad
    assert grad is not None and grad.abs().sum() > 0
