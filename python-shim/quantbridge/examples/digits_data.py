"""scikit-learn's bundled digits, split and normalised the same way for both examples.

8x8 images scaled to [0, 1], then normalised with the training split's mean and std; a
stratified split (``random_state=0``) keeps 360 images for testing.
"""

import numpy as np

__all__ = ["TEST_SIZE", "SEED", "load"]

TEST_SIZE = 360
SEED = 0
_cache = {}


def load(layout):
    """``{"x_train", "y_train", "x_test", "y_test"}`` (copies); images ``N x 1 x 8 x 8`` for
    ``layout="NCHW"`` (PyTorch) or ``N x 8 x 8 x 1`` for ``"NHWC"`` (TensorFlow)."""
    if layout not in ("NCHW", "NHWC"):
        msg = f"layout must be 'NCHW' or 'NHWC', got {layout!r}"
        raise ValueError(msg)
    if not _cache:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        digits = load_digits()
        x = digits.images.astype(np.float32) / 16.0
        y = digits.target.astype(np.int64)
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=TEST_SIZE, stratify=y,
                                                            random_state=SEED)
        mean, std = float(x_train.mean()), float(x_train.std())
        _cache.update(x_train=((x_train - mean) / std).astype(np.float32), y_train=y_train,
                      x_test=((x_test - mean) / std).astype(np.float32), y_test=y_test)
    axis = 1 if layout == "NCHW" else 3
    return {key: (np.expand_dims(value, axis) if key.startswith("x") else value.copy())
            for key, value in _cache.items()}
