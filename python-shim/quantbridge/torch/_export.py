"""From a trained or calibrated quant state to a float ONNX model on the int8 weight grid.

Steps: load the quant state into a quantized copy of the fresh float model; swap every
wrapper back to its float layer with the fake-quantized weight; fold BatchNorm into the
preceding conv (found with torch.fx); export ONNX opset 13; find each layer's ONNX node.
"""

import collections
import collections.abc
import contextlib
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
from quantbridge.torch import _config, _layers, _points, _pools, _state
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


def read_state(source, trust_pickle=False, what="pth_file"):
    """A state dict from a ``.pth`` path or a mapping; CheckpointError if it is not one, or if a
    tensor in it is NaN/Inf.

    A path is read by :func:`quantbridge.torch._state.load_file` (a restricted unpickler unless
    ``trust_pickle``); ``what`` names it in messages.
    """
    if isinstance(source, (str, os.PathLike)):
        if what == "pth_file":
            check_file_path(source, what=what, must_exist=True)
        state = _state.load_file(source, what, trust_pickle)
        where = f"{what} {str(source)!r}"
    else:
        state, where = source, "the quant state"
    if not isinstance(state, collections.abc.Mapping) or not all(
            isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        hint = " (it looks like a checkpoint dict: save quant_model.state_dict() itself)" \
            if isinstance(state, collections.abc.Mapping) and "state_dict" in state else ""
        msg = f"{where} is not a state dict (a mapping of parameter names to tensors){hint}"
        raise CheckpointError(msg)
    _state.check_finite(state, where, hint="the file was saved from a diverged or damaged model")
    return state, where


def _sample(keys, n=8):
    return ", ".join(keys[:n]) + (f" and {len(keys) - n} more" if len(keys) > n else "")


def check_state_fits(model, state, where, what, hint):
    """Raise CheckpointError unless ``state`` has exactly ``model``'s keys with its shapes.

    ``what`` names the model in the message ("the model with this config"); ``hint`` says what
    the file must be.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys: {_sample(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {_sample(unexpected)}")
        msg = f"{where} does not fit {what} ({'; '.join(parts)}); {hint}"
        raise CheckpointError(msg)
    wrong = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
             if tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        msg = f"{where}: shape mismatch (checkpoint vs model) for {', '.join(wrong[:8])}; {hint}"
        raise CheckpointError(msg)


def load_quant_state(quant_model, state, where, strategies):
    """Check ``state`` against ``quant_model`` (keys, shapes, calibration) and load it."""
    check_state_fits(quant_model, state, where, "the model with this config",
                     "it must be quant_model.state_dict() of optimize_model(model, config) with the same model "
                     "and config")
    found = _layers.find_layers(quant_model)
    uncalibrated = [name for name, strategy in strategies.items() if strategy == qconfig.INT8
                    and not int(state[key(found[name][0], "activation_quant.calibrated")][0])]
    uncalibrated += [f"{_points.CONTAINER}.{p.name}" for p in _points.points_of(quant_model)
                     if p.owner is None and p.mirror_of is None
                     and not int(state[key(_points.CONTAINER, p.name + ".calibrated")][0])]
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
    unfolded with a warning. A conv is folded only if it is called once and nothing else
    reads its weight or bias (``F.conv2d(x, self.conv.weight)``: an fx ``get_attr``), since
    the fold changes them. Returns ``{conv module path: factor c}``.
    """
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception as exc:  # user models may have data-dependent control flow
        warnings.warn(f"BatchNorm folding skipped: torch.fx cannot trace the model ({type(exc).__name__}: "
                      f"{str(exc).splitlines()[0] if str(exc) else ''})", stacklevel=3)
        return {}
    modules = dict(model.named_modules())
    calls = collections.Counter(n.target for n in graph.nodes if n.op == "call_module")
    # tensors read directly by the forward pass (under any name, tied parameters included)
    read = {id(t) for t in (_points.attr(model, n.target) for n in graph.nodes if n.op == "get_attr")
            if torch.is_tensor(t)}
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
                or (isinstance(conv, nn.ConvTranspose2d) and conv.groups != 1)
                or id(conv.weight) in read or (conv.bias is not None and id(conv.bias) in read)):
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


