"""From a trained or calibrated quant state to a float ONNX model on the int8 weight grid.

Steps: load the quant state into a quantized copy of the fresh float model; swap every
wrapper back to its float layer with the fake-quantized weight; fold BatchNorm into the
preceding conv (found with torch.fx); export ONNX opset 13; find each layer's ONNX node.
"""

import collections
import collections.abc
import copy
import io
import os
import warnings

import numpy as np
import torch
import torch.fx
from torch import nn

from quantbridge.common import config as qconfig
from quantbridge.common import paramfile
from quantbridge.common.paths import atomic_write_bytes, check_dir, check_file_path, no_overwrite
from quantbridge.errors import CheckpointError, ConfigError, ModelError, PathError
from quantbridge.torch import _config, _layers
from quantbridge.torch._modules import _W_SCALE_MIN

__all__ = ["OPSET", "key", "output_paths", "read_state", "load_quant_state", "fold_batchnorm", "export"]

OPSET = 13
_CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)
_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d)
_WEIGHT_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def output_paths(output_dir, name, suffixes):
    """Absolute ``<output_dir>/<name><suffix>`` paths, checked against the path rule."""
    check_dir(output_dir, what="output_dir")
    if not isinstance(name, str) or not name or os.path.basename(name) != name:
        msg = f"name must be a plain file stem (no directory part), got {name!r}"
        raise PathError(msg)
    # Joined to the directory as the user wrote it: the rule checks only the parts they wrote.
    directory = str(output_dir) if output_dir not in (None, "") else "."
    return [check_file_path(os.path.join(directory, name + suffix), what="output file") for suffix in suffixes]


