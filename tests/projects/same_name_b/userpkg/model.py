"""Project B: a conv net on 8x8 digits (layers ``conv``, ``head``): same package name as project A."""

import torch
from torch import nn

WHO = "b"


def build():
    torch.manual_seed(0)
    return _Net()


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.head = nn.Linear(4 * 8 * 8, 10)

    def forward(self, x):
        return self.head(torch.flatten(torch.relu(self.conv(x)), 1))


def batches(n=4):
    """Seeded random digit-shaped batches."""
    g = torch.Generator().manual_seed(2)
    return [torch.rand(16, 1, 8, 8, generator=g) for _ in range(n)]
