"""Integer kernels for TensorFlow: which quantized convolutions requantize their output, and the
integer arithmetic that ONNX Runtime's ``QLinearConv`` runs for them.

ONNX Runtime runs a quantized convolution or matmul as one integer kernel (``QLinearConv``,
``QGemm``) only when its output is quantized too. The vendor config quantizes layer inputs;
:func:`plan` finds, on the float graph's ``GraphDef``, each quantized ``Conv2D`` /
``DepthwiseConv2dNative`` / ``MatMul`` (the *layer*) whose output reaches another quantized
layer's input (the *consumer*) through a chain that only that path reads: ``[BiasAdd | the
inference BatchNorm _fold folds] -> (Relu | Relu6 | MaxPool | Reshape | Identity)* -> consumer``. The layer's output is then requantized with the consumer's input
parameters (its *point*, owned by the consumer: nothing new to calibrate or learn), which is
exact for the rest of the chain: the ReLUs keep on-grid values on the grid (a range from 0 has its
zero point at the bottom, and ONNX Runtime drops the ReLU), ReLU6 and the value-transparent ops
commute with the consumer's quantizer, and the consumer's quantizer leaves on-grid values as they
are. A chain with another reader (a residual ``Add``, a second consumer, a model output fetched
in the middle) or any other op (a float layer, ``Add``, ``Concat``, average pooling) keeps the
layer's output float, as before. With ``quantbridge.integer_kernels: false`` there are no groups.

The deployed arithmetic of a group, the same in the quantized session (inference: ``quant_flag
> 0``, ``is_train_flag`` false, not calibrating, the consumer's range set, the BatchNorm's cond on
its inference branch) and in the frozen ``.pb``, as ONNX Runtime computes it::

    x_int = clip(round(x / s_x) + zp_x, 0, 255) - zp_x           the layer input's codes
    acc   = conv(x_int, w_int)   in float64 (exact: integer products and sums below 2^53; matmul alike)
          + b_int,  b_int = clip(round(f64(b) / f64(f32(s_x * s_w[c]))), int32)   (Java's rule)
    y     = clip(round(f32(acc) * f32(f32(s_x * s_w[c]) / s_y)), -zp_y, 255 - zp_y) * s_y

``w_int``, ``s_w``: the int8 codes and per-channel scales of the layer's weight (BatchNorm folded,
``_fold``); ``b``: the folded BatchNorm's shift, else the BiasAdd's bias; ``s_y``, ``zp_y``: the
consumer's input parameters. ONNX Runtime's ``QLinearConv`` and ``QGemm`` compute exactly this
(``float32(acc)`` times the float32 multiplier, round half to even, saturate; checked bit for bit in
``tests/test_tf_integer.py``). ``y`` replaces the group's float output (BiasAdd / BatchNorm result);
training, calibration and ``quant_flag == 0`` take the float path unchanged. The numbers come from
:func:`bias_codes_numpy` / :func:`multiplier_numpy` (export) and their TF twins (session).
"""

from typing import NamedTuple

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import node_def_pb2

from quantbridge.common import config, qparams
from quantbridge.tf import _fold
from quantbridge.tf import _graphdef as gdu
from quantbridge.tf._graph import SUPPORTED

__all__ = ["Group", "Kernel", "LAYER_OPS", "CHAIN_OPS", "plan", "export_nodes", "bias_codes_numpy", "multiplier_numpy", "bias_codes_tf",
           "multiplier_tf", "data_format", "integer_op_tf", "requantize_tf", "channel_shape"]

LAYER_OPS = ("Conv2D", "DepthwiseConv2dNative", "MatMul")
CHAIN_OPS = ("Relu", "Relu6", "MaxPool", "MaxPoolV2", "Reshape", "Identity", "Snapshot")
_INT32 = (np.float64(-2.0 ** 31), np.float64(2.0 ** 31 - 1))
_PASS = ("Identity", "Snapshot", "ReadVariableOp")


class Group(NamedTuple):
    """A quantized layer whose output is requantized to ``consumer``'s input parameters (node names
    of the float graph): ``bias`` is the BiasAdd after it (None when there is none or when the
    BatchNorm after it is folded, whose shift is then the bias); ``end`` the tensor whose value the
    requantized output replaces (the BiasAdd / BatchNorm result, else the layer's output);
    ``chain`` the ops between ``end`` and the consumer."""

    layer: str
    consumer: str
    bias: str | None
    end: str
    chain: tuple


def _from_constant(by_name, text):
    """Whether a tensor is a variable or Const read (through Identity / ReadVariableOp)."""
    return _fold.source(by_name, text, passes=_PASS) is not None


def _data_users(users, name, port=0):
    return [(node, index) for node, index, p in users.get(name, []) if p == port]


