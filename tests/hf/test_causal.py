"""Causal models: MiniLM's real weights run as a decoder, and a small grouped-query Llama."""

import pytest
import torch
from transformers import LlamaConfig, LlamaModel

import qiskit_qattn.hf as hf


def run(model, **enc):
    with torch.no_grad():
        return model(**enc)


@pytest.fixture(scope="module")
def decoder_batch(tokenizer, passages):
    return tokenizer(passages[:2], padding=True, return_tensors="pt")


def test_minilm_as_a_decoder_equals_sdpa(load, decoder_batch):
    ref = run(load("sdpa", is_decoder=True), **decoder_batch).last_hidden_state
    got = run(load("qattn_exact", is_decoder=True), **decoder_batch).last_hidden_state
    keep = decoder_batch["attention_mask"].bool()
    torch.testing.assert_close(got[keep], ref[keep], atol=1e-5, rtol=0)
    bidirectional = run(load("qattn_exact"), **decoder_batch).last_hidden_state
    assert (bidirectional[keep] - ref[keep]).abs().max() > 1e-2  # causality really changed it


@pytest.mark.parametrize("backend, options", [("exact", {}), ("quantum-sim", {"shots": None})])
def test_later_tokens_cannot_change_earlier_ones(load, tokenizer, passages, backend, options):
    model = hf.patch_model(load(is_decoder=True), backend, **options)
    full = tokenizer(passages[1], return_tensors="pt")
    n = 6
    prefix = {k: v[:, :n] for k, v in full.items()}
    torch.testing.assert_close(run(model, **full).last_hidden_state[:, :n],
                               run(model, **prefix).last_hidden_state, atol=1e-5, rtol=0)


@pytest.mark.parametrize("backend", ["classical", "phase0-proto", "quantum-sim"])
def test_sampling_backends_put_no_weight_on_future_or_padding_keys(load, decoder_batch,
                                                                   backend):
    sel = {"layers": [0], "heads": [0, 1, 2]} if backend == "classical" else {}
    model = hf.patch_model(load(is_decoder=True), backend, seed=1, **sel)
    attentions = run(model, **decoder_batch, output_attentions=True).attentions
    L = decoder_batch["input_ids"].shape[1]
    future = torch.ones(L, L, dtype=torch.bool).triu(1)
    pad = ~decoder_batch["attention_mask"].bool()[:, None, None, :]
    forbidden = future[None, None] | pad
    for w in attentions:
        assert torch.all(w.masked_select(forbidden) == 0)


@pytest.fixture(scope="module")
def llama_inputs():
    ids = torch.randint(1, 128, (2, 9), generator=torch.Generator().manual_seed(0))
    mask = torch.ones(2, 9, dtype=torch.long)
    mask[1, :4] = 0  # left padding, as for generation
    return {"input_ids": ids, "attention_mask": mask}


def llama(impl):
    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
                      num_hidden_layers=2, intermediate_size=128, vocab_size=128)
    model = LlamaModel(cfg).eval()
    model.set_attn_implementation(impl)
    return model


@pytest.mark.parametrize("impl", ["qattn_exact", "qattn_quantum-sim"])
def test_grouped_query_llama_with_left_padding_equals_sdpa(llama_inputs, impl):
    ref = run(llama("sdpa"), **llama_inputs).last_hidden_state
    model = llama(impl)
    if impl == "qattn_quantum-sim":
        hf.patch_model(model, "quantum-sim", shots=None)
    got = run(model, **llama_inputs).last_hidden_state
    keep = llama_inputs["attention_mask"].bool()
    torch.testing.assert_close(got[keep], ref[keep], atol=1e-5, rtol=0)


def test_llama_generates_the_same_tokens_with_qattn_exact(llama_inputs):
    from transformers import GenerationConfig, LlamaForCausalLM

    outs = []
    for impl in ("sdpa", "qattn_exact"):
        torch.manual_seed(0)
        cfg = LlamaConfig(hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
                          num_hidden_layers=2, intermediate_size=128, vocab_size=128,
                          pad_token_id=0, bos_token_id=1, eos_token_id=2)
        model = LlamaForCausalLM(cfg).eval()
        model.set_attn_implementation(impl)
        gen = GenerationConfig(max_new_tokens=5, do_sample=False, pad_token_id=0)
        with torch.no_grad():
            outs.append(model.generate(**llama_inputs, generation_config=gen))
    assert torch.equal(outs[0], outs[1])
