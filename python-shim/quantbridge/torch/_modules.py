"""Fake-quantization modules: per-tensor uint8 activations and per-channel int8 weights.

Both follow the contract of ``torch.ao.quantization.fake_quantize``: the formula in the
docstring, enable flags as ``uint8`` buffers, ``calculate_qparams()``, ``extra_repr()``.
Outside training they compute exactly what ONNX ``QuantizeLinear`` followed by
``DequantizeLinear`` computes (``x / scale``, round half to even, saturate), so a QDQ
ONNX model built from their parameters reproduces the fake-quant model.
"""

import math

import numpy as np
import torch
from torch import nn

from quantbridge.common import qparams

__all__ = ["ActivationFakeQuantize", "WeightFakeQuantize", "fake_quant_per_tensor", "fake_quant_per_channel"]

_EPS = float(np.finfo(np.float32).eps)
_W_SCALE_MIN = float(qparams.weight_qparams(0.0))   # the floor common.qparams puts under weight scales


def fake_quant_per_tensor(x, scale, zero_point, quant_min, quant_max):
    """ONNX-exact per-tensor quantize-dequantize; ``scale`` and ``zero_point`` are Python numbers.

    ``torch.fake_quantize_per_tensor_affine`` multiplies by ``1 / scale``, which differs from
    ONNX's division in the last bit for a few values, and is slow on CPU; without autograd
    this divides and rounds in place (about 15x faster), with autograd it quantizes ``x / scale``
    with a unit scale (the clipped straight-through gradient). Both give ONNX's result bit for bit.
    """
    zero_point = int(zero_point)
    if torch.is_grad_enabled() and x.requires_grad:
        return torch.fake_quantize_per_tensor_affine(x / scale, 1.0, zero_point, quant_min, quant_max) * scale
    return torch.round_(x / scale).clamp_(quant_min - zero_point, quant_max - zero_point).mul_(scale)


def fake_quant_per_channel(w, scale, axis, quant_min, quant_max):
    """ONNX-exact symmetric per-channel quantize-dequantize of ``w`` along ``axis`` (no gradient)."""
    shape = [1] * w.dim()
    shape[axis] = -1
    scale = scale.reshape(shape)
    return torch.round(w / scale).clamp_(quant_min, quant_max).mul_(scale)


class _StraightThrough(torch.autograd.Function):
    """``fake_quant_per_channel`` forward, identity backward.

    With ``scale = max|w| / 127`` no weight is clipped, so the straight-through gradient is
    the identity; this is about 6x faster on CPU than ``torch.fake_quantize_per_channel_affine``
    and gives the same on-grid values as evaluation.
    """

    @staticmethod
    def forward(ctx, w, scale, axis, quant_min, quant_max):
        return fake_quant_per_channel(w, scale, axis, quant_min, quant_max)

    @staticmethod
    def backward(ctx, grad):
        return grad, None, None, None, None


