"""Writes the Java unit tests' PyTorch fixture for layers called more than once (not a test).

    cd python-shim && ../.venv/bin/python tests/make_java_fixtures.py

Output, under ``java/src/test/resources/io/quantbridge/onnx/``, for two models:
``<name>.onnx`` and ``<name>_quant_param.json`` (``generate_final_model`` of a calibrated quant
model) and ``<name>_io.json`` (an input batch and ``fake_quant_predict``'s output for it, float32
values written as Python floats). ``shared_conv``: a conv called three times, twice followed by
its own BatchNorm (torch's exporter folds each into a copy of the weight), once plain, then an
ordinary 1x1 conv. ``shared_head``: a conv called twice on different tensors, both calls reading
the same weight initializer, then a Linear. ``QdqSharedModuleTest`` builds the INT8 QDQ models
in Java and checks them against the fake-quant outputs. ``residual_cnn`` (parameter file version
2, with derived points): a ResNet/MobileNet-like net (conv-BN-ReLU stem, MaxPool, a residual
block with ReLU, a strided block with a 1x1 downsample, a ReLU6 depthwise block with a residual
add, global pooling, Linear-ReLU-Linear); ``IntegerKernelsTest`` counts the integer kernels
ONNX Runtime makes of it. The committed ``shared_conv`` and ``shared_head`` files are version 1
(written before points existed; they keep the reading of version-1 files tested): name the
fixtures to write, ``make_java_fixtures.py residual_cnn``, to leave them as they are.
``test_java_fixtures.py`` regenerates ``residual_cnn`` and fails when the committed files differ.
"""

import json
import os
import shutil
import sys
import tempfile

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from quantbridge.torch import (build_config, calibrate, fake_quant_predict, generate_final_model,  # noqa: E402
                               optimize_model)

OUT = os.path.join(HERE, "..", "..", "java", "src", "test", "resources", "io", "quantbridge", "onnx")


class SharedConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(4, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.bn2 = nn.BatchNorm2d(4)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        a = torch.relu(self.bn1(self.c(x)))
        b = torch.relu(self.bn2(self.c(a)))
        return self.head(self.c(b - 0.5))


class SharedHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        y = self.c(torch.relu(self.c(x)) - 1.0)
        return self.fc(y.mean((2, 3)))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.down is None else self.down(x)
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        out += identity
        return self.relu(out)


class DepthwiseBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU6(),
                                  nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.conv(x)


class ResidualCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(4, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.block1 = Block(8, 8, 1)
        self.block2 = Block(8, 16, 2)
        self.dw = DepthwiseBlock(16)
        self.fc1 = nn.Linear(16, 12)
        self.fc2 = nn.Linear(12, 3)

    def forward(self, x):
        x = self.dw(self.block2(self.block1(self.pool(self.stem(x)))))
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.fc2(torch.relu(self.fc1(x)))


def build_residual():
    torch.manual_seed(0)
    model = ResidualCnn()
    model.train()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():               # BatchNorm statistics of the data, as after training
        for _ in range(4):
            model(torch.randn(16, 4, 8, 8, generator=g))
    return model.eval()


def build_head():
    torch.manual_seed(0)
    return SharedHead().eval()


def build():
    torch.manual_seed(0)
    model = SharedConv()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for bn in (model.bn1, model.bn2):
            bn.weight.copy_((torch.rand(4, generator=g) + 0.5) * torch.tensor([1.0, -1.0, 1.0, -1.0]))
            bn.bias.copy_(torch.randn(4, generator=g) * 0.3)
            bn.running_mean.copy_(torch.randn(4, generator=g) * 0.5)
            bn.running_var.copy_(torch.rand(4, generator=g) * 2 + 0.1)
    return model.eval()


def write(name, build_fn, size=6, integer_kernels=False, out=OUT):
    model = build_fn()
    cfg = build_config(model, f"x:1,4,{size},{size}")
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = "Quant_INT8-8"
    cfg["quantbridge"] = {"integer_kernels": integer_kernels}
    quant = optimize_model(model, cfg)
    g = torch.Generator().manual_seed(2)
    calibrate(quant, [torch.randn(8, 4, size, size, generator=g) for _ in range(4)])
    x = torch.randn(16 if size > 6 else 4, 4, size, size, generator=g)
    expected = fake_quant_predict(quant, x.numpy())
    work = tempfile.mkdtemp()
    cwd = os.getcwd()
    try:
        os.chdir(work)
        torch.save(quant.state_dict(), "quant.pth")
        generate_final_model(build_fn(), cfg, "quant.pth", "./", name=name)
        os.makedirs(out, exist_ok=True)
        for file in (name + ".onnx", name + "_quant_param.json"):
            shutil.copyfile(file, os.path.join(out, file))
    finally:
        os.chdir(cwd)
        shutil.rmtree(work)
    io = {"x": {"shape": list(x.shape), "data": [float(v) for v in x.numpy().ravel()]},
          "output": {"shape": list(expected.shape), "data": [float(v) for v in expected.ravel()]}}
    with open(os.path.join(out, name + "_io.json"), "w", encoding="utf-8") as fh:
        json.dump(io, fh)
        fh.write("\n")


FIXTURES = {"shared_conv": (build, 6, False), "shared_head": (build_head, 6, False),
            "residual_cnn": (build_residual, 8, True)}


def main(names, out=OUT):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name in names or FIXTURES:
            build_fn, size, integer_kernels = FIXTURES[name]
            write(name, build_fn, size, integer_kernels, out)
    finally:
        torch.set_num_threads(threads)


if __name__ == "__main__":
    main(sys.argv[1:])
