"""``generate_final_model``: frozen, BN-folded, fake-quantized .pb plus the parameter file.

Works on the ORIGINAL float graph (rebuilt by the user) and the quantized checkpoint:

1. validate everything (config, output names, output_dir, file names, checkpoint contents);
2. extract the sub-graph of ``output_name_list``, replace variables by Consts read from the
   checkpoint and every mode flag, i.e. scalar bool ``Placeholder`` or ``PlaceholderWithDefault``
   (``is_training``, ...), by the constant False: the model is exported in inference mode
   (BatchNorm on its moving statistics, no dropout) even where a flag defaults to True. Bool
   placeholders of rank >= 1 are model inputs and stay. Then drop the dead ``tf.cond`` branches;
3. fold the inference BatchNorms that ``_fold.plan`` finds on the float graph (``Conv2D |
   DepthwiseConv2dNative -> [BiasAdd] -> FusedBatchNorm*``) into the layer, with the arithmetic
   the quantized session used for them (``_fold``): per-channel symmetric weight quantization
   commutes with per-channel scaling, so the weight is quantized first and each channel's scale
   is multiplied by ``|gamma / sqrt(var + eps)|`` (the integer flips sign where gamma < 0): the
   folded weight stays exactly on its int8 grid;
4. give every quantized layer a Const weight ``<layer>/quantbridge/weight`` on its grid and an
   activation fake quant ``<layer>/quantbridge/act_quant`` (DivNoNan, Round (half to even),
   AddV2, ClipByValue, Sub, Mul with constant scale and zero point: ONNX QuantizeLinear /
   DequantizeLinear semantics, the same ops as in the training graph; DivNoNan because Grappler
   turns ``RealDiv`` by a constant into an inexact multiplication in any default session);
5. with ``onnx=True``, convert the float graph (step 4 without the activation fake quant) to
   ``<name>.onnx`` with tf2onnx (``quantbridge.tf._onnx``), before anything is written;
6. give each layer whose output feeds another quantized layer (``_integer.plan``, unless
   ``quantbridge.integer_kernels`` is false) the integer arithmetic the session runs for it: the
   layer on float64 codes, int32-rounded bias, requantization to the reader's input parameters
   (``<layer>/quantbridge/requantized``); the parameter file lists them as ``points`` (named after
   the layer, owned by the reader);
7. write ``<name>.pb`` (and ``<name>.onnx``) and ``<name>_quant_param.json`` atomically.
"""

import difflib
import os
import warnings

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import graph_pb2
from tensorflow.core.protobuf import rewriter_config_pb2

from quantbridge.common import config, finite, paramfile, paths, qparams
from quantbridge.errors import CheckpointError, ModelError
from quantbridge.tf import _checkpoint, _fold, _integer
from quantbridge.tf import _graphdef as gdu
from quantbridge.tf import _onnx
from quantbridge.tf import _params
from quantbridge.tf._graph import SCOPE, SUPPORTED, VARIABLE_OPS, graph_of, layer_ops, weight_layout
from quantbridge.tf._rewrite import is_rewritten, settings

__all__ = ["generate_final_model", "export_pb", "run_frozen", "range_variable_names"]

_BN_OPS = ("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")
_FORBIDDEN = ("VariableV2", "Variable", "VarHandleOp", "ReadVariableOp", "Assign", "AssignAdd", "AssignSub",
              "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp", "PyFunc", "EagerPyFunc")


def range_variable_names(layer):
    prefix = f"{layer}/{SCOPE}"
    return [f"{prefix}/act_min", f"{prefix}/act_max", f"{prefix}/initialized"]


