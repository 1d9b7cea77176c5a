"""``workers=`` of simulate() and estimate_attention: pieces joined back equal the unsplit call,
sampled results depend on the seed and not on the number of workers."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from qiskit.circuit.library import real_amplitudes

from qiskit_qattn.attention import estimate_attention, exact_attention
from qiskit_qattn.execution import StatevectorExecutor
from qiskit_qattn.sim import qaoa_problem, simulate
from qiskit_qattn.sim.parallel import simulate_on_workers
from qiskit_qattn.sweeps import InProcessWorkers


@pytest.fixture(scope="module")
def pools():
    with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(3) as three:
        yield one, three


def test_problem_with_per_head_values_splits_along_queries_and_heads(rng, pools):
    scores = rng.normal(size=(3, 10, 8))
    V = rng.normal(size=(3, 8, 2))  # one value array per head
    problem = qaoa_problem(scores, reps=2)
    whole = simulate(problem, V)
    for pieces in (2, 5):  # split axis: heads (2 pieces) ... always the first axis longer than 1
        split = simulate_on_workers(pools[1], problem, V, pieces=pieces)
        np.testing.assert_allclose(split.values, whole.values, atol=1e-12)
        assert split.batch_shape == (3, 10)
    single = qaoa_problem(scores[:1], reps=2)  # [1, 10]: splits its queries
    part = simulate_on_workers(pools[1], single, V[:1], pieces=4)
    np.testing.assert_allclose(part.values, simulate(single, V[:1]).values, atol=1e-12)
    assert part.metadata["split"]["axis"] == 1


def test_circuits_and_parameter_sets_split(rng, pools):
    ansatz = real_amplitudes(3, reps=1)
    params = rng.normal(size=(7, ansatz.num_parameters))
    whole = simulate(ansatz, "ZZI", parameter_values=params)
    split = simulate(ansatz, "ZZI", parameter_values=params, workers=pools[1])
    np.testing.assert_allclose(split.values, whole.values, atol=1e-12)
    circuits = [ansatz.assign_parameters(p) for p in params]
    probs = simulate(circuits, return_probabilities=True, workers=pools[1])
    np.testing.assert_allclose(probs.probabilities,
                               simulate(circuits, return_probabilities=True).probabilities,
                               atol=1e-12)


def test_sampled_results_depend_on_the_seed_not_on_the_worker_count(rng, pools):
    problem = qaoa_problem(rng.normal(size=(20, 8)), reps=1)
    V = rng.normal(size=(8, 2))
    one = simulate(problem, V, shots=400, seed=5, workers=pools[0])
    three = simulate(problem, V, shots=400, seed=5, workers=pools[1])
    here = simulate(problem, V, shots=400, seed=5, workers=InProcessWorkers())
    np.testing.assert_array_equal(one.values, three.values)
    np.testing.assert_array_equal(one.values, here.values)
    assert one.counts == three.counts and len(one.counts) == 20
    other = simulate(problem, V, shots=400, seed=6, workers=pools[1])
    assert not np.array_equal(other.values, one.values)
    exact = simulate(problem, V).values
    assert np.abs(one.values - exact).max() < 6 * one.std_errors.max()


def test_estimate_attention_split_matches_exact_and_keeps_masks(head, pools):
    Q, K, V = head
    mask = np.ones((Q.shape[0], K.shape[0]), dtype=bool)
    mask[1, :4] = False
    mask[3, 7:] = False
    est = estimate_attention(Q, K, V, family="softmax_state", mask=mask, workers=pools[1])
    np.testing.assert_allclose(est.values, exact_attention(Q, K, V, mask=mask), atol=1e-10)
    assert est.weights.shape == (Q.shape[0], K.shape[0]) and est.batch is None
    assert est.head.num_queries == Q.shape[0] and est.metadata["split"]["pieces"] == 5
    noisy = [estimate_attention(Q[:3], K, V, family="warm_start", execution="shots",
                                device="fake_manila", shots=1000, seed=3, mitigation="rem",
                                workers=pool) for pool in pools]
    np.testing.assert_array_equal(noisy[0].values, noisy[1].values)
    assert noisy[0].mitigation.raw_values.shape[1] == 3
    assert noisy[0].mitigation.total_shots > 3 * 1000


def test_bad_workers_and_inputs_are_clear_errors(head, pools):
    Q, K, V = head
    with pytest.raises(TypeError, match="map"):
        simulate(qaoa_problem(np.zeros((2, 4))), workers=object())
    with pytest.raises(TypeError, match="execution must be a name"):
        estimate_attention(Q, K, V, execution=StatevectorExecutor(), workers=pools[0])
    with pytest.raises(ValueError, match="V must have one row per key"):
        estimate_attention(Q, K, V[:3], workers=pools[0])
    with pytest.raises(ValueError, match="method must be one of"):
        simulate(qaoa_problem(np.zeros((2, 4))), method="nope", workers=pools[0])
