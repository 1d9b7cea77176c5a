"""The ``qattn`` console script, run as a user runs it (``.venv/bin/qattn``)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator, Statevector

from qiskit_qattn.interop import load_circuits, save_circuits

SCRIPT = Path(sys.executable).with_name("qattn")


def qattn(*args, env=None, check=True):
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    out = subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                         env=full_env, timeout=300)
    if check and out.returncode != 0:
        raise AssertionError(f"qattn {args} exited {out.returncode}: {out.stderr[-2000:]}")
    return out


@pytest.fixture(scope="module", autouse=True)
def _script_installed():
    if not SCRIPT.exists():
        pytest.skip("console script not installed (pip install -e .)")


def test_help_lists_every_command():
    out = qattn("--help").stdout
    for command in ("demo", "transpile", "run", "bench"):
        assert command in out
    run = qattn("run", "--help").stdout
    from qiskit_qattn.circuits import FAMILY_NAMES

    assert all(family in run for family in FAMILY_NAMES) and "--device" in run
    demo = qattn("demo", "--help").stdout
    for option in ("--keys", "--queries", "--shots", "--no-runtime", "--json", "--results-md"):
        assert option in demo


def test_transpile_builtin_head_to_qpy_matches_logical_circuits(tmp_path):
    out = qattn("transpile", "--random", "--keys", "6", "--queries", "2", "--family",
                "softmax_state", "--device", "fake_manila", "-o", tmp_path / "head.qpy",
                "--json")
    report = json.loads(out.stdout)
    assert report["device"] == "fake_manila" and len(report["circuits"]) == 2
    assert report["outputs"] == [str(tmp_path / "head.qpy")]
    compiled = load_circuits(tmp_path / "head.qpy")
    # Rebuild the same seeded head and check each compiled circuit against its logical one.
    from qiskit_qattn.circuits import prepare_head

    rng = np.random.default_rng(7)
    q, k, v = rng.normal(size=(2, 16)), rng.normal(size=(6, 16)), rng.normal(size=(6, 2))
    for logical, isa in zip(prepare_head(q, k, v).circuits, compiled, strict=True):
        # Compilation may use the |0> input, so compare the prepared key distributions.
        where = isa.layout.final_index_layout()[: logical.num_qubits]
        np.testing.assert_allclose(Statevector(isa).probabilities(where),
                                   Statevector(logical).probabilities(), atol=1e-9)
    assert report["circuits"][0]["two_qubit_gates"] == sum(
        1 for inst in compiled[0].data if inst.operation.num_qubits == 2)


def test_transpile_qasm3_file_to_qasm3_with_text_report(tmp_path):
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(1, 2)
    src = save_circuits(qc, tmp_path / "ghz.qasm")[0]
    out = qattn("transpile", src, "--device", "fake_manila", "-O", "1", "-o",
                tmp_path / "ghz_isa.qasm")
    assert "fake_manila" in out.stdout and "2q gates" in out.stdout
    back = load_circuits(tmp_path / "ghz_isa.qasm")[0]
    assert Operator.from_circuit(back).equiv(Operator(qc))


def test_transpile_unknown_optimization_method_is_a_clear_error():
    out = qattn("transpile", "--random", "--keys", "4", "--queries", "1", "--device",
                "fake_manila", "--optimization-method", "no_such_plugin", check=False)
    assert out.returncode == 2
    assert "no_such_plugin" in out.stderr and "Traceback" not in out.stderr


def test_run_local_mode_json_and_resume_from_store(tmp_path):
    args = ("run", "--random", "--device", "fake_manila", "--family", "softmax_state",
            "--keys", "4", "--queries", "2", "--shots", "4000", "--store", tmp_path, "--json")
    first = json.loads(qattn(*args).stdout)
    assert first["metadata"]["attempts"] == 1 and len(first["metadata"]["job_ids"]) == 1
    values, exact = np.array(first["values"]), np.array(first["exact"])
    assert values.shape == exact.shape == (2, 2)
    assert first["relative_error"] < 0.3  # noisy fake device, 4000 shots
    assert first["metadata"]["cost_preview"]["total_shots"] == 8000
    second = json.loads(qattn(*args).stdout)
    assert second["metadata"]["job_ids"] == first["metadata"]["job_ids"]  # fetched from the store
    np.testing.assert_array_equal(second["values"], first["values"])
    from qiskit_qattn.runtime import JobStore

    records = JobStore(tmp_path).records()
    assert len(records) == 1 and records[0]["status"] == "done"


def test_run_dry_run_submits_nothing(tmp_path):
    out = qattn("run", "--random", "--device", "fake_manila", "--keys", "4", "--queries", "3",
                "--family", "qaoa", "--shots", "100", "--store", tmp_path, "--dry-run", "--json")
    payload = json.loads(out.stdout)
    assert payload["submitted"] is False
    assert payload["cost_preview"]["circuits"] == 3 and payload["cost_preview"]["pubs"] == 1
    assert not list(tmp_path.glob("*.json"))


def test_run_with_mitigation_is_one_resumable_job(tmp_path):
    args = ("run", "--random", "--device", "fake_manila", "--keys", "4", "--queries", "1",
            "--shots", "500", "--mitigation", "zne+rem", "--store", tmp_path, "--json")
    first = json.loads(qattn(*args).stdout)
    report = first["mitigation_report"]
    assert report["techniques"] == ["zne", "rem"] and report["client_side"] == ["zne", "rem"]
    # 3 folds of one query + 2 tensored calibration circuits, all in the job the preview priced
    assert report["num_circuits"] == 5 == first["metadata"]["cost_preview"]["circuits"]
    assert len(first["metadata"]["job_ids"]) == 1
    second = json.loads(qattn(*args).stdout)  # from the store: nothing resubmitted
    assert second["metadata"]["job_ids"] == first["metadata"]["job_ids"]
    np.testing.assert_array_equal(second["values"], first["values"])
    bad = qattn("run", "--random", "--device", "fake_manila", "--store", tmp_path,
                "--mitigation", "zne+magic", check=False)
    assert bad.returncode == 2 and "magic" in bad.stderr and "Traceback" not in bad.stderr


def test_run_ibm_backend_without_account_fails_cleanly(tmp_path):
    env = {k: "" for k in os.environ if k.startswith("QISKIT_IBM")}
    env.update({"HOME": str(tmp_path), "QISKIT_IBM_TOKEN": ""})
    out = qattn("run", "--random", "--device", "ibm_nowhere", "--store", tmp_path, env=env,
                check=False)
    assert out.returncode == 1
    assert "ibm_nowhere" in out.stderr and "Traceback" not in out.stderr


def test_bench_quick_json_and_results_md(tmp_path):
    md = tmp_path / "RESULTS.md"
    out = qattn("bench", "--quick", "--device", "fake_manila", "--queries", "2", "--json",
                "--families", "softmax_state", "qaoa", "--results-md", md)
    rows = json.loads(out.stdout)["rows"]
    assert [(r["keys"], r["family"]) for r in rows] == [
        (4, "softmax_state"), (4, "qaoa"), (8, "softmax_state"), (8, "qaoa")]
    exact_rows = [r for r in rows if r["family"] == "softmax_state"]
    assert all(r["relative_error"] < 1e-8 for r in exact_rows)
    assert all(r["two_qubit_gates"] > 0 for r in rows if r["keys"] == 8)
    assert "qattn bench" in md.read_text()


def _assert_random_qaoa_head_kept(path):
    """The compiled `--random --keys 8 --queries 1` QAOA head prepares the logical state."""
    from qiskit_qattn.circuits import prepare_head

    rng = np.random.default_rng(7)
    q, k, v = rng.normal(size=(1, 16)), rng.normal(size=(8, 16)), rng.normal(size=(8, 2))
    (logical,) = prepare_head(q, k, v, family="qaoa", reps=2).circuits
    (isa,) = load_circuits(path)
    where = isa.layout.final_index_layout()[: logical.num_qubits]
    np.testing.assert_allclose(Statevector(isa).probabilities(where),
                               Statevector(logical).probabilities(), atol=1e-6)


def test_transpile_with_qattn_optimization_plugin(tmp_path):
    from qiskit.transpiler.preset_passmanagers.plugin import list_stage_plugins

    if "qattn" not in list_stage_plugins("optimization"):
        pytest.skip("the qattn optimization plugin is not registered in this install")
    out = qattn("transpile", "--random", "--keys", "8", "--queries", "1", "--device",
                "fake_manila", "--optimization-method", "qattn", "-o", tmp_path / "q.qpy",
                "--json")
    report = json.loads(out.stdout)
    assert report["optimization_method"] == "qattn"
    _assert_random_qaoa_head_kept(tmp_path / "q.qpy")


def test_transpile_with_both_qattn_stages(tmp_path):
    from qiskit.transpiler.preset_passmanagers.plugin import list_stage_plugins

    if "qattn" not in list_stage_plugins("init"):
        pytest.skip("the qattn init plugin is not registered in this install")
    out = qattn("transpile", "--random", "--keys", "8", "--queries", "1", "--device",
                "fake_manila", "--init-method", "qattn", "--optimization-method", "qattn",
                "-o", tmp_path / "q.qpy", "--json")
    report = json.loads(out.stdout)
    assert report["init_method"] == "qattn"
    _assert_random_qaoa_head_kept(tmp_path / "q.qpy")