def _to_onnx(model, shapes, watch=(), points=()):
    """ONNX model (opset 13, dynamic batch) of ``model`` for inputs ``shapes``, output names, the
    module paths of ``watch`` (``[(path, module)]``) in the order the exported pass called them, and
    ``{point index: tensor name}`` of the derived quantization ``points``."""
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
    calls, handles, seen = [], list(_points.add_markers(model, points)), set()
    for path, module in watch:
        if id(module) not in seen:         # a module at several paths: one hook, its first path
            seen.add(id(module))
            handles.append(module.register_forward_hook(lambda m, i, o, p=path: calls.append(p)))
    try:
        # the traced pass: each call of a watched module becomes (at most) one weight node, in this order
        with _without_marker_notices(bool(points)):
            torch.onnx.export(model, inputs, buffer, export_params=True, opset_version=OPSET,
                              do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL,
                              input_names=input_names, output_names=output_names,
                              dynamic_axes={n: {0: "batch"} for n in input_names + output_names},
                              custom_opsets={_points.MARK_DOMAIN: 1} if points else None)
    finally:
        for handle in handles:
            handle.remove()
    import onnx
    model_proto = onnx.load_from_string(buffer.getvalue())
    tensors = _pools.output_tensors(model_proto, points, _points.strip_markers(model_proto)) if points else {}
    return model_proto, output_names, calls, tensors


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


_NODE_OPS = {nn.Conv1d: ("Conv",), nn.Conv2d: ("Conv",), nn.ConvTranspose2d: ("ConvTranspose",),
             nn.Linear: ("Gemm", "MatMul")}


def _conv_attributes_fit(node, module):
    """Whether the ONNX conv ``node`` has ``module``'s stride, dilation, groups (and zero padding)."""
    ints = {a.name: list(a.ints) for a in node.attribute if a.ints}
    group = next((a.i for a in node.attribute if a.name == "group"), 1)
    n = len(module.kernel_size)
    if (group != module.groups or ints.get("strides", [1] * n) != list(module.stride)
            or ints.get("dilations", [1] * n) != list(module.dilation)):
        return False
    if (type(module) in (nn.Conv1d, nn.Conv2d) and module.padding_mode == "zeros"
            and not isinstance(module.padding, str)):
        return ints.get("pads", [0] * 2 * n) == list(module.padding) * 2
    return True


class _OnnxIndex:
    """Weight nodes of an ONNX graph (Conv/ConvTranspose/Gemm/MatMul reading an initializer as
    their weight), in graph order, and which of them can be a call of which torch layer."""

    def __init__(self, model_proto):
        from onnx import numpy_helper
        self.arrays = {t.name: numpy_helper.to_array(t) for t in model_proto.graph.initializer}
        self.uses = [(node, node.input[1]) for node in model_proto.graph.node
                     if node.op_type in _WEIGHT_OPS and len(node.input) > 1 and node.input[1] in self.arrays]
        self._fits = {}
        self._weights = {}

    def fit(self, path, module, j):
        """``(axis, factors)`` if weight node ``j`` can be a call of ``module`` (at ``path``), else None.

        The node must have the layer's op (and conv attributes), and its initializer must be the
        layer's weight (transposed for MatMul and Gemm without transB) up to per-channel factors
        (a BatchNorm that torch's exporter folded in).
        """
        memo = (path, j)
        if memo not in self._fits:
            self._fits[memo] = self._fit(path, module, j)
        return self._fits[memo]

    def _fit(self, path, module, j):
        node, init_name = self.uses[j]
        if node.op_type not in _NODE_OPS.get(type(module), ()):
            return None
        if node.op_type in ("Conv", "ConvTranspose") and not _conv_attributes_fit(node, module):
            return None
        if path not in self._weights:
            self._weights[path] = module.weight.detach().cpu().numpy()
        weight = self._weights[path]
        axis, transposed = _weight_axis(node)
        if transposed and weight.ndim != 2:
            return None
        expected = weight.T if transposed else weight
        init = self.arrays[init_name]
        if init.shape != expected.shape:
            return None
        if init_name == key(path, "weight") and not transposed:
            return axis, np.ones(init.shape[axis])
        factors = _channel_factors(init, expected, axis)
        return None if factors is None else (axis, factors)

    def assign(self, calls, modules):
        """Weight node index (or None) of each call: ``calls`` are module paths in execution order.

        ONNX keeps the traced order of the weight nodes, so the calls are matched to the nodes
        in order (skipping nodes of other origin, e.g. ``F.conv2d`` on a layer's weight, and calls
        whose result was optimised away). Matching from the front and from the back must give
        every layer the same nodes; where they differ (identical weights with a missing or an
        extra node between them) the mapping is ambiguous: returns ``(assignment, {paths})``.
        """
        n = len(self.uses)
        front, p = [], 0
        for path in calls:
            j = next((j for j in range(p, n) if self.fit(path, modules[path], j) is not None), None)
            front.append(j)
            p = p if j is None else j + 1
        back, p = [None] * len(calls), n - 1
        for k in range(len(calls) - 1, -1, -1):
            path = calls[k]
            j = next((j for j in range(p, -1, -1) if self.fit(path, modules[path], j) is not None), None)
            back[k] = j
            p = p if j is None else j - 1
        ambiguous = set()
        for path in set(calls):
            if ({j for c, j in zip(calls, front) if c == path} - {None}
                    != {j for c, j in zip(calls, back) if c == path} - {None}):
                ambiguous.add(path)
        return front, ambiguous


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
    {conv path: BatchNorm factor}, points, {module paths of layers with an int32 bias})``; the
    weight scales are those before folding. Points merged into a reading layer's input quantizer
    (:func:`quantbridge.torch._points.merged_points`) are left out, with their mirrors.
    """
    strategies = _config.strategies_of(resolved)
    quant_model = _config.quantize(copy.deepcopy(model).cpu(), resolved)
    load_quant_state(quant_model, state, where, strategies)
    quant_model.eval()
    layers, replacements = {}, {}
    found = {name: m for name, (_, m) in _layers.find_layers(quant_model).items()}
    merged = _points.merged_points(quant_model)
    points = [(p, _points.quantizer_for(quant_model, p, found).qparams(),
               _points.quantizer_for(quant_model, p, found).bits()) for p in _points.points_of(quant_model)
              if p.name not in merged and p.mirror_of not in merged]
    int32_bias = _points.int32_bias_layers(quant_model)
    _points.detach(quant_model)
    for layer, (path, module) in _layers.find_layers(quant_model).items():
        if _layers.is_quant_layer(module):
            layers[layer] = (path, strategies[layer], module.weight_scales().double().numpy(),
                             module.activation_quant.qparams())
            replacements[id(module)] = module.to_float()
        else:
            layers[layer] = (path, strategies[layer], None, None)
    float_model = _layers.replace_modules(quant_model, replacements)
    return float_model, layers, fold_batchnorm(float_model), points, int32_bias


def _watched(float_model, layers):
    """``[(path, module)]`` of the float model's layers, for recording their calls."""
    modules = dict(float_model.named_modules())
    return [(path, modules[path]) for path, _, _, _ in layers.values()]


