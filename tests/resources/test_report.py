import numpy as np

from qiskit_qattn.resources import resource_report


def test_report_sections_and_markdown(small_head, torino):
    Q, K, V = small_head
    rep = resource_report(Q, K, V, "softmax_state", device=torino, seeds=(0,),
                          physical=True, surface_code=False, probe_shots=200_000,
                          qubit_models=("qubit_gate_ns_e3", "qubit_maj_ns_e6"))
    titles = [t for t, _, _ in rep.tables()]
    assert titles[0].startswith("Logical resources")
    assert any(t.startswith("Shots for 10%") for t in titles)
    assert any(t.startswith("Fault-tolerant estimate") for t in titles)
    assert {(p.qubit_model, p.qec_scheme) for p in rep.physical} == {
        ("qubit_gate_ns_e3", "surface_code"), ("qubit_maj_ns_e6", "surface_code"),
        ("qubit_maj_ns_e6", "floquet_code")}
    # the device adds bias: the noisy floor exceeds the ideal one
    assert rep.device_shots["floor"] > rep.ideal_shots.floor
    md = rep.markdown()
    assert md.count("| qubit model |") == 1 and "Assumptions:" in md
    d = rep.as_dict()
    assert d["logical"]["key_qubits"] == 3 and len(d["physical"]) == 3
    assert np.isfinite(d["ideal_shots"]["shots"])