def plan(gd, strategies, folds, enabled=True):
    """``{layer: Group}`` of the quantized layers of ``gd`` (the whole float graph) whose output
    is requantized to a quantized consumer's input; ``strategies`` maps layer names to strategies,
    ``folds`` is ``_fold.plan``'s result; ``enabled`` False (``integer_kernels: false``): none."""
    if not enabled:
        return {}
    by_name = {node.name: node for node in gd.node}
    users = gdu.consumers(gd)
    quantized = {name for name, strategy in strategies.items() if strategy == config.INT8}
    out = {}
    for name in strategies:
        node = by_name.get(name)
        if name not in quantized or node is None or node.op not in LAYER_OPS:
            continue
        bias = None
        if name in folds:
            end = folds[name].output
        else:
            end = name
            found = _data_users(users, name)
            if len(found) == 1 and found[0][0].op == "BiasAdd" and found[0][1] == 0:
                if not _from_constant(by_name, found[0][0].input[1]):
                    continue
                bias = end = found[0][0].name
        chain, current, consumer = [], end, None
        for _ in range(256):
            found = _data_users(users, current)
            if len(found) != 1 or found[0][1] != 0:
                break
            user = found[0][0]
            if user.name in quantized and user.op in SUPPORTED:
                consumer = user.name
                break
            if user.op not in CHAIN_OPS or user.name in strategies:
                break
            chain.append(user.name)
            current = user.name
        if consumer is not None and consumer != name:
            out[name] = Group(name, consumer, bias, end, tuple(chain))
    return out


def channel_shape(op_type, data_format, rank):
    """The shape that broadcasts a per-output-channel vector over the layer's output."""
    if op_type == "MatMul" or data_format in (b"NHWC", "NHWC", None, b""):
        return [-1]
    return [-1] + [1] * (rank - 2)


def bias_codes_numpy(bias, s_x, s_w):
    """The int32 bias codes (float64) Java's QDQ builder writes: ``round(f64(b) / f64(f32(s_x * s_w)))``."""
    s_acc = (np.float32(s_x) * np.asarray(s_w, np.float32)).astype(np.float32)
    return np.clip(np.rint(np.asarray(bias, np.float32).astype(np.float64) / s_acc.astype(np.float64)), *_INT32)


def multiplier_numpy(s_x, s_w, s_y):
    """ONNX Runtime's requantization multiplier ``f32(f32(s_x * s_w[c]) / s_y)``, per channel."""
    s_acc = (np.float32(s_x) * np.asarray(s_w, np.float32)).astype(np.float32)
    return (s_acc / np.float32(s_y)).astype(np.float32)


def bias_codes_tf(bias, s_x, s_w):
    """:func:`bias_codes_numpy` as TF ops (``s_w`` flat, per channel)."""
    s_acc = tf.cast(s_x * s_w, tf.float64)
    codes = tf.round(tf.math.divide_no_nan(tf.cast(bias, tf.float64), s_acc))
    return tf.clip_by_value(codes, _INT32[0], _INT32[1])


def multiplier_tf(s_x, s_w, s_y):
    """:func:`multiplier_numpy` as TF ops (``DivNoNan``: a true division, Grappler leaves it alone)."""
    return tf.math.divide_no_nan(s_x * s_w, s_y)


def data_format(node_or_op):
    """A layer's data format (``b"NHWC"`` for MatMul, which has none), from a NodeDef or an Operation."""
    if isinstance(node_or_op, node_def_pb2.NodeDef):
        if "data_format" not in node_or_op.attr:
            return b"NHWC"
        return node_or_op.attr["data_format"].s or b"NHWC"
    return b"NHWC" if node_or_op.type == "MatMul" else node_or_op.get_attr("data_format")


def integer_op_tf(op, x64, w64):
    """``op`` (Conv2D / DepthwiseConv2dNative / MatMul, its attributes) on float64 integer codes."""
    if op.type == "MatMul":
        return tf.raw_ops.MatMul(a=x64, b=w64, transpose_a=op.get_attr("transpose_a"),
                                 transpose_b=op.get_attr("transpose_b"))
    attrs = {key: op.get_attr(key) for key in ("strides", "padding", "data_format", "dilations")}
    if op.type == "Conv2D":
        return tf.raw_ops.Conv2D(input=x64, filter=w64, explicit_paddings=op.get_attr("explicit_paddings"),
                                 use_cudnn_on_gpu=op.get_attr("use_cudnn_on_gpu"), **attrs)
    return tf.raw_ops.DepthwiseConv2dNative(input=x64, filter=w64, explicit_paddings=op.get_attr("explicit_paddings"),
                                            **attrs)


def requantize_tf(acc64, multiplier, s_y, zp_y):
    """``clip(round(f32(acc) * multiplier), -zp_y, 255 - zp_y) * s_y`` (``multiplier`` broadcast)."""
    scaled = tf.cast(acc64, tf.float32) * multiplier
    codes = tf.clip_by_value(tf.round(scaled), np.float32(qparams.ACT_QMIN) - zp_y, np.float32(qparams.ACT_QMAX) - zp_y)
    return codes * s_y


