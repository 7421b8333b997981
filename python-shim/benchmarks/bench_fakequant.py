"""Overhead of QuantBridge's fake quantization on a ResNet-18-sized model (CPU).

Prints the median time of a training step (forward + backward + SGD) and of an evaluation
forward pass, for the float model and for the same model after ``optimize_model`` with every
Conv2d/Linear at ``Quant_INT8-8`` (calibrated first), with and without ``get_quant_loss``; the
quantized evaluation pass both as a user's loop runs it (the fake-quantized weights are recomputed
at each pass) and inside ``cached_weights`` (computed once, as QuantBridge's own passes do).

    .venv/bin/python python-shim/benchmarks/bench_fakequant.py [--threads 2] [--steps 10]

Numbers are printed, never asserted: compare runs on the same machine only.
"""

import argparse
import statistics
import time

import torch
from torch import nn

from quantbridge.torch import build_config, cached_weights, get_quant_loss, optimize_model, set_calibrate_state


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (x if self.down is None else self.down(x)))


class ResNet18(nn.Module):
    """ResNet-18 for 32x32 inputs (11.2 M parameters)."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        layers, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(self.layers(self.stem(x)), 1), 1))


def median_time(fn, steps, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def train_step(model, x, y, quant_loss=False):
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step():
        model.train()
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        if quant_loss:
            loss = loss + 0.05 * get_quant_loss(model)
        loss.backward()
        opt.step()
    return step


def eval_step(model, x):
    def step():
        model.eval()
        with torch.no_grad():
            model(x)
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.randint(0, 10, (args.batch,))

    float_model = ResNet18()
    quant_model = ResNet18()
    quant_model.load_state_dict(float_model.state_dict())
    cfg = build_config(quant_model, "x:1,3,32,32")
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = "Quant_INT8-8"
    quant_model = optimize_model(quant_model, cfg)
    set_calibrate_state(quant_model, True)
    eval_step(quant_model, x)()
    set_calibrate_state(quant_model, False)

    rows = [
        ("training step, float", median_time(train_step(float_model, x, y), args.steps)),
        ("training step, fake quant", median_time(train_step(quant_model, x, y), args.steps)),
        ("training step, fake quant + quant loss", median_time(train_step(quant_model, x, y, True), args.steps)),
        ("evaluation forward, float", median_time(eval_step(float_model, x), args.steps)),
        ("evaluation forward, fake quant", median_time(eval_step(quant_model, x), args.steps)),
    ]
    with cached_weights(quant_model):         # around the whole loop, as a user's evaluation loop would use it
        cached = median_time(eval_step(quant_model, x), args.steps)
    rows.append(("evaluation forward, fake quant, cached_weights", cached))
    params = sum(p.numel() for p in float_model.parameters())
    print(f"quantbridge bench: ResNet-18 ({params / 1e6:.1f} M parameters), batch {args.batch}x3x32x32, "
          f"{args.threads} threads, torch {torch.__version__}, median of {args.steps}")
    base = {"training": rows[0][1], "evaluation": rows[3][1]}
    for name, seconds in rows:
        ratio = seconds / base[name.split()[0]]
        print(f"  {name:<48} {seconds * 1000:8.1f} ms   {ratio:4.2f}x float")


if __name__ == "__main__":
    main()
