"""Data: scikit-learn's 8x8 digits, normalised, as ``N x size x size x channels`` float32 arrays (NHWC).

``size`` > 8 repeats each pixel (nearest-neighbour upscaling, e.g. 32 for keras.applications
models, which need at least 32x32); ``channels`` > 1 repeats the grey channel.
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 0
_cache = {}


def _base():
    if not _cache:
        digits = load_digits()
        x = (digits.images.astype(np.float32) / 16.0)[:, :, :, None]
        y = digits.target.astype(np.int64)
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=300, stratify=y, random_state=SEED)
        mean, std = float(x_train.mean()), float(x_train.std())
        _cache["data"] = ((x_train - mean) / std, y_train, (x_test - mean) / std, y_test)
    return _cache["data"]


def images(x, size=8, channels=1):
    """``x`` (N x 8 x 8 x 1) upscaled to ``size`` (a multiple of 8) with ``channels`` channels."""
    size, channels = int(size), int(channels)
    if size % 8 or size < 8 or channels < 1:
        raise ValueError(f"size must be a multiple of 8 and channels >= 1, got size={size}, channels={channels}")
    factor = size // 8
    x = np.repeat(np.repeat(x, factor, axis=1), factor, axis=2)
    return np.ascontiguousarray(np.repeat(x, channels, axis=3))


def splits(size=8, channels=1):
    """``(x_train, y_train, x_test, y_test)`` (fixed stratified split, 300 test images)."""
    x_train, y_train, x_test, y_test = _base()
    return images(x_train, size, channels), y_train, images(x_test, size, channels), y_test


def calibration_batches(batch_size=32, num_batches=8, size=8, channels=1):
    """A list of ``num_batches`` image batches from the training split."""
    x = splits(size, channels)[0]
    order = np.random.RandomState(SEED).permutation(len(x))
    return [x[order[i * batch_size:(i + 1) * batch_size]] for i in range(num_batches)]
