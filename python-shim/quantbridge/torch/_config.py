"""Config checks against a PyTorch model, and the in-place rewrite of the model."""

import copy
import inspect

import torch
from torch import nn

from quantbridge.common import config as qconfig
from quantbridge.errors import ConfigError, ModelError
from quantbridge.torch import _layers, _points
from quantbridge.torch._modules import ActivationFakeQuantize, _Steps, new_step

__all__ = ["CONFIG_ATTR", "check_model", "list_layers", "build_config", "check_input_shape", "resolve", "quantize"]

CONFIG_ATTR = "_quantbridge_config"
_WRAPPERS = ("DataParallel", "DistributedDataParallel", "FullyShardedDataParallel")


def check_model(model, what="model"):
    """Raise ModelError unless ``model`` is a plain (not data-parallel wrapped) ``nn.Module``."""
    if not isinstance(model, nn.Module):
        msg = f"{what} must be a torch.nn.Module, got {type(model).__module__}.{type(model).__qualname__}"
        raise ModelError(msg)
    wrapper = next((c for c in type(model).__mro__ if c.__name__ in _WRAPPERS), None)
    if wrapper is not None:
        msg = (f"{what} is wrapped by {type(model).__module__}.{type(model).__qualname__} ({wrapper.__name__}); "
               f"pass the inner module (wrapped.module) and wrap the returned quant model afterwards")
        raise ModelError(msg)


def list_layers(model):
    """``[[layer name, op_type], ...]`` of every quantizable layer, in module order."""
    check_model(model)
    return [[name, _layers.op_type(_layers.float_class(module))]
            for name, (_, module) in _layers.find_layers(model).items()]


def build_config(model, input_shape):
    """The config template for ``model`` (every layer at ``float``), once the model has run one
    forward pass on inputs of ``input_shape``."""
    layers = list_layers(model)
    check_input_shape(model, input_shape)
    return qconfig.build_template([tuple(pair) for pair in layers], _layers.SUPPORTED, input_shape)


def _forward_arity(model):
    """``(required, most or None, names)`` of the positional parameters of ``model.forward``."""
    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return 0, None, []
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(1 for p in positional if p.default is p.empty)
    most = None if any(p.kind == p.VAR_POSITIONAL for p in params) else len(positional)
    return required, most, [p.name for p in positional]


def check_input_shape(model, input_shape):
    """Raise ConfigError unless ``model`` runs one eval-mode forward pass on random inputs of the
    deployed ``input_shape`` (``"x:1,3,224,224;y:1,10"``). Nothing in the model changes."""
    shapes = qconfig.parse_input_shape(input_shape)
    cls = f"{type(model).__module__}.{type(model).__qualname__}"
    required, most, names = _forward_arity(model)
    if len(shapes) < required or (most is not None and len(shapes) > most):
        expected = f"{required}" if most == required else f"{required} to {most if most is not None else 'any'}"
        msg = (f"input_shape {input_shape!r} has {len(shapes)} input(s) ({', '.join(n for n, _ in shapes)}) but "
               f"{cls}.forward takes {expected} ({', '.join(names) or 'none'}); give one 'name:dims' per input, "
               f"separated by ';'")
        raise ConfigError(msg)
    param = next((p for p in model.parameters() if p.is_floating_point()), None)
    dtype = param.dtype if param is not None else torch.float32
    device = param.device if param is not None else torch.device("cpu")
    generator = torch.Generator().manual_seed(0)
    inputs = [torch.randn(dims, generator=generator, dtype=dtype).to(device) for _, dims in shapes]
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with torch.no_grad():
            model(*inputs)
    except Exception as exc:
        line = (str(exc).strip().splitlines() or [""])[0][:240]
        msg = (f"input_shape {input_shape!r}: {cls} cannot run inputs of this shape ({type(exc).__name__}: {line}); "
               f"give the shape the deployed model takes, 'name:d1,d2,...' per input")
        raise ConfigError(msg) from None
    finally:
        for module, training in modes:
            module.training = training


def resolve(model, config, checked=False):
    """Validate ``config`` (path or dict) against ``model`` without changing anything.

    Returns the resolved, seed-shaped config: every layer of the model with its strategy,
    ``input_shape`` as given (if any), and the ``quantbridge`` section with its defaults.
    ``checked``: ``config`` is a dict that already passed the structural rules (Java ran them);
    only what depends on the model is checked then.
    """
    check_model(model)
    cfg = config if checked else qconfig.load(config)
    found = _layers.find_layers(model)
    known = {name: _layers.op_type(_layers.float_class(module)) for name, (_, module) in found.items()}
    strategies = qconfig.validate(cfg, known, _layers.SUPPORTED, checked=checked)
    extra = qconfig.extra_settings(cfg)
    for name, strategy in strategies.items():
        if strategy != qconfig.FLOAT:
            _layers.check_quantizable(name, found[name][1])
    resolved = qconfig.build_template(list(known.items()), _layers.SUPPORTED, cfg.get("input_shape"))
    for name, strategy in strategies.items():
        resolved["layer_strategy"][name]["quant_strategy"] = strategy
    resolved[qconfig.EXTRA_KEY] = copy.deepcopy(extra)
    return resolved


def quantize(model, resolved):
    """Replace every ``Quant_INT8-8`` layer of ``model`` by its wrapper, in place; return the root."""
    found = _layers.find_layers(model)
    calibration = dict(resolved[qconfig.EXTRA_KEY]["calibration"])
    if resolved[qconfig.EXTRA_KEY].get("reduce_range"):
        calibration["range_max"] = 127
    quantized = {found[name][0]: name for name, entry in resolved["layer_strategy"].items()
                 if entry["quant_strategy"] == qconfig.INT8}
    # The derived points (layer outputs, residual adds) that ONNX Runtime's integer kernels need, and
    # the groups whose eval-mode arithmetic follows those kernels (quantbridge.integer_kernels, on by default).
    wanted = resolved[qconfig.EXTRA_KEY].get("integer_kernels", True)
    points, groups = _points.plan(model, quantized) if quantized and wanted else ([], [])
    replacements = {}
    for name, entry in resolved["layer_strategy"].items():
        if entry["quant_strategy"] == qconfig.INT8:
            module = found[name][1]
            replacements[id(module)] = _layers.quantize_layer(module, calibration)
    root = _layers.replace_modules(model, replacements)
    setattr(root, CONFIG_ATTR, resolved)
    # Each forward pass of the root starts a new step: get_quant_loss then uses only the inputs of
    # the layers that ran in the current pass (a layer skipped by a branch leaves no stale term).
    steps = _Steps()
    root._quantbridge_steps = steps
    for module in root.modules():
        if isinstance(module, ActivationFakeQuantize):
            module._steps = steps
    if not any(hook is new_step for hook in root._forward_pre_hooks.values()):
        root.register_forward_pre_hook(new_step)
    if root is model:
        _points.attach(root, points, calibration, steps, groups)
    return root


def strategies_of(resolved):
    return {name: entry["quant_strategy"] for name, entry in resolved["layer_strategy"].items()}
