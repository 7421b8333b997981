"""The model: two conv blocks and two linear layers."""

import torch
from torch import nn

SEED = 0


class DigitsNet(nn.Module):
    """conv 3x3 (1->8) + BN + ReLU, conv 3x3 (8->16) + BN + ReLU, max-pool 2, linear 256->32, ReLU, linear 32->10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(16 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.pool(torch.relu(self.bn2(self.conv2(x))))
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


def build_model(weights=None):
    """A fresh float model (seeded); loads ``weights`` (a state_dict .pth) when given."""
    torch.manual_seed(SEED)
    model = DigitsNet()
    if weights:
        model.load_state_dict(torch.load(weights, map_location="cpu"))
    return model
