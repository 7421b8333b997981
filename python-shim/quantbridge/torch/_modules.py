"""Fake-quantization modules: per-tensor uint8 activations and per-channel int8 weights.

Both follow the contract of ``torch.ao.quantization.fake_quantize``: the formula in the
docstring, enable flags as ``uint8`` buffers, ``calculate_qparams()``, ``extra_repr()``.
Outside training they compute exactly what ONNX ``QuantizeLinear`` followed by
``DequantizeLinear`` computes (``x / scale``, round half to even, saturate), so a QDQ
ONNX model built from their parameters reproduces the fake-quant model.
"""

import contextlib
import math
import weakref

import torch
from torch import nn

from quantbridge.common import qparams
from quantbridge.torch import _distributed

__all__ = ["ActivationFakeQuantize", "WeightFakeQuantize", "fake_quant_per_tensor", "fake_quant_per_channel",
           "cached_weights"]

_EPS = float(qparams.SCALE_FLOOR)   # the floor under learned activation scales, as under every scale
_W_SCALE_MIN = float(qparams.weight_qparams(0.0))   # the floor common.qparams puts under weight scales


def _divisor(value, like):
    """``value`` as a 0-dim tensor of ``like``'s dtype on ``like``'s device.

    Dividing by a Python number makes it a CPU scalar, and on CUDA torch then multiplies by its
    reciprocal, which is not ONNX's division in the last bit; a tensor on the same device is a
    true division everywhere (on CPU both are the same division, bit for bit).
    """
    return torch.full((), value, dtype=like.dtype, device=like.device)


def fake_quant_per_tensor(x, scale, zero_point, quant_min, quant_max):
    """ONNX-exact per-tensor quantize-dequantize; ``scale`` and ``zero_point`` are Python numbers.

    ``torch.fake_quantize_per_tensor_affine`` multiplies by ``1 / scale``, which differs from
    ONNX's division in the last bit for a few values, and is slow on CPU; without autograd
    this divides and rounds in place (about 15x faster), with autograd it quantizes ``x / scale``
    with a unit scale (the clipped straight-through gradient). Both give ONNX's result bit for bit,
    on CPU and CUDA (the division is by a tensor on ``x``'s device, see ``_divisor``).
    """
    zero_point = int(zero_point)
    divisor = _divisor(scale, x)
    if torch.is_grad_enabled() and x.requires_grad:
        return torch.fake_quantize_per_tensor_affine(x / divisor, 1.0, zero_point, quant_min, quant_max) * scale
    return torch.round_(x / divisor).clamp_(quant_min - zero_point, quant_max - zero_point).mul_(scale)


def fake_quant_per_channel(w, scale, axis, quant_min, quant_max):
    """ONNX-exact symmetric per-channel quantize-dequantize of ``w`` along ``axis`` (no gradient)."""
    shape = [1] * w.dim()
    shape[axis] = -1
    scale = scale.reshape(shape)
    return torch.div(w, scale).round_().clamp_(quant_min, quant_max).mul_(scale)


@contextlib.contextmanager
def cached_weights(model):
    """Within the block, every weight quantizer of ``model`` computes its fake-quantized weight
    once and reuses it while the weight keeps its ``_version`` and storage (no-autograd passes only).

    Outside such a block the fake-quantized weight is recomputed at every forward pass, so any
    change of the weight is seen, including changes through ``.data`` or another alias (pruning
    masks, EMA swaps), which leave ``_version`` alone. Inside, such a change is NOT seen: use the
    block only around passes that do not change weights that way (QuantBridge's calibration,
    ``fake_quant_predict``, analysis and sensitivity passes use it; wrap your evaluation loop in it
    for speed). Blocks nest; the cached tensors are dropped when the outermost block ends.
    """
    quantizers = list({id(m): m for m in model.modules() if isinstance(m, WeightFakeQuantize)}.values())
    for q in quantizers:
        q._cache_depth = getattr(q, "_cache_depth", 0) + 1
    try:
        yield model
    finally:
        for q in quantizers:
            q._cache_depth -= 1
            if q._cache_depth <= 0:
                q._cache_depth = 0
                q._cache = None


class _Steps:
    """A forward-pass counter shared by the activation quantizers of one quant model."""

    def __init__(self):
        self.value = 0


