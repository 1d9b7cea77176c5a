"""Real data as token sequences for the QNN workflows: scikit-learn's digits, patches as tokens.

Each 8x8 image (scikit-learn's bundled copy of the UCI handwritten digits; no download) is cut
into ``num_tokens`` square patches in reading order; every patch is reduced to ``token_dim``
features by a PCA fitted on the training patches of all positions, and each feature is scaled to
an angle in ``[0, π]`` with the training range (test values are clipped to it). Token position is
*not* encoded in the features: a model sees it only through its own positional parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TokenDataset:
    """Train/test token sequences, flattened token-major, and binary labels in ``{-1, +1}``.

    Attributes:
        x_train: ``[N_train, num_tokens * token_dim]`` angles.
        y_train: ``[N_train]`` labels ``-1`` / ``+1``.
        x_test: ``[N_test, num_tokens * token_dim]``.
        y_test: ``[N_test]``.
        num_tokens: tokens per sequence.
        token_dim: features per token.
        classes: the two digits (label ``-1`` is ``classes[0]``).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_tokens: int
    token_dim: int
    classes: tuple[int, int]

    def tokens(self, split: str = "train") -> np.ndarray:
        """``[N, num_tokens, token_dim]`` view of a split (``"train"`` or ``"test"``)."""
        x = {"train": self.x_train, "test": self.x_test}[split]
        return x.reshape(len(x), self.num_tokens, self.token_dim)


def digit_tokens(
    classes: tuple[int, int] = (6, 9),
    *,
    num_tokens: int = 4,
    token_dim: int = 2,
    test_fraction: float = 0.3,
    max_train: int | None = None,
    seed: int = 0,
) -> TokenDataset:
    """Two digit classes of scikit-learn's digits as sequences of patch tokens.

    Args:
        classes: two distinct digits 0..9.
        num_tokens: patches per image, a square number dividing the 8x8 grid (1, 4, 16, 64).
        token_dim: PCA features per patch.
        test_fraction: held-out share (stratified split).
        max_train: keep at most this many training sequences (balanced, for quick runs).
        seed: split and subsampling seed.

    Example:
        >>> data = digit_tokens((0, 1), num_tokens=4, token_dim=2)
        >>> data.x_train.shape[1], sorted(set(data.y_train.tolist()))
        (8, [-1, 1])
    """
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split

    if len(classes) != 2 or classes[0] == classes[1] or not all(0 <= c <= 9 for c in classes):
        raise ValueError(f"classes must be two distinct digits 0..9; got {classes!r}")
    side = math.isqrt(num_tokens)
    if side * side != num_tokens or 8 % side:
        raise ValueError(f"num_tokens must be 1, 4, 16 or 64 (square patches); got {num_tokens}")
    patch = 8 // side
    if not 1 <= token_dim <= patch * patch:
        raise ValueError(f"token_dim must be in [1, {patch * patch}]; got {token_dim}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1); got {test_fraction}")
    digits = load_digits()
    keep = np.isin(digits.target, classes)
    images = digits.images[keep] / 16.0
    labels = np.where(digits.target[keep] == classes[0], -1, 1)
    train_img, test_img, y_train, y_test = train_test_split(
        images, labels, test_size=test_fraction, stratify=labels, random_state=seed
    )
    if max_train is not None and max_train < len(train_img):
        rng = np.random.default_rng(seed)
        picked = np.concatenate([
            rng.permutation(np.flatnonzero(y_train == c))[: max_train // 2] for c in (-1, 1)
        ])
        picked.sort()
        train_img, y_train = train_img[picked], y_train[picked]

    def patches(img: np.ndarray) -> np.ndarray:  # [N, T, patch*patch], reading order
        n = len(img)
        grid = img.reshape(n, side, patch, side, patch).transpose(0, 1, 3, 2, 4)
        return grid.reshape(n, num_tokens, patch * patch)

    p_train, p_test = patches(train_img), patches(test_img)
    pca = PCA(n_components=token_dim, random_state=seed).fit(p_train.reshape(-1, patch * patch))
    f_train = pca.transform(p_train.reshape(-1, patch * patch))
    f_test = pca.transform(p_test.reshape(-1, patch * patch))
    low, high = f_train.min(axis=0), f_train.max(axis=0)
    scale = np.pi / np.where(high > low, high - low, 1.0)
    f_train = (f_train - low) * scale
    f_test = np.clip((f_test - low) * scale, 0.0, np.pi)
    return TokenDataset(
        f_train.reshape(len(train_img), -1), y_train.astype(int),
        f_test.reshape(len(test_img), -1), y_test.astype(int),
        num_tokens, token_dim, (int(classes[0]), int(classes[1])),
    )
