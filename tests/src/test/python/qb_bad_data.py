"""Data functions that yield unusable batches for an 8x8x1 TensorFlow input (the CLI's error tests)."""

import numpy as np


def _good(n=4):
    return np.random.RandomState(0).randn(n, 8, 8, 1).astype(np.float32)


def none_batch():
    """A good batch, then None."""
    return [_good(), None]


def half_batches():
    """float16 batches."""
    return [_good().astype(np.float16)]


def flat_batches():
    """Batches of rank 2 (flattened images)."""
    return [_good().reshape(4, 64)]


def nothing():
    """No batches at all."""
    return []


def not_batches():
    """A number, not an iterable."""
    return 42