def _layer_entries(model_proto, float_model, layers, folded, calls, int32_bias=()):
    """Parameter-file layer entries: each layer's ONNX nodes, weight initializer(s) and input tensor.

    A layer whose module path is in ``int32_bias`` (computed in eval mode with its bias rounded to
    int32, :func:`quantbridge.torch._points.int32_bias_layers`) is marked ``"int32_bias": true``:
    the QDQ builder then writes that bias, so ONNX Runtime runs the same integer kernel. Only a
    node with a bias input can carry it (Conv, Gemm): a Linear on an input of more than 2
    dimensions exports as MatMul + Add, and the fake-quant model computes it in float.

    ``calls`` are the layers' module paths in the order the export called them; a layer called
    more than once (a shared module) has one node per call, all listed in ``nodes`` (``node`` is
    the first), with the layer's one activation quantizer applying to each node's data input.
    """
    index = _OnnxIndex(model_proto)
    modules = dict(float_model.named_modules())
    assignment, ambiguous = index.assign(calls, modules)
    unclear = sorted(name for name, (path, strategy, _, _) in layers.items()
                     if path in ambiguous and strategy == qconfig.INT8)
    if unclear:
        candidates = sorted({index.uses[j][0].name for path in ambiguous for j in range(len(index.uses))
                             if index.fit(path, modules[path], j) is not None})
        msg = (f"cannot tell which ONNX nodes belong to layer(s) {unclear}: nodes {candidates} all read "
               f"the same (or proportional) weights and the call order does not decide it (a layer's weight "
               f"also used by another op, or a call whose result is unused); keep these layers at 'float' "
               f"or give the layers distinct weights")
        raise ModelError(msg)
    entries = []
    for layer, (path, strategy, scales, act) in layers.items():
        module = modules[path]
        used = []
        for call_path, j in zip(calls, assignment):
            if call_path == path and j is not None and j not in used:
                used.append(j)
        if not used:
            if strategy == qconfig.INT8:
                warnings.warn(f"layer {layer!r} has no node in the exported ONNX graph (unused in forward?); "
                              f"it is left out of the parameter list", stacklevel=4)
            continue
        nodes = [index.uses[j][0] for j in used]
        entry = {"name": layer, "op_type": _layers.op_type(type(module)), "quant_strategy": strategy,
                 "node": nodes[0].name, "nodes": [node.name for node in nodes]}
        if strategy == qconfig.INT8:
            tensors = {}     # initializer -> (axis, scales): one per distinct weight copy
            for j in used:
                init_name = index.uses[j][1]
                if init_name not in tensors:
                    axis, factors = index.fit(path, module, j)
                    factor = np.abs(factors) * (np.abs(folded[path].numpy()) if path in folded else 1.0)
                    # a zero BatchNorm factor zeroes the channel; keep its scale positive for QuantizeLinear
                    tensors[init_name] = (axis, np.maximum(scales * factor, _W_SCALE_MIN).astype(np.float32))
            (first, (axis, weight_scales)), *copies = tensors.items()
            entry["weight"] = paramfile.weight_entry(first, axis, weight_scales,
                                                     copies=[(t, a, sc) for t, (a, sc) in copies])
            entry["activation"] = paramfile.activation_entry(nodes[0].input[0], act["scale"], act["zero_point"],
                                                             act["min"], act["max"], bits=act["bits"])
            if path in int32_bias and all(n.op_type in ("Conv", "Gemm") and len(n.input) > 2 and n.input[2]
                                          for n in nodes):
                entry["int32_bias"] = True     # not a MatMul (+ Add): a Linear on 3-D input runs in float
        entries.append(entry)
    return entries