def _check_outputs(graph, output_name_list):
    if isinstance(output_name_list, str):
        output_name_list = [output_name_list]
    if not isinstance(output_name_list, (list, tuple)) or not output_name_list:
        msg = f"output_name_list must be a non-empty list of node names, got {output_name_list!r}"
        raise ModelError(msg)
    names = []
    for item in output_name_list:
        if not isinstance(item, str) or not item:
            msg = f"output_name_list entries must be node names (strings), got {item!r}"
            raise ModelError(msg)
        names.append(gdu.node_name(item.lstrip("^")))
    known = {op.name for op in graph.get_operations()}
    missing = [name for name in names if name not in known]
    if missing:
        candidates = difflib.get_close_matches(missing[0], sorted(known), n=5, cutoff=0.5)
        if not candidates:
            ends = [op.name for op in graph.get_operations()
                    if op.outputs and not any(t.consumers() for t in op.outputs) and op.type != "NoOp"]
            candidates = ends[-5:]
        msg = (f"output_name_list names no node of this graph: {missing}; candidates: {candidates} "
               f"(pass node names such as 'logits', not tensor names)")
        raise ModelError(msg)
    return list(dict.fromkeys(names))


def _open_checkpoint(ckpt_file):
    return _checkpoint.open_reader(ckpt_file, "checkpoint")


def _check_checkpoint(reader, sub, quantized, ckpt_file):
    shapes = reader.get_variable_to_shape_map()
    variables = [node for node in sub.node if node.op in VARIABLE_OPS + ("VarHandleOp",)]
    missing = [node.name for node in variables if node.name not in shapes]
    missing_ranges = [name for layer in quantized for name in range_variable_names(layer) if name not in shapes]
    if missing or missing_ranges:
        parts = []
        if missing:
            parts.append(f"model variables {missing[:10]}{' ...' if len(missing) > 10 else ''}")
        if missing_ranges:
            parts.append(f"range variables {missing_ranges[:10]}{' ...' if len(missing_ranges) > 10 else ''} "
                         f"(save the checkpoint from the session optimize_model rewrote, after calibration or "
                         f"quantization-aware training)")
        msg = f"checkpoint {str(ckpt_file)!r} lacks " + " and ".join(parts)
        raise CheckpointError(msg)
    wrong = []
    for node in variables:
        want = [d.size for d in node.attr["shape"].shape.dim]
        if not node.attr["shape"].shape.unknown_rank and list(shapes[node.name]) != want:
            wrong.append(f"{node.name}: graph {want}, checkpoint {list(shapes[node.name])}")
    if wrong:
        msg = f"checkpoint {str(ckpt_file)!r} does not fit the graph: " + "; ".join(wrong[:10])
        raise CheckpointError(msg)
    flags = _checkpoint.read_values(reader, [range_variable_names(layer)[2] for layer in quantized], ckpt_file)
    never = [layer for layer in quantized if not bool(flags[range_variable_names(layer)[2]])]
    if never:
        msg = (f"checkpoint {str(ckpt_file)!r}: the activation range of {never} was never set: save after "
               f"calibration (set_calibrate_state(sess, False)) or after training steps with quant_flag > 0")
        raise CheckpointError(msg)
    return _checkpoint.read_values(reader, [node.name for node in variables], ckpt_file)


def _fold_batch_norm(gd, by_name, users, fold, weight, op_type, quantized):
    """Fold the planned inference BatchNorm ``fold`` (``_fold.plan``) into its layer: the
    BatchNorm node becomes ``BiasAdd(layer, shift)``; returns (folded weight, weight scales or
    None, shift), or None where the frozen graph does not have the planned shape."""
    def single_user(name):
        found = users.get(name, [])
        return found[0][0] if len(found) == 1 and found[0][2] == 0 else None

    nxt = single_user(fold.layer)
    bias = None
    if fold.bias is not None:
        if nxt is None or nxt.name != fold.bias or gdu.node_name(nxt.input[0]) != fold.layer:
            return None
        bias = gdu.const_value(by_name, nxt.input[1])
        nxt = single_user(nxt.name)
    if (fold.bias is not None and bias is None) or nxt is None or nxt.name != fold.bn or nxt.op not in _BN_OPS \
            or nxt.attr["is_training"].b:
        return None
    if any(port != 0 for _, _, port in users.get(nxt.name, [])):
        return None
    params = [gdu.const_value(by_name, text) for text in nxt.input[1:5]]
    if any(v is None for v in params):
        return None
    folded, shift, scales = _fold.fold_numpy(op_type, weight, quantized, *params, bias, fold.epsilon)
    controls = [text for text in nxt.input if text.startswith("^")]
    data_format = nxt.attr["data_format"].s or b"NHWC"
    new_bias = gdu.const_node(f"{nxt.name}/folded_bias", shift)
    replacement = gdu.op_node(nxt.name, "BiasAdd", [fold.layer, new_bias.name] + controls, data_format=data_format)
    nxt.CopyFrom(replacement)
    gd.node.extend([new_bias])
    return folded, scales, shift


