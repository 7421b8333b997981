"""TensorFlow model inputs from the user's batches: one :class:`~quantbridge.errors.DataError` line
naming the batch and the data function instead of an error deep inside the session.

:func:`check_batch` matches a batch against a known input: the same rank, the same size on every
dimension the model fixes, and a dtype it can take. ``float32`` is used as is; ``float64`` and
integer batches are cast to the input's dtype (as a TensorFlow Session feed casts them).
``float16`` (and ``bfloat16``) batches are refused: the data was already rounded to half
precision, so the ranges calibrated on it would not be those of the float32 data the deployed
model receives. ``None``, empty batches, object or string arrays and NaN/Inf are refused.
"""

import numpy as np

from quantbridge.common import finite
from quantbridge.errors import DataError

__all__ = ["check_batch"]


def _shape_text(shape):
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _expected(shape, dtype):
    return f"an array of shape {_shape_text(shape)} ({np.dtype(dtype).name})" if shape is not None \
        else f"an array ({np.dtype(dtype).name})"


def check_batch(batch, index, source, shape=None, dtype=np.float32, input_name=None):
    """The model input of ``batch`` (the ``index``-th, 1-based, from ``source``) as a numpy array
    of ``dtype``; raises :class:`DataError` naming ``source``, the batch and what was expected.

    ``shape`` is the input's static shape (``None`` for unknown dimensions), or ``None`` when
    the rank is unknown too.
    """
    where = f"{source}: batch {index}"
    want = _expected(shape, dtype) + (f" for input {input_name!r}" if input_name else "")
    if isinstance(batch, (tuple, list)):
        if not batch:
            raise DataError(f"{where} is an empty {type(batch).__name__}; expected {want} or (inputs, ...)")
        batch = batch[0]
    if batch is None:
        raise DataError(f"{where} is None; expected {want}")
    if hasattr(batch, "numpy") and callable(batch.numpy) and not isinstance(batch, np.ndarray):
        batch = batch.numpy()
    try:
        array = np.asarray(batch)
    except Exception as exc:  # noqa: BLE001 - anything numpy cannot turn into an array
        raise DataError(f"{where} ({type(batch).__name__}) is not an array: {exc}; expected {want}") from None
    kind = array.dtype.kind
    if kind not in "fiu" or array.dtype == np.float16 or array.dtype.name == "bfloat16":
        got = f"{array.dtype.name}" if kind != "O" else f"objects ({type(batch).__name__})"
        hint = "; cast it with .astype(np.float32) where the data is made" if kind in "fiub" else ""
        raise DataError(f"{where} holds {got}; expected {want}{hint}")
    if shape is not None:
        if array.ndim != len(shape):
            raise DataError(f"{where} has shape {tuple(array.shape)} (rank {array.ndim}); expected {want} "
                            f"(rank {len(shape)})")
        wrong = [i for i, (got, need) in enumerate(zip(array.shape, shape)) if need is not None and got != need]
        if wrong:
            raise DataError(f"{where} has shape {tuple(array.shape)}; expected {want} (dimension {wrong[0]} differs)")
    if array.size == 0:
        raise DataError(f"{where} is empty (shape {tuple(array.shape)}); expected {want} with at least one sample")
    counts = finite.non_finite(array)
    if counts is not None:
        raise DataError(f"{where} (shape {tuple(array.shape)}) has {finite.describe(counts)}; expected finite inputs")
    return np.asarray(array, dtype=dtype)
