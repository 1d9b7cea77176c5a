"""Circuits of the attention QNNs, with their input/weight parameters and observables.

Three families, all angle-encoded (every gate angle is a polynomial in the parameters, so the
circuits transpile to a device's ISA *before* binding and the parameter-shift rule applies; no
``RawFeatureVector``/``initialize``, which break both, qiskit-machine-learning #243 and #669):

- :func:`qsann_circuit`: the QSANN block of Li et al. (2022) for one token. Three registers
  (query, key, value) of ``token_dim`` qubits each run the variational block of
  :mod:`qiskit_qattn.circuits.variational` on the same angle-encoded token with their own
  weights; ``<Z>`` of the registers are the token's query, key and value features. The Gaussian
  softmax over tokens is classical (:class:`~qiskit_qattn.qml.models.QSANNAttention`).
- :func:`self_attention_circuit`: a whole attention layer over ``T`` tokens in one circuit. A key
  register of ``m = ceil(log2 T)`` qubits is prepared, by a tree of multiplexed ``RY`` rotations,
  in ``sum_t sqrt(p_t)|t>`` with content-based weights (below); multiplexed ``RY`` rotations on
  value qubits load ``cos(psi_tc)`` per key, so ``<Z_c> = sum_t p_t cos(psi_tc)``: the attention
  output is an expectation value and, with shots, a Born-rule sample of keys (DESIGN §2).
- :func:`key_distribution_circuit`: the key register alone, measured: the attention row itself.

Attention weights of the key tree. Token ``t`` has features ``x_t`` (``token_dim`` angles). A
query ``u`` (learned vector, or ``W^T x_s`` for token ``s`` as query) scores key ``t`` by
``s_t = u . x_t``. Each internal tree node splits its keys into halves ``L`` and ``R``; with
``Δ = mean_R(s) - mean_L(s) + b_node`` (``b_node`` a learned positional bias) the node sends
probability ``(1 + sin Δ) / 2`` to ``R`` (its ``RY`` angle is ``π/2 + Δ``), so
``p_t = prod_nodes (1 ± sin Δ_node) / 2``: a hierarchical (tree) softmax with a sine link, exact
in amplitude, positive, normalised, and equal to uniform attention at zero scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from qiskit import QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter, ParameterExpression, ParameterVector
from qiskit.quantum_info import SparsePauliOp

from ..circuits import variational_block
from .layout import METADATA_KEY, QNNLayout
from .multiplexer import multiplexed_ry

#: Widest circuit these builders make (exact simulation of every row must stay cheap).
MAX_QUBITS = 16
QUERIES = ("learned", "tokens")
READOUTS = ("mean", "tokens")

Angle = float | ParameterExpression


@dataclass
class AttentionCircuit:
    """A logical (unmeasured) QNN circuit with its parameters, observables and layout.

    Attributes:
        circuit: the circuit; ``metadata["qattn_qnn_layout"]`` holds :attr:`layout`.
        input_params: QNN inputs, in QNN order.
        weight_params: QNN weights, in QNN order.
        observables: one observable per estimator output (empty for sampler circuits).
        key_qubits: qubits whose outcome is the key (sampler circuits), else ``None``.
        layout: what each input, weight and output means.
    """

    circuit: QuantumCircuit
    input_params: list[Parameter]
    weight_params: list[Parameter]
    observables: list[SparsePauliOp]
    key_qubits: list[int] | None
    layout: QNNLayout


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
        high is not None and value > high
    ):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {bound}; got {value!r}")
    return value


def _z(qubit: int, num_qubits: int, coeff: float = 1.0) -> SparsePauliOp:
    return SparsePauliOp.from_sparse_list([("Z", [qubit], coeff)], num_qubits)


def _finish(
    qc: QuantumCircuit, inputs, weights, observables, key_qubits, layout
) -> AttentionCircuit:
    qc.metadata = {**(qc.metadata or {}), METADATA_KEY: layout.to_dict()}
    return AttentionCircuit(qc, list(inputs), list(weights), observables, key_qubits, layout)


def qsann_circuit(
    token_dim: int,
    *,
    reps: int = 1,
    score_dim: int = 1,
    entanglement: str = "pairwise",
) -> AttentionCircuit:
    """QSANN query/key/value features of one token as one circuit (three registers).

    Layout: inputs ``x[i]`` (token feature ``i``, an ``RY`` angle); weights ``θ_q``, ``θ_k``,
    ``θ_v`` of the three variational blocks, each ``(2 reps + 1) token_dim`` long, in block order
    (see :func:`qiskit_qattn.circuits.variational_block`); outputs ``q[0..score_dim-1]``,
    ``k[0..score_dim-1]``, ``v[0..token_dim-1]`` (``<Z>`` of the register's qubits).

    Args:
        token_dim: features per token = qubits per register (``3 * token_dim <= 16``).
        reps: entangling layers of each block.
        score_dim: query/key features (``<= token_dim``); QSANN uses 1.
        entanglement: CX pattern of the blocks.

    Example:
        >>> ac = qsann_circuit(2, reps=1)
        >>> ac.circuit.num_qubits, len(ac.input_params), len(ac.weight_params)
        (6, 2, 18)
        >>> ac.layout.outputs
        ('q[0]', 'k[0]', 'v[0]', 'v[1]')
    """
    n = _check_int("token_dim", token_dim, 1, MAX_QUBITS // 3)
    _check_int("reps", reps, 0)
    s = _check_int("score_dim", score_dim, 1, n)
    x = ParameterVector("x", n)
    registers = [QuantumRegister(n, role) for role in ("q", "k", "v")]
    qc = QuantumCircuit(*registers, name="qsann_qkv")
    weights: list[Parameter] = []
    for r, role in enumerate(("q", "k", "v")):
        block = variational_block(n, reps, entanglement=entanglement, input_prefix=f"x_{role}",
                                  weight_prefix=f"θ_{role}")
        by_name = {p.name: p for p in block.parameters}
        block = block.assign_parameters(
            {by_name[name]: x[i] for i, name in enumerate(block.metadata["input_parameters"])}
        )
        weights += [by_name[name] for name in block.metadata["weight_parameters"]]
        qc.compose(block, qubits=list(range(r * n, (r + 1) * n)), inplace=True)
    width = 3 * n
    observables = ([_z(i, width) for i in range(s)] + [_z(n + i, width) for i in range(s)]
                   + [_z(2 * n + i, width) for i in range(n)])
    per_block = (2 * reps + 1) * n
    layout = QNNLayout(
        "qsann",
        tuple(f"x[{i}]" for i in range(n)),
        tuple(f"θ_{role}[{j}]" for role in ("q", "k", "v") for j in range(per_block)),
        tuple([f"q[{i}]" for i in range(s)] + [f"k[{i}]" for i in range(s)]
              + [f"v[{i}]" for i in range(n)]),
        {"token_dim": n, "reps": reps, "score_dim": s, "entanglement": entanglement},
    )
    return _finish(qc, x, weights, observables, None, layout)


def _key_qubits(num_tokens: int) -> int:
    return max(1, math.ceil(math.log2(num_tokens)))


def _mean(terms: Sequence[Angle]) -> Angle:
    return sum(terms) / len(terms)


def _attention_tree(
    qc: QuantumCircuit,
    key: Sequence[int],
    tokens: Sequence[Sequence[Angle]],
    query: Sequence[Angle],
    biases: Sequence[Parameter],
) -> None:
    """Prepare ``sum_t sqrt(p_t)|t>`` on ``key`` (see the module docstring); padding keys get 0."""
    m, T = len(key), len(tokens)
    node = 0
    for level in range(m):
        width = 1 << (m - level)  # keys under a node of this level
        angles: list[Angle] = []
        for prefix in range(1 << level):
            lo = prefix * width
            left = [t for t in range(lo, lo + width // 2) if t < T]
            right = [t for t in range(lo + width // 2, lo + width) if t < T]
            if not left or not right:  # no choice here (padding): stay left
                angles.append(0.0)
                continue
            delta = sum(
                q * (_mean([tokens[t][i] for t in right]) - _mean([tokens[t][i] for t in left]))
                for i, q in enumerate(query)
            )
            angles.append(math.pi / 2 + delta + biases[node])
            node += 1
        target = key[m - 1 - level]
        controls = [key[m - level + j] for j in range(level)]  # higher bits, LSB first
        multiplexed_ry(qc, angles, target, controls)


def _value_loading(
    qc: QuantumCircuit,
    key: Sequence[int],
    value: Sequence[int],
    tokens: Sequence[Sequence[Angle]],
    value_weights: Sequence[Sequence[Parameter]],
    value_biases: Sequence[Parameter],
) -> None:
    """``RY(psi_tc)`` on value qubit ``c`` conditioned on key ``t``: ``<Z_c> = sum p_t cos psi``."""
    size = 1 << len(key)
    for c, qubit in enumerate(value):
        angles: list[Angle] = []
        for t in range(size):
            if t < len(tokens):
                angles.append(sum(w * f for w, f in zip(value_weights[c], tokens[t], strict=True))
                              + value_biases[c])
            else:
                angles.append(0.0)
        multiplexed_ry(qc, angles, qubit, list(key))


def _token_inputs(num_tokens: int, token_dim: int) -> tuple[ParameterVector, list[list[Parameter]]]:
    x = ParameterVector("x", num_tokens * token_dim)
    return x, [[x[t * token_dim + i] for i in range(token_dim)] for t in range(num_tokens)]


def _check_tokens(num_tokens: int, token_dim: int) -> tuple[int, int]:
    return (_check_int("num_tokens", num_tokens, 2, 16),
            _check_int("token_dim", token_dim, 1, 16))


def self_attention_circuit(
    num_tokens: int,
    token_dim: int,
    *,
    value_qubits: int = 1,
    queries: str = "learned",
    readout: str = "mean",
    attention: bool = True,
) -> AttentionCircuit:
    """An attention layer over ``num_tokens`` tokens in one circuit (see the module docstring).

    Layout. Inputs ``x[t,i]`` at position ``t * token_dim + i`` (feature ``i`` of token ``t``, an
    angle). Weights, in order: the score weights ``w_score`` (``token_dim`` entries for a learned
    query, or ``W[j,i]`` row-major for ``queries="tokens"``: ``u_s = W^T x_s``), the node biases
    ``b_node`` (``num_tokens - 1``), the value weights ``w_value[c,i]`` (row-major) and biases
    ``b_value[c]``. Without attention (``attention=False``, uniform key register: mean pooling)
    only the value weights remain. Outputs: ``<Z>`` of value qubit ``c`` (learned query), or for
    ``queries="tokens"`` its mean over the query tokens (``readout="mean"``) or one output per
    query token and value qubit (``readout="tokens"``, query-major).

    Args:
        num_tokens: tokens ``T`` in ``[2, 16]`` (keys beyond ``T`` on the register are padding).
        token_dim: features per token.
        value_qubits: value channels ``d`` (one qubit each).
        queries: ``"learned"`` (one learned query: attention pooling) or ``"tokens"`` (every token
            queries every token, one key and value register per query token).
        readout: ``"mean"`` or ``"tokens"`` (with ``queries="tokens"``).
        attention: ``False`` replaces the key tree by ``H`` gates: the same model, uniform weights.

    Example:
        >>> ac = self_attention_circuit(4, 2)
        >>> ac.circuit.num_qubits, len(ac.input_params), len(ac.weight_params)
        (3, 8, 8)
        >>> ac.layout.weights[:3]
        ('w_score[0]', 'w_score[1]', 'b_node[0]')
    """
    T, n = _check_tokens(num_tokens, token_dim)
    d = _check_int("value_qubits", value_qubits, 1)
    if queries not in QUERIES:
        raise ValueError(f"queries must be one of {QUERIES}; got {queries!r}")
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {READOUTS}; got {readout!r}")
    if not isinstance(attention, bool):
        raise TypeError(f"attention must be a bool; got {type(attention).__name__}")
    m = _key_qubits(T)
    blocks = T if queries == "tokens" else 1
    width = blocks * (m + d)
    if width > MAX_QUBITS:
        raise ValueError(
            f"num_tokens={T}, value_qubits={d}, queries={queries!r} need {width} qubits "
            f"(> {MAX_QUBITS}); use fewer tokens or value qubits, or queries='learned'"
        )
    x, tokens = _token_inputs(T, n)
    weights: list[Parameter] = []
    names: list[str] = []
    if attention:
        if queries == "learned":
            w_score = ParameterVector("w_score", n)
            names += [f"w_score[{i}]" for i in range(n)]
        else:
            w_score = ParameterVector("w_score", n * n)
            names += [f"w_score[{j},{i}]" for j in range(n) for i in range(n)]
        b_node = ParameterVector("b_node", T - 1)
        names += [f"b_node[{k}]" for k in range(T - 1)]
        weights += list(w_score) + list(b_node)
    w_value = ParameterVector("w_value", d * n)
    b_value = ParameterVector("b_value", d)
    names += [f"w_value[{c},{i}]" for c in range(d) for i in range(n)]
    names += [f"b_value[{c}]" for c in range(d)]
    weights += list(w_value) + list(b_value)
    value_weights = [[w_value[c * n + i] for i in range(n)] for c in range(d)]

    qc = QuantumCircuit(width, name="quantum_self_attention")
    value_qubit_index: list[list[int]] = []
    for b in range(blocks):
        key = list(range(b * (m + d), b * (m + d) + m))
        value = list(range(b * (m + d) + m, (b + 1) * (m + d)))
        value_qubit_index.append(value)
        if attention:
            if queries == "learned":
                query: list[Angle] = list(w_score)
            else:
                query = [sum(w_score[j * n + i] * tokens[b][j] for j in range(n))
                         for i in range(n)]
            _attention_tree(qc, key, tokens, query, b_node)
        else:
            qc.h(key)
        _value_loading(qc, key, value, tokens, value_weights, b_value)

    if queries == "tokens" and readout == "mean":
        observables = [
            SparsePauliOp.from_sparse_list(
                [("Z", [value_qubit_index[b][c]], 1.0 / blocks) for b in range(blocks)], width
            )
            for c in range(d)
        ]
        outputs = tuple(f"mean_s <Z_value[s,{c}]>" for c in range(d))
    elif queries == "tokens":
        observables = [_z(value_qubit_index[b][c], width) for b in range(blocks) for c in range(d)]
        outputs = tuple(f"<Z_value[{b},{c}]>" for b in range(blocks) for c in range(d))
    else:
        observables = [_z(value_qubit_index[0][c], width) for c in range(d)]
        outputs = tuple(f"<Z_value[{c}]>" for c in range(d))
    layout = QNNLayout(
        "self_attention",
        tuple(f"x[{t},{i}]" for t in range(T) for i in range(n)),
        tuple(names),
        outputs,
        {"num_tokens": T, "token_dim": n, "value_qubits": d, "queries": queries,
         "readout": readout, "attention": attention, "key_qubits": m},
    )
    return _finish(qc, x, weights, observables, None, layout)


def key_distribution_circuit(
    num_tokens: int, token_dim: int, *, query: int | None = None
) -> AttentionCircuit:
    """The key register of :func:`self_attention_circuit`: one attention row as a distribution.

    Layout. Inputs ``x[t,i]`` as in :func:`self_attention_circuit`; weights ``w_score`` (learned
    query, ``token_dim``) or ``W[j,i]`` (token ``query`` as the query), then ``b_node``; outputs
    ``p[t]``, the probability of key ``t`` for ``t < 2^m`` (entries ``>= num_tokens`` are padding
    keys, zero without noise). The circuit is unmeasured; samplers measure ``key_qubits``.

    Args:
        num_tokens: tokens ``T`` in ``[2, 16]``.
        token_dim: features per token.
        query: ``None`` (learned query) or the index of the query token.

    Example:
        >>> ac = key_distribution_circuit(4, 2, query=1)
        >>> ac.key_qubits, ac.layout.outputs
        ([0, 1], ('p[0]', 'p[1]', 'p[2]', 'p[3]'))
    """
    T, n = _check_tokens(num_tokens, token_dim)
    if query is not None:
        _check_int("query", query, 0, T - 1)
    m = _key_qubits(T)
    x, tokens = _token_inputs(T, n)
    if query is None:
        w_score = ParameterVector("w_score", n)
        names = [f"w_score[{i}]" for i in range(n)]
        query_vec: list[Angle] = list(w_score)
    else:
        w_score = ParameterVector("w_score", n * n)
        names = [f"w_score[{j},{i}]" for j in range(n) for i in range(n)]
        query_vec = [sum(w_score[j * n + i] * tokens[query][j] for j in range(n))
                     for i in range(n)]
    b_node = ParameterVector("b_node", T - 1)
    names += [f"b_node[{k}]" for k in range(T - 1)]
    qc = QuantumCircuit(m, name="attention_keys")
    _attention_tree(qc, list(range(m)), tokens, query_vec, b_node)
    layout = QNNLayout(
        "key_distribution",
        tuple(f"x[{t},{i}]" for t in range(T) for i in range(n)),
        tuple(names),
        tuple(f"p[{t}]" for t in range(1 << m)),
        {"num_tokens": T, "token_dim": n, "query": query, "key_qubits": m},
    )
    return _finish(qc, x, list(w_score) + list(b_node), [], list(range(m)), layout)