def _quantize_weight(weight, op_type, reduce_axes, channel_axis):
    """(weight on its int8 grid, per-channel scales)."""
    w = weight.astype(np.float32)
    absmax = np.max(np.abs(w), axis=tuple(reduce_axes), keepdims=True)
    scale = qparams.weight_qparams(absmax)
    wq = (qparams.weight_codes(w, scale) * scale).astype(np.float32)
    return wq, scale.reshape(-1)


def _activation_nodes(prefix, x, scale, zero_point):
    """``_ops.activation_fake_quant`` with constant scale and zero point. The division is a
    ``DivNoNan`` (as in ``_ops._div``): Grappler, on in every default session, rewrites
    ``RealDiv(x, Const)`` into ``x * (1 / scale)``, which is not bit-exact; it leaves ``DivNoNan``
    alone, and for a scale > 0 DivNoNan is the same IEEE division. The final multiplication takes
    the scale as a one-element vector (``<prefix>/step``): Grappler's ``FoldMultiplyIntoConv``
    folds a multiplication by a scalar Const into the weights of a following Conv2D, which is not
    bit-exact either, and only folds scalars."""
    scale_node = gdu.const_node(f"{prefix}/scale", np.float32(scale))
    step = gdu.const_node(f"{prefix}/step", np.full([1], scale, np.float32))
    zp_node = gdu.const_node(f"{prefix}/zero_point", np.float32(zero_point))
    qmin = gdu.const_node(f"{prefix}/qmin", np.float32(qparams.ACT_QMIN))
    qmax = gdu.const_node(f"{prefix}/qmax", np.float32(qparams.ACT_QMAX))
    return [scale_node, step, zp_node, qmin, qmax,
            gdu.op_node(f"{prefix}/div", "DivNoNan", [x, scale_node.name]),
            gdu.op_node(f"{prefix}/round", "Round", [f"{prefix}/div"]),
            gdu.op_node(f"{prefix}/add", "AddV2", [f"{prefix}/round", zp_node.name]),
            gdu.op_node(f"{prefix}/clip", "ClipByValue", [f"{prefix}/add", qmin.name, qmax.name]),
            gdu.op_node(f"{prefix}/sub", "Sub", [f"{prefix}/clip", zp_node.name]),
            gdu.op_node(prefix, "Mul", [f"{prefix}/sub", step.name])]


