import json

import pytest

from qiskit_qattn.cli import main


def test_resources_json_on_a_random_head(capsys):
    assert main(["resources", "--random", "--keys", "8", "--queries", "2", "--family",
                 "warm_start", "--device", "fake_torino", "--seeds", "1", "--no-physical",
                 "--no-surface-code", "--no-device-noise", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["family"] == "warm_start" and data["num_keys"] == 8
    assert data["logical"]["key_qubits"] == 3
    assert data["logical"]["compiled"]["two_qubit_gates"] > 0
    assert data["ideal_shots"]["target_error"] == 0.1
    assert data["physical"] == [] and data["surface_code"] is None
    assert any("gridsynth" in a for a in data["assumptions"])


def test_resources_text_report_with_qdk_and_surface_code(capsys):
    assert main(["resources", "--random", "--keys", "4", "--queries", "1", "--seeds", "1",
                 "--surface-shots", "3000", "--no-device-noise"]) == 0
    out = capsys.readouterr().out
    for piece in ("Logical resources", "T-count", "Shots for 10% relative output error",
                  "qubit_maj_ns_e6", "floquet_code", "Surface-code memory on fake_torino",
                  "Lambda", "Assumptions:"):
        assert piece in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--keys", "1"], "--keys must be >= 2"),
        (["--precision", "0"], "precision"),
        (["--precision", "-0.01"], "precision"),
        (["--target-error", "0"], "target_error"),
        (["--error-budget", "1.5"], "--error-budget"),
    ],
)
def test_bad_input_is_a_clear_error(argv, message, capsys):
    assert main(["resources", "--random", "--device", "none", *argv]) == 2
    err = capsys.readouterr().err
    assert "qattn resources: error:" in err and message in err


def test_unknown_family_is_a_clear_error(capsys):
    assert main(["resources", "--family", "transformer", "--device", "none"]) == 2
    err = capsys.readouterr().err
    assert "family must be one of" in err and "'transformer'" in err


def test_building_the_parser_imports_nothing_heavy():
    import subprocess
    import sys

    mods = ("qiskit_qattn.resources", "qdk", "stim", "torch")
    code = ("import sys; from qiskit_qattn.cli import build_parser; build_parser(); "
            f"print([m for m in {mods!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
