"""Data: scikit-learn's 8x8 digits, normalised, as ``N x 1 x 8 x 8`` float32 tensors."""

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 0
_cache = {}


def splits():
    """``(x_train, y_train, x_test, y_test)`` as tensors (fixed stratified split, 300 test images)."""
    if not _cache:
        digits = load_digits()
        x = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]
        y = digits.target.astype(np.int64)
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=300, stratify=y, random_state=SEED)
        mean, std = float(x_train.mean()), float(x_train.std())
        _cache["data"] = tuple(torch.from_numpy(a) for a in
                               ((x_train - mean) / std, y_train, (x_test - mean) / std, y_test))
    return _cache["data"]


def calibration_batches(batch_size=32, num_batches=8, rank=0, world_size=1):
    """A generator of ``(images, labels)`` batches from the training split: ``num_batches`` in all,
    of which this rank takes every ``world_size``-th, starting at batch ``rank`` (QuantBridge passes
    ``rank`` and ``world_size`` in a distributed job)."""
    x, y, _, _ = splits()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(SEED))
    for i in range(rank, num_batches, world_size):
        index = order[i * batch_size:(i + 1) * batch_size]
        yield x[index], y[index]


def train_loader(batch_size=32, seed=SEED, rank=0, world_size=1):
    """A shuffled DataLoader over the training split; with ``world_size`` > 1, over this rank's
    share (a ``DistributedSampler``: call ``loader.sampler.set_epoch(epoch)`` every epoch)."""
    x, y, _, _ = splits()
    dataset = torch.utils.data.TensorDataset(x, y)
    if world_size > 1:
        sampler = torch.utils.data.distributed.DistributedSampler(dataset, num_replicas=world_size, rank=rank,
                                                                  shuffle=True, seed=seed)
        return torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=sampler)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True,
                                       generator=torch.Generator().manual_seed(seed))
