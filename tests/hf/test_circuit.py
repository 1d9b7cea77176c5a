"""``qattn_circuit``: the circuit backend inside transformers models (tiny configs, fast)."""

import pytest
import torch
from transformers import BertConfig, BertModel, LlamaConfig, LlamaModel

import qiskit_qattn.hf as hf
from qiskit_qattn.execution import LocalSampler


def tiny_bert(impl: str) -> BertModel:
    cfg = BertConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=16, vocab_size=50, max_position_embeddings=16,
                     attention_probs_dropout_prob=0.0, hidden_dropout_prob=0.0)
    cfg._attn_implementation = impl
    torch.manual_seed(0)
    return BertModel(cfg).eval()


@pytest.fixture(scope="module")
def inputs():
    ids = torch.randint(1, 50, (2, 6), generator=torch.Generator().manual_seed(1))
    mask = torch.ones(2, 6, dtype=torch.long)
    mask[1, 4:] = 0  # right padding
    return {"input_ids": ids, "attention_mask": mask}


def test_circuit_is_registered_and_statevector_heads_equal_eager_attention(inputs):
    assert "qattn_circuit" in hf.registered_implementations()
    with torch.no_grad():
        ref = tiny_bert("eager")(**inputs).last_hidden_state
        got = tiny_bert("qattn_circuit")(**inputs).last_hidden_state
    keep = inputs["attention_mask"].bool()
    torch.testing.assert_close(got[keep], ref[keep], atol=1e-6, rtol=0)


def test_causal_grouped_query_llama_equals_eager():
    cfg = LlamaConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=4, num_key_value_heads=2, vocab_size=64)
    torch.manual_seed(0)
    eager = LlamaModel(cfg).eval()
    eager.set_attn_implementation("eager")
    ids = torch.randint(1, 64, (1, 5), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = eager(input_ids=ids).last_hidden_state
        got = hf.patch_model(eager, "circuit")(input_ids=ids).last_hidden_state
    torch.testing.assert_close(got, ref, atol=1e-6, rtol=0)


def test_patch_model_device_noise_is_one_execution_per_module_call(inputs):
    """Unpadded input: every patched module call is one execution of all its heads' circuits."""
    infos = []
    model = hf.patch_model(tiny_bert("eager"), "circuit", layers=[1], family="warm_start",
                           device="fake_manila", shots=2000, seed=3, report=infos.append)
    assert infos == []  # patching checks the options without running circuits
    ids = inputs["input_ids"]
    with torch.no_grad():
        noisy = model(input_ids=ids).last_hidden_state
        ref = tiny_bert("eager")(input_ids=ids).last_hidden_state
    assert len(infos) == 1
    info = infos[0]
    assert info["executions"] == 1 and info["device"] == "fake_manila"
    assert info["num_circuits"] == 2 * 2 * 6  # batch x heads x queries
    err = (noisy - ref).abs().max().item()
    assert 1e-5 < err < 0.5  # noisy circuits: close, visibly not exact


def test_bad_circuit_options_fail_at_patch_time_without_running():
    model = tiny_bert("eager")
    with pytest.raises(ValueError, match="family must be one of"):
        hf.patch_model(model, "circuit", family="nope")
    with pytest.raises(ValueError, match="shots must be an integer >= 1"):
        hf.patch_model(model, "circuit", device="fake_manila", shots=0)
    with pytest.raises(ValueError, match="device"):
        hf.patch_model(model, "circuit", device="fake_nowhere")
    executor = LocalSampler(None, seed=0)
    hf.patch_model(model, "circuit", execution=executor)
    assert executor.executions == 0
