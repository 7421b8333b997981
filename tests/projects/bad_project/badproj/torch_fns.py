"""PyTorch model factories, data, training and evaluation functions that each break one rule.

The good parts come from the example project (``digitsnet``), as a user's own code would.
"""

import sys

import numpy as np
import torch
from torch import nn

from digitsnet import data as digits_data
from digitsnet import model as digits_model


# -- model factories ---------------------------------------------------------------------------
def nan_model():
    model = digits_model.build_model()
    with torch.no_grad():
        model.conv2.weight[0, 0, 0, 0] = float("nan")
    return model


def raising_model():
    raise RuntimeError("the factory failed on purpose")


def none_model():
    return None


def string_model():
    return "a model"


def exiting_model():
    sys.exit(3)


class _TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x, y):
        return self.fc(torch.flatten(x, 1)) + y


def two_input_model():
    return _TwoInputs()


def wrapped_model():
    return nn.DataParallel(digits_model.build_model())


def no_layers_model():
    return nn.Sequential(nn.Flatten(), nn.ReLU())


# -- data functions ----------------------------------------------------------------------------
def _images(n=4, batch_size=16):
    return [x for x, _ in digits_data.calibration_batches(batch_size=batch_size, num_batches=n)]


def good_batches(batch_size=16, num_batches=4):
    return _images(num_batches, batch_size)


def raising_data():
    raise ValueError("the data function failed on purpose")


def raising_midway():
    yield _images(1)[0]
    raise ValueError("the data generator failed after one batch")


def exiting_data():
    sys.exit(2)


def returns_none():
    return None


def returns_int():
    return 5


def returns_string():
    return "batches"


def returns_dict():
    return {"x": _images(1)[0]}


def empty_list():
    return []


def yields_none():
    yield None


def none_after_good():
    yield _images(1)[0]
    yield None


def empty_tuples():
    return [()]


def none_pairs():
    return [(None, torch.zeros(4))]


def nan_batches():
    batches = _images(3)
    batches[1] = batches[1].clone()
    batches[1][0, 0, 0, 0] = float("nan")
    return batches


def inf_batches():
    x = _images(1)[0].clone()
    x[3] = float("inf")
    return [x]


def neg_inf_numpy():
    x = _images(1)[0].numpy().copy()
    x[0, 0, 0, 0] = -np.inf
    return [x]


def nan_numpy():
    return [np.full((4, 1, 8, 8), np.nan, dtype=np.float32)]


def zero_batch_size():
    return good_batches(batch_size=0)


def empty_tensor():
    return [torch.empty(0, 1, 8, 8)]


def wrong_rank_2d():
    return [x[:, 0, 0, :] for x in _images(2)]


def wrong_rank_3d():
    return [x[:, 0] for x in _images(2)]


def wrong_rank_5d():
    return [x[:, None] for x in _images(2)]


def wrong_size():
    return [torch.rand(4, 1, 16, 16)]


def wrong_channels():
    return [torch.rand(4, 3, 8, 8)]


def half_batches():
    return [x.half() for x in _images(2)]


def bfloat16_batches():
    return [x.bfloat16() for x in _images(2)]


def double_batches():
    return [x.double() for x in _images(2)]


def int_batches():
    return [(x * 16).long() for x in _images(2)]


def bool_batches():
    return [x > 0 for x in _images(2)]


def string_batches():
    return ["not a batch"]


def dict_batches():
    return [{"x": x} for x in _images(2)]


def list_batches():
    return [[[0.0] * 8] * 8]


def object_arrays():
    return [np.array([object(), object()])]


def string_arrays():
    return [np.array(["a", "b"])]


def overflowing_batches():
    return [x * 1e38 for x in _images(2)]


def bad_progress_data(progress=None):
    progress("a")
    return _images(1)


# -- training functions ------------------------------------------------------------------------
def _steps(model, steps, lr, progress=None):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    x, y = digits_data.splits()[:2]
    model.train()
    for i in range(steps):
        loss = nn.functional.cross_entropy(model(x[i * 32:(i + 1) * 32]), y[i * 32:(i + 1) * 32])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if progress is not None:
            progress(i + 1, steps, loss=float(loss))
    return {"loss": float(loss)}


def good_train(model, steps=2, progress=None):
    return _steps(model, steps, 1e-3, progress)


def diverging_train(model, progress=None):
    """A learning rate far too high: SGD steps until the weights overflow to Inf/NaN (at most 200)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1e30)
    x, y = digits_data.splits()[:2]
    model.train()
    for step in range(200):
        loss = nn.functional.cross_entropy(model(x[:64]) * 1e20, y[:64])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
            return {"steps": step + 1}
    raise RuntimeError("diverging_train did not diverge")


def nan_weights_train(model):
    with torch.no_grad():
        model.fc1.weight.fill_(float("nan"))


def nan_scale_train(model):
    with torch.no_grad():
        model.conv1.activation_quant.scale.fill_(float("inf"))


def swapping_train(model):
    good_train(model, steps=1)
    model.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)


def deleting_train(model):
    model.fc2 = nn.Identity()


def raising_train(model):
    raise RuntimeError("training failed on purpose")


def exiting_train(model):
    sys.exit(1)


def progress_string_train(model, progress=None):
    progress("a")


def progress_total_train(model, progress=None):
    progress(1, "ten")


def progress_nan_train(model, progress=None):
    progress(float("nan"), 10)


def progress_negative_train(model, progress=None):
    progress(-1, 10)


def progress_tensor_train(model, progress=None):
    progress(torch.ones(3), 10)


# -- evaluation functions ----------------------------------------------------------------------
def eval_string(model):
    return "high"


def eval_none(model):
    return None


def eval_nan(model):
    return float("nan")


def eval_inf(model):
    return {"accuracy": float("inf")}


def eval_no_accuracy(model):
    return {"top1": 90.0}


def eval_raises(model):
    raise ZeroDivisionError("evaluation failed on purpose")


def eval_exits(model):
    sys.exit(0)