def _transform(gd, layers, strategies, ranges, folds, groups):
    """BN folding, weight grids and activation fake quant; returns (GraphDef, param entries, float
    inputs, kernels): float inputs map each quantized layer to the tensor its fake quant reads,
    kernels each layer of ``groups`` (``_integer.plan``) to its ``_integer.Kernel``.
    ``folds``: ``{layer: _fold.Fold}`` of the BatchNorms to fold (empty: none)."""
    by_name = {node.name: node for node in gd.node}
    users = gdu.consumers(gd)
    entries = []
    float_inputs = {}
    kernels = {}
    for name, op in layers.items():
        strategy = strategies[name]
        entry = {"name": name, "op_type": op.type, "quant_strategy": strategy,
                 "node": name if name in by_name else None}
        entries.append(entry)
        node = by_name.get(name)
        if node is None:
            continue
        reduce_axes, channel_axis = weight_layout(op.type, transpose_b=bool(node.attr["transpose_b"].b)
                                                  if op.type == "MatMul" else None)
        weight = gdu.const_value(by_name, node.input[1])
        if weight is None:
            if strategy == config.INT8:
                msg = f"layer {name}: its weight is not a constant after freezing ({node.input[1]})"
                raise ModelError(msg)
            continue
        quantized = strategy == config.INT8
        folded = None
        if name in folds:
            folded = _fold_batch_norm(gd, by_name, users, folds[name], weight, op.type, quantized)
            if folded is None:
                warnings.warn(f"layer {name}: BatchNorm {folds[name].bn} was not folded (the frozen graph differs "
                              f"from the float graph around it); the .pb keeps it", stacklevel=3)
        if not quantized:
            if folded is not None:
                const = gdu.const_node(f"{name}/{SCOPE}/weight", folded[0])
                gd.node.extend([const])
                node.input[1] = const.name
            continue
        if folded is not None:
            wq, scales, bias = folded
        else:
            wq, scales = _quantize_weight(weight, op.type, reduce_axes, channel_axis)
            bias = None
        weight_node = gdu.const_node(f"{name}/{SCOPE}/weight", wq)
        x = node.input[0]
        lo, hi = ranges[name]
        scale, zero_point = qparams.activation_qparams(lo, hi)
        prefix = f"{name}/{SCOPE}/act_quant"
        gd.node.extend([weight_node] + _activation_nodes(prefix, x, scale, zero_point))
        node.input[0] = prefix
        node.input[1] = weight_node.name
        float_inputs[name] = x
        group = groups.get(name)
        if group is not None and (name in folds) == (folded is not None):
            end = folds[name].bn if folded is not None else group.end
            if group.bias is not None and group.bias in by_name:
                bias = gdu.const_value(by_name, by_name[group.bias].input[1])
            if group.bias is None or bias is not None:
                grid = np.asarray(scales, np.float32).reshape([1 if i in reduce_axes else d
                                                               for i, d in enumerate(wq.shape)])
                kernels[name] = _integer.Kernel(weight_node.name, grid, bias, end, f"{prefix}/sub", scale)
        x_name, port = gdu.parse_input(x)
        entry["weight"] = _params.weight_entry(weight_node.name, op.type, wq.shape, channel_axis, scales)
        entry["activation"] = _params.activation_entry(f"{x_name}:{port}", scale, zero_point)
    return gd, entries, float_inputs, kernels


def _input_shape(gd):
    parts = []
    for node in gd.node:
        if node.op != "Placeholder":
            continue
        shape = node.attr["shape"].shape
        if shape.unknown_rank:
            return None
        dims = [d.size for d in shape.dim]
        dims = [1 if (i == 0 and d < 0) else d for i, d in enumerate(dims)]
        if any(d <= 0 for d in dims):
            return None
        parts.append((node.name, dims))
    return config.format_input_shape(parts) if parts else None


def _check_frozen(gd, outputs):
    names = {node.name for node in gd.node}
    bad = sorted({f"{node.name} ({node.op})" for node in gd.node if node.op in _FORBIDDEN})
    dangling = sorted({f"{node.name} <- {text}" for node in gd.node for text in node.input
                       if gdu.node_name(text) not in names})
    if bad or dangling:
        msg = ("the frozen graph still needs variables or training ops on the path to the outputs "
               f"{outputs}: {(bad + dangling)[:8]} (update ops wired into the outputs cannot be frozen)")
        raise ModelError(msg)
    try:
        with tf.Graph().as_default():
            tf.compat.v1.import_graph_def(gd, name="")
    except Exception as exc:  # noqa: BLE001 - report any import failure as a model problem
        msg = f"the exported graph does not import back into TensorFlow: {exc}"
        raise ModelError(msg) from exc


