"""scikit-learn's 8x8 digits, normalised: images (NHWC for TensorFlow, NCHW for PyTorch), labels."""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 0
_cache = {}


def splits():
    """``(x_train, y_train, x_test, y_test)``: images ``N x 8 x 8`` float32, labels int64."""
    if not _cache:
        digits = load_digits()
        x = digits.images.astype(np.float32) / 16.0
        y = digits.target.astype(np.int64)
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=300, stratify=y, random_state=SEED)
        mean, std = float(x_train.mean()), float(x_train.std())
        _cache["data"] = ((x_train - mean) / std, y_train, (x_test - mean) / std, y_test)
    return _cache["data"]


def batches(layout="nhwc", batch_size=32, num_batches=4, split="train"):
    """``num_batches`` image batches with their labels, ``(images, labels)``: ``layout`` ``nhwc``
    ``[N, 8, 8, 1]``, ``nchw`` ``[N, 1, 8, 8]`` or ``flat`` ``[N, 64]``."""
    x, y = splits()[:2] if split == "train" else splits()[2:]
    shape = {"nhwc": (-1, 8, 8, 1), "nchw": (-1, 1, 8, 8), "flat": (-1, 64)}[layout]
    return [(x[i * batch_size:(i + 1) * batch_size].reshape(shape), y[i * batch_size:(i + 1) * batch_size])
            for i in range(num_batches)]
