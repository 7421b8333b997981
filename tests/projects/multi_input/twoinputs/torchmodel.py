"""A PyTorch digits model with two inputs: the image ``x`` and its mirror image ``flipped``
(both [N, 1, 8, 8]), one conv branch each, added, ReLU, max-pool 2, linear (10)."""

import torch
from torch import nn

from twoinputs import data


class TwoViews(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_a = nn.Conv2d(1, 8, 3, padding=1)
        self.conv_b = nn.Conv2d(1, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x, flipped):
        h = torch.relu(self.conv_a(x) + self.conv_b(flipped))
        return self.fc(torch.max_pool2d(h, 2).flatten(1))


def build_model():
    torch.manual_seed(0)
    return TwoViews()


def batches(num_batches=4, batch_size=32, inputs=2, split="train"):
    """``((x, flipped), labels)`` batches; ``inputs=1`` gives ``(x, labels)`` (one input too few)."""
    out = []
    for x, y in data.batches("nchw", batch_size, num_batches, split):
        x = torch.from_numpy(x)
        views = (x, torch.flip(x, [3])) if inputs == 2 else x
        out.append((views, torch.from_numpy(y)))
    return out


def create_float_weights(path, epochs=2):
    """Train from scratch (Adam) and save the state_dict at ``path``; returns the test accuracy in percent."""
    model = build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        for (x, xf), y in batches(num_batches=47):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x, xf), y).backward()
            optimizer.step()
    (x, xf), y = batches(num_batches=1, batch_size=300, split="test")[0]
    model.eval()
    with torch.no_grad():
        accuracy = float((model(x, xf).argmax(1) == y).float().mean() * 100)
    torch.save(model.state_dict(), str(path))
    return accuracy