def generate_final_model(sess, config_file, output_name_list, ckpt_file, output_dir="./", *, name="model",
                         overwrite=False, fold_bn=True, onnx=False):
    """Export the quantized model as ``<name>.pb`` and ``<name>_quant_param.json``; with
    ``onnx=True`` also ``<name>.onnx``, the float graph (the .pb without its activation fake
    quant: BN folded, weights on their int8 grid) converted by tf2onnx (opset 13), from which
    Java builds the INT8 QDQ ONNX with the parameter file.

    ``sess`` holds the ORIGINAL float graph (rebuilt, not rewritten and not restored);
    ``ckpt_file`` is a checkpoint saved from the rewritten session (weights plus ranges).
    Everything is checked before anything is written; existing files are kept unless
    ``overwrite=True``. Scalar bool placeholders on the path to the outputs (training flags,
    with or without a default) are frozen to False: the .pb is the inference model.
    Returns ``{"pb": path, "params": path, "param_dict": dict, "frozen_flags": [names]}``, plus
    ``"onnx": path`` with ``onnx=True``.

    The parameter file is written here for plain-Python use; a run driven from Java calls
    :func:`export_pb` and Java writes the file (its schema's owner).
    """
    result = _export(sess, config_file, output_name_list, ckpt_file, output_dir, name, overwrite, fold_bn,
                     with_params=True, onnx=onnx)
    keep = ("pb", "params", "param_dict", "frozen_flags", "onnx")
    return {k: result[k] for k in keep if k in result}


def export_pb(sess, config_file, output_name_list, ckpt_file, output_dir="./", *, name="model", overwrite=False,
              fold_bn=True, onnx=False):
    """Export the frozen ``<name>.pb`` (and with ``onnx=True`` the float ``<name>.onnx``) only, as
    :func:`generate_final_model` does, and return the parameter numbers instead of writing a
    parameter file.

    Returns ``{"pb": path, "layers": [...], "outputs": [...], "input_shape": str | None,
    "frozen_flags": [names]}`` (plus ``"onnx": path``), ``layers`` being parameter-file layer entries.
    """
    return _export(sess, config_file, output_name_list, ckpt_file, output_dir, name, overwrite, fold_bn,
                   with_params=False, onnx=onnx)


