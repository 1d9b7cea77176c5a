"""Encodings: Walsh–Hadamard transforms, Z-string operators, padding and amplitude helpers.

Pure functions, NumPy in and NumPy/``SparsePauliOp`` out; depends on nothing else of ours.
"""

from .amplitude import masked_softmax, normalize_amplitudes, softmax_amplitudes
from .padding import num_key_qubits, pad_mask, pad_rows
from .pauli import diagonal_to_sparse_pauli, sparse_pauli_to_diagonal, z_strings
from .validation import as_bool_mask, as_real_array, check_positive, check_positive_int, to_numpy
from .walsh import diagonal_from_walsh, fwht, walsh_coefficients, walsh_order

__all__ = [
    "as_bool_mask",
    "as_real_array",
    "check_positive",
    "check_positive_int",
    "diagonal_from_walsh",
    "diagonal_to_sparse_pauli",
    "fwht",
    "masked_softmax",
    "normalize_amplitudes",
    "num_key_qubits",
    "pad_mask",
    "pad_rows",
    "softmax_amplitudes",
    "sparse_pauli_to_diagonal",
    "to_numpy",
    "walsh_coefficients",
    "walsh_order",
    "z_strings",
]
