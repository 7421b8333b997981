"""BatchNorm folding: which inference BatchNorm folds into which layer, and the folded arithmetic.

One rule for both sides. The quantized session (``_rewrite``) and the frozen ``.pb``
(``_export``) fold the same BatchNorms the same way, so that the ``.pb`` computes what the
session computes, bit for bit. Folding reorders float arithmetic (``conv(x, w * f) + shift``
instead of ``(conv(x, w) + b - mean) * f + beta``): the results differ by an ulp here and there,
which is harmless on its own, but the next layer's activation fake quant rounds to a grid, an
ulp moves a value across a rounding boundary now and then, and deep networks amplify those
one-step flips layer by layer (on ResNet50 they changed 12 % of the top-1 predictions). So the
session runs its quantized inference on the folded layer too, and the ``.pb`` repeats it.

:func:`plan` finds, on the float graph's ``GraphDef``, every layer (Conv2D,
DepthwiseConv2dNative, its weight read from a variable) whose output feeds only
``[BiasAdd ->]`` an inference BatchNorm (``FusedBatchNorm*`` with ``is_training`` false),
directly or through the ``Switch`` of a v1 ``tf.cond`` whose predicate is a mode flag
(``_graphdef.is_flag``, the learning phase of Keras or ``tf.compat.v1.layers``), with the
BatchNorm's scale, offset, mean and variance read from variables or constants. The export
freezes every mode flag to False, so the branch live there is the one live in the session when
the flags are False.

The folded numbers (``factor``, ``shift``, weights) come from :func:`fold_numpy` (export) and
:func:`fold_tf` (session), the same operations in the same order and precision::

    factor = f32(gamma64 / sqrt(var64 + eps))
    shift  = f32((bias64 - mean64) * factor64 + beta64)           bias64 = 0 without a BiasAdd
    quantized layer:  q = clip(rint(w / s), -127, 127)             s: per-channel weight scale
                      w_folded = (q * sign(factor)) * f32(max(|s64 * factor64|, eps))
    float layer:      w_folded = w * factor
    output = BiasAdd(layer(x, w_folded), shift)
"""

from typing import NamedTuple

import numpy as np
import tensorflow as tf

from quantbridge.common import qparams
from quantbridge.tf import _graphdef as gdu

__all__ = ["Fold", "plan", "fold_numpy", "fold_tf", "source"]

BN_OPS = ("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")
FOLDABLE = ("Conv2D", "DepthwiseConv2dNative")
_PASS = ("Identity", "Snapshot", "StopGradient", "ReadVariableOp", "Switch", "RefSwitch")
_SOURCES = ("Const", "VarHandleOp", "VariableV2", "Variable")


class Fold(NamedTuple):
    """One BatchNorm folded into one layer (node names of the float graph)."""

    layer: str
    bias: str | None          # the BiasAdd between layer and BatchNorm, if any
    bias_source: str | None   # the variable or Const behind the bias
    bn: str                   # the inference FusedBatchNorm* node
    sources: tuple            # the variables or Consts behind (scale, offset, mean, variance)
    switches: tuple           # ((predicate tensor name, port), ...) between layer and BatchNorm
    output: str               # the tensor that carries the BatchNorm's result (a Merge's, in a cond)
    epsilon: float
    data_format: bytes


def source(by_name, text, passes=_PASS):
    """The Const / variable node behind the tensor ``text`` (e.g. a BatchNorm parameter input),
    through the ops ``passes`` (by default reads, Identity and Switch, any port); None when the
    value is computed."""
    name, _ = gdu.parse_input(text)
    for _ in range(64):
        node = by_name.get(name)
        if node is None:
            return None
        if node.op in _SOURCES:
            return name
        if node.op not in passes or not node.input:
            return None
        name = gdu.node_name(node.input[0])
    return None


def _flag_value(by_name, text):
    """The value a predicate takes when every mode flag is False, or None if it is no flag."""
    name, port = gdu.parse_input(text)
    negate = False
    for _ in range(64):
        node = by_name.get(name)
        if node is None or port != 0:
            return None
        if gdu.is_flag(node):
            return negate
        if node.op == "LogicalNot":
            negate = not negate
        elif node.op not in ("Identity", "Snapshot"):
            return None
        name, port = gdu.parse_input(node.input[0])
    return None


def _data_users(users, name, port=0):
    return [(node, index) for node, index, p in users.get(name, []) if p == port]


def _bn_after(by_name, users, tensor):
    """(BatchNorm node, switches) fed by ``tensor`` = (name, port) when that is all it feeds."""
    name, port = tensor
    found = _data_users(users, name, port)
    if any(p < 0 for _, _, p in users.get(name, [])) or not found:
        return None
    if len(found) == 1 and found[0][0].op in BN_OPS and found[0][1] == 0:
        bn = found[0][0]
        return (bn, ()) if not bn.attr["is_training"].b else None
    live = []
    for node, index in found:          # a v1 cond: one Switch per branch that reads the tensor
        if node.op not in ("Switch", "RefSwitch") or index != 0:
            return None
        value = _flag_value(by_name, node.input[1])
        if value is None:
            return None
        port = 1 if value else 0
        dead_port = 1 - port
        if _data_users(users, node.name, port) and _data_users(users, node.name, dead_port):
            return None                # both branches read the same Switch: not a cond's input
        if _data_users(users, node.name, port):
            live.append((node, port))
    if len(live) != 1:
        return None
    switch, port = live[0]
    inner = _bn_after(by_name, users, (switch.name, port))
    if inner is None:
        return None
    bn, switches = inner
    return bn, ((switch.input[1], port),) + switches


