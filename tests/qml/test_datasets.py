"""Digit patch tokens: real scikit-learn digits, PCA fitted on training patches only."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from qiskit_qattn.qml.datasets import digit_tokens


def test_tokens_are_angles_of_the_images_patches_in_reading_order():
    data = digit_tokens((3, 8), num_tokens=4, token_dim=3, seed=2)
    digits = load_digits()
    n = int(np.isin(digits.target, (3, 8)).sum())
    assert len(data.x_train) + len(data.x_test) == n
    assert data.x_train.shape[1] == data.x_test.shape[1] == 12
    assert data.x_train.min() >= 0 and data.x_train.max() <= np.pi + 1e-12
    features = data.tokens("train").reshape(-1, 3)  # every feature spans [0, π] over positions
    assert features.min(axis=0) == pytest.approx(0.0)
    assert features.max(axis=0) == pytest.approx(np.pi)
    assert abs((data.y_test == 1).mean() - (data.y_train == 1).mean()) < 0.05  # stratified
    assert data.tokens("test").shape == (len(data.x_test), 4, 3)


def test_patch_order_follows_the_image():
    """A digit's top-left patch is blank for a centred '1'; the PCA features differ by position."""
    data = digit_tokens((1, 7), num_tokens=16, token_dim=1)
    tokens = data.tokens("train")[..., 0]
    # corner patches (0, 3, 12, 15) are almost always ink-free: their feature varies least
    corner = tokens[:, [0, 3, 12, 15]].std()
    centre = tokens[:, [5, 6, 9, 10]].std()
    assert corner < centre


def test_max_train_subsamples_balanced_and_bad_arguments_are_named():
    data = digit_tokens((6, 9), max_train=20)
    assert len(data.y_train) == 20 and (data.y_train == 1).sum() == 10
    with pytest.raises(ValueError, match="classes"):
        digit_tokens((6, 6))
    with pytest.raises(ValueError, match="num_tokens"):
        digit_tokens((6, 9), num_tokens=3)
    with pytest.raises(ValueError, match="token_dim"):
        digit_tokens((6, 9), num_tokens=16, token_dim=5)
