"""The deployed arithmetic of a quantized conv/linear layer whose output is a quantization point.

ONNX Runtime runs such a layer as one integer kernel (``QLinearConv``, ``QGemm``): the BatchNorm
that follows it is folded into its weights and bias at export, the bias is int32 with scale
``s_x * s_w[c]``, the int32 accumulator is requantized to the output point (``float32(acc) *
(s_x * s_w[c] / s_y)``, rounded half to even, saturated), and a ReLU before the output point is
absorbed by the point's range. In eval mode the quantized layer computes exactly that here, with
the folded weights and the int32 bias the export and the Java QDQ builder produce (same float32
steps), and returns the requantized output; the folded BatchNorm then passes its input through
(``_points.pass_folded``) and the ReLU and the point's quantizer leave the on-grid values as they
are. So the fake-quant model in eval mode is the deployed computation, not only close to it.
The last Linear, whose output is the model's, is a ``QGemm`` with a float output: the int32
accumulator (bias included) converted to float32 times ``float32(s_x * s_w[c])``, nothing rounded
after. A global average pooling between a point and a quantized reader is ONNX Runtime's
``QLinearGlobalAveragePool`` (:func:`global_pool`, MLAS's x86 arithmetic).

In training mode the layer computes ``conv(fq(x), fq(w))`` and the BatchNorm normalises with batch
statistics, in float. Per-channel symmetric weight quantization commutes with BatchNorm's
per-channel scaling (``fq(k * w) == k * fq(w)``), so this equals the fold-then-quantize training of
``torch.ao``'s ``ConvBn2d`` (quantize the BN-scaled weight, rescale, batch statistics); the int32
bias and the requantization rounding are not modelled in training (their effect is far below one
output step and has no gradient). Eval mode uses the running statistics, as the deployed model.
A forward pass with autograd on (``requires_grad`` weights outside ``torch.no_grad()``) also takes the
float path, so that gradients flow; evaluate under ``torch.no_grad()`` for the deployed arithmetic.
"""

import contextlib

import torch

from quantbridge.torch import _points
from quantbridge.torch._modules import _W_SCALE_MIN, _divisor

__all__ = ["group_forward", "global_pool", "layer_outputs"]

_OFF = "_quantbridge_group_off"

_INT32 = (-2.0 ** 31, 2.0 ** 31 - 1)


def _f32(t):
    return t.to(torch.float32)


def _quantizing(q):
    return int(q.fake_quant_enabled[0]) == 1 and int(q.observer_enabled[0]) == 0 and int(q.calibrated[0]) == 1


def group_forward(layer, x, compute):
    """The group's deployed output for input ``x`` of the quantized ``layer``, or None when the
    float path applies (training, autograd, calibration, a quantizer off, a BatchNorm in training).

    ``compute(x_int, w_int)`` runs the layer's op (conv or linear, no bias) on integer-valued
    float32 tensors.
    """
    group = layer.__dict__.get(_points.GROUP_ATTR)
    if group is None or layer.training or layer.__dict__.get(_OFF):
        return None
    bn, act, out_q, direct_q, activity = group
    act_q, w_q = layer.activation_quant, layer.weight_quant
    if torch.is_grad_enabled() and (x.requires_grad or layer.weight.requires_grad):
        return None
    if not (_quantizing(act_q) and (out_q is None or _quantizing(out_q)) and int(w_q.fake_quant_enabled[0]) == 1
            and _points.is_active(activity)):
        return None
    if bn is not None and (bn.training or bn.running_mean is None):
        return None
    if isinstance(layer, torch.nn.Linear) and x.dim() != 2:
        return None            # exported as MatMul + Add: no integer kernel with an int32 bias
    direct = direct_q is not None and _quantizing(direct_q) and _points.merges(direct_q)
    with torch.no_grad():
        y = _deployed(layer, x, bn, direct_q if direct else out_q, compute)
    setattr(y, _points.REQUANTIZED_ATTR, direct)
    return y


def _usable(q):
    return q is not None and _quantizing(q)


