"""Batches for checking a deployed file (INT8 ONNX, frozen .pb) against the quantized model.

Only what must run in Python: turning the user's batches into float32 inputs and int64 labels
that Java hands to ONNX Runtime or a frozen graph. Framework imports stay inside the functions.
"""

import numpy as np

__all__ = ["labelled_batches"]


def _array(value):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def labelled_batches(batches):
    """``[[inputs, labels or None], ...]``: each batch's (first) input as C-contiguous float32 and,
    when the batch is ``(inputs, labels, ...)`` with one integer label per row, the labels as
    int64."""
    out = []
    for batch in batches:
        labels = None
        if isinstance(batch, (tuple, list)):
            x = batch[0]
            if len(batch) > 1:
                y = _array(batch[1])
                if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
                    labels = np.ascontiguousarray(y, dtype=np.int64)
        else:
            x = batch
        x = np.ascontiguousarray(_array(x), dtype=np.float32)
        if labels is not None and len(labels) != len(x):
            labels = None
        out.append([x, labels])
    return out
