import subprocess
import sys

import pytest


def test_import_is_light():
    code = (
        "import sys, qiskit_qattn; "
        "heavy = [m for m in ('torch', 'numba', 'transformers', 'qiskit_aer', 'quimb') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_top_level_names():
    import qiskit_qattn

    assert callable(qiskit_qattn.estimate_attention)
    with pytest.raises(AttributeError):
        qiskit_qattn.not_a_thing  # noqa: B018


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "qiskit_qattn.cli", "--help"],
                         capture_output=True, text=True, check=True)
    assert "demo" in out.stdout


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path):
    from qiskit_qattn.cli import main

    png = tmp_path / "demo.png"
    md = tmp_path / "RESULTS.md"
    assert main(["demo", "--keys", "8", "--queries", "2", "--shots", "2000", "--no-runtime",
                 "--png", str(png), "--results-md", str(md)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    text = md.read_text()
    assert "softmax_state" in text and "qaoa" in text


@pytest.mark.slow
def test_demo_rows_cover_every_family_and_the_mitigated_run(tmp_path):
    from qiskit_qattn.demo import DemoConfig, run_demo

    result = run_demo(DemoConfig(num_keys=8, num_queries=2, shots=2000, runtime=False,
                                 png=str(tmp_path / "d.png")), progress=lambda _: None)
    from qiskit_qattn.circuits import DEFAULT_FAMILY, FAMILY_NAMES

    rows = {(r.family, r.execution, r.note.split(":")[0]): r for r in result.rows}
    assert rows[("softmax_state", "statevector", "exact probabilities")].relative_error < 1e-9
    for family in FAMILY_NAMES:
        assert (family, "shots", "device noise") in rows
    mitigated = rows[(DEFAULT_FAMILY, "shots", "device noise, ZNE+REM")]
    assert mitigated.relative_error < rows[(DEFAULT_FAMILY, "shots", "device noise")].relative_error