def new_step(module, inputs):
    """Forward pre-hook of the quant model's root: a new forward pass (training step) begins.

    Activation quantizers keep the inputs of the current step only, for ``get_quant_loss``.
    A module-level function, so the hook pickles and deep-copies with the model.
    """
    steps = getattr(module, "_quantbridge_steps", None)
    if steps is not None:
        steps.value += 1


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
                 quant_min=qparams.ACT_QMIN, quant_max=qparams.ACT_QMAX, range_max=None):
        super().__init__()
        self.method = method
        # the top quantized level calibration maps the range's upper end to: quant_max, or 127 for
        # reduce_range (7-bit activations); values above the range still saturate at quant_max, as
        # ONNX QuantizeLinear does
        self.range_max = int(quant_max if range_max is None else range_max)
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
        # [(input, output), ...] of this step's training forward calls (one per call of a shared
        # layer), for get_quant_loss; released when the backward pass reaches them.
        self._last = []
        self._last_step = None
        self._steps = None     # the quant model's _Steps, set by optimize_model

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
        self._last = []

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
        return qparams.activation_qparams(lo, hi, self.quant_min, self._range_max())

    @torch.no_grad()
    def set_qparams(self, scale, zero_point):
        self.scale.fill_(float(scale))
        self.zero_point.fill_(float(zero_point))
        self.calibrated.fill_(1)

    def finish_calibration(self):
        """End calibration: if the observer is on, turn the observed statistics into qparams (if
        any were seen) and switch it off; then switch quantization on.

        With the observer already off this only switches quantization on, so calling it again
        keeps the qparams (percentile/MSE ranges, or scales learned in QAT since).
        """
        if self.observer_enabled[0] == 1:
            result = self.calculate_qparams()
            if result is not None:
                self.set_qparams(*result)
            self.histogram = None
            self.disable_observer()
        self.enable_fake_quant()

    def effective_scale(self):
        """The scale the forward pass uses: ``scale`` floored at ``qparams.SCALE_FLOOR`` (a last optimizer step
        may leave the learned scale at or below 0; the training forward clamps it before use)."""
        return max(float(self.scale), _EPS)

    @torch.no_grad()
    def _init_from(self, x, across_ranks=False):
        lo, hi = torch.aminmax(x.detach())
        if across_ranks:
            lo, hi = _distributed.reduce_range(lo, hi)     # under DDP: over every rank's first batch
        lo, hi = float(lo), float(hi)
        self.min_val.fill_(lo)
        self.max_val.fill_(hi)
        self.set_qparams(*qparams.activation_qparams(lo, hi, self.quant_min, self._range_max()))

    def _range_max(self):
        return getattr(self, "range_max", self.quant_max)

    def bits(self):
        """8, or 7 with reduce_range."""
        return 7 if self._range_max() <= 127 else 8

    # -- forward ---------------------------------------------------------------------------
    def forward(self, x):
        if self.observer_enabled[0] == 1:
            self.observe(x)
        if self.fake_quant_enabled[0] == 0:
            return x
        if self.calibrated[0] == 0:
            self._init_from(x, across_ranks=self.training and torch.is_grad_enabled())
        if self.training and torch.is_grad_enabled():
            if bool(self.scale.detach().lt(_EPS).any()):
                # only when needed: an in-place change would break the backward of an earlier call
                # of a shared layer in the same forward pass (it saved this scale)
                with torch.no_grad():
                    self.scale.clamp_(min=_EPS)
            grad_factor = 1.0 / math.sqrt(max(x.numel(), 1) * self.quant_max)
            y = torch._fake_quantize_learnable_per_tensor_affine(
                x, self.scale, self.zero_point, self.quant_min, self.quant_max, grad_factor)
            self._remember(x, y)
            return y
        return fake_quant_per_tensor(x, self.effective_scale(), int(self.zero_point), self.quant_min, self.quant_max)

    def _current_step(self):
        steps = getattr(self, "_steps", None)
        return None if steps is None else steps.value

    def _remember(self, x, y):
        """Keep ``(x, y)`` of this training call for ``get_quant_loss``, until the backward pass."""
        step = self._current_step()
        if step is None or step != getattr(self, "_last_step", None) or not isinstance(self._last, list):
            self._last = []          # a new step (or no step counter: only the last call counts)
            self._last_step = step
        self._last.append((x, y))
        if y.requires_grad:
            ref = weakref.ref(self)

            def release(grad):
                # the backward pass reached this call: the loss was built; drop the references
                quantizer = ref()
                if quantizer is not None and quantizer._last_step == step:
                    quantizer._last = []

            y.register_hook(release)

    def quant_error(self):
        """``sum ||x - fq(x)||^2 / sum ||x||^2`` over the training calls of the current forward pass
        (None if the layer did not run in it, in training mode with autograd)."""
        if not self._last or getattr(self, "_last_step", None) != self._current_step():
            return None
        num = sum((x - y).pow(2).sum() for x, y in self._last)
        den = sum(x.detach().pow(2).sum() for x, _ in self._last)
        return num / den.clamp_min(1e-12)

    def qparams(self):
        """Plain numbers: scale (floored as in the forward pass), zero point and the range they cover."""
        scale, zero_point = self.effective_scale(), int(round(float(self.zero_point)))
        return {"scale": scale, "zero_point": zero_point,
                "min": (self.quant_min - zero_point) * scale, "max": (self.quant_max - zero_point) * scale,
                "calibrated": bool(self.calibrated[0]), "bits": self.bits()}

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        key = prefix + "scale"
        if key in destination and not keep_vars and bool((destination[key] < _EPS).any()):
            destination[key] = destination[key].clamp_min(_EPS)    # saved as the forward pass uses it

    def __getstate__(self):
        # The last training tensors are autograd intermediates: they cannot be deep-copied or pickled.
        state = self.__dict__.copy()
        state["_last"] = []
        state["_last_step"] = None
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
    autograd on, the gradient is the straight-through estimator (the identity). Without it the
    result is recomputed at each call, except inside :func:`cached_weights` (calibration,
    ``fake_quant_predict``, analysis and sensitivity passes), where it is computed once while the
    weight keeps its ``_version`` and storage.
    """

    def __init__(self, ch_axis=0, quant_min=qparams.W_QMIN, quant_max=qparams.W_QMAX):
        super().__init__()
        self.ch_axis = int(ch_axis)
        self.quant_min = int(quant_min)
        self.quant_max = int(quant_max)
        self.register_buffer("fake_quant_enabled", torch.tensor([1], dtype=torch.uint8))
        self._cache = None
        self._cache_depth = 0    # > 0 inside cached_weights()

    def enable_fake_quant(self, enabled=True):
        self.fake_quant_enabled[0] = 1 if enabled else 0
        self._cache = None
        return self

    def disable_fake_quant(self):
        return self.enable_fake_quant(False)

    def _reduce_dims(self, w):
        return [d for d in range(w.dim()) if d != self.ch_axis]

    def _absmax(self, w):
        w = w.detach()
        if self.ch_axis == 0 and w.dim() > 1 and w.is_contiguous():
            lo, hi = torch.aminmax(w.reshape(w.shape[0], -1), dim=1)   # one pass, no |w| copy
            return torch.maximum(hi, lo.neg())
        return w.abs().amax(dim=self._reduce_dims(w))

    def calculate_qparams(self, w):
        """Per-channel scales (float32 tensor) of ``w``; the zero points are all 0."""
        absmax = self._absmax(w)
        return (absmax / _divisor(self.quant_max, absmax)).clamp_min(_W_SCALE_MIN)

    def forward(self, w):
        if self.fake_quant_enabled[0] == 0:
            return w
        if torch.is_grad_enabled() and w.requires_grad:
            return _StraightThrough.apply(w, self.calculate_qparams(w), self.ch_axis, self.quant_min, self.quant_max)
        caching = getattr(self, "_cache_depth", 0) > 0
        cache = self._cache
        if caching and cache is not None and cache[0] is w and cache[1] == (w._version, w.data_ptr()):
            return cache[2]
        with torch.no_grad():
            out = fake_quant_per_channel(w, self.calculate_qparams(w), self.ch_axis, self.quant_min, self.quant_max)
        self._cache = (w, (w._version, w.data_ptr()), out) if caching else None
        return out

    def quant_error(self, w):
        """``||w - fq(w)||^2 / ||w||^2``, differentiable in ``w`` (rounding held constant)."""
        absmax = w.abs().amax(dim=self._reduce_dims(w), keepdim=True)
        scale = (absmax / _divisor(self.quant_max, absmax)).clamp_min(_W_SCALE_MIN)
        q = torch.round(w.detach() / scale.detach()).clamp_(self.quant_min, self.quant_max)
        return (w - q * scale).pow(2).sum() / w.detach().pow(2).sum().clamp_min(1e-12)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = None
        state["_cache_depth"] = 0
        return state

    def extra_repr(self):
        return (f"ch_axis={self.ch_axis}, quant_min={self.quant_min}, quant_max={self.quant_max}, "
                f"fake_quant_enabled={int(self.fake_quant_enabled[0])}")