def _deployed(layer, x, bn, out_q, compute):
    act_q, w_q = layer.activation_quant, layer.weight_quant
    # input codes (q - zp), as QuantizeLinear computes them
    s_x, zp_x = act_q.effective_scale(), int(round(float(act_q.zero_point)))
    x_int = torch.round_(x / _divisor(s_x, x)).clamp_(act_q.quant_min - zp_x, act_q.quant_max - zp_x)
    # the weight on its grid (what the export writes), then folded as the export folds it
    w = layer.weight
    s_w = w_q.calculate_qparams(w)                           # float32, per output channel
    axis = w_q.ch_axis
    shape = [1] * w.dim()
    shape[axis] = -1
    w_grid = torch.div(w, s_w.reshape(shape)).round_().clamp_(w_q.quant_min, w_q.quant_max).mul_(s_w.reshape(shape))
    bias = layer.bias.double() if layer.bias is not None else None
    if bn is not None:
        var, mean = bn.running_var.double(), bn.running_mean.double()
        gamma = bn.weight.double() if bn.affine else torch.ones_like(var)
        beta = bn.bias.double() if bn.affine else torch.zeros_like(var)
        c = gamma / torch.sqrt(var + bn.eps)
        w_grid = _f32(w_grid.double() * c.reshape(shape))
        bias = ((bias if bias is not None else torch.zeros_like(mean)) - mean) * c + beta
        s_w = _f32(torch.clamp(s_w.double() * c.abs(), min=_W_SCALE_MIN))
    else:
        s_w = _f32(torch.clamp(s_w.double(), min=_W_SCALE_MIN))
    w_int = torch.div(w_grid, s_w.reshape(shape)).round_().clamp_(w_q.quant_min, w_q.quant_max)
    acc = compute(x_int, w_int).double()
    # float32 steps as the Java builder (bias scale) and ONNX Runtime (requantization scale) take them
    s_x32 = torch.tensor(s_x, dtype=torch.float32)
    s_acc = _f32(s_x32 * s_w)                                # s_x * s_w[c], float32
    if bias is not None:
        b32 = _f32(bias).double()
        b_int = torch.round(b32 / s_acc.double()).clamp_(*_INT32)
        acc = acc + b_int.reshape([-1] + [1] * (acc.dim() - 2))
    if out_q is None:
        # QGemm with a float output: float32(int32 accumulator) * float32(s_x * s_w[c])
        return _f32(acc) * s_acc.reshape([-1] + [1] * (acc.dim() - 2))
    s_y, zp_y = out_q.effective_scale(), int(round(float(out_q.zero_point)))
    multiplier = s_acc / torch.tensor(s_y, dtype=torch.float32)             # float32
    y = _f32(acc) * multiplier.reshape([-1] + [1] * (acc.dim() - 2))
    y = torch.round_(y).clamp_(out_q.quant_min - zp_y, out_q.quant_max - zp_y).mul_(s_y)
    setattr(y, _points.FOLDED_ATTR, id(bn) if bn is not None else None)
    return y


def global_pool(x, in_q, out_q):
    """ONNX Runtime's ``QLinearGlobalAveragePool`` of ``x`` (on ``in_q``'s grid, ``N, C, H, W``) into
    ``out_q``'s grid, as MLAS computes it: the int32 sum of the input codes less ``zp_x * H * W``,
    times the float32 multiplier ``s_x / (s_y * float32(H * W))``, clamped to the output range and
    rounded half to even; returned dequantized, shape ``N, C, 1, 1``. None when the deployed
    arithmetic does not apply (training, autograd, calibration, a quantizer off)."""
    if in_q.training or not (_usable(in_q) and _usable(out_q)) or x.dim() != 4:
        return None
    if torch.is_grad_enabled() and x.requires_grad:
        return None
    with torch.no_grad():
        s_x, zp_x = in_q.effective_scale(), int(round(float(in_q.zero_point)))
        codes = torch.round(x / _divisor(s_x, x)).clamp_(in_q.quant_min - zp_x, in_q.quant_max - zp_x)
        acc = codes.double().sum(dim=(2, 3), keepdim=True)          # exact: integers below 2**53
        size = x.shape[2] * x.shape[3]
        s_y, zp_y = out_q.effective_scale(), int(round(float(out_q.zero_point)))
        s_x32, s_y32, n32 = (torch.tensor(v, dtype=torch.float32) for v in (s_x, s_y, float(size)))
        multiplier = s_x32 / (s_y32 * n32)                          # float32, as MLAS computes it
        y = _f32(acc) * multiplier
        y = y.clamp_(out_q.quant_min - zp_y, out_q.quant_max - zp_y).round_().mul_(s_y)
    return y.to(x.dtype)


@contextlib.contextmanager
def layer_outputs(model):
    """Within the block every quantized layer of ``model`` returns its own output
    (``conv(fq(x), fq(w))``, BatchNorm after it in float) instead of its group's requantized output:
    for per-layer statistics that compare a layer's output with its float op's. Blocks nest."""
    layers = [m for m in model.modules() if _points.GROUP_ATTR in m.__dict__]
    before = [m.__dict__.get(_OFF) for m in layers]
    for m in layers:
        m.__dict__[_OFF] = True
    try:
        yield model
    finally:
        for m, old in zip(layers, before):
            if old is None:
                m.__dict__.pop(_OFF, None)
            else:
                m.__dict__[_OFF] = old
