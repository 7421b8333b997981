"""The one check that no NaN or Inf goes in or out: loaded weights and states, data batches,
states and checkpoints about to be written.

Works on torch tensors and numpy arrays alike (duck typed, no framework import). Integer and
boolean values are always finite and skipped.
"""

import numpy as np

__all__ = ["non_finite", "describe", "first_non_finite", "check_finite"]


def non_finite(value):
    """``(nan count, inf count, size)`` of a float tensor or array, or ``None`` if it is all finite
    (or not floating point)."""
    if hasattr(value, "is_floating_point"):          # torch.Tensor, without importing torch
        if not (value.is_floating_point() or value.is_complex()) or value.numel() == 0:
            return None
        t = value.detach()
        if bool(t.isfinite().all()):
            return None
        return int(t.isnan().sum()), int(t.isinf().sum()), int(t.numel())
    array = np.asarray(value)
    if array.dtype.kind not in "fc" or array.size == 0:
        return None
    finite = np.isfinite(array)
    if finite.all():
        return None
    return int(np.isnan(array).sum()), int(np.isinf(array).sum()), int(array.size)


def describe(counts):
    """``"3 NaN and 1 Inf of 72 values"`` for the counts :func:`non_finite` returns."""
    nan, inf, size = counts
    parts = [f"{nan} NaN" if nan else "", f"{inf} Inf" if inf else ""]
    return f"{' and '.join(p for p in parts if p)} of {size} value{'s' if size != 1 else ''}"


def first_non_finite(named):
    """The first ``(name, counts)`` of ``named`` (pairs or a mapping) that is not finite, else ``None``."""
    items = named.items() if hasattr(named, "items") else named
    for name, value in items:
        counts = non_finite(value)
        if counts is not None:
            return name, counts
    return None


def check_finite(named, where, error, what="tensor", hint="", label=None):
    """Raise ``error`` naming ``where`` and the first non-finite entry of ``named``.

    ``label(name)`` may add context to the entry's name (the layer it belongs to); ``hint`` ends
    the message (what to do).
    """
    bad = first_non_finite(named)
    if bad is None:
        return
    name, counts = bad
    extra = label(name) if label is not None else ""
    msg = f"{where}: {what} {name!r}{extra} has {describe(counts)}; expected finite numbers"
    if hint:
        msg += f"; {hint}"
    raise error(msg)
