"""What both back ends' batch checks share: how messages name the data function and a batch, the
iterable check and the "no batches" error. The checks of one batch live with their back end:
``quantbridge.torch._batches`` (tensors and arrays for a torch model) and
``quantbridge.tf._batches`` (arrays against a graph input).

``source`` is how messages name the data function (``"data function pkg.mod:fn"`` when the CLI
made the batches, see :func:`source_of`).
"""

from quantbridge.errors import DataError

__all__ = ["source_of", "check_iterable", "no_batches", "describe"]


def source_of(batches, default="the calibration batches"):
    """How messages name ``batches``: ``"data function pkg.mod:fn"`` when the CLI made them."""
    return getattr(batches, "source", None) or default


def describe(x):
    """``"shape (16, 1, 8, 8), float32"`` of an array or tensor."""
    dtype = str(getattr(x, "dtype", type(x).__name__)).replace("torch.", "")
    return f"shape {tuple(getattr(x, 'shape', ()))}, {dtype}"


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


def no_batches(source):
    """The DataError for a data function that yielded nothing."""
    return DataError(f"{source} yielded no batches; expected at least one (is the dataset empty, or --batches 0?)")
