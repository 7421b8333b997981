"""Training and evaluation loops (the same for the float and the quantized model)."""

import torch
import torch.nn.functional as F

from digitsnet import data, model as model_lib


def train(model, epochs=1, lr=1e-3, progress=None, rank=0, world_size=1):
    """Adam over ``model.parameters()``; ``progress(step, total, loss=...)`` after each step.

    In a distributed job (QuantBridge passes ``rank`` and ``world_size``, and ``model`` is wrapped
    in ``DistributedDataParallel``) each rank trains on its share of the data.
    Returns ``{"loss": mean loss of the last epoch, "steps": steps}``.
    """
    loader = data.train_loader(rank=rank, world_size=world_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    total, step = epochs * len(loader), 0
    model.train()
    for epoch in range(epochs):
        if hasattr(loader.sampler, "set_epoch"):
            loader.sampler.set_epoch(epoch)
        losses = []
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            losses.append(float(loss))
            if progress is not None:
                progress(step, total, loss=float(loss))
    model.eval()
    return {"loss": sum(losses) / len(losses), "steps": step}


def evaluate(model):
    """Top-1 accuracy on the test split, in percent."""
    _, _, x, y = data.splits()
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean() * 100.0)


def create_float_weights(path, epochs=3):
    """Train a float model from scratch and save its state_dict to ``path``; return its accuracy."""
    net = model_lib.build_model()
    train(net, epochs=epochs, lr=3e-3)
    torch.save(net.state_dict(), path)
    return evaluate(net)


if __name__ == "__main__":
    import sys

    print(f"accuracy {create_float_weights(sys.argv[1] if len(sys.argv) > 1 else 'float.pth'):.2f}%")