def read_state(source):
    """A state dict from a ``.pth`` path or a mapping; CheckpointError if it is not one."""
    if isinstance(source, (str, os.PathLike)):
        path = check_file_path(source, what="pth_file", must_exist=True)
        try:
            state = torch.load(path, map_location="cpu")
        except Exception as exc:
            msg = f"pth_file {str(source)!r} cannot be read by torch.load: {type(exc).__name__}: {exc}"
            raise CheckpointError(msg) from exc
        where = f"pth_file {str(source)!r}"
    else:
        state, where = source, "the quant state"
    if not isinstance(state, collections.abc.Mapping) or not all(
            isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        hint = " (it looks like a checkpoint dict: save quant_model.state_dict() itself)" \
            if isinstance(state, collections.abc.Mapping) and "state_dict" in state else ""
        msg = f"{where} is not a state dict (a mapping of parameter names to tensors){hint}"
        raise CheckpointError(msg)
    return state, where


def _sample(keys, n=8):
    return ", ".join(keys[:n]) + (f" and {len(keys) - n} more" if len(keys) > n else "")


def load_quant_state(quant_model, state, where, strategies):
    """Check ``state`` against ``quant_model`` (keys, shapes, calibration) and load it."""
    expected = quant_model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys: {_sample(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {_sample(unexpected)}")
        msg = (f"{where} does not fit the model with this config ({'; '.join(parts)}); it must be "
               f"quant_model.state_dict() of optimize_model(model, config) with the same model and config")
        raise CheckpointError(msg)
    wrong = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
             if tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        msg = f"{where}: shape mismatch (checkpoint vs model) for {', '.join(wrong[:8])}"
        raise CheckpointError(msg)
    found = _layers.find_layers(quant_model)
    uncalibrated = [name for name, strategy in strategies.items() if strategy == qconfig.INT8
                    and not int(state[key(found[name][0], "activation_quant.calibrated")][0])]
    if uncalibrated:
        msg = (f"{where}: the activation quantizer of layer(s) {uncalibrated} was never calibrated or trained; "
               f"calibrate (set_calibrate_state True, forward passes, then False) or train before saving")
        raise CheckpointError(msg)
    quant_model.load_state_dict(state, strict=True)


def key(path, suffix):
    """The state-dict key / qualified name of ``suffix`` under module ``path``."""
    return f"{path}.{suffix}" if path else suffix


def _set_submodule(model, path, module):
    parent, _, leaf = path.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, leaf, module)


@torch.no_grad()
def _fold(conv, bn):
    """Fold ``bn`` into ``conv`` in place; return the per-output-channel factor ``c``."""
    var, mean = bn.running_var.double(), bn.running_mean.double()
    gamma = bn.weight.double() if bn.affine else torch.ones_like(var)
    beta = bn.bias.double() if bn.affine else torch.zeros_like(var)
    c = gamma / torch.sqrt(var + bn.eps)
    axis = 1 if isinstance(conv, nn.ConvTranspose2d) else 0
    shape = [1] * conv.weight.dim()
    shape[axis] = -1
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(mean)
    conv.weight = nn.Parameter((conv.weight.double() * c.reshape(shape)).float())
    conv.bias = nn.Parameter(((bias - mean) * c + beta).float())
    return c


def fold_batchnorm(model):
    """Fold every BatchNorm that directly follows a conv whose output feeds only it.

    Uses ``torch.fx.symbolic_trace`` to see the data flow; an untraceable model is left
    unfolded with a warning. Returns ``{conv module path: factor c}``.
    """
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception as exc:  # user models may have data-dependent control flow
        warnings.warn(f"BatchNorm folding skipped: torch.fx cannot trace the model ({type(exc).__name__}: "
                      f"{str(exc).splitlines()[0] if str(exc) else ''})", stacklevel=3)
        return {}
    modules = dict(model.named_modules())
    calls = collections.Counter(n.target for n in graph.nodes if n.op == "call_module")
    folded = {}
    for node in graph.nodes:
        bn = modules.get(node.target) if node.op == "call_module" else None
        if type(bn) not in _BN_TYPES or len(node.args) != 1 or node.kwargs or calls[node.target] != 1:
            continue
        src = node.args[0]
        if not isinstance(src, torch.fx.Node) or src.op != "call_module" or len(src.users) != 1:
            continue
        conv = modules.get(src.target)
        if (type(conv) not in _CONV_TYPES or calls[src.target] != 1 or bn.running_mean is None
                or bn.num_features != conv.out_channels
                or (isinstance(conv, nn.ConvTranspose2d) and conv.groups != 1)):
            continue
        folded[src.target] = _fold(conv, bn)
        _set_submodule(model, node.target, nn.Identity())
    return folded


def _flatten(out):
    if torch.is_tensor(out):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for item in out for t in _flatten(item)]
    if isinstance(out, dict):
        return [t for item in out.values() for t in _flatten(item)]
    return []


def _to_onnx(model, shapes):
    """ONNX bytes (opset 13, dynamic batch) of ``model`` for inputs ``shapes``; output names."""
    generator = torch.Generator().manual_seed(0)
    inputs = tuple(torch.randn(dims, generator=generator) for _, dims in shapes)
    with torch.no_grad():
        n_out = len(_flatten(model(*inputs)))
    if n_out == 0:
        msg = "the model's forward returns no tensor; cannot export it to ONNX"
        raise ModelError(msg)
    input_names = [name for name, _ in shapes]
    output_names = ["output"] if n_out == 1 else [f"output_{i}" for i in range(n_out)]
    buffer = io.BytesIO()
    torch.onnx.export(model, inputs, buffer, export_params=True, opset_version=OPSET, do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL, input_names=input_names, output_names=output_names,
                      dynamic_axes={n: {0: "batch"} for n in input_names + output_names})
    return buffer.getvalue(), output_names


def _channel_factors(init, weight, axis):
    """Per-channel ``r`` with ``init == r * weight`` (along ``axis``), or None if not proportional."""
    moved_i = np.moveaxis(init.astype(np.float64), axis, 0).reshape(init.shape[axis], -1)
    moved_w = np.moveaxis(weight.astype(np.float64), axis, 0).reshape(weight.shape[axis], -1)
    norm = (moved_w * moved_w).sum(axis=1)
    r = np.where(norm > 0, (moved_i * moved_w).sum(axis=1) / np.where(norm > 0, norm, 1.0), 1.0)
    tolerance = 1e-5 * max(float(np.abs(moved_i).max(initial=0.0)), 1e-12)
    if float(np.abs(moved_i - r[:, None] * moved_w).max(initial=0.0)) > tolerance:
        return None
    return r


def _weight_axis(node):
    """(channel axis of the weight initializer as stored, whether it is the transposed torch weight)."""
    if node.op_type == "Conv":
        return 0, False
    if node.op_type == "ConvTranspose":
        return 1, False
    if node.op_type == "Gemm":
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return (0, False) if trans_b else (1, True)
    return 1, True  # MatMul: x @ W^T


class _OnnxIndex:
    """Weight initializers of an ONNX graph and the nodes using them as their weight input."""

    def __init__(self, model_proto):
        from onnx import numpy_helper
        self.arrays = {t.name: numpy_helper.to_array(t) for t in model_proto.graph.initializer}
        self.uses = [(node, node.input[1]) for node in model_proto.graph.node
                     if node.op_type in _WEIGHT_OPS and len(node.input) > 1 and node.input[1] in self.arrays]
        self.claimed = set()

    def locate(self, param_name, weight):
        """(node, initializer name, axis, factors) for the torch ``weight``, or None."""
        ordered = sorted(self.uses, key=lambda use: use[1] != param_name)
        for node, init_name in ordered:
            if init_name in self.claimed:
                continue
            axis, transposed = _weight_axis(node)
            expected = weight.T if transposed and weight.ndim == 2 else weight
            init = self.arrays[init_name]
            if (transposed and weight.ndim != 2) or init.shape != expected.shape:
                continue
            factors = _channel_factors(init, expected, axis)
            if factors is not None:
                self.claimed.add(init_name)
                return node, init_name, axis, factors
        return None


def _name_nodes(model_proto):
    """Give every unnamed node a unique name (the parameter file refers to nodes by name)."""
    names = {n.name for n in model_proto.graph.node if n.name}
    changed = False
    for i, node in enumerate(model_proto.graph.node):
        if not node.name:
            candidate = f"{node.op_type}_{i}"
            while candidate in names:
                candidate += "_"
            node.name, changed = candidate, True
            names.add(candidate)
    return changed


def _grid_model(model, resolved, state, where):
    """The float model with the quant state's weights on their grid and BatchNorm folded.

    Returns ``(float model, {layer: (module path, strategy, weight scales, activation qparams)},
    {conv path: BatchNorm factor})``; the weight scales are those before folding.
    """
    strategies = _config.strategies_of(resolved)
    quant_model = _config.quantize(copy.deepcopy(model).cpu(), resolved)
    load_quant_state(quant_model, state, where, strategies)
    quant_model.eval()
    layers, replacements = {}, {}
    for layer, (path, module) in _layers.find_layers(quant_model).items():
        if _layers.is_quant_layer(module):
            layers[layer] = (path, strategies[layer], module.weight_scales().double().numpy(),
                             module.activation_quant.qparams())
            replacements[id(module)] = module.to_float()
        else:
            layers[layer] = (path, strategies[layer], None, None)
    float_model = _layers.replace_modules(quant_model, replacements)
    return float_model, layers, fold_batchnorm(float_model)


def _layer_entries(model_proto, float_model, layers, folded):
    """Parameter-file layer entries: each layer's ONNX node, weight initializer and input tensor."""
    index = _OnnxIndex(model_proto)
    modules = dict(float_model.named_modules())
    entries = []
    for layer, (path, strategy, scales, act) in layers.items():
        module = modules[path]
        hit = index.locate(key(path, "weight"), module.weight.detach().numpy())
        if hit is None:
            if strategy == qconfig.INT8:
                warnings.warn(f"layer {layer!r} has no node in the exported ONNX graph (unused in forward?); "
                              f"it is left out of the parameter list", stacklevel=4)
            continue
        node, init_name, axis, factors = hit
        entry = {"name": layer, "op_type": _layers.op_type(type(module)), "quant_strategy": strategy,
                 "node": node.name}
        if strategy == qconfig.INT8:
            factor = np.abs(factors) * (np.abs(folded[path].numpy()) if path in folded else 1.0)
            # a zero BatchNorm factor zeroes the channel; keep its scale positive for QuantizeLinear
            weight_scales = np.maximum(scales * factor, _W_SCALE_MIN).astype(np.float32)
            entry["weight"] = paramfile.weight_entry(init_name, axis, weight_scales)
            entry["activation"] = paramfile.activation_entry(node.input[0], act["scale"], act["zero_point"],
                                                             act["min"], act["max"])
        entries.append(entry)
    return entries


def export(model, config, state_source, output_dir="./", name="model", overwrite=False, with_params=False):
    """The shared work of ``export_onnx`` and ``generate_final_model``; see their docstrings."""
    import onnx

    # 1. every check, before anything is built or written
    _config.check_model(model)
    suffixes = [".onnx", "_quant_param.json"] if with_params else [".onnx"]
    paths = output_paths(output_dir, name, suffixes)
    if not overwrite:
        no_overwrite(paths, "generate_final_model" if with_params else "export_onnx")
    resolved = _config.resolve(model, config)
    input_shape = resolved.get("input_shape")
    if input_shape is None:
        msg = "the config has no 'input_shape' (e.g. \"x:1,3,224,224\"); the ONNX export needs the deployed shape"
        raise ConfigError(msg)
    state, where = read_state(state_source)

    # 2. build in memory
    float_model, layers, folded = _grid_model(model, resolved, state, where)
    data, output_names = _to_onnx(float_model, qconfig.parse_input_shape(input_shape))
    model_proto = onnx.load_from_string(data)
    if _name_nodes(model_proto):
        data = model_proto.SerializeToString()
    onnx.checker.check_model(model_proto)
    entries = _layer_entries(model_proto, float_model, layers, folded)

    # 3. write: each file atomically; the parameter file needs the written model's sha256
    result = {"onnx": paths[0], "layers": entries, "outputs": output_names, "input_shape": input_shape}
    existed = os.path.exists(paths[0])
    atomic_write_bytes(paths[0], data)
    if with_params:
        try:
            params = paramfile.build("torch", paths[0], entries, input_shape, output_names)
            paramfile.write(paths[1], params)
        except BaseException:
            if not existed:
                os.unlink(paths[0])
            raise
        result.update(params=paths[1], param_dict=params)
    return result