def _output(users, bn):
    """The tensor that carries the BatchNorm's result: its output, or the Merge of its cond."""
    name = bn.name
    for _ in range(16):
        found = _data_users(users, name, 0)
        if len(found) == 1 and found[0][0].op in ("Merge", "RefMerge"):
            name = found[0][0].name
            continue
        return name
    return name


def plan(gd, layer_names):
    """{layer name: Fold} for the layers of ``gd`` (the whole float graph) that fold a BatchNorm."""
    by_name = {node.name: node for node in gd.node}
    users = gdu.consumers(gd)
    out = {}
    for name in layer_names:
        node = by_name.get(name)
        if node is None or node.op not in FOLDABLE or source(by_name, node.input[1]) is None:
            continue                   # the export folds constant weights only
        bias = bias_source = None
        after = (name, 0)
        found = _data_users(users, name, 0)
        if len(found) == 1 and found[0][0].op == "BiasAdd" and found[0][1] == 0:
            bias = found[0][0].name
            bias_source = source(by_name, found[0][0].input[1])
            if bias_source is None:
                continue
            after = (bias, 0)
        matched = _bn_after(by_name, users, after)
        if matched is None:
            continue
        bn, switches = matched
        sources = tuple(source(by_name, text) for text in bn.input[1:5])
        if any(s is None for s in sources):
            continue
        bn_users = users.get(bn.name, [])
        if any(p < 0 for _, _, p in bn_users):
            continue
        out[name] = Fold(name, bias, bias_source, bn.name, sources, switches, _output(users, bn),
                         float(bn.attr["epsilon"].f), bn.attr["data_format"].s or b"NHWC")
    return out


def _channels(op_type, weight_shape):
    return list(weight_shape[2:]) if op_type == "DepthwiseConv2dNative" else [weight_shape[3]]


def fold_numpy(op_type, weight, quantized, gamma, beta, mean, var, bias, epsilon):
    """(folded weight, shift, per-channel weight scales or None): the export's side."""
    f32, f64 = np.float32, np.float64
    factor = (gamma.astype(f64) / np.sqrt(var.astype(f64) + f64(epsilon))).astype(f32)
    bias64 = f64(0.0) if bias is None else bias.astype(f64)
    shift = ((bias64 - mean.astype(f64)) * factor.astype(f64) + beta.astype(f64)).astype(f32)
    w = weight.astype(f32)
    shape = [1] * (w.ndim - len(_channels(op_type, w.shape))) + _channels(op_type, w.shape)
    factor_b = factor.reshape(shape)
    if not quantized:
        return (w * factor_b).astype(f32), shift, None
    absmax = np.max(np.abs(w), axis=tuple(range(w.ndim - len(_channels(op_type, w.shape)))), keepdims=True)
    scale = qparams.weight_qparams(absmax)
    q = qparams.weight_codes(w, scale).astype(f32)
    q = (q * np.sign(factor_b)).astype(f32)
    eps = f64(qparams.SCALE_FLOOR)
    new_scale = np.maximum(np.abs(scale.astype(f64) * factor_b.astype(f64)), eps).astype(f32)
    return (q * new_scale).astype(f32), shift, new_scale.reshape(-1)


def _div(x, y):
    """``x / y`` kept a true division: Grappler rewrites ``x / sqrt(y)`` into ``x * rsqrt(y)``."""
    return tf.math.divide_no_nan(x, y)


def fold_tf(op_type, weight, quantized, gamma, beta, mean, var, bias, epsilon):
    """(folded weight, shift, int8 codes, per-channel scales with the weight's rank) as TF ops,
    bit-exact with :func:`fold_numpy` (codes and scales None for a float layer). The weight has a
    straight-through gradient (that of ``weight * factor``)."""
    f32, f64 = tf.float32, tf.float64
    factor = tf.cast(_div(tf.cast(gamma, f64), tf.sqrt(tf.cast(var, f64) + np.float64(epsilon))), f32)
    bias64 = tf.constant(0.0, f64) if bias is None else tf.cast(bias, f64)
    shift = tf.cast((bias64 - tf.cast(mean, f64)) * tf.cast(factor, f64) + tf.cast(beta, f64), f32)
    rank = weight.shape.rank
    channels = 2 if op_type == "DepthwiseConv2dNative" else 1
    shape = tf.concat([tf.ones([rank - channels], tf.int32), tf.shape(weight)[rank - channels:]], 0)
    factor_b = tf.reshape(factor, shape)
    scaled = weight * factor_b
    if not quantized:
        return scaled, shift, None, None
    absmax = tf.reduce_max(tf.abs(weight), axis=list(range(rank - channels)), keepdims=True)
    eps = qparams.SCALE_FLOOR
    scale = tf.maximum(tf.math.divide_no_nan(absmax, tf.constant(np.float32(qparams.W_QMAX))), eps)
    q = tf.clip_by_value(tf.round(weight / scale), float(qparams.W_QMIN), float(qparams.W_QMAX))
    q = q * tf.sign(factor_b)
    new_scale = tf.cast(tf.maximum(tf.abs(tf.cast(scale, f64) * tf.cast(factor_b, f64)), np.float64(eps)), f32)
    folded = q * new_scale
    return tf.stop_gradient(folded) + (scaled - tf.stop_gradient(scaled)), shift, q, new_scale
