"""Batches for checking a deployed file (INT8 ONNX, frozen .pb) against the quantized model.

Only what must run in Python: turning the user's batches into float32 inputs and int64 labels
that Java hands to ONNX Runtime or a frozen graph. Framework imports stay inside the functions.

A batch is the input itself, or ``(inputs, labels, ...)``; a model with several inputs takes
``inputs`` as a tuple or list of arrays, one per model input in the model's order:
``((x, mask), labels)``.
"""

import numpy as np

from quantbridge.errors import DataError

__all__ = ["labelled_batches"]


def _array(value):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _shape(inputs):
    names = ", ".join(inputs)
    return f"({names})" if len(inputs) > 1 else names


def labelled_batches(batches, inputs=None, source="the batches"):
    """``[[[input, ...], labels or None], ...]``: each batch's inputs as C-contiguous float32 arrays
    and, when the batch is ``(inputs, labels, ...)`` with one integer label per row, the labels as
    int64.

    ``inputs`` names the model's inputs in order; a batch that gives another number of inputs is
    a :class:`DataError` naming ``source``, the batch and the form expected.
    """
    out = []
    for index, batch in enumerate(batches, 1):
        labels = None
        first = batch
        if isinstance(batch, (tuple, list)):
            first = batch[0] if batch else None
            if len(batch) > 1:
                y = _array(batch[1])
                if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
                    labels = np.ascontiguousarray(y, dtype=np.int64)
        several = isinstance(first, (tuple, list)) and first and all(hasattr(i, "shape") for i in first)
        xs = list(first) if several else [first]
        if inputs is not None and len(xs) != len(inputs):
            msg = (f"{source}: batch {index} gives {len(xs)} model input(s), but the model takes {len(inputs)} "
                   f"({', '.join(inputs)}); yield {_shape(inputs)} or ({_shape(inputs)}, labels) batches, the "
                   f"inputs in this order")
            raise DataError(msg)
        if any(x is None for x in xs):
            msg = f"{source}: batch {index} holds None where a model input is expected; yield arrays or tensors"
            raise DataError(msg)
        xs = [np.ascontiguousarray(_array(x), dtype=np.float32) for x in xs]
        if labels is not None and len(labels) != len(xs[0]):
            labels = None
        out.append([xs, labels])
    return out
