import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator
from qiskit_ibm_runtime.fake_provider import FakeTorino
from qiskit_ibm_runtime.options_models.estimator import EstimatorOptions
from qiskit_ibm_runtime.options_models.sampler import SamplerOptions

from qiskit_qattn.circuits import prepare_head
from qiskit_qattn.mitigation import apply_dynamical_decoupling, runtime_plan, schedule_idle
from qiskit_qattn.passes import active_qubits, compact_circuit, compile_circuits


@pytest.fixture(scope="module")
def torino():
    return FakeTorino()


@pytest.fixture(scope="module")
def isa(torino):
    rng = np.random.default_rng(9)
    q, k, v = rng.normal(size=(1, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
    return compile_circuits(prepare_head(q, k, v).circuits, torino, measure=True)[0]


def _operator(circuit):
    return Operator(compact_circuit(circuit.remove_final_measurements(inplace=False))[0])


@pytest.mark.parametrize("sequence", ["XX", "XY4"])
def test_dd_pads_idle_windows_and_keeps_the_unitary(isa, torino, sequence):
    padded = apply_dynamical_decoupling(isa, torino.target, sequence=sequence)[0]
    ops = padded.count_ops()
    assert ops.get("x", 0) > isa.count_ops().get("x", 0)
    assert ops["delay"] > 0
    # Pulses only on the qubits the circuit uses: nothing else becomes active.
    assert active_qubits(padded) == active_qubits(isa)
    assert _operator(padded).equiv(_operator(isa))
    assert set(ops) <= set(torino.target.operation_names) | {"barrier"}
    assert padded.metadata["dd_sequence"] == sequence


def test_schedule_idle_is_the_no_dd_reference(isa, torino):
    padded = schedule_idle(isa, torino.target)[0]
    assert padded.count_ops().get("x", 0) == isa.count_ops().get("x", 0)
    assert padded.count_ops()["delay"] > 0


def test_dd_bad_input(isa, torino):
    with pytest.raises(ValueError, match="sequence must be one of"):
        apply_dynamical_decoupling(isa, torino.target, sequence="UR8")
    with pytest.raises(ValueError, match="compiled for the target"):
        apply_dynamical_decoupling(QuantumCircuit(2), torino.target)
    with pytest.raises(TypeError, match="Target"):
        apply_dynamical_decoupling(isa, "torino")


def test_estimator_plan_maps_everything_server_side():
    plan = runtime_plan(["zne", "rem", "dd", "twirling"], primitive="estimator",
                        scale_factors=(1, 2, 3), extrapolation="linear")
    assert plan.server_side == ("zne", "rem", "dd", "twirling")
    assert plan.client_side == ()
    opts = EstimatorOptions(**plan.options)  # Runtime's own validation accepts the mapping
    assert opts.resilience_level == 0
    assert opts.resilience.zne_mitigation and opts.resilience.measure_mitigation
    assert list(opts.resilience.zne.noise_factors) == [1.0, 2.0, 3.0]
    assert opts.resilience.zne.extrapolator == "linear"
    assert opts.dynamical_decoupling.enable and opts.twirling.enable_gates


def test_estimator_plan_switches_off_what_was_not_asked():
    opts = EstimatorOptions(**runtime_plan(["dd"], primitive="estimator").options)
    assert opts.resilience.measure_mitigation is False
    assert opts.resilience.zne_mitigation is False


def test_sampler_plan_keeps_zne_and_rem_client_side():
    plan = runtime_plan(["zne", "rem", "dd"], dd_sequence="XY4")
    assert plan.client_side == ("zne", "rem")
    assert plan.server_side == ("dd",)
    opts = SamplerOptions(**plan.options)
    assert opts.dynamical_decoupling.sequence_type == "XY4"
    assert "resilience" not in plan.options


def test_user_options_are_merged_and_double_mitigation_refused():
    plan = runtime_plan(["dd"], user_options={"default_shots": 100,
                                              "dynamical_decoupling": {"enable": True}})
    assert plan.options["default_shots"] == 100
    with pytest.raises(ValueError, match="requested"):
        runtime_plan(["dd"], user_options={"dynamical_decoupling": {"enable": False}})
    # Our folding with the estimator: Runtime's ZNE must stay off, and may not be forced on.
    own = runtime_plan(["zne", "rem"], primitive="estimator", client_side=["zne"])
    assert own.client_side == ("zne",) and own.server_side == ("rem",)
    assert own.options["resilience"]["zne_mitigation"] is False
    with pytest.raises(ValueError, match="mitigate twice"):
        runtime_plan(["zne"], primitive="estimator", client_side=["zne"],
                     user_options={"resilience": {"zne_mitigation": True}})
    with pytest.raises(ValueError, match="mitigate twice"):
        runtime_plan(["dd"], client_side=["dd"],
                     user_options={"dynamical_decoupling": {"enable": True}})
    with pytest.raises(ValueError, match="resilience_level=1"):
        runtime_plan(["dd"], primitive="estimator", user_options={"resilience_level": 1})


def test_runtime_plan_bad_input():
    with pytest.raises(ValueError, match="unknown technique"):
        runtime_plan(["pec"])
    with pytest.raises(ValueError, match="primitive must be one of"):
        runtime_plan(["dd"], primitive="qpu")
    with pytest.raises(ValueError, match="only applied by Runtime"):
        runtime_plan(["twirling"], client_side=["twirling"])
    with pytest.raises(ValueError, match="unrequested"):
        runtime_plan(["dd"], client_side=["zne"])
    with pytest.raises(ValueError, match="no Runtime counterpart"):
        runtime_plan(["zne"], primitive="estimator", extrapolation="poly_exp")