def _export(sess, config_file, output_name_list, ckpt_file, output_dir, name, overwrite, fold_bn, with_params,
            onnx):
    graph = graph_of(sess)
    if is_rewritten(graph):
        msg = ("generate_final_model needs a session holding the ORIGINAL float graph: rebuild it in a new "
               "graph instead of passing the session optimize_model rewrote")
        raise ModelError(msg)
    cfg = config.load(config_file)
    layers = layer_ops(graph)
    strategies = config.validate(cfg, {n: op.type for n, op in layers.items()}, SUPPORTED)
    outputs = _check_outputs(graph, output_name_list)
    paths.check_dir(output_dir)
    given = str(output_dir) if output_dir not in (None, "") else "."
    if not isinstance(name, str) or not name:
        msg = f"name must be a non-empty file name stem, got {name!r}"
        raise ModelError(msg)
    pb_path = paths.check_file_path(os.path.join(given, f"{name}.pb"), "name")
    targets = [pb_path]
    if with_params:
        targets.append(paths.check_file_path(os.path.join(given, f"{name}_quant_param.json"), "name"))
    onnx_path = paths.check_file_path(os.path.join(given, f"{name}.onnx"), "name") if onnx else None
    if onnx_path:
        targets.append(onnx_path)
    if not overwrite:
        paths.no_overwrite(targets, "generate_final_model" if with_params else "export_pb")
    reader = _open_checkpoint(ckpt_file)

    sub = tf.compat.v1.graph_util.extract_sub_graph(graph.as_graph_def(), outputs)
    present = {node.name for node in sub.node}
    quantized = [n for n, s in strategies.items() if s == config.INT8]
    off_path = [n for n in quantized if n not in present]
    if off_path:
        msg = f"quantized layer(s) {off_path} do not feed output_name_list {outputs}; set them to 'float'"
        raise ModelError(msg)
    values = _check_checkpoint(reader, sub, quantized, ckpt_file)
    finite.check_finite(values.items(), f"ckpt_file {str(ckpt_file)!r}", CheckpointError, what="variable",
                        hint="the checkpoint was saved from a diverged or damaged model")
    bounds = _checkpoint.read_values(reader, [n for layer in quantized for n in range_variable_names(layer)[:2]],
                                     ckpt_file)
    ranges = {layer: (float(bounds[range_variable_names(layer)[0]]), float(bounds[range_variable_names(layer)[1]]))
              for layer in quantized}

    frozen, flags = gdu.freeze(sub, values)
    frozen, _dead = gdu.resolve_switches(frozen, keep=outputs)
    frozen = tf.compat.v1.graph_util.extract_sub_graph(frozen, outputs)
    float_gd = graph.as_graph_def()
    folds = _fold.plan(float_gd, list(layers)) if fold_bn else {}
    groups = _integer.plan(float_gd, strategies, folds, settings(cfg)["integer_kernels"])
    frozen, entries, float_inputs, kernels = _transform(frozen, layers, strategies, ranges, folds, groups)
    frozen = tf.compat.v1.graph_util.extract_sub_graph(frozen, outputs)
    _check_frozen(frozen, outputs)
    onnx_bytes = None
    if onnx:
        by_name = {node.name: node for node in frozen.node}
        weights = {e["weight"]["tensor"]: gdu.const_value(by_name, e["weight"]["tensor"]) for e in entries
                   if "weight" in e}
        onnx_bytes = _onnx.to_onnx(_onnx.float_graph(frozen, float_inputs, outputs), outputs, weights)
    activations = {e["name"]: (e["activation"]["scale"], e["activation"]["zero_point"], e["activation"]["min"],
                               e["activation"]["max"]) for e in entries if "activation" in e}
    points = _integer.export_nodes(frozen, groups, kernels, activations)
    if points:
        frozen = tf.compat.v1.graph_util.extract_sub_graph(frozen, outputs)
        _check_frozen(frozen, outputs)

    input_shape = _input_shape(frozen)
    result = {"pb": pb_path, "layers": entries, "points": points, "outputs": list(outputs),
              "input_shape": input_shape, "frozen_flags": sorted(flags)}
    written = []
    try:
        paths.atomic_write_bytes(pb_path, frozen.SerializeToString(deterministic=True))
        written.append(pb_path)
        if onnx_bytes is not None:
            paths.atomic_write_bytes(onnx_path, onnx_bytes)
            written.append(onnx_path)
            result["onnx"] = onnx_path
        if with_params:
            params = paramfile.build("tensorflow", pb_path, entries, input_shape=input_shape, outputs=outputs,
                                     points=points)
            paramfile.write(targets[1], params)
            result.update(params=targets[1], param_dict=params)
    except BaseException:
        for path in written:
            os.unlink(path)
        raise
    return result


def _tensor_name(name):
    return name if ":" in name else f"{name}:0"


def run_frozen(pb_path, feed, outputs):
    """Import a frozen .pb into a fresh graph and run it: ``feed`` maps input names to arrays,
    ``outputs`` lists node or tensor names; returns the numpy results in that order.

    Grappler's constant folding, arithmetic and remapping rewrites are switched off so that
    the graph runs as written (e.g. an inference BatchNorm is not decomposed): results are then
    bit-exact with the quantized session (which folds BatchNorm as the export does). The
    activation fake quant itself is exact under a default session too
    (it divides with ``DivNoNan``, which Grappler leaves alone).
    """
    gd = graph_pb2.GraphDef()
    with open(str(pb_path), "rb") as fh:
        gd.ParseFromString(fh.read())
    if isinstance(outputs, str):
        outputs = [outputs]
    session_config = tf.compat.v1.ConfigProto()
    rewrite = session_config.graph_options.rewrite_options
    rewrite.constant_folding = rewriter_config_pb2.RewriterConfig.OFF
    rewrite.arithmetic_optimization = rewriter_config_pb2.RewriterConfig.OFF
    rewrite.remapping = rewriter_config_pb2.RewriterConfig.OFF
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(gd, name="")
    fetches = [graph.get_tensor_by_name(_tensor_name(n)) for n in outputs]
    feed_dict = {graph.get_tensor_by_name(_tensor_name(k)): np.asarray(v) for k, v in dict(feed).items()}
    with tf.compat.v1.Session(graph=graph, config=session_config) as sess:
        return [np.asarray(v) for v in sess.run(fetches, feed_dict=feed_dict)]
