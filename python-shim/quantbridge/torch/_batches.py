"""PyTorch model inputs from the user's batches, checked (see :mod:`quantbridge.common.batches`),
and forward passes whose failures on a misshapen batch name the batch."""

import numpy as np
import torch

from quantbridge.common import batches as qbatches
from quantbridge.common import config as qconfig
from quantbridge.errors import DataError

__all__ = ["model_input", "forward"]


def _param_dtype(model):
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def model_input(batch, index, source, model, device):
    """The checked input tensor of ``batch`` (numpy arrays become float32 tensors) on ``device``.

    Raises DataError for None, empty, non-numeric or non-finite batches, and for a float dtype
    other than the model's (float16 batches for a float32 model, say).
    """
    x = qbatches.first_input(batch, index, source)
    if isinstance(x, np.ndarray):
        qbatches.check_input(x, index, source)
        x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    if not torch.is_tensor(x):
        msg = (f"batch {index} from {source} is a {type(x).__module__}.{type(x).__qualname__}; expected a tensor, "
               f"a numpy array or an (inputs, targets) pair")
        raise DataError(msg)
    qbatches.check_input(x, index, source)
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
    """``model(x)``; if it fails on a batch whose shape differs from the config's deployed
    ``input_shape`` (beyond the batch size), raise DataError naming both shapes."""
    try:
        return model(x)
    except Exception as exc:
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