class Kernel(NamedTuple):
    """What the export knows of one quantized layer of the frozen graph: the Const of its weight on
    the int8 grid (``weight``) and the grid's per-channel scales with the weight's rank, the bias
    (folded shift or BiasAdd constant, or None), the node whose value the group replaces (``end``),
    the node of the input codes (``x_codes``: the activation fake quant's ``q - zero_point``), and
    its input scale."""

    weight: str
    scales: np.ndarray
    bias: np.ndarray | None
    end: str
    x_codes: str
    scale: float


def _cast(name, source, src, dst):
    node = node_def_pb2.NodeDef(name=name, op="Cast", input=[source])
    node.attr["SrcT"].type = src.as_datatype_enum
    node.attr["DstT"].type = dst.as_datatype_enum
    node.attr["Truncate"].b = False
    return node


def export_nodes(gd, groups, kernels, activations):
    """Give the frozen ``gd`` (changed in place) the integer arithmetic of ``groups`` (``{layer:
    Group}``, :func:`plan`): the layer's node runs on float64 codes (the weight's are
    ``round(weight / scale)`` of its grid Const, exact), the requantization follows, and the readers
    of the group's ``end`` read ``<layer>/quantbridge/requantized`` instead.
    ``kernels``: ``{layer: Kernel}``; ``activations``: ``{layer: (scale, zero_point, lo, hi)}``.
    Returns the parameter-file points (one per group, owned by the consumer)."""
    from quantbridge.common import paramfile
    from quantbridge.tf._graph import SCOPE

    by_name = {node.name: node for node in gd.node}
    users = gdu.consumers(gd)
    points = []
    for name, group in groups.items():
        kernel, node = kernels.get(name), by_name.get(name)
        if kernel is None or node is None or kernel.end not in by_name or group.consumer not in activations:
            continue
        s_y, zp_y, lo, hi = activations[group.consumer]
        readers = [(user, index) for user, index, port in users.get(kernel.end, []) if port == 0]
        prefix = f"{name}/{SCOPE}/integer"
        s_w = np.asarray(kernel.scales, np.float32).reshape(-1)
        layout = data_format(node)
        x64 = _cast(f"{prefix}/x", kernel.x_codes, tf.float32, tf.float64)
        w_scale = gdu.const_node(f"{prefix}/weight_scale", np.asarray(kernel.scales, np.float32))
        new = [x64, w_scale, gdu.op_node(f"{prefix}/weight_div", "DivNoNan", [kernel.weight, w_scale.name]),
               gdu.op_node(f"{prefix}/weight_round", "Round", [f"{prefix}/weight_div"]),
               _cast(f"{prefix}/weight_codes", f"{prefix}/weight_round", tf.float32, tf.float64)]
        node.input[0], node.input[1] = x64.name, f"{prefix}/weight_codes"
        node.attr["T"].type = tf.float64.as_datatype_enum
        acc = name
        if kernel.bias is not None:
            b64 = gdu.const_node(f"{prefix}/bias_codes", bias_codes_numpy(kernel.bias, kernel.scale, s_w))
            new += [b64, gdu.op_node(f"{prefix}/bias", "BiasAdd", [name, b64.name], dtype=tf.float64,
                                     data_format=layout)]
            acc = f"{prefix}/bias"
        multiplier = multiplier_numpy(kernel.scale, s_w, s_y).reshape(channel_shape(node.op, layout, 4))
        consts = [gdu.const_node(f"{prefix}/multiplier", multiplier),
                  gdu.const_node(f"{prefix}/qmin", np.float32(qparams.ACT_QMIN) - np.float32(zp_y)),
                  gdu.const_node(f"{prefix}/qmax", np.float32(qparams.ACT_QMAX) - np.float32(zp_y)),
                  gdu.const_node(f"{prefix}/scale", np.float32(s_y))]
        out = f"{name}/{SCOPE}/requantized"
        new += consts + [_cast(f"{prefix}/acc", acc, tf.float64, tf.float32),
                         gdu.op_node(f"{prefix}/scaled", "Mul", [f"{prefix}/acc", consts[0].name]),
                         gdu.op_node(f"{prefix}/round", "Round", [f"{prefix}/scaled"]),
                         gdu.op_node(f"{prefix}/clip", "ClipByValue", [f"{prefix}/round", consts[1].name,
                                                                       consts[2].name]),
                         gdu.op_node(out, "Mul", [f"{prefix}/clip", consts[3].name])]
        gd.node.extend(new)
        for user, index in readers:
            user.input[index] = out
        points.append(paramfile.point_entry(name, f"{out}:0", group.consumer, s_y, zp_y, lo, hi))
    return points
