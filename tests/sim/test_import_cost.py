"""Importing the package and qiskit_qattn.sim stays cheap and compiles no Numba kernel."""

import json
import subprocess
import sys

HEAVY = ("numba", "quimb", "qiskit_aer", "torch", "transformers")


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_sim_import_loads_no_heavy_backend_and_is_cheap_relative_to_qiskit():
    code = (
        "import json, sys, time\n"
        "t0 = time.perf_counter(); import qiskit; t1 = time.perf_counter()\n"
        "import qiskit_qattn, qiskit_qattn.sim; t2 = time.perf_counter()\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(json.dumps({'qiskit': t1 - t0, 'ours': t2 - t1, 'heavy': heavy}))\n"
    )
    out = _run(code)
    assert out["heavy"] == []
    # relative, not absolute: our import adds less than importing qiskit itself costs
    assert out["ours"] < out["qiskit"]


def test_kernel_module_compiles_nothing_at_import():
    code = (
        "import json\n"
        "from numba.core.registry import CPUDispatcher\n"
        "import qiskit_qattn.sim._kernels as k\n"
        "disp = {n: f for n, f in vars(k).items() if isinstance(f, CPUDispatcher)}\n"
        "print(json.dumps({'n': len(disp), 'compiled': [n for n, f in disp.items() "
        "if f.signatures], 'cache': all(f._cache.__class__.__name__ != 'NullCache' "
        "for f in disp.values())}))\n"
    )
    out = _run(code)
    assert out["n"] >= 8
    assert out["compiled"] == []
    assert out["cache"]  # cache=True on every kernel