def _point_entries(points, tensors, entries):
    """Parameter-file point entries: each derived point's ONNX tensor and quantization parameters.

    A point whose tensor the export did not mark (optimised away) is left out, with its mirrors.
    """
    layer_names = {e["name"] for e in entries if e["quant_strategy"] == qconfig.INT8}
    out = []
    for i, (point, act, bits) in enumerate(points):
        tensor = tensors.get(i)
        if tensor is None or (point.owner is not None and point.owner not in layer_names):
            continue
        entry = paramfile.point_entry(point.name, tensor, point.owner, act["scale"], act["zero_point"],
                                      act["min"], act["max"], bits=bits, mirror_of=point.mirror_of)
        out.append(entry)
    return out


def export(model, config, state_source, output_dir="./", name="model", overwrite=False, with_params=False,
           trust_pickle=False, checked=False):
    """The shared work of ``export_onnx`` and ``generate_final_model``; see their docstrings."""
    import onnx

    # 1. every check, before anything is built or written
    _config.check_model(model)
    suffixes = [".onnx", "_quant_param.json"] if with_params else [".onnx"]
    paths = output_paths(output_dir, name, suffixes)
    if not overwrite:
        no_overwrite(paths, "generate_final_model" if with_params else "export_onnx")
    resolved = _config.resolve(model, config, checked=checked)
    input_shape = resolved.get("input_shape")
    if input_shape is None:
        msg = "the config has no 'input_shape' (e.g. \"x:1,3,224,224\"); the ONNX export needs the deployed shape"
        raise ConfigError(msg)
    _config.check_input_shape(model, input_shape)
    state, where = read_state(state_source, trust_pickle)

    # 2. build in memory
    float_model, layers, folded, points, int32_bias = _grid_model(model, resolved, state, where)
    model_proto, output_names, calls, tensors = _to_onnx(float_model, qconfig.parse_input_shape(input_shape),
                                                         _watched(float_model, layers), [p for p, _, _ in points])
    _name_nodes(model_proto)
    data = model_proto.SerializeToString()
    onnx.checker.check_model(model_proto)
    entries = _layer_entries(model_proto, float_model, layers, folded, calls, int32_bias)
    point_entries = _point_entries(points, tensors, entries)

    # 3. write: each file atomically; the parameter file needs the written model's sha256
    result = {"onnx": paths[0], "layers": entries, "points": point_entries, "outputs": output_names,
              "input_shape": input_shape}
    existed = os.path.exists(paths[0])
    atomic_write_bytes(paths[0], data)
    if with_params:
        try:
            params = paramfile.build("torch", paths[0], entries, input_shape, output_names, points=point_entries)
            paramfile.write(paths[1], params)
        except BaseException:
            if not existed:
                os.unlink(paths[0])
            raise
        result.update(params=paths[1], param_dict=params)
    return result


_MARKER_NOTICE = f"WARNING: The shape inference of {_points.MARK_DOMAIN}::{_points.MARK_OP} type is missing"


@contextlib.contextmanager
def _without_marker_notices(active):
    """torch 1.11's exporter writes a notice to the C++ ``std::cerr`` (file descriptor 2) for every
    ``quantbridge::Point`` marker (a custom op without ONNX shape inference; the markers are removed
    from the graph right after the export). While exporting, descriptor 2 goes to a temporary file;
    afterwards every other line is written back to the real standard error, in order."""
    if not active:
        yield
        return
    import sys
    import tempfile
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().splitlines(keepends=True)
                    if not line.decode("utf-8", "replace").startswith(_MARKER_NOTICE)]
            if kept:
                os.write(2, b"".join(kept))
