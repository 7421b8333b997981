"""Quantizable layers: their config names, and the quantized wrappers that replace them.

A wrapper is a subclass of the float layer's class that shares the float layer's
state (parameters, buffers, hooks, attributes) and adds two child modules,
``activation_quant`` and ``weight_quant``. Its ``state_dict`` is therefore the float
layer's keys plus the quantizer keys, and ``isinstance(wrapper, nn.Conv2d)`` still holds.
"""

import torch
import torch.nn.functional as F
from torch import nn

from quantbridge.common import rules
from quantbridge.errors import ModelError
from quantbridge.torch import _integer
from quantbridge.torch._modules import ActivationFakeQuantize, WeightFakeQuantize

__all__ = ["KINDS", "SUPPORTED", "op_type", "layer_name", "find_layers", "check_quantizable",
           "QuantConv1d", "QuantConv2d", "QuantConvTranspose2d", "QuantLinear", "is_quant_layer",
           "quantize_layer", "replace_modules"]

# float class -> op kind used in the layer name, and the weight's output-channel axis.
KINDS = {nn.Conv2d: "Conv2D", nn.Conv1d: "Conv1D", nn.ConvTranspose2d: "Conv2DTranspose", nn.Linear: "MatMul"}
_CH_AXIS = {nn.Conv2d: 0, nn.Conv1d: 0, nn.ConvTranspose2d: 1, nn.Linear: 0}
SUPPORTED = {str(cls): rules.quantized(str(cls)) for cls in KINDS}   # the table is config_rules.json


def op_type(cls):
    return str(cls)


def layer_name(path, cls):
    """``features.0`` + Conv2d -> ``features/0/Conv2D``."""
    kind = KINDS[cls]
    return f"{path.replace('.', '/')}/{kind}" if path else kind


def float_class(module):
    """The float layer class of ``module`` (a wrapper reports the class it wraps), or None."""
    cls = getattr(type(module), "_FLOAT_CLASS", None) or type(module)
    return cls if cls in KINDS else None


def find_layers(model):
    """``{layer name: (module path, module)}`` of every quantizable layer, in module order.

    Only exact classes count: a subclass may use its weight in its own way (e.g. the
    ``out_proj`` of ``nn.MultiheadAttention``).
    """
    out = {}
    for path, module in model.named_modules():
        cls = float_class(module)
        if cls is not None:
            out[layer_name(path, cls)] = (path, module)
    return out


def check_quantizable(name, module):
    """Raise ModelError if ``module`` cannot take ``Quant_INT8-8``."""
    if float_class(module) is nn.ConvTranspose2d and module.groups != 1:
        msg = (f"layer {name!r}: ConvTranspose2d with groups={module.groups} cannot be quantized per output "
               f"channel (ONNX keeps its weight as [in, out/groups, kH, kW], so one scale per output channel "
               f"does not fit the weight's axis 1); leave it at 'float'")
        raise ModelError(msg)
    if is_quant_layer(module):
        msg = f"layer {name!r} is already quantized: pass the float model to optimize_model once"
        raise ModelError(msg)


def _shallow_clone(module, cls):
    """A new ``cls`` instance sharing ``module``'s parameters, buffers, children and attributes."""
    new = cls.__new__(cls)
    for key, value in module.__dict__.items():
        # Container dicts (_parameters, _modules, hooks, ...) are copied so that adding or
        # removing an entry on one object does not change the other.
        new.__dict__[key] = value.copy() if isinstance(value, (dict, set)) else value
    return new


class _QuantLayer:
    """Mixin of the wrappers: construction from a float layer and back."""

    _FLOAT_CLASS = None

    @classmethod
    def from_float(cls, module, calibration):
        new = _shallow_clone(module, cls)
        new.activation_quant = ActivationFakeQuantize(calibration["method"], calibration["percentile"],
                                                      calibration["bins"], range_max=calibration.get("range_max"))
        new.weight_quant = WeightFakeQuantize(_CH_AXIS[cls._FLOAT_CLASS])
        return new.to(module.weight.device).train(module.training)

    @torch.no_grad()
    def to_float(self):
        """The float layer with its weight replaced by the fake-quantized (on-grid) weight."""
        plain = _shallow_clone(self, self._FLOAT_CLASS)
        del plain._modules["activation_quant"], plain._modules["weight_quant"]
        plain._parameters["weight"] = nn.Parameter(self.weight_quant(self.weight).clone(),
                                                   requires_grad=self.weight.requires_grad)
        return plain

    def weight_scales(self):
        return self.weight_quant.calculate_qparams(self.weight)

    def _conv_integer(self, x, w):
        return self._conv_forward(x, w, None)

    def _fq_inputs(self, x):
        return self.activation_quant(x), self.weight_quant(self.weight)


class QuantConv1d(_QuantLayer, nn.Conv1d):
    """``nn.Conv1d`` with a fake-quantized input (uint8, per tensor) and weight (int8, per channel)."""

    _FLOAT_CLASS = nn.Conv1d

    def forward(self, input):
        deployed = _integer.group_forward(self, input, self._conv_integer)
        if deployed is not None:
            return deployed
        x, w = self._fq_inputs(input)
        return self._conv_forward(x, w, self.bias)


class QuantConv2d(_QuantLayer, nn.Conv2d):
    """``nn.Conv2d`` with a fake-quantized input (uint8, per tensor) and weight (int8, per channel)."""

    _FLOAT_CLASS = nn.Conv2d

    def forward(self, input):
        deployed = _integer.group_forward(self, input, self._conv_integer)
        if deployed is not None:
            return deployed
        x, w = self._fq_inputs(input)
        return self._conv_forward(x, w, self.bias)


class QuantConvTranspose2d(_QuantLayer, nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` (groups 1) with fake-quantized input and weight (channel axis 1)."""

    _FLOAT_CLASS = nn.ConvTranspose2d

    def forward(self, input, output_size=None):
        if self.padding_mode != "zeros":
            raise ValueError("Only `zeros` padding mode is supported for ConvTranspose2d")
        output_padding = self._output_padding(input, output_size, self.stride, self.padding,
                                              self.kernel_size, self.dilation)
        x, w = self._fq_inputs(input)
        return F.conv_transpose2d(x, w, self.bias, self.stride, self.padding, output_padding,
                                  self.groups, self.dilation)


class QuantLinear(_QuantLayer, nn.Linear):
    """``nn.Linear`` with a fake-quantized input (uint8, per tensor) and weight (int8, per row)."""

    _FLOAT_CLASS = nn.Linear

    def forward(self, input):
        deployed = _integer.group_forward(self, input, F.linear)
        if deployed is not None:
            return deployed
        x, w = self._fq_inputs(input)
        return F.linear(x, w, self.bias)


_WRAPPERS = {cls._FLOAT_CLASS: cls for cls in (QuantConv1d, QuantConv2d, QuantConvTranspose2d, QuantLinear)}


def is_quant_layer(module):
    return isinstance(module, _QuantLayer)


def quantize_layer(module, calibration):
    return _WRAPPERS[type(module)].from_float(module, calibration)


def replace_modules(model, replacements):
    """Put ``replacements`` (``{id(old module): new module}``) wherever the old modules sit.

    Returns the (possibly new) root. Shared modules are replaced at every place they appear.
    """
    if id(model) in replacements:
        return replacements[id(model)]
    for parent in list(model.modules()):
        for key, child in list(parent._modules.items()):
            if child is not None and id(child) in replacements:
                parent._modules[key] = replacements[id(child)]
    return model
