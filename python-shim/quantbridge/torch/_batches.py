"""PyTorch model inputs from the user's batches, checked (numpy arrays and torch tensors: ``None``,
empty batches, object or string arrays and NaN/Inf are refused with one DataError line naming the
batch and the data function), and forward passes whose failures on a misshapen batch name the batch."""

import numpy as np
import torch

from quantbridge.common import batches as qbatches
from quantbridge.common import config as qconfig
from quantbridge.common import finite
from quantbridge.errors import DataError

__all__ = ["model_input", "forward"]


def _first_input(batch, index, source):
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


def _check_input(x, index, source):
    """Raise DataError if ``x`` (an array or tensor) is not numeric, is empty, or holds NaN/Inf."""
    where = f"batch {index} from {source}"
    dtype = getattr(x, "dtype", None)
    if dtype is None or not hasattr(x, "shape"):
        msg = f"{where} is a {type(x).__module__}.{type(x).__qualname__}; expected a tensor or a numpy array"
        raise DataError(msg)
    kind = getattr(dtype, "kind", None)
    if kind is not None and kind not in "biuf":
        msg = f"{where} ({qbatches.describe(x)}) is not numeric; expected a float array"
        raise DataError(msg)
    size = x.numel() if hasattr(x, "numel") else x.size
    if size == 0:
        msg = (f"{where} is empty ({qbatches.describe(x)}); expected at least one sample (is the batch size 0, "
               f"or the dataset empty?)")
        raise DataError(msg)
    counts = finite.non_finite(x)
    if counts is not None:
        msg = f"{where} ({qbatches.describe(x)}) has {finite.describe(counts)}; expected finite inputs"
        raise DataError(msg)


def _param_dtype(model):
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def model_input(batch, index, source, model, device):
    """The checked input tensor of ``batch`` (numpy arrays become float32 tensors) on ``device``;
    for a model with several inputs, whose batches are ``((x, y, ...), targets)``, a tuple of them.

    Raises DataError for None, empty, non-numeric or non-finite batches, and for a float dtype
    other than the model's (float16 batches for a float32 model, say).
    """
    x = _first_input(batch, index, source)
    several = isinstance(x, (tuple, list)) and x and all(torch.is_tensor(i) or isinstance(i, np.ndarray) for i in x)
    text, shapes = _deployed(model)
    count = len(x) if several else 1
    if shapes and len(shapes) != count:
        names = ", ".join(name for name, _ in shapes)
        form = f"({names})" if len(shapes) > 1 else names
        msg = (f"batch {index} from {source} gives {count} model input(s), but the config's input_shape {text!r} has "
               f"{len(shapes)} ({names}); yield {form} or ({form}, targets) batches, the inputs in this order")
        raise DataError(msg)
    if several:
        return tuple(_one_input(item, index, source, model, device) for item in x)
    return _one_input(x, index, source, model, device)


def _one_input(x, index, source, model, device):
    if x is None:
        msg = f"batch {index} from {source} holds None where a model input is expected; expected a tensor or an array"
        raise DataError(msg)
    if isinstance(x, np.ndarray):
        _check_input(x, index, source)
        x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    if not torch.is_tensor(x):
        msg = (f"batch {index} from {source} is a {type(x).__module__}.{type(x).__qualname__}; expected a tensor, "
               f"a numpy array or an (inputs, targets) pair")
        raise DataError(msg)
    _check_input(x, index, source)
    want = _param_dtype(model)
    if x.is_floating_point() and x.dtype != want:
        msg = (f"batch {index} from {source} is {str(x.dtype).replace('torch.', '')} ({qbatches.describe(x)}); "
               f"the model's weights are {str(want).replace('torch.', '')}: yield {str(want).replace('torch.', '')} "
               f"batches (x.to({want}))")
        raise DataError(msg)
    return x.to(device)


def _deployed(model):
    resolved = getattr(model, "_quantbridge_config", None) or {}
    text = resolved.get("input_shape")
    if not text:
        return None, None
    try:
        return text, qconfig.parse_input_shape(text)
    except Exception:  # a malformed shape was refused earlier; here it only words a message
        return text, None


def forward(model, x, index, source):
    """``model(x)`` (``model(*x)`` for a tuple of inputs); if it fails on a batch whose shape differs from the config's deployed
    ``input_shape`` (beyond the batch size), raise DataError naming both shapes."""
    several = isinstance(x, tuple)
    try:
        return model(*x) if several else model(x)
    except Exception as exc:
        if several:
            raise
        line = (str(exc).strip().splitlines() or [""])[0][:200]
        if not x.is_floating_point():
            msg = (f"batch {index} from {source} is {str(x.dtype).replace('torch.', '')} ({qbatches.describe(x)}) and "
                   f"the model fails on it ({type(exc).__name__}: {line}); yield float batches")
            raise DataError(msg) from exc
        text, shapes = _deployed(model)
        if shapes and len(shapes) == 1:
            dims = list(shapes[0][1])
            got = list(x.shape)
            if len(got) != len(dims) or got[1:] != dims[1:]:
                msg = (f"batch {index} from {source} has {qbatches.describe(x)}, but the config's input_shape is "
                       f"{text!r} and the model fails on it ({type(exc).__name__}: {line}); yield batches of "
                       f"that shape (any batch size)")
                raise DataError(msg) from exc
        raise
