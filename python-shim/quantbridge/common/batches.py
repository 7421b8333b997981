"""Checks of the batches a user's data function yields, before a model sees them: one clear
message naming the batch and the function instead of an error deep inside the model.

Framework-neutral (numpy arrays and torch tensors, duck typed): ``None``, empty batches, object
or string arrays and NaN/Inf are refused with :class:`~quantbridge.errors.DataError`.
"""

from quantbridge.common import finite
from quantbridge.errors import DataError

__all__ = ["source_of", "first_input", "check_input", "no_batches", "describe"]


def source_of(batches, default="the calibration batches"):
    """How messages name ``batches``: ``"data function pkg.mod:fn"`` when the CLI made them."""
    return getattr(batches, "source", None) or default


def describe(x):
    """``"shape (16, 1, 8, 8), float32"`` of an array or tensor."""
    dtype = str(getattr(x, "dtype", type(x).__name__)).replace("torch.", "")
    return f"shape {tuple(getattr(x, 'shape', ()))}, {dtype}"


def first_input(batch, index, source):
    """The model input of ``batch`` (the batch itself, or the first item of an (inputs, targets) pair)."""
    where = f"batch {index} from {source}"
    if isinstance(batch, (tuple, list)):
        if not batch:
            msg = f"{where} is an empty {type(batch).__name__}; expected a tensor, an array or (inputs, targets)"
            raise DataError(msg)
        batch = batch[0]
    if batch is None:
        msg = f"{where} is None; expected a tensor, a numpy array or an (inputs, targets) pair"
        raise DataError(msg)
    return batch


def check_input(x, index, source):
    """Raise DataError if ``x`` (an array or tensor) is not numeric, is empty, or holds NaN/Inf."""
    where = f"batch {index} from {source}"
    dtype = getattr(x, "dtype", None)
    if dtype is None or not hasattr(x, "shape"):
        msg = f"{where} is a {type(x).__module__}.{type(x).__qualname__}; expected a tensor or a numpy array"
        raise DataError(msg)
    kind = getattr(dtype, "kind", None)
    if kind is not None and kind not in "biuf":
        msg = f"{where} ({describe(x)}) is not numeric; expected a float array"
        raise DataError(msg)
    size = x.numel() if hasattr(x, "numel") else x.size
    if size == 0:
        msg = (f"{where} is empty ({describe(x)}); expected at least one sample (is the batch size 0, "
               f"or the dataset empty?)")
        raise DataError(msg)
    counts = finite.non_finite(x)
    if counts is not None:
        msg = f"{where} ({describe(x)}) has {finite.describe(counts)}; expected finite inputs"
        raise DataError(msg)


def no_batches(source):
    """The DataError for a data function that yielded nothing."""
    return DataError(f"{source} yielded no batches; expected at least one (is the dataset empty, or --batches 0?)")
