"""Data: scikit-learn's 8x8 digits, normalised, as ``N x 8 x 8 x 1`` float32 arrays (NHWC)."""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 0
_cache = {}


def splits():
    """``(x_train, y_train, x_test, y_test)`` as numpy arrays (fixed stratified split, 300 test images)."""
    if not _cache:
        digits = load_digits()
        x = (digits.images.astype(np.float32) / 16.0)[:, :, :, None]
        y = digits.target.astype(np.int64)
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=300, stratify=y, random_state=SEED)
        mean, std = float(x_train.mean()), float(x_train.std())
        _cache["data"] = ((x_train - mean) / std, y_train, (x_test - mean) / std, y_test)
    return _cache["data"]


def calibration_batches(batch_size=32, num_batches=8):
    """A list of ``num_batches`` image batches from the training split."""
    x = splits()[0]
    order = np.random.RandomState(SEED).permutation(len(x))
    return [x[order[i * batch_size:(i + 1) * batch_size]] for i in range(num_batches)]