class ActivationFakeQuantize(nn.Module):
    r"""Asymmetric per-tensor uint8 fake quantization of a layer's input.

    Output::

        x_out = (clamp(round_half_even(x / scale) + zero_point, quant_min, quant_max) - zero_point) * scale

    with ``quant_min, quant_max = 0, 255``. Three modes, set by the ``uint8`` buffers
    ``observer_enabled`` and ``fake_quant_enabled``:

    * calibrating (observer on, fake quant off): records the running min/max (and, for
      the ``percentile`` and ``mse`` methods, a :class:`~quantbridge.common.qparams.HistogramObserver`)
      and returns ``x`` unchanged;
    * quantizing (observer off, fake quant on): in training with autograd on, ``scale`` is
      learned LSQ-style through ``torch._fake_quantize_learnable_per_tensor_affine`` (the
      zero point stays fixed); otherwise the ONNX-exact formula above. A quantizer that
      was never calibrated takes its range from the first batch it sees;
    * off (both off): identity.

    ``scale`` (a parameter), ``zero_point``, ``min_val``/``max_val`` and ``calibrated`` are all
    in the ``state_dict``, so a saved quant model resumes exactly.

    Args:
        method: range choice at the end of calibration: ``minmax``, ``percentile`` or ``mse``.
        percentile: kept mass in percent for ``percentile``.
        bins: histogram bins for ``percentile`` and ``mse``.
    """

    def __init__(self, method="minmax", percentile=99.99, bins=2048,
                 quant_min=qparams.ACT_QMIN, quant_max=qparams.ACT_QMAX):
        super().__init__()
        self.method = method
        self.percentile = float(percentile)
        self.bins = int(bins)
        self.quant_min = int(quant_min)
        self.quant_max = int(quant_max)
        self.scale = nn.Parameter(torch.tensor([1.0]))
        self.register_buffer("zero_point", torch.tensor([0.0]))
        self.register_buffer("min_val", torch.tensor(float("inf")))
        self.register_buffer("max_val", torch.tensor(float("-inf")))
        self.register_buffer("fake_quant_enabled", torch.tensor([1], dtype=torch.uint8))
        self.register_buffer("observer_enabled", torch.tensor([0], dtype=torch.uint8))
        self.register_buffer("calibrated", torch.tensor([0], dtype=torch.uint8))
        self.histogram = None
        self._last = None   # (input, output) of the last training forward, for get_quant_loss

    # -- flags ---------------------------------------------------------------------------
    def enable_fake_quant(self, enabled=True):
        self.fake_quant_enabled[0] = 1 if enabled else 0
        return self

    def disable_fake_quant(self):
        return self.enable_fake_quant(False)

    def enable_observer(self, enabled=True):
        self.observer_enabled[0] = 1 if enabled else 0
        return self

    def disable_observer(self):
        return self.enable_observer(False)

    # -- observer ------------------------------------------------------------------------
    def reset_observer(self):
        """Forget the statistics of an earlier calibration (the qparams stay)."""
        self.min_val.fill_(float("inf"))
        self.max_val.fill_(float("-inf"))
        self.histogram = None
        self._last = None

    @torch.no_grad()
    def observe(self, x):
        x = x.detach()
        if x.numel() == 0:
            return
        lo, hi = torch.aminmax(x)
        self.min_val.copy_(torch.minimum(self.min_val, lo.float()))
        self.max_val.copy_(torch.maximum(self.max_val, hi.float()))
        if self.method != "minmax":
            if self.histogram is None:
                self.histogram = qparams.HistogramObserver(self.bins)
            self.histogram.update(x.float().cpu().numpy())

    def has_observations(self):
        return bool(torch.isfinite(self.min_val)) and bool(torch.isfinite(self.max_val))

    def calculate_qparams(self):
        """``(scale, zero_point)`` from the observed statistics by ``method``; None if nothing was seen."""
        if not self.has_observations():
            return None
        lo, hi = qparams.choose_range(self.method, float(self.min_val), float(self.max_val),
                                      self.histogram, self.percentile)
        return qparams.activation_qparams(lo, hi, self.quant_min, self.quant_max)

    @torch.no_grad()
    def set_qparams(self, scale, zero_point):
        self.scale.fill_(float(scale))
        self.zero_point.fill_(float(zero_point))
        self.calibrated.fill_(1)

    def finish_calibration(self):
        """Turn the observed statistics into qparams (if any were seen) and switch quantization on."""
        result = self.calculate_qparams()
        if result is not None:
            self.set_qparams(*result)
        self.histogram = None
        self.disable_observer()
        self.enable_fake_quant()

    @torch.no_grad()
    def _init_from(self, x):
        lo, hi = torch.aminmax(x.detach())
        self.min_val.fill_(float(lo))
        self.max_val.fill_(float(hi))
        self.set_qparams(*qparams.activation_qparams(float(lo), float(hi), self.quant_min, self.quant_max))

    # -- forward ---------------------------------------------------------------------------
    def forward(self, x):
        if self.observer_enabled[0] == 1:
            self.observe(x)
        if self.fake_quant_enabled[0] == 0:
            return x
        if self.calibrated[0] == 0:
            self._init_from(x)
        if self.training and torch.is_grad_enabled():
            with torch.no_grad():
                self.scale.clamp_(min=_EPS)
            grad_factor = 1.0 / math.sqrt(max(x.numel(), 1) * self.quant_max)
            y = torch._fake_quantize_learnable_per_tensor_affine(
                x, self.scale, self.zero_point, self.quant_min, self.quant_max, grad_factor)
            self._last = (x, y)
            return y
        return fake_quant_per_tensor(x, float(self.scale), int(self.zero_point), self.quant_min, self.quant_max)

    def quant_error(self):
        """``||x - fq(x)||^2 / ||x||^2`` of the last training input (None if there was none)."""
        if self._last is None:
            return None
        x, y = self._last
        return (x - y).pow(2).sum() / x.detach().pow(2).sum().clamp_min(1e-12)

    def qparams(self):
        """Plain numbers: scale, zero point and the range they cover."""
        scale, zero_point = float(self.scale), int(round(float(self.zero_point)))
        return {"scale": scale, "zero_point": zero_point,
                "min": (self.quant_min - zero_point) * scale, "max": (self.quant_max - zero_point) * scale,
                "calibrated": bool(self.calibrated[0])}

    def __getstate__(self):
        # The last training tensors are autograd intermediates: they cannot be deep-copied or pickled.
        state = self.__dict__.copy()
        state["_last"] = None
        return state

    def extra_repr(self):
        return (f"method={self.method}, quant_min={self.quant_min}, quant_max={self.quant_max}, "
                f"scale={float(self.scale):.6g}, zero_point={int(float(self.zero_point))}, "
                f"fake_quant_enabled={int(self.fake_quant_enabled[0])}, "
                f"observer_enabled={int(self.observer_enabled[0])}, calibrated={int(self.calibrated[0])}")


