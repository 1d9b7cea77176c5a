import numpy as np
import pytest
import torch

from qiskit_qattn.attention import exact_attention, exact_attention_weights


def test_matches_torch_sdpa(head):
    q, k, v = head
    ref = torch.nn.functional.scaled_dot_product_attention(
        torch.tensor(q)[None], torch.tensor(k)[None], torch.tensor(v)[None]
    )[0].numpy()
    np.testing.assert_allclose(exact_attention(q, k, v), ref, atol=1e-12)


def test_mask_matches_torch_bool_mask(head, rng):
    q, k, v = head
    keep = rng.random((q.shape[0], k.shape[0])) > 0.5
    keep[:, 0] = True
    ref = torch.nn.functional.scaled_dot_product_attention(
        torch.tensor(q)[None], torch.tensor(k)[None], torch.tensor(v)[None],
        attn_mask=torch.tensor(keep)[None],
    )[0].numpy()
    np.testing.assert_allclose(exact_attention(q, k, v, keep), ref, atol=1e-12)


def test_accepts_torch_tensors_and_temperature(head):
    q, k, v = head
    out = exact_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v), temperature=2.0)
    w = exact_attention_weights(q, k, scale=1 / np.sqrt(8) / 2.0)
    np.testing.assert_allclose(out, w @ v, atol=1e-12)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (lambda q, k, v: (q, k, v[:-1]), "V must have one row per key"),
        (lambda q, k, v: (q[:, :2], k, v), "Q and K must share"),
        (lambda q, k, v: (q, k[:0], v[:0]), "K must not be empty"),
        (lambda q, k, v: (np.where(q > 1, np.nan, q), k, v), "Q must be finite"),
    ],
)
def test_bad_input(head, args, match):
    with pytest.raises(ValueError, match=match):
        exact_attention(*args(*head))


def test_fully_masked_row_is_an_error(head):
    q, k, v = head
    keep = np.ones((q.shape[0], k.shape[0]), bool)
    keep[2] = False
    with pytest.raises(ValueError, match="mask"):
        exact_attention(q, k, v, keep)
