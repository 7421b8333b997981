"""Models, data and ONNX Runtime's own quantizer for ``./quantbridge bench int8``.

torchvision ``resnet18`` and ``mobilenet_v2`` (``num_classes=10``, random init: no weight
downloads) trained briefly on scikit-learn's digits scaled to 3x64x64 (real images, 10 classes),
so that their predictions have margins and the agreement of two models means something.
"""

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

from quantbridge.examples import digits_data

SIZE = 64
_CACHE = {}


def _digits(split):
    if split not in _CACHE:
        data = digits_data.load("NCHW")
        x, y = data["x_" + split], data["y_" + split]
        x = torch.as_tensor(np.asarray(x, dtype=np.float32))
        x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False).repeat(1, 3, 1, 1)
        _CACHE[split] = (x.contiguous(), torch.as_tensor(np.asarray(y), dtype=torch.long))
    return _CACHE[split]


def resnet18():
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=10)


def mobilenet_v2():
    torch.manual_seed(0)
    return torchvision.models.mobilenet_v2(num_classes=10)


def train(model, epochs=3, batch_size=32, lr=0.05):
    """A brief float training on the digits (SGD with momentum); returns the test accuracy in percent."""
    torch.manual_seed(1)
    x, y = _digits("train")
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    model.train()
    for _ in range(int(epochs)):
        order = torch.randperm(len(x))
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return evaluate(model)


def evaluate(model):
    x, y = _digits("test")
    model.eval()
    with torch.no_grad():
        return 100.0 * float((model(x).argmax(1) == y).float().mean())


def calibration_batches(batch_size=32, batches=8):
    x, _ = _digits("train")
    return [x[i * batch_size:(i + 1) * batch_size] for i in range(batches)]


def test_inputs(n=0):
    x, _ = _digits("test")
    return (x if not n else x[:int(n)]).numpy()


def ort_quantize(float_onnx, out_onnx, batch_size=32, batches=8):
    """ONNX Runtime's own static quantization of ``float_onnx`` (QDQ, per channel, uint8
    activations, int8 weights) calibrated on the same batches (minmax)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._it = iter([{"x": b.numpy()} for b in calibration_batches(batch_size, batches)])

        def get_next(self):
            return next(self._it, None)

    quantize_static(str(float_onnx), str(out_onnx), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return str(out_onnx)
