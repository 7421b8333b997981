"""The PyTorch demo's "user code": a small CNN on scikit-learn's 8x8 digits.

It is written the way a user's own training project would be (model factory, data,
training loop, evaluation) with the vendor's one optional hook, ``get_quant_loss``, in the
QAT loop. Everything is seeded: the same calls give the same numbers.

Data: ``sklearn.datasets.load_digits`` (1797 images of 8x8), scaled to [0, 1] and
normalised with the training split's mean and std, as ``N x 1 x 8 x 8`` float32; a fixed
stratified split keeps 360 images for testing. Deployed input shape: ``x:1,1,8,8``.

``progress`` arguments are callables ``progress(current, total, **metrics)``; when None,
``quantbridge.progress`` events are emitted for phase ``train``.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from quantbridge import progress as qb_progress
from quantbridge.examples import digits_data

__all__ = ["INPUT_SHAPE", "SEED", "DigitsNet", "build_model", "load_data", "train_float", "calibration_batches",
           "train", "evaluate", "test_inputs", "test_labels", "predict"]

INPUT_SHAPE = "x:1,1,8,8"
SEED = digits_data.SEED
TEST_SIZE = digits_data.TEST_SIZE


class DigitsNet(nn.Module):
    """conv 3x3 (1->16) + BN + ReLU, depthwise 3x3 + BN + ReLU, pointwise (16->32) + BN + ReLU,
    2x2 max-pool, linear (512->10)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
            nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
            nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.MaxPool2d(2))
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


def build_model(seed=SEED):
    """A freshly initialised float model (the same weights for the same seed)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DigitsNet()


def load_data():
    """``{"x_train", "y_train", "x_test", "y_test"}`` as numpy arrays (copies), NCHW."""
    return digits_data.load("NCHW")


def _reporter(progress):
    return progress if progress is not None else qb_progress.Reporter("train")


def _fit(model, optimizer, epochs, batch_size, progress, extra_loss=None, seed=SEED):
    data = load_data()
    x, y = torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"])
    generator = torch.Generator().manual_seed(seed)
    steps = (len(x) + batch_size - 1) // batch_size
    total, step, loss_sum = epochs * steps, 0, 0.0
    report = _reporter(progress)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        loss_sum = 0.0
        for start in range(0, len(x), batch_size):
            index = order[start:start + batch_size]
            loss = F.cross_entropy(model(x[index]), y[index])
            if extra_loss is not None:
                loss = loss + extra_loss()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            loss_sum += float(loss)
            report(step, total, loss=float(loss))
    model.eval()
    return {"loss": loss_sum / steps, "steps": step}


def train_float(model, epochs=12, lr=3e-3, batch_size=32, progress=None):
    """Train the float model with Adam; returns ``{"loss": last epoch's mean, "steps": n}``."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return _fit(model, optimizer, epochs, batch_size, progress)


def calibration_batches(batch_size=64, num_batches=8):
    """``num_batches`` input tensors from the training split (a fixed sample)."""
    x = load_data()["x_train"]
    order = np.random.default_rng(SEED).permutation(len(x))[:batch_size * num_batches]
    return [torch.from_numpy(x[order[i:i + batch_size]]) for i in range(0, len(order), batch_size)]


def train(quant_model, epochs=2, lr=1e-4, batch_size=32, quant_loss_weight=0.05, progress=None):
    """Quantization-aware training: the user's loop over ``quant_model`` (optimizer built over it).

    Adds ``quant_loss_weight * get_quant_loss(quant_model)`` to the task loss (0 turns it off).
    Returns ``{"loss": last epoch's mean, "steps": n}``.
    """
    optimizer = torch.optim.Adam(quant_model.parameters(), lr=lr)
    extra = None
    if quant_loss_weight:
        from quantbridge.torch import get_quant_loss
        extra = lambda: quant_loss_weight * get_quant_loss(quant_model)  # noqa: E731
    return _fit(quant_model, optimizer, epochs, batch_size, progress, extra, seed=SEED + 1)


def predict(model, x):
    """Logits (numpy) of ``model`` for the numpy batch ``x``, in eval mode without gradients."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(torch.as_tensor(np.asarray(x, dtype=np.float32))).numpy()
    finally:
        model.train(was_training)


def test_inputs():
    """The test images, ``360 x 1 x 8 x 8`` float32."""
    return load_data()["x_test"]


def test_labels():
    """The test labels (int64), aligned with :func:`test_inputs`."""
    return load_data()["y_test"]


def evaluate(model):
    """Top-1 accuracy on the test split, in percent."""
    return float((predict(model, test_inputs()).argmax(axis=1) == test_labels()).mean() * 100.0)
