"""Subpackages depend downward only: a test that fails on any upward import or cycle.

Every import of a ``qiskit_qattn`` module (module level, lazy inside functions, and the string
targets of lazy ``__getattr__`` tables) is read from the source with ``ast``. A subpackage may
import only subpackages that stand before it in :data:`LAYERS` (or the leaves it is allowed).
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "qiskit_qattn"

#: Bottom to top; each entry may import only entries before it.
LAYERS = ("encoding", "circuits", "passes", "noise", "sim", "runtime", "execution", "mitigation",
          "attention", "nn", "fitting", "qml", "hf", "resources", "sweeps", "demo", "cli")
#: Leaves: import nothing above ``circuits``; anyone may import them.
LEAVES = ("data", "viz", "interop")
#: Top-level modules: may import everything.
TOP = ("__init__", "__main__")


def _subpackage(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    pkg = list(rel.parts[:-1])  # the package a relative import starts from
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name == "qiskit_qattn":
                out.update(f"qiskit_qattn.{a.name}" for a in node.names)
            elif name.startswith("qiskit_qattn."):
                out.add(name)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("qiskit_qattn."))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith("qiskit_qattn.") and " " not in node.value:
                out.add(node.value)
    return {name.split(".")[1] for name in out if len(name.split(".")) > 1}


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        src = _subpackage(path)
        targets = {t for t in _imports(path) if t != src}
        edges.setdefault(src, set()).update(targets)
    return edges


def _allowed(src: str, dst: str) -> bool:
    if src in TOP:
        return True
    if dst in LEAVES:
        return True
    if src in LEAVES:
        return dst in ("encoding", "circuits")
    if src not in LAYERS or dst not in LAYERS:
        return False
    return LAYERS.index(dst) < LAYERS.index(src)


def test_every_subpackage_is_placed_in_the_layering():
    names = {_subpackage(p) for p in PACKAGE.rglob("*.py")}
    unknown = sorted(names - set(LAYERS) - set(LEAVES) - set(TOP))
    assert not unknown, f"place {unknown} in tests/test_layering.py LAYERS or LEAVES"


def test_imports_point_downward_only():
    bad = sorted((src, dst) for src, dsts in _edges().items() for dst in dsts
                 if not _allowed(src, dst))
    assert not bad, f"upward or sideways imports (subpackage -> imported): {bad}"


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    """The reader itself must catch a lazy relative import and a lazy-table string."""
    src = tmp_path / "qiskit_qattn" / "circuits" / "bad.py"
    src.parent.mkdir(parents=True)
    src.write_text("def f():\n    from ..attention import estimate_attention\n"
                   "_LAZY = {'x': 'qiskit_qattn.nn.multihead'}\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "qiskit_qattn"
    try:
        assert _imports(src) == {"attention", "nn"}
        assert not _allowed("circuits", "attention")
    finally:
        PACKAGE = saved


@pytest.mark.parametrize(("src", "dst", "ok"), [("attention", "execution", True),
                                                ("execution", "attention", False),
                                                ("viz", "attention", False),
                                                ("nn", "viz", True)])
def test_layer_rule(src, dst, ok):
    assert _allowed(src, dst) is ok
