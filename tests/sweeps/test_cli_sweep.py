"""``qattn sweep`` through the CLI's ``main``: real MiniLM heads, the store, the heat map."""

import json

import numpy as np
import pytest

from qiskit_qattn.attention import exact_attention
from qiskit_qattn.cli import main
from qiskit_qattn.cli.sweep import parse_indices
from qiskit_qattn.data import capture_heads
from qiskit_qattn.runtime import JobStore


def test_parse_indices():
    assert parse_indices("0-2,7", 12, "--heads") == [0, 1, 2, 7]
    assert parse_indices("all", 6, "--layers") == list(range(6))
    for bad in ("12", "x", "3-1", ""):
        with pytest.raises(Exception, match="--heads"):
            parse_indices(bad, 12, "--heads")


@pytest.mark.parametrize("args, message", [
    (["--keys", "1"], "--keys"),
    (["--execution", "statevector", "--mitigation", "zne"], "exact"),
    (["--execution", "runtime", "--device", "ibm_torino"], "local testing mode"),
    (["--device", "none", "--mitigation", "rem"], "noisy device"),
    (["--layers", "6"], "--layers"),
    (["--workers", "0"], "--workers"),
])
def test_bad_input_is_a_clear_error(args, message, capsys, tmp_path):
    assert main(["sweep", "--store", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err


def test_sweep_real_minilm_heads_resumes_from_the_store(tmp_path, capsys):
    store, png = tmp_path / "store", tmp_path / "errors.png"
    args = ["sweep", "--layers", "1", "--heads", "0,5", "--keys", "6", "--queries", "3",
            "--family", "softmax_state", "--execution", "statevector", "--store", str(store)]
    assert main([*args, "--png", str(png), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["sweep"]["computed"] == 2 and first["png"] == str(png) and png.exists()
    assert first["max_relative_error"] < 1e-9
    grid = np.array(first["errors"], dtype=float)
    assert grid.shape == (6, 12) and np.isfinite(grid).sum() == 2
    # The stored outputs are MiniLM's attention: check them against exact attention here.
    heads = capture_heads(8)
    units = {r["label"]: r for r in JobStore(store).records(kind="unit")}
    assert set(units) == {"L1 H0", "L1 H5"}
    for head in (0, 5):
        q, k, v = heads.head(1, head)
        reference = exact_attention(q[1:4], k[1:7], v[1:7], scale=heads.scale)
        arrays, _ = JobStore(store).load_arrays(units[f"L1 H{head}"]["key"])
        np.testing.assert_allclose(arrays["values"], reference, atol=1e-10)
    assert main([*args, "--no-png"]) == 0
    text = capsys.readouterr().out
    assert "0 heads computed, 2 read from the store" in text
    assert text.count(" store\n") == 2  # the per-head table: both rows came from the store
