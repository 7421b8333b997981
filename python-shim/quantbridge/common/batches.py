"""Checks of the batches a user's data function yields, before a model sees them: one
:class:`~quantbridge.errors.DataError` line naming the batch and the data function instead of an
error deep inside the model.

``source`` is how messages name the data function (``"data function pkg.mod:fn"`` when the CLI
made the batches, see :func:`source_of`). :func:`first_input` and :func:`check_input` check a
batch of either back end (numpy arrays and torch tensors, duck typed): ``None``, empty batches,
object or string arrays and NaN/Inf are refused. :func:`check_batch` also matches a batch
against a known input (TensorFlow): the same rank, the same size on every dimension the model
fixes, and a dtype it can take. ``float32`` is used as is; ``float64`` and integer batches are
cast to the input's dtype (as a TensorFlow Session feed casts them). ``float16`` (and
``bfloat16``) batches are refused: the data was already rounded to half precision, so the
ranges calibrated on it would not be those of the float32 data the deployed model receives.
"""

import numpy as np

from quantbridge.common import finite
from quantbridge.errors import DataError

__all__ = ["source_of", "first_input", "check_input", "check_iterable", "check_batch", "no_batches", "describe"]


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


def _shape_text(shape):
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _expected(shape, dtype):
    return f"an array of shape {_shape_text(shape)} ({np.dtype(dtype).name})" if shape is not None \
        else f"an array ({np.dtype(dtype).name})"


def check_iterable(batches, source):
    """``batches`` itself when it is an iterable of batches, else the DataError naming ``source``
    (a string, bytes or a dict iterate, but not over batches)."""
    if isinstance(batches, (str, bytes, dict)):
        got = f"a {type(batches).__name__}"
    else:
        try:
            iter(batches)
            return batches
        except TypeError:
            got = type(batches).__name__
    msg = (f"{source} returned {got}; expected an iterable of batches "
           f"(a list, a generator or a DataLoader of tensors, arrays or (inputs, targets) pairs)")
    raise DataError(msg) from None


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



def no_batches(source):
    """The DataError for a data function that yielded nothing."""
    return DataError(f"{source} yielded no batches; expected at least one (is the dataset empty, or --batches 0?)")
