import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from qiskit_qattn.circuits import FAMILY_NAMES, get_family, prepare_head
from qiskit_qattn.encoding import masked_softmax

pytestmark = pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")


def test_prepare_head_metadata_and_errors(head):
    q, k, v = head
    h = prepare_head(q, k, v, family="qaoa", reps=1)
    assert [qc.metadata["query_index"] for qc in h.circuits] == list(range(q.shape[0]))
    assert all(qc.metadata["family"] == "qaoa" for qc in h.circuits)
    assert h.values.shape == (16, 3) and h.keep.shape == (5, 16) and h.keep[:, 11:].sum() == 0
    with pytest.raises(ValueError, match="Q and K must share"):
        prepare_head(q, k[:, :3], v)
    with pytest.raises(ValueError, match="V must have one row per key"):
        prepare_head(q, k, v[:4])
    with pytest.raises(ValueError, match="family must be one of"):
        prepare_head(q, k, v, family="nope")
    with pytest.raises(ValueError, match="must not be empty"):
        prepare_head(q, k[:0], v[:0])
    with pytest.raises(ValueError, match="mask"):
        prepare_head(q, k, v, mask=np.ones((2, 2), bool))
    with pytest.raises(ValueError, match=r"takes no option\(s\) \['window'\]"):
        prepare_head(q, k, v, family="qaoa", window=1)
    with pytest.raises(ValueError, match="no attended key"):
        prepare_head(q, k, v, mask=np.zeros((5, 11), bool))


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_head_key_order_matches_the_circuits_and_decodes_to_keys(rng, family):
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    mask = np.ones((3, 6), bool)
    mask[1, 2] = False
    h = prepare_head(q, k, v, family=family, mask=mask)
    probs = np.stack([Statevector(qc).probabilities() for qc in h.circuits])
    keyed = h.decode(probs)
    for i, qc in enumerate(h.circuits):
        np.testing.assert_array_equal(qc.metadata["key_order"], h.key_order[i])
        # the basis state holding key j carries key j's probability after decoding
        np.testing.assert_allclose(keyed[i, h.key_order[i]], probs[i], atol=0)
    if get_family(family).exact:
        np.testing.assert_allclose(keyed[:, :6], masked_softmax(q @ k.T / 2.0, mask=mask),
                                   atol=1e-10)


@pytest.mark.parametrize("num_keys", [2, 3, 4, 600])
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_every_family_builds_every_head_size(rng, family, num_keys):
    """Sizes outside the fitted m = 3..8 take the nearest stored schedule (never a KeyError)."""
    if num_keys > 64 and family in ("softmax_state", "qaoa", "amplification"):
        pytest.skip("large dense circuits: covered by the m = 3..8 tests")
    q, k, v = rng.normal(size=(2, 8)) * 2, rng.normal(size=(num_keys, 8)), np.ones((num_keys, 1))
    h = prepare_head(q, k, v, family=family)
    fid = []
    for i, qc in enumerate(h.circuits):
        amp = Statevector(qc).data
        fid.append(abs(np.vdot(np.sqrt(h.rows.probs[i]), amp)) ** 2)
        assert qc.metadata.get("schedule", "stored") != ""
    uniform = [np.sum(np.sqrt(h.rows.probs[i])) ** 2 / 2**h.num_qubits for i in range(2)]
    # better than doing nothing (the uniform superposition), and never NaN
    assert np.mean(fid) > np.mean(uniform) - 1e-9


def test_unfitted_options_raise_a_value_error_naming_what_is_stored(rng):
    q, k, v = rng.normal(size=(1, 4)), rng.normal(size=(8, 4)), np.ones((8, 1))
    with pytest.raises(ValueError, match="no stored schedule for options"):
        _ = prepare_head(q, k, v, family="born_machine", key_order="identity").circuits
    with pytest.raises(ValueError, match="window"):
        _ = prepare_head(q, k, v, family="warm_start", reps=1, window=1).circuits
    with pytest.raises(ValueError, match="depths"):
        _ = prepare_head(q, k, v, family="ma_qaoa", reps=7).circuits