class WeightFakeQuantize(nn.Module):
    r"""Symmetric per-output-channel int8 fake quantization of a weight, narrow range.

    Output, with ``c`` the channel along ``ch_axis``::

        scale[c] = max(|w[c]|) / 127
        w_out = clamp(round_half_even(w / scale[c]), -127, 127) * scale[c]

    The scale follows the current weights (it is not learned), so nothing is clipped. With
    autograd on, the gradient is the straight-through estimator (the identity); otherwise the result is cached until the
    weight changes (its ``_version`` or storage), so calibration and evaluation pay for
    the weight fake quant once.
    """

    def __init__(self, ch_axis=0, quant_min=qparams.W_QMIN, quant_max=qparams.W_QMAX):
        super().__init__()
        self.ch_axis = int(ch_axis)
        self.quant_min = int(quant_min)
        self.quant_max = int(quant_max)
        self.register_buffer("fake_quant_enabled", torch.tensor([1], dtype=torch.uint8))
        self._cache = None

    def enable_fake_quant(self, enabled=True):
        self.fake_quant_enabled[0] = 1 if enabled else 0
        self._cache = None
        return self

    def disable_fake_quant(self):
        return self.enable_fake_quant(False)

    def _reduce_dims(self, w):
        return [d for d in range(w.dim()) if d != self.ch_axis]

    def calculate_qparams(self, w):
        """Per-channel scales (float32 tensor) of ``w``; the zero points are all 0."""
        absmax = w.detach().abs().amax(dim=self._reduce_dims(w))
        return (absmax / self.quant_max).clamp_min(_W_SCALE_MIN)

    def forward(self, w):
        if self.fake_quant_enabled[0] == 0:
            return w
        if torch.is_grad_enabled() and w.requires_grad:
            return _StraightThrough.apply(w, self.calculate_qparams(w), self.ch_axis, self.quant_min, self.quant_max)
        cache = self._cache
        if cache is not None and cache[0] is w and cache[1] == (w._version, w.data_ptr()):
            return cache[2]
        with torch.no_grad():
            out = fake_quant_per_channel(w, self.calculate_qparams(w), self.ch_axis, self.quant_min, self.quant_max)
        self._cache = (w, (w._version, w.data_ptr()), out)
        return out

    def quant_error(self, w):
        """``||w - fq(w)||^2 / ||w||^2``, differentiable in ``w`` (rounding held constant)."""
        absmax = w.abs().amax(dim=self._reduce_dims(w), keepdim=True)
        scale = (absmax / self.quant_max).clamp_min(_W_SCALE_MIN)
        q = torch.round(w.detach() / scale.detach()).clamp_(self.quant_min, self.quant_max)
        return (w - q * scale).pow(2).sum() / w.detach().pow(2).sum().clamp_min(1e-12)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = None
        return state

    def extra_repr(self):
        return (f"ch_axis={self.ch_axis}, quant_min={self.quant_min}, quant_max={self.quant_max}, "
                f"fake_quant_enabled={int(self.fake_quant_enabled[0])}")
