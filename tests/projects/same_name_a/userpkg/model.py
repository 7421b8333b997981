"""Project A: a two-layer MLP on 8x8 digits (layers ``fc1``, ``fc2``)."""

import torch
from torch import nn

WHO = "a"


def build():
    torch.manual_seed(0)
    return _Net()


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


def batches(n=4):
    """Seeded random digit-shaped batches."""
    g = torch.Generator().manual_seed(1)
    return [torch.rand(16, 1, 8, 8, generator=g) for _ in range(n)]
